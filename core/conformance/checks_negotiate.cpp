// Version negotiation (docs/abi.md, "Version negotiation"): the entry point is called as hosts of
// several ABI versions would call it, each time on a fresh dlopen.
#include <llmrt/abi/plugin_v1.h>
#include <llmrt/plugin.h>

#include <memory>
#include <string>

#include "context.hpp"
#include "text_rules.hpp"

namespace llmrt::conformance {
namespace {

// One negotiation on a fresh dlopen; the library stays loaded while the answer is looked at.
struct FreshAnswer {
  std::unique_ptr<RawLibrary> library;
  Negotiation negotiation;
};

FreshAnswer negotiate_fresh(Context& ctx, std::uint32_t host_version) {
  FreshAnswer fresh;
  fresh.library = std::make_unique<RawLibrary>(ctx.options().plugin);
  fresh.negotiation = negotiate(*fresh.library, host_version, ctx.options().user_dir.string());
  return fresh;
}

// What is wrong with a returned plugin struct's header (struct_size covers it, abi_version has
// the answered major), and with `full_size` also its size (at least the answered major's first
// minor's; descriptor.plugin judges that for the struct a 2.0 host gets).
std::optional<std::string> header_problem(const Negotiation& negotiation, bool full_size) {
  const auto* header = static_cast<const llmrt_plugin*>(negotiation.plugin);
  const std::size_t header_size = offsetof(llmrt_plugin, abi_version) + sizeof(std::uint32_t);
  if (header->struct_size < header_size) {
    return "its plugin struct has struct_size " + std::to_string(header->struct_size);
  }
  if (LLMRT_ABI_MAJOR(header->abi_version) != LLMRT_ABI_MAJOR(negotiation.answered)) {
    return "it answered " + version_string(negotiation.answered) +
           " but its plugin struct says abi_version " + version_string(header->abi_version);
  }
  // get_extension is the last field of the plugin struct in both 1.0 and 2.0.
  const std::size_t expected =
      offsetof(llmrt_plugin, get_extension) + sizeof(header->get_extension);
  if (full_size && header->struct_size < expected) {
    return "its plugin struct has struct_size " + std::to_string(header->struct_size) +
           ", smaller than ABI " + version_string(negotiation.answered) + "'s " +
           std::to_string(expected);
  }
  return std::nullopt;
}

std::string to_host(std::uint32_t host_version) {
  return "to a host speaking " + version_string(host_version);
}

Result current(Context& ctx) {
  const FreshAnswer fresh = negotiate_fresh(ctx, LLMRT_ABI_VERSION);
  const Negotiation& answer = fresh.negotiation;
  const std::string host = to_host(LLMRT_ABI_VERSION);
  if (!answer.stored) {
    return Result::failed("the entry point did not store a version in *plugin_abi_version " + host);
  }
  const unsigned major = LLMRT_ABI_MAJOR(answer.answered);
  if (major > LLMRT_ABI_VERSION_MAJOR) {
    return Result::failed(host + " it answered " + version_string(answer.answered) +
                          ": this plugin needs a newer llmrt (this tool checks ABI " +
                          version_string(LLMRT_ABI_VERSION) + ")");
  }
  if (major == 0) {
    return Result::failed(host + " it answered " + version_string(answer.answered) +
                          ", which no llmrt ever spoke");
  }
  if (answer.plugin == nullptr) {
    return Result::failed(host + " it answered " + version_string(answer.answered) +
                          " but returned no plugin struct");
  }
  if (auto problem = header_problem(answer, false)) return Result::failed(host + " " + *problem);
  return Result::passed();
}

Result older_host(Context& ctx) {
  const std::uint32_t host_version = LLMRT_V1_ABI_VERSION;
  const FreshAnswer fresh = negotiate_fresh(ctx, host_version);
  const Negotiation& answer = fresh.negotiation;
  const std::string host = to_host(host_version);
  if (!answer.stored) {
    return Result::failed("the entry point did not store a version in *plugin_abi_version " + host +
                          " (it must, even when it returns NULL)");
  }
  const unsigned major = LLMRT_ABI_MAJOR(answer.answered);
  if (major == 0) {
    return Result::failed(host + " it answered " + version_string(answer.answered) +
                          ", which no llmrt ever spoke");
  }
  if (major > LLMRT_ABI_MAJOR(host_version)) {
    if (answer.plugin == nullptr) return Result::passed();  // "I need a newer host": fine
    return Result::failed(host + " it answered " + version_string(answer.answered) +
                          " and still returned a plugin struct; a plugin that cannot serve the "
                          "host's major stores its own version and returns NULL");
  }
  if (answer.plugin == nullptr) {
    return Result::failed(host + " it answered " + version_string(answer.answered) +
                          " but returned no plugin struct");
  }
  if (auto problem = header_problem(answer, true)) return Result::failed(host + " " + *problem);
  const auto* plugin = static_cast<const llmrt_v1_plugin*>(answer.plugin);
  if (plugin->name == nullptr || *plugin->name == '\0' || plugin->version == nullptr ||
      *plugin->version == '\0') {
    return Result::failed(host + " its v1 plugin struct has no name or no version");
  }
  return Result::passed();
}

Result newer_host(Context& ctx) {
  for (const std::uint32_t host_version :
       {LLMRT_ABI_MAKE_VERSION(3, 0), LLMRT_ABI_MAKE_VERSION(2, 99)}) {
    const FreshAnswer fresh = negotiate_fresh(ctx, host_version);
    const Negotiation& answer = fresh.negotiation;
    const std::string host = to_host(host_version);
    if (!answer.stored) {
      return Result::failed("the entry point did not store a version in *plugin_abi_version " +
                            host);
    }
    const unsigned major = LLMRT_ABI_MAJOR(answer.answered);
    if (major > LLMRT_ABI_VERSION_MAJOR) {
      return Result::failed(host + " it answered " + version_string(answer.answered) +
                            ": a plugin answers the newest version it speaks itself, never the "
                            "host's");
    }
    if (major == 0) {
      return Result::failed(host + " it answered " + version_string(answer.answered) +
                            ", which no llmrt ever spoke");
    }
    if (answer.plugin == nullptr) {
      return Result::failed(host + " it answered " + version_string(answer.answered) +
                            " but returned no plugin struct (a newer host still speaks every "
                            "older major)");
    }
    if (auto problem = header_problem(answer, false)) {
      return Result::failed(host + " " + *problem);
    }
  }
  return Result::passed();
}

const char* const kNegotiationHint =
    "store the version you answer in *plugin_abi_version on every call, and return your plugin "
    "struct of that version: to a host whose major is older than yours, store your version and "
    "return NULL; to a newer host, answer your own version (LLMRT_ABI_VERSION), never the host's. "
    "The SDK's LLMRT_PLUGIN does exactly this (docs/abi.md, \"Version negotiation\")";

}  // namespace

std::vector<Check> negotiate_checks() {
  return {
      {"negotiate.current",
       "a 2.0 host gets an answer it speaks (major 1 or 2) and a plugin struct of that version",
       kNegotiationHint,
       {"load.rtld_now"},
       current},
      {"negotiate.older_host",
       "a 1.0 host gets NULL with the plugin's own version, or a valid v1 struct answering 1.x",
       kNegotiationHint,
       {"negotiate.current"},
       older_host},
      {"negotiate.newer_host",
       "3.0 and 2.99 hosts get the plugin's own version (not 3.x) and a usable plugin struct",
       kNegotiationHint,
       {"negotiate.current"},
       newer_host},
  };
}

}  // namespace llmrt::conformance
