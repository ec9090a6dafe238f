#include "tests/crash/probe_child.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace ryoan::crash {

ProbeOutcome RunProbeInChild(const std::function<void(int fd)>& probe, std::string* report) {
  report->clear();
  int fds[2];
  if (::pipe(fds) != 0) return ProbeOutcome::kNotStarted;
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return ProbeOutcome::kNotStarted;
  }
  if (pid == 0) {
    ::close(fds[0]);
    if (std::getenv("RYOAN_FAULTS_VERBOSE") == nullptr) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 2);
    }
    probe(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  char chunk[4096];
  ssize_t got;
  while ((got = ::read(fds[0], chunk, sizeof(chunk))) > 0) {
    report->append(chunk, static_cast<size_t>(got));
  }
  ::close(fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  bool clean = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && !report->empty();
  return clean ? ProbeOutcome::kReported : ProbeOutcome::kCrashed;
}

}  // namespace ryoan::crash
