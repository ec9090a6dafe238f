// ktserver's command line, signals and log (spec/ktserver-cli.md 1-4, 6-8).
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

// A temporary directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string base = std::filesystem::temp_directory_path().string() + "/ryoan_cli_XXXXXX";
    std::vector<char> buf(base.begin(), base.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data())) path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

const char* kUsageHead = ": Kyoto Tycoon: a handy cache/storage server\n\nusage:\n";

void ExpectUsageExit(const std::vector<std::string>& args) {
  ProcessResult r = RunKtserver(args);
  std::string shown;
  for (const std::string& a : args) shown += a + " ";
  EXPECT_FALSE(r.timed_out) << shown;
  EXPECT_EQ(r.exit_code, 1) << shown;
  EXPECT_NE(r.err.find(kUsageHead), std::string::npos) << shown << "\nstderr: " << r.err;
  EXPECT_EQ(r.out, "") << shown;
}

TEST(Cli, VersionPrintsOneLineAndExitsZero) {
  ProcessResult r = RunKtserver({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(Lines(r.out).size(), 1u) << r.out;
}

TEST(Cli, UnknownOptionPrintsUsageOnStderrAndExitsOne) { ExpectUsageExit({"-nosuchoption"}); }

TEST(Cli, MissingOptionArgumentIsAUsageError) { ExpectUsageExit({"-port"}); }

TEST(Cli, PortOrThreadsBelowOneIsAUsageError) {
  ExpectUsageExit({"-port", "0"});
  ExpectUsageExit({"-th", "0"});
}

TEST(Cli, UnknownDatabaseTypeFailsStartupWithExitOne) {
  TempDir dir;
  std::string log = dir.path() + "/log";
  ProcessResult r = RunKtserver(
      {"-host", "127.0.0.1", "-port", std::to_string(PickFreePort()), "-log", log, "foo.xyz"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1);
  std::string text = Slurp(log) + r.err;
  EXPECT_NE(text.find("foo.xyz"), std::string::npos) << text;
}

TEST(Cli, OptionsEndAtTheFirstDatabaseArgument) {
  // "-port" after "*" is a database name, which has no known type.
  TempDir dir;
  ProcessResult r = RunKtserver({"-host", "127.0.0.1", "-port", std::to_string(PickFreePort()),
                                 "-log", dir.path() + "/log", "*", "-port", "2"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1);
}

TEST(Cli, UnopenableLogFileExitsOne) {
  ProcessResult r = RunKtserver({"-host", "127.0.0.1", "-port", std::to_string(PickFreePort()),
                                 "-log", "/nonexistent_dir_ryoan/x.log"});
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("could not open the log file"), std::string::npos) << r.err;
}

TEST(Cli, SigtermExitsZeroAndLogsStartAndFinish) {
  ServerProcess server({":"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  pid_t pid = server.pid();
  EXPECT_EQ(server.Stop(SIGTERM), 0);
  std::string log = server.LogContents();
  std::string ts =
      "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}"
      "(Z|[+-][0-9]{2}:[0-9]{2})";
  std::regex start_re(ts +
                      ": \\[SYSTEM\\]: ================ \\[START\\]: pid=" + std::to_string(pid));
  std::regex finish_re(ts +
                       ": \\[SYSTEM\\]: ================ \\[FINISH\\]: pid=" + std::to_string(pid));
  std::regex any_re(ts + ": \\[(DEBUG|INFO|SYSTEM|ERROR)\\]: .*");
  int starts = 0, finishes = 0;
  std::vector<std::string> lines = Lines(log);
  for (const std::string& line : lines) {
    EXPECT_TRUE(std::regex_match(line, any_re)) << "bad log line: " << line;
    if (std::regex_match(line, start_re)) ++starts;
    if (std::regex_match(line, finish_re)) ++finishes;
  }
  EXPECT_EQ(starts, 1) << log;
  EXPECT_EQ(finishes, 1) << log;
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(std::regex_match(lines.back(), finish_re)) << "FINISH is the last line";
}

TEST(Cli, SigintAndSighupWithoutDaemonShutDownGracefully) {
  for (int sig : {SIGINT, SIGHUP}) {
    ServerProcess server({"%"});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    EXPECT_EQ(server.Stop(sig), 0) << "signal " << sig;
    EXPECT_NE(server.LogContents().find("[FINISH]"), std::string::npos);
  }
}

TEST(Cli, LogFilterLsDropsInfoButKeepsSystem) {
  ServerProcess server({":"}, {"-ls"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient db;
  ASSERT_TRUE(db.Open("127.0.0.1", server.port(), 5));
  ASSERT_TRUE(db.Void().ok());
  db.Close();
  EXPECT_EQ(server.Stop(), 0);
  std::string log = server.LogContents();
  EXPECT_NE(log.find("[START]"), std::string::npos);
  EXPECT_EQ(log.find("]: [INFO]: "), std::string::npos) << log;
  EXPECT_EQ(log.find("]: [DEBUG]: "), std::string::npos) << log;
}

TEST(Cli, RequestsAreLoggedAtInfoByDefault) {
  ServerProcess server({":"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  HttpConnection c;
  ASSERT_TRUE(c.Connect("127.0.0.1", server.port(), 5));
  ASSERT_TRUE(c.Send(GetRequest("/rpc/void")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  c.Close();
  EXPECT_EQ(server.Stop(), 0);
  std::regex line_re(".*: \\[INFO\\]: \\(127\\.0\\.0\\.1:[0-9]+\\): GET /rpc/void HTTP/1\\.1: 200");
  bool found = false;
  for (const std::string& line : Lines(server.LogContents())) {
    if (std::regex_match(line, line_re)) found = true;
  }
  EXPECT_TRUE(found) << server.LogContents();
}

// Request lines may wait in the log's buffer, but never past their replies: once the replies
// to a pipelined round have arrived, every one of its lines is in the file (server running).
TEST(Cli, RequestLinesAreInTheLogBeforeTheirReplies) {
  ServerProcess server({":"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  HttpConnection c;
  ASSERT_TRUE(c.Connect("127.0.0.1", server.port(), 5));
  std::regex line_re(".*: \\[INFO\\]: \\(127\\.0\\.0\\.1:[0-9]+\\): GET /rpc/void HTTP/1\\.1: 200");
  int expected = 0;
  for (int round = 1; round <= 3; ++round) {
    const int n = round * 10;
    std::string requests;
    for (int i = 0; i < n; ++i) requests += GetRequest("/rpc/void");
    ASSERT_TRUE(c.Send(requests));
    for (int i = 0; i < n; ++i) {
      HttpResponse r;
      ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
    }
    expected += n;
    int found = 0;
    for (const std::string& line : Lines(server.LogContents())) {
      if (std::regex_match(line, line_re)) ++found;
    }
    EXPECT_EQ(found, expected) << "round " << round;
  }
  c.Close();
  EXPECT_EQ(server.Stop(), 0);
}

TEST(Cli, PidFileIsWrittenAndRemovedAtExit) {
  TempDir dir;
  std::string pid_path = dir.path() + "/kt.pid";
  ServerProcess server({":"}, {"-pid", pid_path});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  EXPECT_EQ(Slurp(pid_path), std::to_string(server.pid()) + "\n");
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_FALSE(std::filesystem::exists(pid_path));
}

// Threads of `pid` named `name` (/proc/<pid>/task/*/comm).
int ThreadsNamed(pid_t pid, const std::string& name) {
  int n = 0;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    if (Slurp(task.path().string() + "/comm") == name + "\n") n++;
  }
  return n;
}

// Ryoan's own choice (not in the spec): one I/O thread per core but one, at most -th, unless
// RYOAN_IO_THREADS says; the log tells how many. Requests are served either way.
TEST(Cli, IoThreadsAreOnePerCoreButOneAtMostThOrAsTheEnvironmentSays) {
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  struct Case {
    std::vector<std::string> args;
    const char* env;
    int expected;
  };
  std::vector<Case> cases = {{{}, nullptr, std::clamp(cores - 1, 1, 16)},
                             {{"-th", "1"}, nullptr, 1},
                             {{}, "3", 3},
                             {{"-th", "1"}, "2", 2},
                             {{}, "0", std::clamp(cores - 1, 1, 16)}};
  for (const Case& c : cases) {
    if (c.env != nullptr) setenv("RYOAN_IO_THREADS", c.env, 1);
    ServerProcess server({":"}, c.args);
    std::string error;
    bool started = server.Start(&error);
    unsetenv("RYOAN_IO_THREADS");
    ASSERT_TRUE(started) << error;
    std::string label = std::string("env=") + (c.env ? c.env : "unset") +
                        " args=" + (c.args.empty() ? "" : c.args[0] + " " + c.args[1]);
    // The port accepts connections as soon as it listens, a moment before the threads
    // start: wait for them (at most 5 s).
    const std::string line = "I/O threads: " + std::to_string(c.expected) + ";";
    WaitFor(
        [&] {
          return ThreadsNamed(server.pid(), "ryoan-io") == c.expected &&
                 server.LogContents().find(line) != std::string::npos;
        },
        5);
    EXPECT_EQ(ThreadsNamed(server.pid(), "ryoan-io"), c.expected) << label;
    EXPECT_NE(server.LogContents().find(line), std::string::npos) << label << "\n"
                                                                  << server.LogContents();
    // Every connection is served, whichever thread it is dealt to.
    for (int i = 0; i < 4; i++) {
      RpcClient db;
      ASSERT_TRUE(db.Open("127.0.0.1", server.port(), 5)) << label;
      EXPECT_EQ(db.Status().status, 200) << label;
    }
    EXPECT_EQ(server.Stop(), 0) << label;
  }
}

TEST(Cli, WithoutDatabaseArgumentsOneStashIsServed) {
  ServerProcess server;
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient db;
  ASSERT_TRUE(db.Open("127.0.0.1", server.port(), 5));
  RpcResult st = db.Status();
  ASSERT_EQ(st.status, 200);
  EXPECT_EQ(*st.Find("path"), ":");
  EXPECT_EQ(*st.Find("realtype"), "24");
  db.set_database("1");
  EXPECT_EQ(db.Status().status, 400);
  db.Close();
  EXPECT_EQ(server.Stop(), 0);
}

TEST(Cli, SeveralDatabasesAreChosenPerRequestByIndexOrName) {
  ServerProcess server({"first#type=+", "stash#type=:", "dup#type=*", "dup#type=%"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient db;
  ASSERT_TRUE(db.Open("127.0.0.1", server.port(), 5));
  const char* names[] = {"first", "stash", "dup"};
  for (const char* name : names) {
    db.set_database(name);
    ASSERT_EQ(db.Set("who", name).status, 200) << name;
  }
  // "dup" names databases 2 and 3; the later one wins.
  for (int i = 0; i < 4; ++i) {
    db.set_database(std::to_string(i));
    client::RecordResult r = db.Get("who");
    const char* expected[] = {"first", "stash", nullptr, "dup"};
    if (expected[i]) {
      EXPECT_EQ(r.status, 200) << i;
      EXPECT_EQ(r.value, expected[i]) << i;
    } else {
      EXPECT_EQ(r.status, 450) << i;
    }
  }
  db.set_database("2");
  EXPECT_EQ(*db.Status().Find("realtype"), "32");
  db.set_database("first");
  EXPECT_EQ(*db.Status().Find("realtype"), "17");
  EXPECT_EQ(*db.Status().Find("path"), "first");
  RestClient rest;
  ASSERT_TRUE(rest.Open("127.0.0.1", server.port(), 5));
  EXPECT_EQ(rest.Get("who", "stash").body, "stash");
  EXPECT_EQ(rest.Get("who", "nosuch").status, 400);
  db.Close();
  rest.Close();
  EXPECT_EQ(server.Stop(), 0);
}

TEST(Cli, Sigusr1RestartKeepsDataReopensTheLogAndClientsReconnect) {
  ServerProcess server({":"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient db;
  ASSERT_TRUE(db.Open("127.0.0.1", server.port(), 5));
  ASSERT_TRUE(db.Set("survives", "restart").ok());
  std::string rotated = server.log_path() + ".old";
  ASSERT_EQ(std::rename(server.log_path().c_str(), rotated.c_str()), 0);
  ASSERT_EQ(kill(server.pid(), SIGUSR1), 0);
  // The log is reopened under its name, then the listener comes back.
  bool serving = false;
  for (int i = 0; i < 100 && !serving; ++i) {
    SleepSeconds(0.05);
    if (!std::filesystem::exists(server.log_path())) continue;
    HttpConnection c;
    if (!c.Connect("127.0.0.1", server.port(), 1)) continue;
    HttpResponse r;
    serving =
        c.Send(GetRequest("/rpc/void")) && c.ReadResponse(&r) == ReadResult::kOk && r.status == 200;
  }
  ASSERT_TRUE(serving);
  EXPECT_NE(Slurp(rotated).find("[START]"), std::string::npos);
  RecordResult r = db.Get("survives");
  EXPECT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.value, "restart");
  EXPECT_EQ(db.session().connect_count(), 2) << "open connections are closed by a restart";
  db.Close();
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_NE(server.LogContents().find("[FINISH]"), std::string::npos);
}

TEST(Cli, ShutdownReleasesWaitersWith503) {
  ServerProcess server({":"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  HttpConnection c;
  ASSERT_TRUE(c.Connect("127.0.0.1", server.port(), 10));
  ASSERT_TRUE(c.Send(GetRequest("/rpc/void?WAIT=forever&WAITTIME=20")));
  SleepSeconds(0.2);
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.Stop(SIGTERM, 10), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk) << "spec 7.3: shutdown ends a WAIT with 503";
  ExpectRpcError(r, 503, "the condition timed out");
}

}  // namespace
}  // namespace ryoan::testing
