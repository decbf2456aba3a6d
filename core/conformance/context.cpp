#include "context.hpp"

#include <array>

#include "isolation.hpp"

namespace llmrt::conformance {
namespace {

constexpr std::array<std::string_view, 32> kVocabulary = {
    "alpha",  "bravo",   "charlie", "delta", "echo",    "foxtrot",  "golf",    "hotel",
    "india",  "juliett", "kilo",    "lima",  "mike",    "november", "oscar",   "papa",
    "quebec", "romeo",   "sierra",  "tango", "uniform", "victor",   "whiskey", "xray",
    "yankee", "zulu",    "plugin",  "model", "prompt",  "stream",   "host",    "key"};

}  // namespace

Context::Context(const Options& options, std::uint64_t seed) : options_(options), random_(seed) {}

std::string Context::words(std::size_t count) {
  std::string text;
  std::uniform_int_distribution<std::size_t> pick(0, kVocabulary.size() - 1);
  for (std::size_t i = 0; i < count; ++i) {
    if (i > 0) text += ' ';
    text += kVocabulary[pick(random_)];
  }
  return text;
}

HostIdentity Context::host_identity() const {
  HostIdentity identity;
  identity.user_dir = options_.user_dir.string();
  identity.abi_version = LLMRT_ABI_VERSION;
  return identity;
}

RawSubject& Context::raw() {
  if (!raw_) {
    RawSubject subject;
    subject.library = std::make_unique<RawLibrary>(options_.plugin);
    if (subject.library->entry() == nullptr) {
      throw std::runtime_error("the plugin does not export " LLMRT_ENTRY_SYMBOL);
    }
    subject.negotiation =
        negotiate(*subject.library, LLMRT_ABI_VERSION, options_.user_dir.string());
    const unsigned major = LLMRT_ABI_MAJOR(subject.negotiation.answered);
    if (subject.negotiation.plugin != nullptr && subject.negotiation.stored &&
        (major == 1 || major == 2)) {
      subject.view = view_plugin(subject.negotiation);
    }
    raw_ = std::move(subject);
  }
  return *raw_;
}

const std::vector<Target>& Context::targets() {
  if (!loaded_) {
    note_activity("loading the plugin with llmrt::load_plugin");
    loaded_ = load_plugin(options_.plugin, host_identity());
    note_activity({});
    for (const auto& binding : loaded_->models) {
      if (options_.model && binding->info().id != *options_.model) continue;
      targets_.push_back(Target{binding});
    }
  }
  return targets_;
}

void Verdicts::fail(const std::string& who, const std::string& why) {
  failures_.push_back(who.empty() ? why : who + ": " + why);
}

void Verdicts::skip(const std::string& who, const std::string& why) {
  skips_.push_back(who.empty() ? why : who + ": " + why);
}

void Verdicts::pass() {
  ++passes_;
}

Result Verdicts::result() const {
  auto join = [](const std::vector<std::string>& lines, std::string_view separator) {
    std::string text;
    for (const std::string& line : lines) {
      if (!text.empty()) text += separator;
      text += line;
    }
    return text;
  };
  if (!failures_.empty()) return Result::failed(join(failures_, "\n"));
  if (passes_ > 0) return Result::passed();
  if (skips_.empty()) return Result::skipped("the plugin offers no model to check");
  return Result::skipped(join(skips_, "; "));
}

}  // namespace llmrt::conformance
