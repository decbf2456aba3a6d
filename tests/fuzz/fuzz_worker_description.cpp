// The description a plugin host worker sends in its handshake: the worker runs a third party's
// plugin, so the host reads it as hostile. Only ProtocolError may come out, and a description that
// was accepted must survive a round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "isolation/description.hpp"
#include "isolation/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llmrt::isolation;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  PluginDescription description;
  try {
    description = description_from_json(json);
  } catch (const ProtocolError&) {
    return 0;
  }
  const std::string written = to_json(description);
  const PluginDescription again = description_from_json(written);  // must not throw
  LLMRT_FUZZ_CHECK(to_json(again) == written, "an accepted description round-trips");
  return 0;
}
