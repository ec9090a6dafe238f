// HTTP framing (spec/http-rpc.md 1, 2, 3): keep-alive, pipelining, bodies, transport errors
// and malformed input. After every malformed request a fresh connection must be served.
#include <chrono>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

using Clock = std::chrono::steady_clock;

class HttpFraming : public SharedServerTest<HttpFraming> {};

// ---- keep-alive ----------------------------------------------------------------------------

TEST_F(HttpFraming, Http11ConnectionsStayOpenAcrossRequests) {
  HttpConnection c = Connect();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.Send(GetRequest("/rpc/echo?i=" + std::to_string(i))));
    HttpResponse r;
    ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk) << i;
    EXPECT_EQ(r.body, "i\t" + std::to_string(i) + "\n");
    EXPECT_FALSE(r.HasHeader("Connection"));
  }
}

TEST_F(HttpFraming, Http10ClosesByDefault) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send("GET /rpc/void HTTP/1.0\r\n\r\n"));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.status, 200);
  ASSERT_TRUE(r.HasHeader("Connection"));
  EXPECT_EQ(*r.FindHeader("Connection"), "close");
  EXPECT_TRUE(c.WaitForClose(5));
}

TEST_F(HttpFraming, Http10WithKeepAliveStaysOpenWithoutConnectionHeader) {
  HttpConnection c = Connect();
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.Send("GET /rpc/void HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    HttpResponse r;
    ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk) << i;
    EXPECT_EQ(r.status, 200);
    EXPECT_FALSE(r.HasHeader("Connection")) << "the server never sends keep-alive";
  }
}

TEST_F(HttpFraming, ConnectionCloseIsAnsweredThenClosed) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send(GetRequest("/rpc/echo?a=1", "connection: CLOSE\r\n")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.body, "a\t1\n");
  EXPECT_EQ(*r.FindHeader("Connection"), "close");
  EXPECT_TRUE(c.WaitForClose(5));
}

TEST_F(HttpFraming, OtherConnectionValuesAreIgnored) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send(GetRequest("/rpc/void", "Connection: close, foo\r\n")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_FALSE(r.HasHeader("Connection"));
  ASSERT_TRUE(c.Send(GetRequest("/rpc/void")));
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
}

TEST_F(HttpFraming, PipelinedRequestsAreAnsweredInOrder) {
  HttpConnection c = Connect();
  std::string batch = GetRequest("/rpc/set?key=pipe&value=1") + GetRequest("/rpc/get?key=pipe") +
                      PostForm("/rpc/echo", "n=3") + GetRequest("/rpc/nope") +
                      BodyRequest("PUT", "/pipe2", "", "abc") + GetRequest("/pipe2");
  ASSERT_TRUE(c.Send(batch));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "");
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "value\t1\n");
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "n\t3\n");
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcError(r, 501, "not implemented: nope");
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.status, 201);
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.body, "abc");
}

TEST_F(HttpFraming, EveryCrInALineIsDiscarded) {
  HttpResponse r = Exchange("GET /rpc/echo?a=1\r HTTP/1.1\r\r\nHost: x\r\n\r\n");
  ExpectRpcReply(r, 200, kTsv, "a\t1\n");
}

TEST_F(HttpFraming, BareLfLineEndsAreAccepted) {
  ExpectRpcReply(Exchange("GET /rpc/echo?a=1 HTTP/1.1\nHost: x\n\n"), 200, kTsv, "a\t1\n");
}

TEST_F(HttpFraming, HeaderNamesAreCaseInsensitiveAndValuesLeftTrimmed) {
  ExpectRpcReply(Exchange("POST /rpc/echo HTTP/1.1\r\ncontent-TYPE:    "
                          "application/x-www-form-urlencoded\r\nCONTENT-LENGTH:3\r\n\r\na=1"),
                 200, kTsv, "a\t1\n");
}

TEST_F(HttpFraming, HostHeaderIsNotRequired) {
  ExpectRpcReply(Exchange("GET /rpc/void HTTP/1.1\r\n\r\n"), 200, kTsv, "");
}

