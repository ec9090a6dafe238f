// play_script over HTTP RPC and the binary protocol against ktserver -scr
// tests/scripts/procedures.lua (spec/lua.md 1, 2; spec/http-rpc.md 9.4; spec/binary.md 6).
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

using client::BinaryClient;
using client::BinaryPairs;
using client::BinaryStatus;

const std::string kProcedures = std::string(RYOAN_SCRIPTS_DIR) + "/procedures.lua";

class PlayScript : public SharedServerTest<PlayScript> {
 public:
  static std::vector<std::string> Dbs() { return {"%", "*"}; }
  static std::vector<std::string> Args() { return {"-scr", kProcedures, "-th", "4"}; }

 protected:
  static BinaryClient OpenBinary() {
    BinaryClient c;
    EXPECT_TRUE(c.Open("127.0.0.1", port(), 5.0)) << c.last_error();
    return c;
  }
  void TearDown() override {
    Rpc("0")->Clear();
    Rpc("1")->Clear();
  }
};

TEST_F(PlayScript, HttpPassesUnderscoreInputsAndPrefixesOutputs) {
  HttpResponse r = Get("/rpc/play_script?name=echo&_a=1&_b=x%00y&_=empty&c=skip&DB=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "_\tempty\n_a\t1\n_b\tx%00y\n");  // a NUL makes the reply URL-encoded
  r = Get("/rpc/play_script?name=types");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            "_0\tzero\n_1.500000\tonehalf\n_big\t1000\n_frac\t2.500000\n_int\t7\n_no\tfalse\n"
            "_yes\ttrue\n");
}

TEST_F(PlayScript, HttpNameMustBeAlphanumeric) {
  for (const char* target : {"/rpc/play_script", "/rpc/play_script?name=",
                             "/rpc/play_script?name=list_push", "/rpc/play_script?name=a-b"}) {
    HttpResponse r = Get(target);
    EXPECT_EQ(r.status, 400) << target;
    EXPECT_EQ(r.body, "ERROR\tinvalid parameters\n") << target;
  }
}

TEST_F(PlayScript, HttpReturnCodes) {
  const std::pair<const char*, int> cases[] = {{"0", 200},   {"1", 501},  {"2", 400}, {"3", 450},
                                               {"4", 503},   {"5", 500},  {"6", 500}, {"-1", 500},
                                               {"nil", 200}, {"abc", 200}};
  for (const auto& [rv, status] : cases) {
    HttpResponse r = Get(std::string("/rpc/play_script?name=ret&_rv=") + rv);
    EXPECT_EQ(r.status, status) << rv;
    if (status == 200) {
      EXPECT_EQ(r.body, "_touched\tyes\n") << rv;
    } else if (status == 501) {
      EXPECT_EQ(r.body, "ERROR\tno such scripting procedure\n");
    } else {
      EXPECT_EQ(r.body, "ERROR\tthe scripting procedure failed\n") << rv;
    }
  }
  HttpResponse r = Get("/rpc/play_script?name=nosuch");
  EXPECT_EQ(r.status, 501);
  EXPECT_EQ(r.body, "ERROR\tno such scripting procedure\n");
  r = Get("/rpc/play_script?name=fail");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "ERROR\tthe scripting procedure failed\n");
  EXPECT_NE(server().LogContents().find("[ERROR]: [SCRIPT]: fail: [string \"-- Procedures"),
            std::string::npos);
}

TEST_F(PlayScript, ScriptsUseTheServerDatabases) {
  HttpResponse r = Get("/rpc/play_script?name=set&_key=k&_value=v&_db=1");
  EXPECT_EQ(r.status, 200);
  client::RecordResult stored = Rpc("1")->Get("k");
  EXPECT_EQ(stored.status, 200);
  EXPECT_EQ(stored.value, "v");
  r = Get("/rpc/play_script?name=get&_key=k&_db=1");
  EXPECT_EQ(r.body, "_value\tv\n_xt\t1099511627775\n");
  r = Get("/rpc/play_script?name=get&_key=k");
  EXPECT_EQ(r.status, 450);
}

