// Expiration (spec/http-rpc.md 7.5, 7.6; spec/rest.md 2.3, 3) and WAIT/SIGNAL (7.3, 7.4).
#include <atomic>
#include <chrono>
#include <regex>
#include <thread>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

using Clock = std::chrono::steady_clock;

class Expiry : public SharedServerTest<Expiry> {};

TEST_F(Expiry, PositiveXtIsRelativeSeconds) {
  int64_t before = NowSeconds();
  ExpectRpcReply(Get("/rpc/set?key=rel&value=v&xt=100"), 200, kTsv, "");
  int64_t after = NowSeconds();
  HttpResponse r = Get("/rpc/get?key=rel");
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.body, m, std::regex("value\tv\nxt\t([0-9]+)\n")))
      << Printable(r.body);
  EXPECT_GE(std::stoll(m[1].str()), before + 100);
  EXPECT_LE(std::stoll(m[1].str()), after + 100);
}

TEST_F(Expiry, NegativeXtIsAbsoluteTime) {
  ExpectRpcReply(Get("/rpc/set?key=abs&value=v&xt=-2000000000"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=abs"), 200, kTsv, "value\tv\nxt\t2000000000\n");
}

TEST_F(Expiry, XtIsOutputOnlyWhenTheRecordExpires) {
  ExpectRpcReply(Get("/rpc/set?key=noxt&value=v"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=noxt"), 200, kTsv, "value\tv\n");
  ExpectRpcReply(Get("/rpc/check?key=noxt"), 200, kTsv, "vsiz\t1\n");
}

TEST_F(Expiry, XtBeyondTheMaximumMeansNever) {
  ExpectRpcReply(Get("/rpc/set?key=forever&value=v&xt=-99999999999999"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=forever"), 200, kTsv, "value\tv\n");
}

TEST_F(Expiry, SetWithoutXtClearsAnExistingTtl) {
  ExpectRpcReply(Get("/rpc/set?key=clr&value=v&xt=-2000000000"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/set?key=clr&value=w"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=clr"), 200, kTsv, "value\tw\n");
  ExpectRpcReply(Get("/rpc/replace?key=clr&value=x&xt=-2000000000"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/replace?key=clr&value=y"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=clr"), 200, kTsv, "value\ty\n");
}

TEST_F(Expiry, RecordWithPastAbsoluteTimeIsInvisible) {
  std::string past = std::to_string(NowSeconds() - 10);
  ExpectRpcReply(Get("/rpc/set?key=past&value=v&xt=-" + past), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/get?key=past"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/check?key=past"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/replace?key=past&value=w"), 450, kNoRecord);
  ExpectRpcReply(Get("/rpc/get_bulk?_past"), 200, kTsv, "num\t0\n");
  EXPECT_EQ(Get("/past").status, 404);
  ExpectRpcReply(Get("/rpc/add?key=past&value=new"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=past"), 200, kTsv, "value\tnew\n");
}

TEST_F(Expiry, RecordWithXtOneIsGoneWithinThreeSeconds) {
  ExpectRpcReply(Get("/rpc/set?key=short&value=v&xt=1"), 200, kTsv, "");
  Clock::time_point start = Clock::now();
  EXPECT_EQ(Get("/rpc/get?key=short").status, 200);
  int status = 200;
  while (Clock::now() - start < std::chrono::milliseconds(3500)) {
    SleepSeconds(0.25);
    status = Get("/rpc/get?key=short").status;
    if (status != 200) break;
  }
  EXPECT_EQ(status, 450);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(500))
      << "a record with xt=1 lives until the next second is over";
}

TEST_F(Expiry, RestPutXtIsAbsoluteAndGetReportsItAsRfc1123) {
  HttpResponse put = Exchange(BodyRequest("PUT", "/rx1", "", "v", "X-Kt-Xt: 2000000000\r\n"));
  EXPECT_EQ(put.status, 201);
  HttpResponse get = Get("/rx1");
  EXPECT_EQ(get.status, 200);
  ASSERT_TRUE(get.HasHeader("X-Kt-Xt"));
  EXPECT_EQ(*get.FindHeader("X-Kt-Xt"), "Wed, 18 May 2033 03:33:20 GMT");
  ExpectRpcReply(Get("/rpc/get?key=rx1"), 200, kTsv, "value\tv\nxt\t2000000000\n");
  HttpResponse head = Exchange(GetRequest("/rx1", {}, "HEAD"), true);
  EXPECT_EQ(*head.FindHeader("X-Kt-Xt"), "Wed, 18 May 2033 03:33:20 GMT");
}

TEST_F(Expiry, RestPutAcceptsTheSpecDateForms) {
  const char* forms[] = {"Wed, 18 May 2033 03:33:20 GMT", "0x77359400",
                         "2033-05-18T12:33:20+09:00",     "2033-05-18T03:33:20Z",
                         "2033/05/18 03:33:20",           "18 May 2033 12:33:20 +0900"};
  for (const char* form : forms) {
    HttpResponse put =
        Exchange(BodyRequest("PUT", "/rx2", "", "v", std::string("X-Kt-Xt: ") + form + "\r\n"));
    EXPECT_EQ(put.status, 201) << form;
    ExpectRpcReply(Get("/rpc/get?key=rx2"), 200, kTsv, "value\tv\nxt\t2000000000\n");
  }
}

TEST_F(Expiry, RestPutWithoutOrWithUnparsableXtHasNoExpiration) {
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/rx3", "", "v", "X-Kt-Xt: 2000000000\r\n")).status, 201);
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/rx3", "", "v")).status, 201);
  EXPECT_FALSE(Get("/rx3").HasHeader("X-Kt-Xt"));
  ExpectRpcReply(Get("/rpc/get?key=rx3"), 200, kTsv, "value\tv\n");
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/rx3", "", "v", "X-Kt-Xt: bogus\r\n")).status, 201);
  ExpectRpcReply(Get("/rpc/get?key=rx3"), 200, kTsv, "value\tv\n");
}

TEST_F(Expiry, RestPutWithPastXtStoresAnExpiredRecord) {
  EXPECT_EQ(Exchange(BodyRequest("PUT", "/rx4", "", "v", "X-Kt-Xt: 1000\r\n")).status, 201);
  EXPECT_EQ(Get("/rx4").status, 404);
}

// ---- WAIT / SIGNAL ---------------------------------------------------------------------------

class WaitSignal : public SharedServerTest<WaitSignal> {};

// Sends SIGNAL=<cond> (with SIGNALBROAD if `broad`) until `want` waiters in total were
// signalled or 5 s passed; returns the total.
int SignalUntil(int port, const std::string& cond, bool broad, int want) {
  int total = 0;
  Clock::time_point start = Clock::now();
  while (total < want && Clock::now() - start < std::chrono::seconds(5)) {
    HttpConnection c;
    if (!c.Connect("127.0.0.1", port, 5)) break;
    c.Send(GetRequest("/rpc/void?SIGNAL=" + cond + (broad ? "&SIGNALBROAD" : "")));
    HttpResponse r;
    if (c.ReadResponse(&r) != ReadResult::kOk) break;
    std::smatch m;
    if (std::regex_match(r.body, m, std::regex("SIGNALED\t([0-9]+)\n"))) {
      total += std::stoi(m[1].str());
    }
    if (total < want) SleepSeconds(0.05);
  }
  return total;
}

TEST_F(WaitSignal, WaitTimesOutAfterWaittimeWith503) {
  Clock::time_point start = Clock::now();
  HttpResponse r = Get("/rpc/echo?WAIT=nobody&WAITTIME=0.5");
  auto elapsed = Clock::now() - start;
  ExpectRpcError(r, 503, "the condition timed out");
  EXPECT_GE(elapsed, std::chrono::milliseconds(450));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
}

TEST_F(WaitSignal, ATimedOutProcedureIsNotRun) {
  ExpectRpcError(Get("/rpc/set?key=w1&value=v&WAIT=nobody&WAITTIME=0.2"), 503,
                 "the condition timed out");
  ExpectRpcError(Get("/rpc/get?key=w1"), 450, kNoRecord);
}

TEST_F(WaitSignal, SignalReleasesAWaiterWhichThenRunsItsProcedure) {
  HttpResponse waited;
  std::thread waiter([&] { waited = Get("/rpc/set?key=w2&value=v&WAIT=cond2&WAITTIME=10"); });
  int signaled = SignalUntil(port(), "cond2", false, 1);
  waiter.join();
  EXPECT_EQ(signaled, 1);
  ExpectRpcReply(waited, 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=w2"), 200, kTsv, "value\tv\n");
}

TEST_F(WaitSignal, SignalBroadReleasesEveryWaiter) {
  HttpResponse a, b;
  std::thread ta([&] { a = Get("/rpc/echo?x=a&WAIT=cond3&WAITTIME=10"); });
  std::thread tb([&] { b = Get("/rpc/echo?x=b&WAIT=cond3&WAITTIME=10"); });
  SleepSeconds(0.3);
  int signaled = SignalUntil(port(), "cond3", true, 2);
  ta.join();
  tb.join();
  EXPECT_EQ(signaled, 2);
  ExpectRpcReply(a, 200, kTsv, "WAIT\tcond3\nWAITTIME\t10\nx\ta\n");
  ExpectRpcReply(b, 200, kTsv, "WAIT\tcond3\nWAITTIME\t10\nx\tb\n");
}

TEST_F(WaitSignal, SignalWithoutWaitersReportsZero) {
  ExpectRpcReply(Get("/rpc/void?SIGNAL=none"), 200, kTsv, "SIGNALED\t0\n");
  ExpectRpcReply(Get("/rpc/echo?SIGNAL=none&a=1"), 200, kTsv, "SIGNAL\tnone\nSIGNALED\t0\na\t1\n");
}

TEST_F(WaitSignal, SignalIsProcessedAfterFailuresAndUnknownProcedures) {
  ExpectRpcReply(Get("/rpc/get?key=w_missing&SIGNAL=none"), 450, kTsv,
                 "ERROR\tDB: 7: no record: no record\nSIGNALED\t0\n");
  ExpectRpcReply(Get("/rpc/nope?SIGNAL=none"), 501, kTsv,
                 "ERROR\tnot implemented: nope\nSIGNALED\t0\n");
}

TEST_F(WaitSignal, SignalFromAFailingCallStillReleasesAWaiter) {
  HttpResponse waited;
  std::thread waiter([&] { waited = Get("/rpc/void?WAIT=cond4&WAITTIME=10"); });
  int total = 0;
  Clock::time_point start = Clock::now();
  while (total < 1 && Clock::now() - start < std::chrono::seconds(5)) {
    HttpResponse r = Get("/rpc/get?key=w_missing&SIGNAL=cond4");
    EXPECT_EQ(r.status, 450);
    if (r.body.find("SIGNALED\t1\n") != std::string::npos) total = 1;
    if (!total) SleepSeconds(0.05);
  }
  waiter.join();
  EXPECT_EQ(total, 1);
  EXPECT_EQ(waited.status, 200);
}

TEST_F(WaitSignal, ZeroOrNegativeWaittimeMeansThirtySecondsNotZero) {
  for (const char* waittime : {"0", "-1", "junk"}) {
    HttpConnection c = Connect();
    std::string cond = std::string("cond_wt") + waittime;
    ASSERT_TRUE(c.Send(GetRequest("/rpc/void?WAIT=" + cond + "&WAITTIME=" + waittime)));
    EXPECT_EQ(c.ReadSome(0.4), "") << "WAITTIME=" << waittime << " must not expire at once";
    EXPECT_EQ(SignalUntil(port(), cond, false, 1), 1);
    HttpResponse r;
    ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
    ExpectRpcReply(r, 200, kTsv, "");
  }
}

TEST_F(WaitSignal, EmptyConditionNameIsAllowed) {
  HttpResponse waited;
  std::thread waiter([&] { waited = Get("/rpc/echo?WAIT=&WAITTIME=10"); });
  int total = 0;
  Clock::time_point start = Clock::now();
  while (total < 1 && Clock::now() - start < std::chrono::seconds(5)) {
    HttpResponse r = Get("/rpc/void?SIGNAL=");
    if (r.body == "SIGNALED\t1\n") total = 1;
    if (!total) SleepSeconds(0.05);
  }
  waiter.join();
  EXPECT_EQ(total, 1);
  ExpectRpcReply(waited, 200, kTsv, "WAIT\t\nWAITTIME\t10\n");
}

}  // namespace
}  // namespace ryoan::testing