// ---- bodies ----------------------------------------------------------------------------------

TEST_F(HttpFraming, ChunkedRequestBodyIsAssembled) {
  HttpConnection c = Connect();
  ASSERT_TRUE(
      c.Send("POST /rpc/echo HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Transfer-Encoding: Chunked\r\n\r\n4\r\na=12\r\nA;name=v\r\n&bb=xyz&cc\r\n0\r\n\r\n"));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "a\t12\nbb\txyz\ncc\t\n");
  // The connection is still usable: the whole chunked body was consumed.
  ASSERT_TRUE(c.Send(GetRequest("/rpc/echo?after=1")));
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.body, "after\t1\n");
}

TEST_F(HttpFraming, ContentLengthWinsOverChunked) {
  HttpConnection c = Connect();
  ASSERT_TRUE(
      c.Send("POST /rpc/echo HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\na=1"));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "a\t1\n");
}

TEST_F(HttpFraming, UnknownMethodStillReachesRpc) {
  ExpectRpcReply(Exchange("FOO /rpc/echo?a=1 HTTP/1.1\r\n\r\n"), 200, kTsv, "a\t1\n");
  ExpectRpcReply(Exchange(BodyRequest("BREW", "/rpc/echo", "text/tab-separated-values", "b\t2\n")),
                 200, kTsv, "b\t2\n");
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(HttpFraming, RpcWorksWithPutAndDelete) {
  ExpectRpcReply(Exchange(BodyRequest("PUT", "/rpc/echo?a=1", "", "")), 200, kTsv, "a\t1\n");
  ExpectRpcReply(Exchange(GetRequest("/rpc/echo?a=2", {}, "DELETE")), 200, kTsv, "a\t2\n");
}

TEST_F(HttpFraming, HeadOnRpcGetsNoBodyAndNoContentLength) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send(GetRequest("/rpc/echo?a=1", {}, "HEAD") + GetRequest("/rpc/echo?b=2")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r, true), ReadResult::kOk);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.HasHeader("Content-Length"));
  ASSERT_TRUE(r.HasHeader("Content-Type"));
  EXPECT_EQ(*r.FindHeader("Content-Type"), kTsv);
  // The next bytes on the wire are the second response, not a body.
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.body, "b\t2\n");
}