TEST_F(PlayScript, BinaryCallsAnyNameAndSortsTheReply) {
  BinaryClient c = OpenBinary();
  BinaryPairs out;
  ASSERT_EQ(c.PlayScript("list_push", {{"key", "l"}, {"value", "x"}}, false, &out),
            BinaryStatus::kOk);
  EXPECT_EQ(out, (BinaryPairs{{"length", "1"}}));
  ASSERT_EQ(c.PlayScript("list_push", {{"key", "l"}, {"value", "y"}}, false, &out),
            BinaryStatus::kOk);
  ASSERT_EQ(c.PlayScript("list_get", {{"key", "l"}}, false, &out), BinaryStatus::kOk);
  EXPECT_EQ(out, (BinaryPairs{{"0", "x"}, {"1", "y"}}));
  // Keys and values go in unchanged (no '_' handling); the last duplicate wins.
  ASSERT_EQ(c.PlayScript("echo", {{"_b", "1"}, {"a", "2"}, {"_b", "3"}}, false, &out),
            BinaryStatus::kOk);
  EXPECT_EQ(out, (BinaryPairs{{"_b", "3"}, {"a", "2"}}));
}

TEST_F(PlayScript, BinaryFailuresAnswerErrorAndKeepTheConnection) {
  BinaryClient c = OpenBinary();
  BinaryPairs out;
  EXPECT_EQ(c.PlayScript("nosuch", {}, false, &out), BinaryStatus::kServerError);
  EXPECT_EQ(c.PlayScript("ret", {{"rv", "3"}}, false, &out), BinaryStatus::kServerError);
  EXPECT_EQ(c.PlayScript("fail", {}, false, &out), BinaryStatus::kServerError);
  EXPECT_EQ(c.PlayScript("fail", {}, true, &out), BinaryStatus::kOk);  // no reply at all
  EXPECT_EQ(c.PlayScript("echo", {{"k", "v"}}, false, &out), BinaryStatus::kOk);
  EXPECT_EQ(out, (BinaryPairs{{"k", "v"}}));
  EXPECT_NE(server().LogContents().find("bin_play_script: 1"), std::string::npos);
}

TEST_F(PlayScript, CountsScriptCallsAndLogsTheLoad) {
  RecordMap before, after;
  auto rpc = Rpc();
  ASSERT_EQ(rpc->Call("report", {}, &before), 200);
  Get("/rpc/play_script?name=echo");
  Get("/rpc/play_script?name=nosuch");
  ASSERT_EQ(rpc->Call("report", {}, &after), 200);
  EXPECT_EQ(std::stoll(*after.Find("cnt_script")) - std::stoll(*before.Find("cnt_script")), 2);
  std::string log = server().LogContents();
  EXPECT_NE(log.find("[SYSTEM]: loading a script file: path=" + kProcedures), std::string::npos);
  EXPECT_EQ(log.find("-scr (Lua scripting)"), std::string::npos);
}

