// Tests for the server log (spec/ktserver-cli.md 7).

#include "server/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ryoan::server {
namespace {

// Sets TZ for the lifetime of the object and restores the previous value.
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTimeZone() {
    if (old_) {
      setenv("TZ", old_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

 private:
  std::optional<std::string> old_;
};

// 2026-11-24T18:13:35Z, the spec's example instant.
constexpr int64_t kExampleSecs = 1795544015;

TEST(LogTimestampTest, Utc) {
  ScopedTimeZone tz("UTC");
  EXPECT_EQ(LogTimestamp(kExampleSecs * 1000000 + 826684), "2026-11-24T18:13:35.826684Z");
  EXPECT_EQ(LogTimestamp(kExampleSecs * 1000000), "2026-11-24T18:13:35.000000Z");
  EXPECT_EQ(LogTimestamp(0), "1970-01-01T00:00:00.000000Z");
  // Before the epoch the fraction still counts forward from the whole second.
  EXPECT_EQ(LogTimestamp(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(LogTimestampTest, PositiveOffset) {
  ScopedTimeZone tz("JST-9");
  EXPECT_EQ(LogTimestamp(kExampleSecs * 1000000 + 826684), "2026-11-25T03:13:35.826684+09:00");
}

TEST(LogTimestampTest, NegativeAndHalfHourOffsets) {
  {
    ScopedTimeZone tz("EST5");
    EXPECT_EQ(LogTimestamp(kExampleSecs * 1000000 + 5), "2026-11-24T13:13:35.000005-05:00");
  }
  {
    ScopedTimeZone tz("IST-5:30");
    EXPECT_EQ(LogTimestamp(kExampleSecs * 1000000), "2026-11-24T23:43:35.000000+05:30");
  }
}

class LogFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ryoan_log_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "kt.log").string();
  }
  void TearDown() override {
    CloseLog();
    std::filesystem::remove_all(dir_);
  }

  static std::vector<std::string> ReadLines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
  }

  static std::string Slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path dir_;
  std::string path_;
};

const std::regex kLineRe(
    R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d): \[(DEBUG|INFO|SYSTEM|ERROR)\]: .*)");

TEST_F(LogFileTest, WritesFormattedLines) {
  ScopedTimeZone tz("UTC");
  ASSERT_TRUE(OpenLog(path_, kLogAll));
  Log(kLogSystem, "================ [START]: pid=7231");
  Log(kLogDebug, "d");
  Log(kLogInfo, "i");
  Log(kLogError, "e");
  std::string all = Slurp(path_);  // flushed at once: readable before CloseLog
  CloseLog();
  EXPECT_EQ(all.back(), '\n');
  std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 4u) << all;
  for (const std::string& line : lines) EXPECT_TRUE(std::regex_match(line, kLineRe)) << line;
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex(R"(.{26}Z: \[SYSTEM\]: ================ \[START\]: pid=7231)")))
      << lines[0];
  EXPECT_EQ(lines[1].substr(27), ": [DEBUG]: d");
  EXPECT_EQ(lines[2].substr(27), ": [INFO]: i");
  EXPECT_EQ(lines[3].substr(27), ": [ERROR]: e");
}

TEST_F(LogFileTest, AppendsToExistingFile) {
  {
    std::ofstream out(path_);
    out << "old line\n";
  }
  ASSERT_TRUE(OpenLog(path_, kLogAll));
  Log(kLogInfo, "new");
  CloseLog();
  std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "old line");
}