TEST_F(HttpFraming, ExpectContinueRequestIsAnswered) {
  HttpConnection c = Connect();
  std::string body = "a=1";
  ASSERT_TRUE(c.Send(
      "POST /rpc/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
      "Content-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
  // Like curl: wait up to a second for "100 Continue", then send the body anyway.
  std::string interim = c.ReadSome(1.0);
  if (!interim.empty()) {
    EXPECT_EQ(interim.rfind("HTTP/1.1 100 ", 0), 0u) << Printable(interim);
  }
  ASSERT_TRUE(c.Send(body));
  HttpResponse r;
  ASSERT_EQ(c.ReadFinalResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "a\t1\n");
}

TEST_F(HttpFraming, BodyOfGetIsNeverUsedAsRpcInput) {
  HttpConnection c = Connect();
  ASSERT_TRUE(
      c.Send("GET /rpc/echo?a=1 HTTP/1.1\r\nContent-Type: "
             "application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\nb=2"));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  ExpectRpcReply(r, 200, kTsv, "a\t1\n");
  EXPECT_TRUE(ServerStillServes());
}

// ---- transport errors and malformed input ------------------------------------------------

TEST_F(HttpFraming, GarbageRequestLineClosesWithoutResponse) {
  for (const char* garbage :
       {"GARBAGE\r\n\r\n", "GET /rpc/void\r\n\r\n", "GET /rpc/void HTTP/2.0\r\n\r\n",
        "GET  HTTP/1.1\r\n\r\n", "GET /rpc/void http/1.1\r\n\r\n"}) {
    HttpConnection c = Connect();
    ASSERT_TRUE(c.Send(garbage));
    std::string received;
    EXPECT_TRUE(c.WaitForClose(5, &received)) << Printable(garbage);
    EXPECT_EQ(received, "") << Printable(garbage);
    EXPECT_TRUE(ServerStillServes()) << Printable(garbage);
  }
}

TEST_F(HttpFraming, DeclaredBodyOver256MiBIs413AndClose) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send("POST /rpc/echo HTTP/1.1\r\nContent-Length: 268435457\r\n\r\nabc"));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.reason, "Request Entity Too Large");
  std::vector<std::string> names = {"Server", "Date", "Connection", "Content-Length",
                                    "Content-Type"};
  EXPECT_EQ(r.HeaderNames(), names);
  EXPECT_EQ(*r.FindHeader("Connection"), "close");
  EXPECT_EQ(*r.FindHeader("Content-Length"), "56");
  EXPECT_EQ(*r.FindHeader("Content-Type"), "text/plain");
  EXPECT_EQ(r.body, "413 Request Entity Too Large (request entity too large)\n");
  EXPECT_TRUE(c.WaitForClose(5));
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(HttpFraming, ChunkedBodyOver256MiBIs413) {
  HttpConnection c = Connect();
  ASSERT_TRUE(
      c.Send("POST /rpc/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000001\r\nabc"));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "413 Request Entity Too Large (request entity too large)\n");
  EXPECT_TRUE(c.WaitForClose(5));
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(HttpFraming, InvalidChunkIs400InvalidChunk) {
  HttpConnection c = Connect();
  ASSERT_TRUE(
      c.Send("POST /rpc/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n"));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(*r.FindHeader("Connection"), "close");
  EXPECT_EQ(*r.FindHeader("Content-Type"), "text/plain");
  EXPECT_EQ(r.body, "400 Bad Request (invalid chunk)\n");
  EXPECT_TRUE(c.WaitForClose(5));
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(HttpFraming, ChunkTrailerIs400InvalidChunk) {
  HttpConnection c = Connect();
  ASSERT_TRUE(
      c.Send("POST /rpc/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
             "1\r\na\r\n0\r\nX-Trailer: 1\r\n\r\n"));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "400 Bad Request (invalid chunk)\n");
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(HttpFraming, ShortBodyBeforeEofIs400ReceivingDataFailed) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send("POST /rpc/echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"));
  c.ShutdownWrite();
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(*r.FindHeader("Connection"), "close");
  EXPECT_EQ(r.body, "400 Bad Request (receiving data failed)\n");
  EXPECT_TRUE(c.WaitForClose(5));
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(HttpFraming, ClientVanishingMidBodyDoesNotHurtTheServer) {
  {
    HttpConnection c = Connect();
    ASSERT_TRUE(
        c.Send("POST /rpc/set HTTP/1.1\r\nContent-Type: text/tab-separated-values\r\n"
               "Content-Length: 1000\r\n\r\nkey\tvanish\nvalue\tv"));
  }
  EXPECT_TRUE(ServerStillServes());
  ExpectRpcError(Get("/rpc/get?key=vanish"), 450, "DB: 7: no record: no record");
}

TEST_F(HttpFraming, BadContentLengthDoesNotHurtTheServer) {
  for (const char* cl : {"abc", "-5", "99999999999999999999999", "12abc"}) {
    HttpConnection c = Connect();
    c.set_timeout(1);
    ASSERT_TRUE(
        c.Send(std::string("POST /rpc/echo HTTP/1.1\r\nContent-Length: ") + cl + "\r\n\r\n"));
    HttpResponse r;
    ReadResult rc = c.ReadResponse(&r);
    if (rc == ReadResult::kOk) {
      EXPECT_NE(r.status, 500) << cl;
    }
    EXPECT_TRUE(ServerStillServes()) << cl;
  }
}

