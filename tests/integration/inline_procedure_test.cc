// Lua procedures run inline on the I/O thread while they are quick (server/
// procedure_placement.h), and a procedure that turns out slow must not stall the other
// connections of that thread (server/loop_standby.h). With `-th 1` there is a single I/O
// thread and a single worker: one connection runs procedures that loop or sleep for about
// 2 s, again and again, while another connection's gets on the same thread must each be
// answered well within 1 s.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

using client::BinaryClient;
using client::BinaryPairs;
using client::BinaryStatus;
using Clock = std::chrono::steady_clock;

const std::string kProcedures = std::string(RYOAN_SCRIPTS_DIR) + "/procedures.lua";

// Lua for `eval`: a busy loop of about two seconds of CPU time.
constexpr const char* kBusyTwoSeconds =
    "local t = os.clock() + 2 while os.clock() < t do end return 'busy'";

// SIGTERM ends the server with status 0 and no sanitizer report.
void ExpectCleanStop(ServerProcess& server) {
  EXPECT_EQ(server.Stop(), 0);
  std::string err = server.StderrContents();
  EXPECT_EQ(err.find("Sanitizer"), std::string::npos) << err;
}

TEST(InlineProcedure, SlowProceduresDoNotStallOtherConnectionsOfTheirThread) {
  ServerProcess server({"%"}, {"-scr", kProcedures, "-th", "1"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;

  HttpConnection getter;
  ASSERT_TRUE(getter.Connect("127.0.0.1", server.port(), 30.0));
  ASSERT_TRUE(getter.Send(GetRequest("/rpc/set?key=k&value=v")));
  HttpResponse r;
  ASSERT_EQ(getter.ReadResponse(&r), ReadResult::kOk);
  ASSERT_EQ(r.status, 200);

  // The slow side: each procedure is quick first (so it is placed inline), then slow.
  std::atomic<bool> done{false};
  std::atomic<int> slow_calls{0};
  std::string slow_error;
  std::thread slow([&] {
    BinaryClient c;
    if (!c.Open("127.0.0.1", server.port(), 60.0)) {
      slow_error = c.last_error();
      done = true;
      return;
    }
    for (int round = 0; round < 2 && slow_error.empty(); round++) {
      BinaryPairs out;
      if (c.PlayScript("nap", {{"sec", "0"}}, false, &out) != BinaryStatus::kOk ||
          c.PlayScript("nap", {{"sec", "2"}}, false, &out) != BinaryStatus::kOk ||
          c.PlayScript("eval", {{"code", "return 1"}}, false, &out) != BinaryStatus::kOk ||
          c.PlayScript("eval", {{"code", kBusyTwoSeconds}}, false, &out) != BinaryStatus::kOk) {
        slow_error = "play_script failed: " + c.last_error();
        break;
      }
      if (out.size() != 2 || out[0].second != "busy") slow_error = "unexpected eval reply";
      slow_calls += 2;
    }
    done = true;
  });

  // A third connection calls a quick procedure all along: some of its calls arrive while the
  // standby thread serves the loop, where they must go to a worker (not inline, and not
  // deadlock); each must be answered correctly.
  std::atomic<int> echoes{0};
  std::string echo_error;
  std::thread echoer([&] {
    BinaryClient c;
    if (!c.Open("127.0.0.1", server.port(), 30.0)) {
      echo_error = c.last_error();
      return;
    }
    while (!done && echo_error.empty()) {
      BinaryPairs out;
      std::string v = std::to_string(echoes.load());
      if (c.PlayScript("echo", {{"v", v}}, false, &out) != BinaryStatus::kOk) {
        echo_error = "echo failed: " + c.last_error();
      } else if (out != BinaryPairs{{"v", v}}) {
        echo_error = "unexpected echo reply";
      }
      echoes++;
    }
  });

  // The other connection: gets, one after another, each timed.
  Clock::duration worst{};
  int gets = 0;
  auto deadline = Clock::now() + std::chrono::seconds(120);
  std::string get_error;
  while (!done && Clock::now() < deadline) {
    auto start = Clock::now();
    if (!getter.Send(GetRequest("/rpc/get?key=k")) || getter.ReadResponse(&r) != ReadResult::kOk) {
      get_error = "no answer to a get";
      break;
    }
    auto took = Clock::now() - start;
    if (r.status != 200 || r.body != "value\tv\n") {
      get_error = "unexpected get reply: " + r.body;
      break;
    }
    worst = std::max(worst, took);
    gets++;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // On failure, the clients may wait on a stuck server: end it so that they return.
  if (!get_error.empty()) server.Stop(SIGKILL);
  EXPECT_EQ(get_error, "");
  slow.join();
  echoer.join();
  EXPECT_EQ(echo_error, "");
  EXPECT_GT(echoes, 20);
  EXPECT_TRUE(done);
  EXPECT_EQ(slow_error, "");
  EXPECT_EQ(slow_calls, 4);
  // About 8 s of slow procedures passed: the gets went on all along.
  EXPECT_GT(gets, 20);
  EXPECT_LT(worst, std::chrono::seconds(1))
      << "a get waited " << std::chrono::duration<double>(worst).count() << " s";
  if (get_error.empty()) ExpectCleanStop(server);
}

TEST(InlineProcedure, QuickProceduresStayCorrectAcrossManyCalls) {
  ServerProcess server({"%"}, {"-scr", kProcedures, "-th", "1"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  BinaryClient c;
  ASSERT_TRUE(c.Open("127.0.0.1", server.port(), 10.0)) << c.last_error();
  for (int i = 0; i < 500; i++) {
    BinaryPairs out;
    std::string v = std::to_string(i);
    ASSERT_EQ(c.PlayScript("echo", {{"a", v}, {"b", "x"}}, false, &out), BinaryStatus::kOk);
    ASSERT_EQ(out, (BinaryPairs{{"a", v}, {"b", "x"}}));
  }
  // The same procedure over HTTP, interleaved with a get on one connection.
  HttpConnection h;
  ASSERT_TRUE(h.Connect("127.0.0.1", server.port(), 10.0));
  for (int i = 0; i < 100; i++) {
    ASSERT_TRUE(h.Send(GetRequest("/rpc/play_script?name=echo&_x=" + std::to_string(i))));
    HttpResponse r;
    ASSERT_EQ(h.ReadResponse(&r), ReadResult::kOk);
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body, "_x\t" + std::to_string(i) + "\n");
  }
  ExpectCleanStop(server);
}

}  // namespace
}  // namespace ryoan::testing
