// bad_entry_throws: an entry point that lets an exception out through the C ABI (a contract
// breach), built three times, one exception type each:
//  - bad_entry_throws_std.so:    std::out_of_range (a std:: type);
//  - bad_entry_throws_custom.so: a type of the plugin's own, derived from std::exception, whose
//                                vtable, type_info and text live in the plugin;
//  - bad_entry_throws_other.so:  a type of the plugin's own that is not a std::exception.
// The host must describe the exception while the library is still mapped, refuse the plugin with
// a load error, and keep serving (before: the library was unmapped under the unwinding exception,
// and `llmrt plugins` died with SIGSEGV).
#include <llmrt/plugin.h>

#include <exception>
#include <stdexcept>
#include <string>

namespace {

class EntryRefused : public std::exception {
 public:
  explicit EntryRefused(std::string why) : why_(std::move(why)) {}
  const char* what() const noexcept override { return why_.c_str(); }

 private:
  std::string why_;
};

struct PluginFault {
  int code;
  std::string detail;
};

}  // namespace

extern "C" LLMRT_EXPORT const llmrt_plugin* llmrt_plugin_entry(const llmrt_host_info*,
                                                               uint32_t* plugin_abi_version) {
  if (plugin_abi_version != nullptr) *plugin_abi_version = LLMRT_ABI_VERSION;
#if defined(LLMRT_TEST_THROW_STD)
  throw std::out_of_range("boom-std from the entry point");
#elif defined(LLMRT_TEST_THROW_CUSTOM)
  throw EntryRefused("boom-custom from the entry point");
#else
  throw PluginFault{7, "boom-other from the entry point"};
#endif
}
