// Process-level helpers (see process.h).

#include "server/process.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <string_view>

namespace ryoan::server {

namespace {

// Forks; the parent leaves at once. _exit skips atexit handlers and stdio flushing, which
// belong to the process that carries on.
bool ForkAndLeave() {
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid > 0) _exit(0);
  return true;
}

double TimevalSeconds(const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; }

// Reads "Name:   123 kB" lines of a /proc file and stores the named values, in bytes, into
// the matching outputs.
void ReadProcKb(const char* path,
                std::initializer_list<std::pair<std::string_view, std::optional<int64_t>*>> want) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string_view name(line.data(), colon);
    for (const auto& [key, out] : want) {
      if (name != key) continue;
      const char* p = line.c_str() + colon + 1;
      char* end = nullptr;
      errno = 0;
      long long v = std::strtoll(p, &end, 10);
      if (end == p || errno != 0 || v < 0) break;
      while (*end == ' ' || *end == '\t') end++;
      int64_t scale = 1;
      if (std::strncmp(end, "kB", 2) == 0) scale = 1024;  // the kernel's "kB" is KiB
      *out = static_cast<int64_t>(v) * scale;
      break;
    }
  }
}

}  // namespace

bool Daemonize() {
  // Anything buffered would otherwise be written once by each process.
  std::fflush(stdout);
  std::fflush(stderr);
  if (!ForkAndLeave()) return false;
  if (setsid() < 0) return false;
  if (!ForkAndLeave()) return false;
  umask(0);
  if (chdir("/") != 0) return false;
  int fd = open("/dev/null", O_RDWR);
  if (fd < 0) return false;
  dup2(fd, STDIN_FILENO);
  dup2(fd, STDOUT_FILENO);
  dup2(fd, STDERR_FILENO);
  if (fd > STDERR_FILENO) close(fd);
  return true;
}

bool WritePidFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "we");
  if (f == nullptr) return false;
  bool ok = std::fprintf(f, "%d\n", static_cast<int>(getpid())) > 0;
  if (std::fclose(f) != 0) ok = false;
  return ok;
}

bool RemovePidFile(const std::string& path) { return unlink(path.c_str()) == 0 || errno == ENOENT; }

int64_t RaiseFileLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  if (rl.rlim_cur != rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > static_cast<rlim_t>(INT64_MAX)) {
    return INT64_MAX;
  }
  return static_cast<int64_t>(rl.rlim_cur);
}

SystemStats ReadSystemStats() {
  SystemStats s;
  rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    s.ru_utime = TimevalSeconds(ru.ru_utime);
    s.ru_stime = TimevalSeconds(ru.ru_stime);
  }
  ReadProcKb("/proc/self/status",
             {{"VmPeak", &s.mem_peak}, {"VmSize", &s.mem_size}, {"VmRSS", &s.mem_rss}});
  ReadProcKb("/proc/meminfo",
             {{"MemTotal", &s.mem_total}, {"MemFree", &s.mem_free}, {"Cached", &s.mem_cached}});
  return s;
}

std::vector<std::pair<std::string, std::string>> SystemStatsFields(const SystemStats& stats) {
  std::vector<std::pair<std::string, std::string>> fields;
  auto real = [&](const char* name, const std::optional<double>& v) {
    if (!v) return;
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.6f", *v);
    fields.emplace_back(name, buf);
  };
  auto integer = [&](const char* name, const std::optional<int64_t>& v) {
    if (v) fields.emplace_back(name, std::to_string(*v));
  };
  real("sys_ru_utime", stats.ru_utime);
  real("sys_ru_stime", stats.ru_stime);
  integer("sys_mem_peak", stats.mem_peak);
  integer("sys_mem_size", stats.mem_size);
  integer("sys_mem_rss", stats.mem_rss);
  integer("sys_mem_total", stats.mem_total);
  integer("sys_mem_free", stats.mem_free);
  integer("sys_mem_cached", stats.mem_cached);
  return fields;
}

}  // namespace ryoan::server