TEST_F(LogFileTest, FiltersByKind) {
  ASSERT_TRUE(OpenLog(path_, kLogSystem | kLogError));
  EXPECT_FALSE(LogEnabled(kLogDebug));
  EXPECT_FALSE(LogEnabled(kLogInfo));
  EXPECT_TRUE(LogEnabled(kLogSystem));
  EXPECT_TRUE(LogEnabled(kLogError));
  Log(kLogDebug, "debug");
  Log(kLogInfo, "info");
  Log(kLogSystem, "system");
  Log(kLogError, "error");
  CloseLog();
  std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("[SYSTEM]: system"), std::string::npos);
  EXPECT_NE(lines[1].find("[ERROR]: error"), std::string::npos);

  ASSERT_TRUE(OpenLog(path_, 0));  // -lz
  Log(kLogError, "nothing");
  CloseLog();
  EXPECT_EQ(ReadLines(path_).size(), 2u);
}

TEST_F(LogFileTest, ClosedLogIsSilent) {
  CloseLog();
  EXPECT_FALSE(LogEnabled(kLogError));
  Log(kLogError, "dropped");  // must not crash
  EXPECT_FALSE(ReopenLog());
}

TEST_F(LogFileTest, OpenFailure) {
  EXPECT_FALSE(OpenLog((dir_ / "no" / "such" / "kt.log").string(), kLogAll));
}

TEST_F(LogFileTest, ReopenAfterRenameStartsNewFile) {
  ASSERT_TRUE(OpenLog(path_, kLogAll));
  Log(kLogInfo, "before");
  std::string old_path = path_ + ".old";
  std::filesystem::rename(path_, old_path);
  Log(kLogInfo, "still old");  // the open descriptor follows the renamed file
  ASSERT_TRUE(ReopenLog());
  EXPECT_TRUE(std::filesystem::exists(path_));
  Log(kLogInfo, "after");
  CloseLog();
  std::vector<std::string> old_lines = ReadLines(old_path);
  std::vector<std::string> new_lines = ReadLines(path_);
  ASSERT_EQ(old_lines.size(), 2u);
  EXPECT_NE(old_lines[1].find("still old"), std::string::npos);
  ASSERT_EQ(new_lines.size(), 1u);
  EXPECT_NE(new_lines[0].find("[INFO]: after"), std::string::npos);
}

TEST_F(LogFileTest, ReopenFailureKeepsOldFile) {
  ASSERT_TRUE(OpenLog(path_, kLogAll));
  std::filesystem::rename(path_, path_ + ".old");
  std::filesystem::create_directory(path_);  // the path can no longer be opened as a file
  EXPECT_FALSE(ReopenLog());
  Log(kLogInfo, "kept");
  CloseLog();
  EXPECT_EQ(ReadLines(path_ + ".old").size(), 1u);
}

TEST_F(LogFileTest, StdoutLog) {
  for (const char* path : {"", "-"}) {
    testing::internal::CaptureStdout();
    ASSERT_TRUE(OpenLog(path, kLogAll));
    Log(kLogSystem, "to stdout");
    EXPECT_TRUE(ReopenLog());
    CloseLog();
    std::string out = testing::internal::GetCapturedStdout();
    EXPECT_NE(out.find(": [SYSTEM]: to stdout\n"), std::string::npos) << out;
  }
}

TEST_F(LogFileTest, ManyThreadsWriteWholeLines) {
  ASSERT_TRUE(OpenLog(path_, kLogAll));
  constexpr int kThreads = 8;
  constexpr int kLines = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([t] {
      for (int i = 0; i < kLines; i++) {
        Log(kLogInfo,
            "thread " + std::to_string(t) + " line " + std::to_string(i) + std::string(100, 'x'));
        if (t == 0 && i % 50 == 0) ReopenLog();  // reopen races with writers
      }
    });
  }
  for (std::thread& th : threads) th.join();
  CloseLog();
  std::vector<std::string> lines = ReadLines(path_);
  ASSERT_EQ(lines.size(), size_t{kThreads * kLines});
  for (const std::string& line : lines) {
    ASSERT_TRUE(std::regex_match(line, kLineRe)) << line;
    ASSERT_EQ(line.substr(line.size() - 100), std::string(100, 'x'));
  }
}

}  // namespace
}  // namespace ryoan::server
