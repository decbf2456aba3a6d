// The process-wide table of loaded plugins, keyed by the dlopen handle: dlopen gives every caller
// (each Runtime, Runtime::inspect, the conformance tool) the same library and the same plugin
// structs, so what is bound from them must be shared too. The entry point then runs once per load,
// and a model that is not reentrant is serialized across every Runtime of the process.
#ifndef LLMRT_PLUGIN_TABLE_HPP
#define LLMRT_PLUGIN_TABLE_HPP

#include <boost/dll/shared_library.hpp>
#include <filesystem>
#include <memory>

#include "plugin_library.hpp"

namespace llmrt {

// Returns the plugin already bound from the library `library` refers to (the reference `library`
// holds is then dropped), or binds it now (running its entry point) and records it. An entry lives
// as long as something holds the returned object or one of its bindings; after that the library is
// closed, and a later load is a new load.
//
// Threading: thread-safe; loads are serialized (an entry point runs under the table's lock, so it
// must not load plugins itself). Errors: PluginLoadError from binding; nothing is recorded then.
std::shared_ptr<const PluginLibrary> bind_once(boost::dll::shared_library library,
                                               const std::filesystem::path& path,
                                               const HostIdentity& host);

}  // namespace llmrt

#endif  // LLMRT_PLUGIN_TABLE_HPP
