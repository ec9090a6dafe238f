// Less common corners of spec/http-rpc.md and spec/databases.md 5: numeric edge cases,
// header parsing rules, pipelining around a close, and cursor writes on hash databases.
#include <thread>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

class EdgeCases : public SharedServerTest<EdgeCases> {};

TEST_F(EdgeCases, IncrementReachingInt64MinIsWrittenButReportedAsFailure) {
  ExpectRpcReply(Get("/rpc/increment?key=wrap&num=9223372036854775807"), 200, kTsv,
                 "num\t9223372036854775807\n");
  ExpectRpcError(Get("/rpc/increment?key=wrap&num=1"), 450, kLogic);
  ExpectRpcReply(Get("/rpc/get?key=wrap"), 200, kTsvB, "dmFsdWU=\tgAAAAAAAAAA=\n");
}

TEST_F(EdgeCases, IncrementNumWrapsModulo64Bits) {
  // 18446744073709551615 reads as -1 (spec 5.4).
  ExpectRpcReply(Get("/rpc/increment?key=wrap2&num=18446744073709551615"), 200, kTsv, "num\t-1\n");
}

TEST_F(EdgeCases, IncrementStoresItsXt) {
  ExpectRpcReply(Get("/rpc/increment?key=incxt&num=1&xt=-2000000000"), 200, kTsv, "num\t1\n");
  ExpectRpcReply(Get("/rpc/check?key=incxt"), 200, kTsv, "vsiz\t8\nxt\t2000000000\n");
}

TEST_F(EdgeCases, IncrementDoubleNegativeFractionsAreNotNormalised) {
  ExpectRpcReply(Get("/rpc/increment_double?key=neg&num=-0.5"), 200, kTsv, "num\t-0.500000\n");
  ExpectRpcReply(Get("/rpc/increment_double?key=neg&num=-0.75"), 200, kTsv, "num\t-1.250000\n");
  // (0, -1250000000000000).
  ExpectRpcReply(Get("/rpc/get?key=neg"), 200, kTsvB, "dmFsdWU=\tAAAAAAAAAAD/+48hsgfgAA==\n");
  ExpectRpcReply(Get("/rpc/increment_double?key=neg2&num=1.5"), 200, kTsv, "num\t1.500000\n");
  ExpectRpcReply(Get("/rpc/increment_double?key=neg2&num=-2.75"), 200, kTsv, "num\t-1.250000\n");
  // (-1, -250000000000000).
  ExpectRpcReply(Get("/rpc/get?key=neg2"), 200, kTsvB, "dmFsdWU=\t/////////////xygVs5gAA==\n");
}

TEST_F(EdgeCases, IncrementDoubleInfinityIsStoredAndSticks) {
  ExpectRpcReply(Get("/rpc/increment_double?key=inf&num=inf"), 200, kTsv, "num\tinf\n");
  ExpectRpcReply(Get("/rpc/get?key=inf"), 200, kTsvB, "dmFsdWU=\tf/////////8AAAAAAAAAAA==\n");
  ExpectRpcReply(Get("/rpc/increment_double?key=inf&num=1"), 200, kTsv, "num\tinf\n");
  ExpectRpcReply(Get("/rpc/increment_double?key=ninf&num=-inf"), 200, kTsv, "num\t-inf\n");
}

TEST_F(EdgeCases, IncrementDoubleNanIsWrittenAndReportedAsFailure) {
  ExpectRpcError(Get("/rpc/increment_double?key=nan&num=nan"), 450, kLogic);
  ExpectRpcReply(Get("/rpc/get?key=nan"), 200, kTsvB, "dmFsdWU=\tgAAAAAAAAACAAAAAAAAAAA==\n");
  ExpectRpcError(Get("/rpc/increment_double?key=nan&num=1"), 450, kLogic);
}

