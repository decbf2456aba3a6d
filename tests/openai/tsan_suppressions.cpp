// ThreadSanitizer and Debian's cpp-httplib.
//
// libcpp-httplib comes compiled, without ThreadSanitizer instrumentation. TSan still sees the
// memcpy/memcmp calls the library makes (through its interceptors), but not how the library
// synchronizes its function-local statics: eg, the static std::set of method names in
// Server::parse_request_line is built by the first request and read by every later one, and the
// "already built" check is an inline atomic load that TSan cannot see. With two requests in flight
// on two server threads (the "stall" tests), TSan then reports a race that is not there.
//
// So what the library does on its own is not checked; every line of llmrt's own code (the plugin,
// the fake server's handlers, the runtime) still is. Binaries that do not run under TSan never call
// this function.
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libcpp-httplib.so\n";
}
