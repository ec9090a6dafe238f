// Fault-injection probes open a deliberately damaged database in a forked child, so that a
// crash inside a storage library is counted as an outcome instead of ending the harness.
#pragma once

#include <functional>
#include <string>

namespace ryoan::crash {

enum class ProbeOutcome {
  kNotStarted,  // no pipe or no child process
  kCrashed,     // died by a signal, exited non-zero, or reported nothing
  kReported,    // exited 0 after writing its report
};

// Runs `probe(fd)` in a child process and collects into *report what it writes to `fd`. The
// child's stderr goes to /dev/null unless RYOAN_FAULTS_VERBOSE is set: a crash report of a
// damaged file is counted by the caller, not printed.
ProbeOutcome RunProbeInChild(const std::function<void(int fd)>& probe, std::string* report);

}  // namespace ryoan::crash
