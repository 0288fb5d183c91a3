#pragma once
// Running code that may crash on untrusted bytes in a separate process. libhdf5 (Keras .h5 files)
// reads out of bounds on some corrupt files, found by the fuzzer; xgrad cannot fix the library, so
// an import first runs in a forked child, and a crash there becomes an Error in the caller.
#include <functional>
#include <string>

namespace xgrad {

// Runs f in a forked child process and returns "" when the child ran it to the end (an exception
// thrown by f counts as the end: the caller runs f again itself and gets it), else how the child
// ended ("killed by signal 11", "exit status 1"). f runs in a copy of this process with only the
// calling thread, so it must not use the thread pool; a child still running after `seconds` is
// killed. Where fork is unavailable f is not run and "" is returned.
std::string run_in_child(const std::function<void()>& f, unsigned seconds = 120);

}  // namespace xgrad