TEST_F(EdgeCases, CasTreatsAnExpiredRecordAsAbsent) {
  ExpectRpcReply(Get("/rpc/set?key=casx&value=v&xt=-5"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/cas?key=casx&oval=v&nval=w"), 450,
                 "DB: 8: logical inconsistency: status conflict");
  ExpectRpcReply(Get("/rpc/cas?key=casx&nval=z"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=casx"), 200, kTsv, "value\tz\n");
}

TEST_F(EdgeCases, GarbageXtMeansNowSoTheRecordExpiresWithinASecond) {
  int64_t before = NowSeconds();
  ExpectRpcReply(Get("/rpc/set?key=gx&value=v&xt=abc"), 200, kTsv, "");
  HttpResponse r = Get("/rpc/check?key=gx");
  int64_t after = NowSeconds();
  if (r.status == 200) {
    ASSERT_EQ(r.body.rfind("vsiz\t1\nxt\t", 0), 0u) << Printable(r.body);
    int64_t xt = std::stoll(r.body.substr(10));
    EXPECT_GE(xt, before);
    EXPECT_LE(xt, after);
  } else {
    ExpectRpcError(r, 450, kNoRecord);
  }
}

TEST_F(EdgeCases, EmptyProcedureNameIsUnknown) {
  ExpectRpcError(Get("/rpc/"), 501, "not implemented: ");
}

TEST_F(EdgeCases, CursorIdMustStartWithADigit) {
  ExpectRpcError(Get("/rpc/cur_jump?CUR=%2B1"), 400, "no such cursor");
  ExpectRpcError(Get("/rpc/cur_jump?CUR=-1"), 400, "no such cursor");
}

TEST_F(EdgeCases, DatabaseIndexIsParsedAsAnInteger) {
  ExpectRpcReply(Get("/rpc/set?DB=01&key=idx&value=one"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?DB=1&key=idx"), 200, kTsv, "value\tone\n");
  ExpectRpcError(Get("/rpc/get?DB=18446744073709551615&key=idx"), 400, "no such database");
}

TEST_F(EdgeCases, MatchWithMaxZeroFindsNothing) {
  ExpectRpcReply(Get("/rpc/set?DB=1&key=m0&value=v"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/match_prefix?DB=1&prefix=m0&max=0"), 200, kTsv, "num\t0\n");
  ExpectRpcReply(Get("/rpc/match_prefix?DB=1&prefix=m0&max=-1"), 200, kTsv, "_m0\t0\nnum\t1\n");
}

TEST_F(EdgeCases, LaterDuplicateHeaderWinsAndLinesWithoutColonAreIgnored) {
  ExpectRpcReply(Exchange("POST /rpc/echo HTTP/1.1\r\nContent-Type: text/plain\r\nbogus line\r\n"
                          "content-type: application/x-www-form-urlencoded\r\n"
                          "Content-Length: 3\r\n\r\na=1"),
                 200, kTsv, "a\t1\n");
}

TEST_F(EdgeCases, EmptyChunkSizeLineEndsTheBody) {
  HttpConnection c = Connect();
  ASSERT_TRUE(
      c.Send("POST /rpc/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
             "Content-Type: application/x-www-form-urlencoded\r\n\r\n3\r\na=1\r\n\r\n" +
             GetRequest("/rpc/echo?n=2")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "a\t1\n");
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "n\t2\n");
}

TEST_F(EdgeCases, NothingIsAnsweredAfterAConnectionCloseRequest) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send(GetRequest("/rpc/echo?a=1", "Connection: close\r\n") +
                     GetRequest("/rpc/set?key=after_close&value=v")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.body, "a\t1\n");
  std::string rest;
  EXPECT_TRUE(c.WaitForClose(5, &rest));
  EXPECT_EQ(rest, "");
  ExpectRpcError(Get("/rpc/get?key=after_close"), 450, kNoRecord);
}

TEST_F(EdgeCases, Http10PostBodyIsReadThenClosed) {
  HttpConnection c = Connect();
  ASSERT_TRUE(
      c.Send("POST /rpc/echo HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded"
             "\r\nContent-Length: 3\r\n\r\na=1"));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "a\t1\n");
  EXPECT_EQ(*r.FindHeader("Connection"), "close");
  EXPECT_TRUE(c.WaitForClose(5));
}

TEST_F(EdgeCases, RpcErrorsKeepTheConnectionOpen) {
  HttpConnection c = Connect();
  for (const char* target : {"/rpc/get?key=none", "/rpc/set", "/rpc/nope", "/rpc/get?DB=9&key=a",
                             "/nosuch/k", "/missing_rest_key"}) {
    ASSERT_TRUE(c.Send(GetRequest(target)));
    HttpResponse r;
    ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk) << target;
    EXPECT_NE(r.status, 200) << target;
    EXPECT_FALSE(r.HasHeader("Connection")) << target;
  }
}

TEST_F(EdgeCases, CursorWritesWorkOnHashDatabases) {
  auto db = Rpc("2");
  ASSERT_TRUE(db->Clear().ok());
  ASSERT_TRUE(db->SetBulk({{"h1", "a"}, {"h2", "b"}}).ok());
  Cursor cur(db.get());
  ASSERT_TRUE(cur.Jump(std::string("h1")).ok());
  EXPECT_TRUE(cur.SetValue("A").ok());
  EXPECT_EQ(db->Get("h1").value, "A");
  RecordResult seized = cur.Seize();
  ASSERT_EQ(seized.status, 200) << seized.error;
  EXPECT_EQ(seized.key, "h1");
  EXPECT_EQ(seized.value, "A");
  EXPECT_EQ(db->Get("h1").status, 450);
  ASSERT_TRUE(cur.Jump(std::string("h2")).ok());
  EXPECT_TRUE(cur.Remove().ok());
  EXPECT_EQ(db->Count().value, 0);
  EXPECT_EQ(cur.GetKey().status, 450);
}

TEST_F(EdgeCases, ClearMakesCursorsUnpositioned) {
  auto db = Rpc("1");
  ASSERT_TRUE(db->SetBulk({{"c1", "a"}, {"c2", "b"}}).ok());
  Cursor cur(db.get());
  ASSERT_TRUE(cur.Jump().ok());
  ASSERT_TRUE(cur.GetKey().ok());
  ASSERT_TRUE(db->Clear().ok());
  RecordResult r = cur.GetKey();
  EXPECT_EQ(r.status, 450);
  EXPECT_EQ(r.error, kNoRecord);
}

TEST_F(EdgeCases, RecordRemovedByAnotherConnectionIsNeverReturnedByACursor) {
  auto db = Rpc("3");
  ASSERT_TRUE(db->Clear().ok());
  ASSERT_TRUE(db->SetBulk({{"k1", "a"}, {"k2", "b"}, {"k3", "c"}}).ok());
  Cursor cur(db.get());
  ASSERT_TRUE(cur.Jump(std::string("k2")).ok());
  auto other = Rpc("3");
  ASSERT_TRUE(other->Remove("k2").ok());
  RecordResult r = cur.GetKey();
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.key, "k3");
}

TEST_F(EdgeCases, MatchRegexSeesTheKeyAsACString) {
  ExpectRpcReply(Get("/rpc/set?DB=3&key=ab%00cd&value=v"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/match_regex?DB=3&regex=cd"), 200, kTsv, "num\t0\n");
  ExpectRpcReply(Get("/rpc/match_regex?DB=3&regex=ab"), 200, kTsvU, "_ab%00cd\t0\nnum\t1\n");
}

TEST_F(EdgeCases, HugeRelativeXtIsCappedToNever) {
  ExpectRpcReply(Get("/rpc/set?key=capxt&value=v&xt=99999999999999"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=capxt"), 200, kTsv, "value\tv\n");
}

TEST_F(EdgeCases, UrlDecodingOfOddEscapes) {
  // A non-hex digit counts as 0, a trailing '%' is dropped, raw 0x7F is dropped.
  ExpectRpcReply(Get("/rpc/echo?a=x%zz&b=1%"), 200, kTsvU, "a\tx%00\nb\t1\n");
  ExpectRpcReply(Exchange("GET /rpc/echo?a=x\x7Fy HTTP/1.1\r\n\r\n"), 200, kTsv, "a\txy\n");
}

TEST_F(EdgeCases, ConcurrentIncrementsAreAtomic) {
  constexpr int kThreads = 8, kEach = 100;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([] {
      RpcClient db;
      if (!db.Open("127.0.0.1", port(), 10)) return;
      for (int i = 0; i < kEach; ++i) db.Increment("counter", 1);
    });
  }
  for (std::thread& t : threads) t.join();
  ExpectRpcReply(Get("/rpc/increment?key=counter&num=0"), 200, kTsv,
                 "num\t" + std::to_string(kThreads * kEach) + "\n");
}

TEST_F(EdgeCases, ThousandPipelinedRequestsAreAnsweredInOrder) {
  HttpConnection c = Connect();
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += GetRequest("/rpc/echo?i=" + std::to_string(i));
  std::thread writer([&] { c.Send(batch); });
  int answered = 0;
  for (int i = 0; i < 1000; ++i) {
    HttpResponse r;
    if (c.ReadResponse(&r) != ReadResult::kOk) break;
    if (r.body != "i\t" + std::to_string(i) + "\n") break;
    ++answered;
  }
  writer.join();
  EXPECT_EQ(answered, 1000);
}

TEST_F(EdgeCases, ReportCountsOpenConnections) {
  std::vector<HttpConnection> extra;
  for (int i = 0; i < 3; ++i) {
    extra.push_back(Connect());
    ASSERT_TRUE(extra.back().Send(GetRequest("/rpc/void")));
    HttpResponse r;
    ASSERT_EQ(extra.back().ReadResponse(&r), ReadResult::kOk);
  }
  auto db = Rpc();
  RpcResult report = db->Report();
  ASSERT_NE(report.Find("serv_conn_count"), nullptr);
  EXPECT_GE(std::stoll(*report.Find("serv_conn_count")), 4);
}

}  // namespace
}  // namespace ryoan::testing
