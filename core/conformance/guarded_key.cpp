#include "guarded_key.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "check.hpp"
#include "isolation.hpp"

namespace llmrt::conformance {
namespace {

enum State : int { unused = 0, lent_read_only, lent_read_write, poisoned };

constexpr std::size_t kMaxPayload = 512;

// One guarded credential, as the fault handler sees it. Written before the handler can need it.
struct Region {
  std::atomic<std::uintptr_t> begin{0};  // first byte of the data pages
  std::atomic<std::uintptr_t> data_end{0};
  std::atomic<std::uintptr_t> guard_end{0};  // end of the guard page after data_end
  std::atomic<int> state{unused};
  // Ready-made verdicts, so that the handler only has to write them.
  std::array<char, kMaxPayload> wrote{};
  std::size_t wrote_size = 0;
  std::array<char, kMaxPayload> overran{};
  std::size_t overran_size = 0;
  std::array<char, kMaxPayload> kept{};
  std::size_t kept_size = 0;
};

constexpr int kMaxRegions = 64;
std::array<Region, kMaxRegions> g_regions;
std::mutex g_regions_mutex;  // for claiming slots (never taken in the handler)
struct sigaction g_previous_segv {};
struct sigaction g_previous_bus {};
std::once_flag g_handler_installed;

void set_payload(std::array<char, kMaxPayload>& buffer, std::size_t& size, const Result& result) {
  const std::string payload = encode(result);
  size = std::min(payload.size(), buffer.size());
  std::memcpy(buffer.data(), payload.data(), size);
}

void write_stderr(const char* text) {
  [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, text, std::strlen(text));
}

void on_fault(int signal_number, siginfo_t* info, void* /*context*/) {
  const auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (Region& region : g_regions) {
    const int state = region.state.load(std::memory_order_acquire);
    if (state == unused) continue;
    const std::uintptr_t begin = region.begin.load(std::memory_order_relaxed);
    const std::uintptr_t data_end = region.data_end.load(std::memory_order_relaxed);
    const std::uintptr_t guard_end = region.guard_end.load(std::memory_order_relaxed);
    if (address < begin || address >= guard_end) continue;
    const char* payload = nullptr;
    std::size_t size = 0;
    if (address >= data_end && state != poisoned) {
      payload = region.overran.data();
      size = region.overran_size;
    } else if (state == poisoned) {
      payload = region.kept.data();
      size = region.kept_size;
    } else {
      payload = region.wrote.data();
      size = region.wrote_size;
    }
    if (in_isolated_child()) report_and_exit(payload, size);
    write_stderr("llmrt-conformance: the plugin touched a guarded credential: ");
    [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, payload + 1, size - 1);
    write_stderr("\n");
    break;
  }
  // Not ours (or in-process): let the fault happen as it would have.
  ::sigaction(signal_number, signal_number == SIGBUS ? &g_previous_bus : &g_previous_segv, nullptr);
}

void install_handler() {
  std::call_once(g_handler_installed, [] {
    struct sigaction action {};
    action.sa_sigaction = &on_fault;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGSEGV, &action, &g_previous_segv);
    ::sigaction(SIGBUS, &action, &g_previous_bus);
  });
}

int claim_slot() {
  std::lock_guard lock(g_regions_mutex);
  for (int i = 0; i < kMaxRegions; ++i) {
    if (g_regions[i].begin.load() == 0) {
      g_regions[i].begin.store(1);  // reserved until filled in
      return i;
    }
  }
  throw std::runtime_error("too many guarded credentials at once");
}

std::size_t page_size() {
  return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

GuardedCredential::GuardedCredential(std::string_view key, Access during_call, std::string who,
                                     std::string_view session_token)
    : key_(key), token_(session_token) {
  install_handler();
  const std::size_t page = page_size();
  const std::size_t needed = sizeof(llmrt_credential) + session_token.size() + key.size();
  data_size_ = (needed + page - 1) / page * page;
  mapping_size_ = data_size_ + page;
  mapping_ =
      ::mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) throw std::runtime_error("mmap failed");
  auto* bytes = static_cast<char*>(mapping_);
  // The key ends where the guard page starts.
  char* key_bytes = bytes + data_size_ - key.size();
  std::memcpy(key_bytes, key.data(), key.size());
  credential_ = reinterpret_cast<llmrt_credential*>(bytes);
  credential_->struct_size = sizeof(llmrt_credential);
  credential_->key = {key_bytes, key.size()};
  // The token lies just before the key (empty: none).
  char* token_bytes = key_bytes - session_token.size();
  std::memcpy(token_bytes, session_token.data(), session_token.size());
  credential_->session_token = {session_token.empty() ? nullptr : token_bytes,
                                session_token.size()};
  credential_->expires_at = 0;
  ::mprotect(bytes + data_size_, page, PROT_NONE);
  if (during_call == Access::read_only) ::mprotect(bytes, data_size_, PROT_READ);

  slot_ = claim_slot();
  Region& region = g_regions[slot_];
  set_payload(
      region.wrote, region.wrote_size,
      Result::failed(who + ": the plugin wrote to the credential it was lent (the "
                           "llmrt_credential struct or the key bytes); they belong to the host"));
  set_payload(region.overran, region.overran_size,
              Result::failed(who + ": the plugin read past the end of the key (key.data is not "
                                   "NUL-terminated: use key.size)"));
  set_payload(
      region.kept, region.kept_size,
      Result::failed(who + ": the plugin read the key of an earlier call after that call had "
                           "returned (it kept the key or credential pointer)"));
  region.data_end.store(reinterpret_cast<std::uintptr_t>(bytes + data_size_));
  region.guard_end.store(reinterpret_cast<std::uintptr_t>(bytes + mapping_size_));
  region.state.store(during_call == Access::read_only ? lent_read_only : lent_read_write,
                     std::memory_order_release);
  region.begin.store(reinterpret_cast<std::uintptr_t>(bytes));
}

GuardedCredential::~GuardedCredential() {
  Region& region = g_regions[slot_];
  region.state.store(unused, std::memory_order_release);
  ::munmap(mapping_, mapping_size_);
  std::lock_guard lock(g_regions_mutex);
  region.begin.store(0);
}

bool GuardedCredential::intact() const {
  const auto* bytes = static_cast<const char*>(mapping_);
  const char* key_bytes = bytes + data_size_ - key_.size();
  const char* token_bytes = key_bytes - token_.size();
  return credential_->struct_size == sizeof(llmrt_credential) &&
         credential_->key.data == key_bytes && credential_->key.size == key_.size() &&
         std::memcmp(key_bytes, key_.data(), key_.size()) == 0 &&
         credential_->session_token.size == token_.size() &&
         std::memcmp(token_bytes, token_.data(), token_.size()) == 0;
}

void GuardedCredential::poison() {
  ::mprotect(mapping_, data_size_, PROT_READ | PROT_WRITE);
  std::memset(mapping_, 0xA5, data_size_);
  g_regions[slot_].state.store(poisoned, std::memory_order_release);
  ::mprotect(mapping_, data_size_, PROT_NONE);
}

}  // namespace llmrt::conformance