TEST_F(HttpFraming, HugeHeaderIsRefusedOrClosed) {
  HttpConnection c = Connect();
  std::string request =
      "GET /rpc/void HTTP/1.1\r\nX-Big: " + std::string(100 * 1024, 'h') + "\r\n\r\n";
  c.Send(request);  // the server may close while we are still sending
  HttpResponse r;
  ReadResult rc = c.ReadResponse(&r);
  if (rc == ReadResult::kOk) {
    EXPECT_TRUE(r.status == 400 || r.status == 413 || r.status == 414 || r.status == 431)
        << r.status;
    EXPECT_TRUE(c.WaitForClose(5));
  } else {
    EXPECT_TRUE(rc == ReadResult::kClosed || rc == ReadResult::kTruncated)
        << client::ReadResultName(rc);
  }
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(HttpFraming, ManyHeadersTotallingOneMebibyteAreRefusedOrClosed) {
  HttpConnection c = Connect();
  std::string request = "GET /rpc/void HTTP/1.1\r\n";
  for (int i = 0; i < 16384; ++i)
    request += "X-H" + std::to_string(i) + ": " + std::string(56, 'v') + "\r\n";
  request += "\r\n";
  c.Send(request);
  HttpResponse r;
  ReadResult rc = c.ReadResponse(&r);
  if (rc == ReadResult::kOk && r.status != 200) {
    EXPECT_TRUE(c.WaitForClose(5));
  }
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(HttpFraming, RequestLineOver8KiBIs414Or400AndClose) {
  HttpConnection c = Connect();
  c.Send("GET /rpc/echo?x=" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n");
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_TRUE(r.status == 414 || r.status == 400) << r.status;
  ASSERT_TRUE(r.HasHeader("Connection"));
  EXPECT_EQ(*r.FindHeader("Connection"), "close");
  EXPECT_TRUE(c.WaitForClose(5));
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(HttpFraming, BinaryFirstByteIsNotTreatedAsHttp) {
  // 0x00 and >= 0x80 select the binary protocol; whatever it answers, the server survives.
  for (char first : {'\x00', '\x80', '\xBB'}) {
    HttpConnection c = Connect();
    c.set_timeout(3);
    c.Send(std::string(1, first) + std::string("GET /rpc/void HTTP/1.1\r\n\r\n"));
    std::string got = c.ReadSome(1.0);
    EXPECT_EQ(got.rfind("HTTP/1.1 200", 0), std::string::npos) << Printable(got);
  }
  EXPECT_TRUE(ServerStillServes());
}

// ---- -tout -----------------------------------------------------------------------------------

class Timeout : public SharedServerTest<Timeout> {
 public:
  static std::vector<std::string> Args() { return {"-tout", "1"}; }
};

TEST_F(Timeout, StalledRequestHeaderIsDroppedWithinTout) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send("GET /rpc/vo"));
  Clock::time_point start = Clock::now();
  EXPECT_TRUE(c.WaitForClose(4));
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(3500));
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(Timeout, SlowlyTricklingClientIsDropped) {
  HttpConnection c = Connect();
  std::string request = "POST /rpc/echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nab";
  ASSERT_TRUE(c.Send(request));
  // One byte now and then, each gap longer than -tout.
  Clock::time_point start = Clock::now();
  bool closed = false;
  for (int i = 0; i < 4 && !closed; ++i) {
    std::string got;
    closed = c.WaitForClose(1.3, &got);
    if (!got.empty()) {
      EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << Printable(got);
    }
    if (!closed) c.Send("x");
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4));
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(Timeout, StalledBodyIs400ReceivingDataFailedWithinTout) {
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send("POST /rpc/echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc"));
  Clock::time_point start = Clock::now();
  c.set_timeout(4);
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "400 Bad Request (receiving data failed)\n");
  EXPECT_TRUE(c.WaitForClose(2));
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(3500));
}

TEST_F(Timeout, IdleKeepAliveConnectionSurvivesTout) {
  // KT does not apply -tout while waiting between requests.
  HttpConnection c = Connect();
  ASSERT_TRUE(c.Send(GetRequest("/rpc/void")));
  HttpResponse r;
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  SleepSeconds(1.6);
  ASSERT_TRUE(c.Send(GetRequest("/rpc/echo?still=1")));
  ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk);
  EXPECT_EQ(r.body, "still\t1\n");
}

}  // namespace
}  // namespace ryoan::testing
