// What ThreadSanitizer cannot see in the uninstrumented libraries the gateway runs on. Binaries
// that do not run under TSan never call this function; every access of llmrt's own code (the
// gateway, the runtime, the plugins, these tests) is still checked.
//
//  - libcpp-httplib comes compiled, without instrumentation. TSan still sees the memcpy/send calls
//    it makes (through its interceptors) but not how it synchronizes its function-local statics:
//    eg, `static const std::string done_marker("0\r\n")` in write_content_chunked is built by the
//    first stream to end and read by every later one, and the "already built" check is an inline
//    atomic load TSan cannot see. With two streams ending at once on two server threads, TSan
//    reports a race that is not there. (tests/openai suppresses the library the same way.)
//  - libstdc++'s std::exception_ptr: a streamed call that fails is rethrown to the handler thread
//    from the runtime's AsyncState (std::rethrow_exception), and the runtime's pool thread may drop
//    the last reference to that state later, destroying the exception. Its reference count is
//    atomic inside libstdc++.so, which TSan does not see either: it reports the handler's read of
//    what() and the pool thread's free as a race. Only that destruction path is exempted.
extern "C" const char* __tsan_default_suppressions() {
  return "called_from_lib:libcpp-httplib.so\n"
         "race:std::__exception_ptr::exception_ptr::_M_release\n";
}
