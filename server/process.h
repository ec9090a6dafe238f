// Process-level helpers for ktserver's main: daemonising, the pid file, the descriptor
// limit, and the system figures reported by the `report` RPC (spec/http-rpc.md 9.3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ryoan::server {

// Detaches from the terminal: fork, setsid, fork again (so the daemon can never reacquire a
// controlling terminal), umask 0, chdir "/", stdin/stdout/stderr to /dev/null. Only the
// grandchild returns (true); the intermediate processes _exit(0). Returns false if a fork or
// setsid fails; past the first fork that is in a child whose parent has already exited 0,
// as in the original. Call it before any thread is started.
bool Daemonize();

// Writes "<pid>\n" for the current process to `path`, replacing any old content.
bool WritePidFile(const std::string& path);
// Removes the pid file; true if it was removed or did not exist.
bool RemovePidFile(const std::string& path);

// Raises the soft RLIMIT_NOFILE to the hard limit (each client connection needs a
// descriptor) and returns the soft limit now in force, INT64_MAX for "unlimited", or -1 if
// the limit cannot be read. Failing to raise it is not an error: the old limit is returned.
int64_t RaiseFileLimit();

// System figures for the `report` RPC. Each is empty when it cannot be determined (e.g. not
// on Linux, or /proc unavailable).
struct SystemStats {
  std::optional<double> ru_utime;     // user CPU seconds of this process
  std::optional<double> ru_stime;     // system CPU seconds of this process
  std::optional<int64_t> mem_peak;    // VmPeak, bytes
  std::optional<int64_t> mem_size;    // VmSize, bytes
  std::optional<int64_t> mem_rss;     // VmRSS, bytes
  std::optional<int64_t> mem_total;   // MemTotal of the host, bytes
  std::optional<int64_t> mem_free;    // MemFree of the host, bytes
  std::optional<int64_t> mem_cached;  // Cached of the host, bytes
};

SystemStats ReadSystemStats();

// The known figures as `report` fields, in the spec's order: sys_ru_utime and sys_ru_stime
// as "%.6f", the sys_mem_* fields as decimal integers.
std::vector<std::pair<std::string, std::string>> SystemStatsFields(const SystemStats& stats);

}  // namespace ryoan::server
