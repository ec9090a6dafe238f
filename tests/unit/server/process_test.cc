// Tests for the process helpers.

#include "server/process.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ryoan::server {
namespace {

TEST(ProcessTest, PidFileRoundTrip) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("ryoan_process_test_" + std::to_string(getpid()) + ".pid"))
                         .string();
  {
    std::ofstream old(path);
    old << "99999999999 stale content\n";
  }
  ASSERT_TRUE(WritePidFile(path));
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), std::to_string(getpid()) + "\n");
  EXPECT_TRUE(RemovePidFile(path));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(RemovePidFile(path));  // already gone is fine
  EXPECT_FALSE(WritePidFile("/nonexistent-dir-ryoan/x.pid"));
}

TEST(ProcessTest, RaiseFileLimit) {
  rlimit before;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &before), 0);
  int64_t soft = RaiseFileLimit();
  rlimit after;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, after.rlim_max);
  if (after.rlim_cur != RLIM_INFINITY) {
    EXPECT_EQ(soft, static_cast<int64_t>(after.rlim_cur));
  }
  EXPECT_GE(soft, static_cast<int64_t>(before.rlim_cur == RLIM_INFINITY ? 0 : before.rlim_cur));
}

TEST(ProcessTest, SystemStatsArePlausible) {
  SystemStats s = ReadSystemStats();
  ASSERT_TRUE(s.ru_utime.has_value());
  ASSERT_TRUE(s.ru_stime.has_value());
  EXPECT_GE(*s.ru_utime, 0);
  EXPECT_GE(*s.ru_stime, 0);
#ifdef __linux__
  ASSERT_TRUE(s.mem_size && s.mem_rss && s.mem_peak);
  EXPECT_GT(*s.mem_rss, 1 << 20);  // a gtest binary uses more than 1 MiB
  EXPECT_GE(*s.mem_peak, *s.mem_size);
  EXPECT_GE(*s.mem_size, *s.mem_rss);
  ASSERT_TRUE(s.mem_total && s.mem_free && s.mem_cached);
  EXPECT_GT(*s.mem_total, 16LL << 20);
  EXPECT_LE(*s.mem_free, *s.mem_total);
  EXPECT_LE(*s.mem_cached, *s.mem_total);
  EXPECT_EQ(*s.mem_total % 1024, 0);  // reported in kB, converted to bytes
#endif
}

TEST(ProcessTest, SystemStatsFields) {
  SystemStats s;
  s.ru_utime = 1.5;
  s.mem_rss = 4096;
  auto fields = SystemStatsFields(s);
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields[0].first, "sys_ru_utime");
  EXPECT_EQ(fields[0].second, "1.500000");
  EXPECT_EQ(fields[1].first, "sys_mem_rss");
  EXPECT_EQ(fields[1].second, "4096");
  EXPECT_EQ(SystemStatsFields(ReadSystemStats()).front().first, "sys_ru_utime");
}

TEST(ProcessTest, DaemonizeInChild) {
  // Run Daemonize in a forked child so the test process keeps its session and cwd; the
  // grandchild reports its state through a pipe.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    if (!Daemonize()) _exit(1);
    char cwd[16] = {};
    // After the second fork we are not the session leader, and we run in "/".
    bool ok =
        getcwd(cwd, sizeof(cwd)) != nullptr && std::string(cwd) == "/" && getsid(0) != getpid();
    mode_t old = umask(022);
    ok = ok && old == 0;
    char c = ok ? 'y' : 'n';
    (void)!write(fds[1], &c, 1);
    _exit(0);
  }
  close(fds[1]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char c = 0;
  ASSERT_EQ(read(fds[0], &c, 1), 1);
  close(fds[0]);
  EXPECT_EQ(c, 'y');
}

}  // namespace
}  // namespace ryoan::server
