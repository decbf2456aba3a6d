// A bearer token as any client of `llmrt serve` may send it, checked as a session key. verify()
// must not throw, must call nothing but a key this master key issued valid, and must give an
// issued key's claims back exactly.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "session_keys.hpp"

namespace {

constexpr std::int64_t kNow = 1796000000;

const llmrt::serve::SessionKeys& session_keys() {
  static const llmrt::serve::SessionKeys keys = [] {
    unsigned char bytes[llmrt::serve::SecretBytes::kSize];
    for (std::size_t i = 0; i < sizeof bytes; ++i) bytes[i] = static_cast<unsigned char>(i * 7 + 1);
    return llmrt::serve::SessionKeys(llmrt::serve::SecretBytes(bytes, sizeof bytes));
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llmrt::serve;
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const SessionKeyCheck check = session_keys().verify(token, kNow);
  if (check.status == SessionKeyStatus::valid) {
    LLMRT_FUZZ_CHECK(looks_like_session_key(token), "a valid key has the prefix");
    LLMRT_FUZZ_CHECK(check.claims.expires > kNow, "a valid key has not expired");
  }
  // The input's printable part as a tenant name: an issued key verifies with its claims.
  std::string tenant;
  for (const char c : token.substr(0, 64)) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') tenant += c;
  }
  if (tenant.empty()) return 0;
  const llmrt::Key issued = session_keys().issue(tenant, 3600, kNow);
  const SessionKeyCheck back = session_keys().verify(issued.reveal(), kNow);
  LLMRT_FUZZ_CHECK(back.status == SessionKeyStatus::valid, "an issued key verifies");
  LLMRT_FUZZ_CHECK(back.claims.tenant == tenant, "an issued key names its tenant");
  LLMRT_FUZZ_CHECK(back.claims.expires == kNow + 3600, "an issued key keeps its expiry");
  LLMRT_FUZZ_CHECK(
      session_keys().verify(issued.reveal(), kNow + 3600).status == SessionKeyStatus::expired,
      "an issued key expires");
  return 0;
}
