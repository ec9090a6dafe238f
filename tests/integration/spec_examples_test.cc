// The example exchanges of spec/http-rpc.md 10 and spec/rest.md 2, and the response layout
// of spec/http-rpc.md 2.6, checked byte for byte against the real server.
#include <regex>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

class SpecExamples : public SharedServerTest<SpecExamples> {};

TEST_F(SpecExamples, GetWithQueryStringAnswersValueAsRawTsv) {
  HttpResponse set = Get("/rpc/set?key=a&value=b");
  ExpectRpcReply(set, 200, kTsv, "");
  HttpResponse get = Get("/rpc/get?key=a");
  ExpectRpcReply(get, 200, kTsv, "value\tb\n");
  EXPECT_EQ(get.reason, "OK");
}

TEST_F(SpecExamples, TsvPostWithBase64ColumnsThenGetAnswersColencU) {
  std::string body = "a2V5\tZm9v\ndmFsdWU=\tYQli\neHQ=\tNjA=";
  ASSERT_EQ(body.size(), 33u);
  int64_t before = NowSeconds();
  HttpResponse set = Exchange(PostTsv("/rpc/set", body, kTsvB));
  ExpectRpcReply(set, 200, kTsv, "");
  EXPECT_EQ(*set.FindHeader("Content-Length"), "0");
  HttpResponse get = Get("/rpc/get?key=foo");
  int64_t after = NowSeconds();
  EXPECT_EQ(get.status, 200);
  ASSERT_TRUE(get.HasHeader("Content-Type"));
  EXPECT_EQ(*get.FindHeader("Content-Type"), kTsvU);
  std::smatch m;
  std::regex re("value\ta%09b\nxt\t([0-9]+)\n");
  ASSERT_TRUE(std::regex_match(get.body, m, re)) << Printable(get.body);
  int64_t xt = std::stoll(m[1].str());
  EXPECT_GE(xt, before + 60);
  EXPECT_LE(xt, after + 60);
}

TEST_F(SpecExamples, MissingRecordIs450WithNoRecordError) {
  HttpResponse r = Get("/rpc/get?key=spec_examples_missing");
  ExpectRpcError(r, 450, "DB: 7: no record: no record");
  EXPECT_EQ(r.reason, "Logical Inconsistency");
  EXPECT_EQ(*r.FindHeader("Content-Length"), "34");
}

TEST_F(SpecExamples, UnknownProcedureIs501NotImplementedWithName) {
  HttpResponse r = Get("/rpc/hello");
  ExpectRpcError(r, 501, "not implemented: hello");
  EXPECT_EQ(r.reason, "Not Implemented");
}

TEST_F(SpecExamples, SetBulkFormBodyWithSignalAnswersSignaledAndNum) {
  HttpResponse r =
      Exchange(PostForm("/rpc/set_bulk", "_a=1&_b=2&SIGNAL=q&SIGNALBROAD&xt=-2000000000"));
  ExpectRpcReply(r, 200, kTsv, "SIGNALED\t0\nnum\t2\n");
  ExpectRpcReply(Get("/rpc/get?key=_b"), 450, kTsv, "ERROR\tDB: 7: no record: no record\n");
  ExpectRpcReply(Get("/rpc/get?key=b"), 200, kTsv, "value\t2\nxt\t2000000000\n");
}