// Restart reloads the script: fresh states, globals reset.
TEST(PlayScriptProcess, RestartReloadsAndStopInterruptsLongProcedures) {
  ServerProcess server({"%"}, {"-scr", kProcedures, "-th", "1"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  auto get = [&](std::string_view target) {
    HttpConnection c;
    EXPECT_TRUE(c.Connect("127.0.0.1", server.port(), 5.0));
    EXPECT_TRUE(c.Send(GetRequest(target)));
    HttpResponse r;
    c.ReadResponse(&r);
    return r;
  };
  get("/rpc/play_script?name=count");
  EXPECT_EQ(get("/rpc/play_script?name=count").body, "_calls\t2\n_loads\t1\n_thid\t0\n");
  kill(server.pid(), SIGUSR1);
  HttpResponse r;
  for (int i = 0; i < 100; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    r = get("/rpc/play_script?name=count");
    if (r.status == 200) break;
  }
  EXPECT_EQ(r.body, "_calls\t1\n_loads\t1\n_thid\t0\n");
  EXPECT_NE(server.LogContents().find("[SYSTEM]: reloading a script file: path=" + kProcedures),
            std::string::npos);
  // A procedure sleeping for 100 s does not hold up SIGTERM: it is interrupted at once, and
  // its client still gets an answer before the connection closes.
  HttpResponse nap_reply;
  std::thread napper([&] { nap_reply = get("/rpc/play_script?name=nap&_sec=100"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(server.Stop(SIGTERM, 20), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_NE(server.LogContents().find("[SCRIPT]: nap: "), std::string::npos);
  napper.join();
  EXPECT_GE(nap_reply.status, 500);
}

// mapreduce on a server database with the decimal comparator reduces in that order, with or
// without spilling to temporary files (spec/lua.md 8.3).
TEST(PlayScriptProcess, MapReduceFollowsTheDatabaseComparator) {
  char dir[] = "/tmp/ryoan-mapreduce-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  ServerProcess server({"%#rcomp=dec"}, {"-scr", kProcedures, "-th", "2"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  auto get = [&](std::string_view target) {
    HttpConnection c;
    EXPECT_TRUE(c.Connect("127.0.0.1", server.port(), 5.0));
    EXPECT_TRUE(c.Send(GetRequest(target)));
    HttpResponse r;
    c.ReadResponse(&r);
    return r;
  };
  client::RpcClient rpc;
  ASSERT_TRUE(rpc.Open("127.0.0.1", server.port(), 10.0));
  for (const auto& [key, value] :
       {std::pair{"a", "10"}, {"b", "9"}, {"c", "100"}, {"d", "9"}, {"e", "-1.5"}, {"f", "10"}}) {
    ASSERT_EQ(rpc.Set(key, value).status, 200);
  }
  const std::string expected = "_groups\t-1.5=e 9=b,d 10=a,f 100=c\n";
  EXPECT_EQ(get("/rpc/play_script?name=groupby").body, expected);
  EXPECT_EQ(get("/rpc/play_script?name=groupby&_nolock=1").body, expected);
  EXPECT_EQ(get(std::string("/rpc/play_script?name=groupby&_clim=1&_dbnum=2&_tmp=") + dir).body,
            expected);
  HttpResponse r = get("/rpc/play_script?name=groupby&_tmp=/no/such/dir");
  EXPECT_EQ(r.status, 450);
  EXPECT_EQ(server.Stop(SIGTERM, 20), 0);
  EXPECT_TRUE(std::filesystem::is_empty(dir));  // the runs were unlinked at once
  std::filesystem::remove_all(dir);
}

// jit.on() and debug.sethook() cannot lift the per-call time limit (lowered to 1 s through
// RYOAN_SCRIPT_TIMEOUT, which the server inherits): each spinning call is stopped with code 4
// (HTTP 503, binary 0xBF), and the server goes on answering.
TEST(PlayScriptProcess, JitAndHooksCannotEscapeTheTimeLimit) {
  setenv("RYOAN_SCRIPT_TIMEOUT", "1", 1);
  ServerProcess server({"%"}, {"-scr", kProcedures, "-th", "2"});
  std::string error;
  bool started = server.Start(&error);
  unsetenv("RYOAN_SCRIPT_TIMEOUT");
  ASSERT_TRUE(started) << error;
  auto get = [&](std::string_view target) {
    HttpConnection c;
    EXPECT_TRUE(c.Connect("127.0.0.1", server.port(), 30.0));
    EXPECT_TRUE(c.Send(GetRequest(target)));
    HttpResponse r;
    c.ReadResponse(&r);
    return r;
  };
  auto start = std::chrono::steady_clock::now();
  for (const char* name : {"spinjit", "spinnohook"}) {
    HttpResponse r = get(std::string("/rpc/play_script?name=") + name);
    EXPECT_EQ(r.status, 503) << name;
    EXPECT_EQ(r.body, "ERROR\tthe scripting procedure failed\n") << name;
  }
  BinaryClient c;
  ASSERT_TRUE(c.Open("127.0.0.1", server.port(), 30.0)) << c.last_error();
  BinaryPairs out;
  EXPECT_EQ(c.PlayScript("spin_jit", {}, false, &out), BinaryStatus::kServerError);
  EXPECT_EQ(c.PlayScript("spin_nohook", {}, false, &out), BinaryStatus::kServerError);
  // Four calls of about 1 s each; far below the default limit of 120 s.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_EQ(c.PlayScript("echo", {{"k", "v"}}, false, &out), BinaryStatus::kOk);
  EXPECT_EQ(out, (BinaryPairs{{"k", "v"}}));
  std::string log = server.LogContents();
  for (const char* name : {"spinjit", "spinnohook", "spin_jit", "spin_nohook"}) {
    EXPECT_NE(log.find(std::string("[ERROR]: [SCRIPT]: ") + name + ": procedure timed out"),
              std::string::npos)
        << name;
  }
  EXPECT_EQ(server.Stop(SIGTERM, 20), 0);
}

}  // namespace
}  // namespace ryoan::testing
