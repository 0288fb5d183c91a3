#include "core/isolate.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "core/error.h"

#if defined(__unix__)
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace xgrad {

std::string run_in_child(const std::function<void()>& f, unsigned seconds) {
#if defined(__unix__)
  std::fflush(nullptr);  // so the child cannot write this process's buffered output twice
  const pid_t pid = fork();
  if (pid < 0) throw Error(std::string("cannot start a process to read the file: ") + std::strerror(errno));
  if (pid == 0) {
    // A crash ends the child by its signal, quietly: handlers installed in this process (a
    // sanitizer's, a fuzzer's) would report it as this process's own.
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, SIG_DFL);
    alarm(seconds);  // SIGALRM ends a child that hangs
    try {
      f();
    } catch (...) {
    }
    _exit(0);  // no exit handlers: they belong to the parent (leak checks, flushes)
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error(std::string("waiting for the reading process: ") + std::strerror(errno));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exit status " + std::to_string(WEXITSTATUS(status));
#else
  (void)f, (void)seconds;
  return "";
#endif
}

}  // namespace xgrad