TEST_F(SpecExamples, RestPutGetHeadDeleteCycle) {
  HttpResponse put = Exchange(BodyRequest("PUT", "/spec_k", "", "x"));
  EXPECT_EQ(put.status, 201);
  EXPECT_EQ(put.reason, "Created");
  EXPECT_EQ(put.body, "");
  EXPECT_EQ(*put.FindHeader("Content-Length"), "0");
  ASSERT_TRUE(put.HasHeader("Location"));
  EXPECT_EQ(*put.FindHeader("Location"), "http://localhost:" + std::to_string(port()) + "/spec_k");
  EXPECT_FALSE(put.HasHeader("Content-Type"));

  HttpResponse get = Get("/spec_k");
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.body, "x");
  EXPECT_EQ(*get.FindHeader("Content-Length"), "1");
  EXPECT_FALSE(get.HasHeader("Content-Type"));
  EXPECT_FALSE(get.HasHeader("X-Kt-Xt"));

  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send(GetRequest("/spec_k", {}, "HEAD")));
  HttpResponse head;
  ASSERT_EQ(c.ReadResponse(&head, true), ReadResult::kOk);
  EXPECT_EQ(head.status, 200);
  ASSERT_TRUE(head.HasHeader("Content-Length"));
  EXPECT_EQ(*head.FindHeader("Content-Length"), "1");
  // No body bytes follow the head: the next response starts right after it.
  EXPECT_EQ(c.pending(), "");
  ASSERT_TRUE(c.Send(GetRequest("/rpc/void")));
  HttpResponse next;
  ASSERT_EQ(c.ReadResponse(&next), ReadResult::kOk);
  EXPECT_EQ(next.status, 200);

  HttpResponse del = Exchange(GetRequest("/spec_k", {}, "DELETE"));
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(del.reason, "No Content");
  EXPECT_EQ(*del.FindHeader("Content-Length"), "0");
  EXPECT_EQ(del.body, "");

  HttpResponse missing = Get("/spec_k");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.reason, "Not Found");
  EXPECT_EQ(missing.body, "");
  EXPECT_EQ(*missing.FindHeader("Content-Length"), "0");
  ASSERT_TRUE(missing.HasHeader("X-Kt-Error"));
  EXPECT_EQ(*missing.FindHeader("X-Kt-Error"), "DB: 7: no record: no record");
}

TEST_F(SpecExamples, ResponseLayoutIsStatusServerDateLengthThenSortedHandlerHeaders) {
  HttpResponse r = Get("/rpc/echo?a=1");
  std::vector<std::string> names = r.HeaderNames();
  std::vector<std::string> expected = {"Server", "Date", "Content-Length", "Content-Type"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(*r.FindHeader("Server"), "KyotoTycoon/0.9.56");
  EXPECT_EQ(r.head.rfind("HTTP/1.1 200 OK\r\nServer: KyotoTycoon/0.9.56\r\nDate: ", 0), 0u)
      << Printable(r.head);
  int64_t date = ParseRfc1123(*r.FindHeader("Date"));
  EXPECT_GT(date, 0) << *r.FindHeader("Date");
  EXPECT_LE(std::llabs(date - NowSeconds()), 5);
  EXPECT_EQ(r.head.substr(r.head.size() - 4), "\r\n\r\n");
  EXPECT_FALSE(r.HasHeader("Connection"));
}

TEST_F(SpecExamples, Http10RequestGetsHttp11StatusLineAndConnectionClose) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send(GetRequest("/rpc/echo?a=1", {}, "GET", "HTTP/1.0")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.version, "HTTP/1.1");
  std::vector<std::string> expected = {"Server", "Date", "Connection", "Content-Length",
                                       "Content-Type"};
  EXPECT_EQ(r.HeaderNames(), expected);
  EXPECT_EQ(*r.FindHeader("Connection"), "close");
  EXPECT_EQ(r.body, "a\t1\n");
  EXPECT_TRUE(c.WaitForClose(5));
}

TEST_F(SpecExamples, RestHeadersAreSortedByLowerCaseName) {
  std::string xt = std::to_string(NowSeconds() + 3600);
  HttpResponse put =
      Exchange(BodyRequest("PUT", "/spec_sorted", "", "v", "X-Kt-Xt: " + xt + "\r\n"));
  EXPECT_EQ(put.status, 201);
  std::vector<std::string> put_names = {"Server", "Date", "Content-Length", "Location"};
  EXPECT_EQ(put.HeaderNames(), put_names);
  HttpResponse get = Get("/spec_sorted");
  std::vector<std::string> get_names = {"Server", "Date", "Content-Length", "X-Kt-Xt"};
  EXPECT_EQ(get.HeaderNames(), get_names);
  HttpResponse miss = Get("/spec_sorted_missing");
  std::vector<std::string> miss_names = {"Server", "Date", "Content-Length", "X-Kt-Error"};
  EXPECT_EQ(miss.HeaderNames(), miss_names);
}

TEST_F(SpecExamples, ReasonPhrasesAreExact) {
  EXPECT_EQ(Get("/rpc/void").reason, "OK");
  EXPECT_EQ(Get("/rpc/set?key=x").reason, "Bad Request");
  EXPECT_EQ(Get("/rpc/synchronize?command=a/b").reason, "Internal Server Error");
  EXPECT_EQ(Get("/rpc/echo?WAIT=spec_reason&WAITTIME=0.2").reason, "Service Unavailable");
}

}  // namespace
}  // namespace ryoan::testing
