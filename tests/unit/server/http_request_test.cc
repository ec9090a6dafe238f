#include "server/http_request.h"

#include <gtest/gtest.h>

#include <cctype>
#include <memory>
#include <string>
#include <vector>

namespace ryoan::server {
namespace {

using Result = HttpRequestParser::Result;

// The request's views point into the parser and the input: an Outcome keeps both alive.
struct Outcome {
  std::shared_ptr<HttpRequestParser> parser;
  std::shared_ptr<std::string> input;
  Result result = Result::kNeedMore;
  HttpRequest request;
  size_t consumed = 0;
  int status = 0;
  std::string message;
};

// Feeds `data` in one piece.
Outcome ParseAll(std::string_view data, HttpLimits limits = {}) {
  Outcome o;
  o.parser = std::make_shared<HttpRequestParser>(limits);
  o.input = std::make_shared<std::string>(data);
  HttpRequestParser& parser = *o.parser;
  o.result = parser.Parse(*o.input, &o.request, &o.consumed);
  o.status = parser.error_status();
  o.message = parser.error_message();
  return o;
}

// Feeds `data` growing by `step` bytes per call, as a connection would, each call with a fresh
// HttpRequest object (the parser must not depend on the caller keeping it).
Outcome ParseInSteps(std::string_view data_in, size_t step, HttpLimits limits = {}) {
  Outcome o;
  o.parser = std::make_shared<HttpRequestParser>(limits);
  o.input = std::make_shared<std::string>(data_in);
  HttpRequestParser& parser = *o.parser;
  std::string_view data = *o.input;
  for (size_t n = std::min(step, data.size());; n = std::min(n + step, data.size())) {
    HttpRequest r;
    o.result = parser.Parse(data.substr(0, n), &r, &o.consumed);
    if (o.result != Result::kNeedMore || n == data.size()) {
      o.request = std::move(r);
      break;
    }
  }
  o.status = parser.error_status();
  o.message = parser.error_message();
  return o;
}

void ExpectSame(const Outcome& a, const Outcome& b) {
  EXPECT_EQ(a.result, b.result);
  EXPECT_EQ(a.consumed, b.consumed);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.request.method, b.request.method);
  EXPECT_EQ(a.request.request_line, b.request.request_line);
  EXPECT_EQ(a.request.path, b.request.path);
  EXPECT_EQ(a.request.query, b.request.query);
  EXPECT_EQ(a.request.headers, b.request.headers);
  EXPECT_EQ(a.request.has_content_type, b.request.has_content_type);
  EXPECT_EQ(a.request.content_type, b.request.content_type);
  EXPECT_EQ(a.request.body, b.request.body);
  EXPECT_EQ(a.request.has_body, b.request.has_body);
  EXPECT_EQ(a.request.keep_alive, b.request.keep_alive);
}

TEST(HttpRequestParserTest, SimpleGet) {
  std::string data = "GET /rpc/get?key=japan HTTP/1.1\r\nHost: localhost:1978\r\n\r\n";
  Outcome o = ParseAll(data);
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(o.consumed, data.size());
  EXPECT_EQ(o.request.method, HttpMethod::kGet);
  EXPECT_EQ(o.request.method_name, "GET");
  EXPECT_EQ(o.request.request_line, "GET /rpc/get?key=japan HTTP/1.1");
  EXPECT_EQ(o.request.target, "/rpc/get?key=japan");
  EXPECT_EQ(o.request.path, "/rpc/get");
  EXPECT_EQ(o.request.query, "key=japan");
  EXPECT_TRUE(o.request.http11);
  EXPECT_TRUE(o.request.keep_alive);
  ASSERT_NE(o.request.Header("host"), nullptr);
  EXPECT_EQ(*o.request.Header("host"), "localhost:1978");
  EXPECT_FALSE(o.request.has_body);
  EXPECT_TRUE(o.request.body.empty());
}

TEST(HttpRequestParserTest, Methods) {
  struct {
    const char* name;
    HttpMethod method;
  } cases[] = {{"GET", HttpMethod::kGet},       {"HEAD", HttpMethod::kHead},
               {"POST", HttpMethod::kPost},     {"PUT", HttpMethod::kPut},
               {"DELETE", HttpMethod::kDelete}, {"get", HttpMethod::kOther},
               {"PATCH", HttpMethod::kOther}};
  for (const auto& c : cases) {
    Outcome o = ParseAll(std::string(c.name) + " /x HTTP/1.1\n\n");
    ASSERT_EQ(o.result, Result::kDone) << c.name;
    EXPECT_EQ(o.request.method, c.method) << c.name;
    EXPECT_EQ(o.request.method_name, c.name);
  }
}

TEST(HttpRequestParserTest, TargetSplitAtFirstQuestionMark) {
  Outcome o = ParseAll("GET /a%20b?x=1?y=2 HTTP/1.0\n\n");
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(o.request.path, "/a%20b");
  EXPECT_EQ(o.request.query, "x=1?y=2");
  Outcome abs = ParseAll("GET http://h/rpc/void HTTP/1.1\n\n");
  EXPECT_EQ(abs.request.path, "http://h/rpc/void");
  Outcome q = ParseAll("GET ? HTTP/1.1\n\n");
  EXPECT_EQ(q.request.path, "");
  EXPECT_EQ(q.request.query, "");
}

TEST(HttpRequestParserTest, BadRequestLinesClose) {
  const char* bad[] = {"GET / HTTP/1.2\r\n\r\n",  "GET / http/1.1\r\n\r\n",
                       "GET /\r\n\r\n",           "GET\r\n\r\n",
                       "GET  HTTP/1.1\r\n\r\n",   "\r\n",
                       "GET / HTTP/1.1 \r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n",
                       "GET / HTTP/1.10\n\n"};
  for (const char* b : bad) {
    Outcome o = ParseAll(b);
    EXPECT_EQ(o.result, Result::kClose) << b;
  }
  // An empty method is merely unknown.
  Outcome o = ParseAll(" / HTTP/1.1\n\n");
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(o.request.method, HttpMethod::kOther);
}

TEST(HttpRequestParserTest, EveryCrIsDropped) {
  Outcome o = ParseAll("GE\rT /p\r?q HTTP/1.\r1\r\r\nX-A\r: v\ra\rl\r\n\r\r\n");
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(o.request.request_line, "GET /p?q HTTP/1.1");
  EXPECT_EQ(o.request.path, "/p");
  ASSERT_NE(o.request.Header("x-a"), nullptr);
  EXPECT_EQ(*o.request.Header("x-a"), "val");
}

// Header lines of every length up to 40, each with a CR at every position (or none): the CR is
// dropped and the line parses the same in one piece and in small pieces.
TEST(HttpRequestParserTest, HeaderLinesOfEveryLengthAndCrPosition) {
  for (size_t name_len = 1; name_len <= 40; ++name_len) {
    const std::string name = "X" + std::string(name_len - 1, 'n');
    // cr_at == name_len + 5 is past the line: no CR inside.
    for (size_t cr_at = 0; cr_at <= name_len + 5; ++cr_at) {
      std::string line = name + ": v:1";
      if (cr_at < line.size()) line.insert(cr_at, "\r");
      const std::string wire =
          "POST / HTTP/1.1\r\n" + line + "\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n";
      SCOPED_TRACE(wire);
      Outcome o = ParseAll(wire);
      ASSERT_EQ(o.result, Result::kDone);
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      const std::string_view* value = o.request.Header(lower);
      ASSERT_NE(value, nullptr);
      EXPECT_EQ(*value, "v:1");
      EXPECT_EQ(o.request.body, "abc");
      ExpectSame(o, ParseInSteps(wire, 1));
      ExpectSame(o, ParseInSteps(wire, 7));
    }
  }
}

TEST(HttpRequestParserTest, Headers) {
  Outcome o = ParseAll(
      "GET / HTTP/1.1\n"
      "Content-TYPE:   text/plain\n"
      "no colon here\n"
      "  X-Spaced  : a b \n"
      "X-Dup: 1\n"
      "x-dup: 2\n"
      "X-Empty:\n"
      "X-Colon: a:b\n"
      "\n");
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(*o.request.Header("content-type"), "text/plain");
  EXPECT_EQ(*o.request.Header("x-spaced"), "a b ");
  EXPECT_EQ(*o.request.Header("x-dup"), "2");
  EXPECT_EQ(*o.request.Header("x-empty"), "");
  EXPECT_EQ(*o.request.Header("x-colon"), "a:b");
  EXPECT_EQ(o.request.Header("Content-Type"), nullptr);  // lookups use lower-case names
  int dups = 0;
  for (const auto& h : o.request.headers) dups += h.first == "X-Dup" || h.first == "x-dup";
  EXPECT_EQ(dups, 1);
}

TEST(HttpRequestParserTest, ManyDuplicateHeadersStayDeduplicated) {
  std::string data = "GET / HTTP/1.1\n";
  for (int i = 0; i < 3000; ++i)
    data += "h" + std::to_string(i % 100) + ": " + std::to_string(i) + "\n";
  data += "\n";
  Outcome o = ParseAll(data);
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(o.request.headers.size(), 100u);
  EXPECT_EQ(*o.request.Header("h0"), "2900");
  EXPECT_EQ(*o.request.Header("h99"), "2999");
}

// Content-Type is found while parsing; it must agree with a lookup of the deduplicated headers.
TEST(HttpRequestParserTest, ContentTypeField) {
  Outcome o = ParseAll("POST / HTTP/1.1\nContent-Type: a\nX: 1\ncontent-TYPE: b\n\n");
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_TRUE(o.request.has_content_type);
  EXPECT_EQ(o.request.content_type, "b");
  EXPECT_EQ(*o.request.Header("content-type"), "b");
  o = ParseAll("POST / HTTP/1.1\nContent-Typo: a\nContent_Type: b\n\n");
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_FALSE(o.request.has_content_type);
  EXPECT_EQ(o.request.content_type, "");
  // Each request has its own: a pipelined request without one does not see the previous one.
  HttpRequestParser parser;
  std::string two = "GET / HTTP/1.1\nContent-Type: x\n\nGET / HTTP/1.1\n\n";
  HttpRequest r;
  size_t consumed = 0;
  ASSERT_EQ(parser.Parse(two, &r, &consumed), Result::kDone);
  EXPECT_TRUE(r.has_content_type);
  parser.Reset();
  ASSERT_EQ(parser.Parse(std::string_view(two).substr(consumed), &r, &consumed), Result::kDone);
  EXPECT_FALSE(r.has_content_type);
}

// Framing names match in any case, and only exactly: same-length names differing in one byte
// (including bytes that equal a letter or '-' once 0x20 is ORed in) are ordinary headers.
TEST(HttpRequestParserTest, FramingNamesMatchExactlyInAnyCase) {
  Outcome o = ParseAll("POST / HTTP/1.1\nCONTENT-LENGTH: 2\n\nab");
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(o.request.body, "ab");
  for (const char* name :
       {"Content_Length", "Content\x0dLength", "Content-Lengt\x08", "Kontent-Length"}) {
    std::string data = std::string("POST / HTTP/1.1\n") + name + ": 2\n\nab";
    o = ParseAll(data);
    ASSERT_EQ(o.result, Result::kDone) << name;
    EXPECT_EQ(o.request.body, "") << name;
    EXPECT_EQ(o.consumed, data.size() - 2) << name;
  }
  o = ParseAll("GET / HTTP/1.1\nEXPECT: 100-continue\nConnection: ClOsE\n\n");
  EXPECT_FALSE(o.request.keep_alive);
  o = ParseAll("GET / HTTP/1.1\nConnectioN: close\nConnectiom: keep-alive\n\n");
  EXPECT_FALSE(o.request.keep_alive);
  o = ParseAll("POST / HTTP/1.1\nTRANSFER-encoding: chunked\n\n1\r\nz\r\n0\r\n\r\n");
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(o.request.body, "z");
}

// Names that share length and first letter but differ are all kept, in order; equal names in
// any case are merged into the first position with the last value.
TEST(HttpRequestParserTest, DeduplicationKeepsDistinctLookalikes) {
  Outcome o = ParseAll("GET / HTTP/1.1\nab: 1\nAc: 2\nx: 3\nAB: 4\naC: 5\nX: 6\nad: 7\n\n");
  ASSERT_EQ(o.result, Result::kDone);
  std::vector<std::pair<std::string_view, std::string_view>> want = {
      {"ab", "4"}, {"Ac", "5"}, {"x", "6"}, {"ad", "7"}};
  EXPECT_EQ(o.request.headers, want);
  o = ParseAll("GET / HTTP/1.1\nHost: h\nContent-Type: t\nContent-Length: 0\n\n");
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(o.request.headers.size(), 3u);
}

TEST(HttpRequestParserTest, KeepAlive) {
  EXPECT_TRUE(ParseAll("GET / HTTP/1.1\n\n").request.keep_alive);
  EXPECT_FALSE(ParseAll("GET / HTTP/1.0\n\n").request.keep_alive);
  EXPECT_FALSE(ParseAll("GET / HTTP/1.0\n\n").request.http11);
  EXPECT_TRUE(ParseAll("GET / HTTP/1.0\nConnection: Keep-Alive\n\n").request.keep_alive);
  EXPECT_FALSE(ParseAll("GET / HTTP/1.1\nConnection: CLOSE\n\n").request.keep_alive);
  EXPECT_FALSE(ParseAll("GET / HTTP/1.0\nConnection: upgrade\n\n").request.keep_alive);
  EXPECT_TRUE(ParseAll("GET / HTTP/1.1\nConnection: close, te\n\n").request.keep_alive);
  EXPECT_TRUE(
      ParseAll("GET / HTTP/1.1\nConnection: close\nConnection: keep-alive\n\n").request.keep_alive);
}

TEST(HttpRequestParserTest, ContentLengthBody) {
  std::string data =
      "POST /rpc/set HTTP/1.1\r\n"
      "Content-Type: text/tab-separated-values; colenc=B\r\n"
      "Content-Length: 33\r\n\r\n"
      "a2V5\tZm9v\ndmFsdWU=\tYQli\neHQ=\tNjA=";
  Outcome o = ParseAll(data);
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_EQ(o.consumed, data.size());
  EXPECT_TRUE(o.request.has_body);
  EXPECT_EQ(o.request.body, "a2V5\tZm9v\ndmFsdWU=\tYQli\neHQ=\tNjA=");
  // Short body: need more.
  EXPECT_EQ(ParseAll(data.substr(0, data.size() - 1)).result, Result::kNeedMore);
  // CRs inside the body are data.
  Outcome cr = ParseAll("PUT /k HTTP/1.1\nContent-Length: 3\n\na\r\n");
  EXPECT_EQ(cr.request.body, "a\r\n");
  Outcome zero = ParseAll("POST /x HTTP/1.1\nContent-Length: 0\n\n");
  ASSERT_EQ(zero.result, Result::kDone);
  EXPECT_TRUE(zero.request.has_body);
  Outcome other = ParseAll("BREW /x HTTP/1.1\nContent-Length:  2 \n\nab");
  EXPECT_EQ(other.request.body, "ab");
  Outcome none = ParseAll("POST /x HTTP/1.1\n\nabc");
  ASSERT_EQ(none.result, Result::kDone);
  EXPECT_FALSE(none.request.has_body);
  EXPECT_EQ(none.consumed, 18u);
}

TEST(HttpRequestParserTest, GetBodyIsConsumedAndDiscarded) {
  for (const char* m : {"GET", "HEAD", "DELETE"}) {
    std::string data = std::string(m) + " /rpc/void HTTP/1.1\nContent-Length: 5\n\nhelloGET";
    Outcome o = ParseAll(data);
    ASSERT_EQ(o.result, Result::kDone) << m;
    EXPECT_FALSE(o.request.has_body);
    EXPECT_TRUE(o.request.body.empty());
    EXPECT_EQ(o.consumed, data.size() - 3);
    Outcome chunked = ParseAll(std::string(m) +
                               " / HTTP/1.1\nTransfer-Encoding: chunked\n\n3\r\nabc\r\n0\r\n\r\n");
    ASSERT_EQ(chunked.result, Result::kDone) << m;
    EXPECT_FALSE(chunked.request.has_body);
    EXPECT_TRUE(chunked.request.body.empty());
  }
}

TEST(HttpRequestParserTest, InvalidContentLength) {
  for (const char* v : {"abc", "-1", "", "1 2", "0x10", "+5"}) {
    Outcome o = ParseAll(std::string("POST / HTTP/1.1\nContent-Length: ") + v + "\n\n");
    EXPECT_EQ(o.result, Result::kError) << v;
    EXPECT_EQ(o.status, 400) << v;
    EXPECT_EQ(o.message, "invalid content length") << v;
  }
}

TEST(HttpRequestParserTest, BodyOverLimit) {
  Outcome at = ParseAll("POST / HTTP/1.1\nContent-Length: 268435456\n\n");
  EXPECT_EQ(at.result, Result::kNeedMore);
  for (const char* v : {"268435457", "99999999999999999999999999"}) {
    Outcome o = ParseAll(std::string("POST / HTTP/1.1\nContent-Length: ") + v + "\n\n");
    EXPECT_EQ(o.result, Result::kError);
    EXPECT_EQ(o.status, 413);
    EXPECT_EQ(o.message, "request entity too large");
    EXPECT_EQ(o.request.request_line, "POST / HTTP/1.1");
  }
  HttpLimits small;
  small.max_body = 10;
  EXPECT_EQ(ParseAll("POST / HTTP/1.1\nContent-Length: 11\n\n", small).status, 413);
  Outcome chunks =
      ParseAll("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n6\r\nabcdef\r\n5\r\n", small);
  EXPECT_EQ(chunks.status, 413);
  Outcome ok = ParseAll(
      "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n",
      small);
  ASSERT_EQ(ok.result, Result::kDone);
  EXPECT_EQ(ok.request.body, "abcdefghij");
  EXPECT_EQ(
      ParseAll("POST / HTTP/1.1\nTransfer-Encoding: chunked\n\nfffffffffffffffffffff\r\n").status,
      413);
}

TEST(HttpRequestParserTest, Chunked) {
  std::string data =
      "POST /rpc/echo HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
      "5\r\nhello\r\n"
      "1;ext=1\r\n \r\n"
      "A\r\n0123456789\r\n"
      "0\r\n\r\n"
      "GET";
  Outcome o = ParseAll(data);
  ASSERT_EQ(o.result, Result::kDone);
  EXPECT_TRUE(o.request.has_body);
  EXPECT_EQ(o.request.body, "hello 0123456789");
  EXPECT_EQ(o.consumed, data.size() - 3);
}

TEST(HttpRequestParserTest, ChunkedEdgeCases) {
  const std::string head = "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n";
  // An empty size line ends the body with nothing more consumed.
  Outcome empty_line = ParseAll(head + "3\r\nabc\r\n\r\nNEXT");
  ASSERT_EQ(empty_line.result, Result::kDone);
  EXPECT_EQ(empty_line.request.body, "abc");
  EXPECT_EQ(empty_line.consumed, head.size() + 10);
  // Content-Length wins over chunked.
  Outcome both = ParseAll(
      "POST / HTTP/1.1\nTransfer-Encoding: chunked\nContent-Length: 3\n\n"
      "3\r\nabc");
  ASSERT_EQ(both.result, Result::kDone);
  EXPECT_EQ(both.request.body, "3\r\n");
  // Other transfer codings are not chunked: no body.
  Outcome gzip = ParseAll("POST / HTTP/1.1\nTransfer-Encoding: gzip, chunked\n\n3\r\nabc");
  ASSERT_EQ(gzip.result, Result::kDone);
  EXPECT_FALSE(gzip.request.has_body);
  // Upper-case hex and a bare LF after the size.
  Outcome hex = ParseAll(head + "B\nhello world\r\n0\r\n\r\n");
  EXPECT_EQ(hex.request.body, "hello world");
}

TEST(HttpRequestParserTest, InvalidChunks) {
  const std::string head = "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n";
  const char* bad[] = {
      "3\r\nabcX\r\n",              // no CR LF after the data
      "3\r\nabc\n",                 // bare LF after the data
      "3\r\nabc\rX",                // CR without LF
      "0\r\nX-Trailer: 1\r\n\r\n",  // trailers are not supported
      "0\r\n\n",                    // the CR LF after the 0 chunk is exact
  };
  for (const char* b : bad) {
    Outcome o = ParseAll(head + b);
    EXPECT_EQ(o.result, Result::kError) << b;
    EXPECT_EQ(o.status, 400) << b;
    EXPECT_EQ(o.message, "invalid chunk") << b;
  }
  // Incomplete but still valid so far.
  EXPECT_EQ(ParseAll(head + "3\r\nab").result, Result::kNeedMore);
  EXPECT_EQ(ParseAll(head + "3\r\nabc\r").result, Result::kNeedMore);
  EXPECT_EQ(ParseAll(head + "0\r\n").result, Result::kNeedMore);
  // A size line longer than a line may be.
  HttpLimits limits;
  limits.max_line = 30;
  EXPECT_EQ(ParseAll(head + "1" + std::string(40, ';') + "\r\n", limits).message, "invalid chunk");
}

TEST(HttpRequestParserTest, PipelinedRequests) {
  std::string data =
      "GET /rpc/void HTTP/1.1\r\n\r\n"
      "POST /rpc/echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
      "PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n"
      "DELETE /k HTTP/1.0\r\n\r\n";
  HttpRequestParser parser;
  std::string_view rest = data;
  // Copies of what each request's views show (they last until the next Parse).
  struct Seen {
    std::string path, body;
    HttpMethod method;
    bool keep_alive;
  };
  std::vector<Seen> got;
  for (;;) {
    HttpRequest r;
    size_t consumed = 0;
    Result res = parser.Parse(rest, &r, &consumed);
    if (res != Result::kDone) {
      EXPECT_EQ(res, Result::kNeedMore);
      break;
    }
    got.push_back({std::string(r.path), std::string(r.body), r.method, r.keep_alive});
    rest.remove_prefix(consumed);
    parser.Reset();
  }
  EXPECT_TRUE(rest.empty());
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].path, "/rpc/void");
  EXPECT_EQ(got[1].body, "abc");
  EXPECT_EQ(got[2].body, "xy");
  EXPECT_EQ(got[3].method, HttpMethod::kDelete);
  EXPECT_FALSE(got[3].keep_alive);
}

TEST(HttpRequestParserTest, ByteByByteMatchesOneShot) {
  const std::string inputs[] = {
      "GET /rpc/get?key=japan HTTP/1.1\r\nHost: localhost\r\nX-A: 1\r\nx-a: 2\r\n\r\n",
      "POST /rpc/set HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789extra",
      "PUT /k HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
      "GET /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody",
      "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n3\r\nabcX",
      "POST / HTTP/1.1\nContent-Length: x\n\n",
      "GET / HTTP/9.9\r\n\r\n",
  };
  for (const auto& in : inputs) {
    Outcome whole = ParseAll(in);
    for (size_t step : {1, 2, 3, 7, 64}) {
      SCOPED_TRACE(in + " step " + std::to_string(step));
      ExpectSame(ParseInSteps(in, step), whole);
    }
  }
}

TEST(HttpRequestParserTest, RandomSplitsMatchOneShotOnMutatedInput) {
  // Deterministic mutation fuzzing: whatever the bytes, feeding them in arbitrary pieces must
  // give exactly the one-shot outcome.
  const std::string seeds[] = {
      "POST /rpc/set HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
      "PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "GET /a?b HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nxy",
  };
  uint32_t rng = 12345;
  auto next = [&rng] {
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
  };
  const char alphabet[] = "\r\n :0123456789abcdefABCDEF;-\t\x80";
  HttpLimits limits;
  limits.max_line = 40;
  limits.max_header_bytes = 120;
  limits.max_body = 64;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string in = seeds[iter % 3];
    int edits = 1 + static_cast<int>(next() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = next() % (in.size() + 1);
      char c = alphabet[next() % (sizeof(alphabet) - 1)];
      switch (next() % 3) {
        case 0:
          in.insert(pos, 1, c);
          break;
        case 1:
          if (pos < in.size()) in[pos] = c;
          break;
        default:
          if (pos < in.size()) in.erase(pos, 1);
          break;
      }
    }
    Outcome whole = ParseAll(in, limits);
    HttpRequestParser parser(limits);
    Outcome split;
    size_t n = 0;
    do {
      n = std::min(in.size(), n + 1 + next() % 9);
      HttpRequest r;
      split.result = parser.Parse(std::string_view(in).substr(0, n), &r, &split.consumed);
      split.request = std::move(r);
    } while (split.result == Result::kNeedMore && n < in.size());
    split.status = parser.error_status();
    split.message = parser.error_message();
    SCOPED_TRACE(in);
    if (whole.result == Result::kNeedMore) {
      EXPECT_EQ(split.result, Result::kNeedMore);
      continue;
    }
    ExpectSame(split, whole);
    if (whole.result == Result::kDone) {
      EXPECT_LE(whole.consumed, in.size());
    }
  }
}

TEST(HttpRequestParserTest, LongLines) {
  HttpLimits limits;  // max_line 8192
  std::string long_target(9000, 'a');
  Outcome o = ParseAll("GET /" + long_target + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(o.result, Result::kError);
  EXPECT_EQ(o.status, 414);
  EXPECT_EQ(o.message, "request line too long");
  // Detected before the line ends.
  Outcome partial = ParseAll("GET /" + long_target);
  EXPECT_EQ(partial.status, 414);
  // Exactly at the limit (plus CR) is fine.
  std::string line = "GET /" + std::string(8192 - 14, 'b') + " HTTP/1.1";
  ASSERT_EQ(line.size(), 8192u);
  EXPECT_EQ(ParseAll(line + "\r\n\r\n").result, Result::kDone);
  EXPECT_EQ(ParseAll(line + "x\r\n\r\n").status, 414);

  Outcome header = ParseAll("GET / HTTP/1.1\r\nX-Big: " + std::string(9000, 'h') + "\r\n\r\n");
  EXPECT_EQ(header.result, Result::kError);
  EXPECT_EQ(header.status, 400);
  EXPECT_EQ(header.message, "header line too long");
  EXPECT_EQ(ParseAll("GET / HTTP/1.1\r\nX-Big: " + std::string(9000, 'h')).status, 400);
}

TEST(HttpRequestParserTest, HugeHeaderSection) {
  // 100 KiB of modest header lines: over max_header_bytes.
  std::string data = "GET / HTTP/1.1\r\n";
  for (int i = 0; data.size() < 100 * 1024; ++i) {
    data += "X-H" + std::to_string(i) + ": " + std::string(100, 'v') + "\r\n";
  }
  data += "\r\n";
  Outcome o = ParseAll(data);
  EXPECT_EQ(o.result, Result::kError);
  EXPECT_EQ(o.status, 400);
  EXPECT_EQ(o.message, "headers too large");
  // Byte by byte the parser stops as soon as the budget is exceeded.
  HttpRequestParser parser;
  HttpRequest r;
  size_t consumed = 0;
  size_t n = 1;
  Result res = Result::kNeedMore;
  for (; n <= data.size() && res == Result::kNeedMore; ++n) {
    res = parser.Parse(std::string_view(data).substr(0, n), &r, &consumed);
  }
  EXPECT_EQ(res, Result::kError);
  EXPECT_LT(n, 64 * 1024 + 200u);
  // Subsequent calls keep reporting the failure.
  EXPECT_EQ(parser.Parse(data, &r, &consumed), Result::kError);
  EXPECT_EQ(parser.error_status(), 400);
}

TEST(HttpRequestParserTest, LargeBodyInPiecesIsLinear) {
  // 8 MiB in 4 KiB pieces: a rescanning parser would take ~8 GiB of work here.
  const size_t size = 8u << 20;
  std::string data =
      "POST /rpc/set HTTP/1.1\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n";
  size_t header = data.size();
  data.append(size, 'z');
  HttpRequestParser parser;
  HttpRequest r;
  size_t consumed = 0;
  Result res = Result::kNeedMore;
  for (size_t n = 4096; res == Result::kNeedMore; n += 4096) {
    res = parser.Parse(std::string_view(data).substr(0, std::min(n, data.size())), &r, &consumed);
  }
  ASSERT_EQ(res, Result::kDone);
  EXPECT_EQ(consumed, data.size());
  EXPECT_EQ(r.body.size(), size);
  (void)header;

  std::string chunked = "PUT /k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 128; ++i) chunked += "10000\r\n" + std::string(65536, 'c') + "\r\n";
  chunked += "0\r\n\r\n";
  parser.Reset();
  res = Result::kNeedMore;
  for (size_t n = 1000; res == Result::kNeedMore; n += 1000) {
    res = parser.Parse(std::string_view(chunked).substr(0, std::min(n, chunked.size())), &r,
                       &consumed);
  }
  ASSERT_EQ(res, Result::kDone);
  EXPECT_EQ(r.body.size(), 128u * 65536u);
}

TEST(HttpRequestParserTest, ExpectContinue) {
  std::string head = "POST /rpc/set HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 3\r\n\r\n";
  HttpRequestParser parser;
  HttpRequest r;
  size_t consumed = 0;
  EXPECT_FALSE(parser.TakeContinueRequest());
  EXPECT_EQ(parser.Parse(head.substr(0, 20), &r, &consumed), Result::kNeedMore);
  EXPECT_FALSE(parser.TakeContinueRequest());  // headers not complete yet
  EXPECT_EQ(parser.Parse(head, &r, &consumed), Result::kNeedMore);
  EXPECT_TRUE(parser.TakeContinueRequest());
  EXPECT_FALSE(parser.TakeContinueRequest());  // only once
  EXPECT_EQ(parser.Parse(head + "a", &r, &consumed), Result::kNeedMore);
  EXPECT_FALSE(parser.TakeContinueRequest());
  std::string complete = head + "abc";
  EXPECT_EQ(parser.Parse(complete, &r, &consumed), Result::kDone);
  EXPECT_EQ(r.body, "abc");

  // Body already complete: no interim response.
  parser.Reset();
  std::string whole = head + "abc";
  EXPECT_EQ(parser.Parse(whole, &r, &consumed), Result::kDone);
  EXPECT_FALSE(parser.TakeContinueRequest());
  // No body expected, or HTTP/1.0: none either.
  parser.Reset();
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n", &r, &consumed),
            Result::kDone);
  EXPECT_FALSE(parser.TakeContinueRequest());
  parser.Reset();
  EXPECT_EQ(parser.Parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &r,
                         &consumed),
            Result::kNeedMore);
  EXPECT_FALSE(parser.TakeContinueRequest());
  // Chunked bodies qualify too.
  parser.Reset();
  EXPECT_EQ(parser.Parse("PUT / HTTP/1.1\r\nExpect: 100-continue\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n",
                         &r, &consumed),
            Result::kNeedMore);
  EXPECT_TRUE(parser.TakeContinueRequest());
}

TEST(HttpRequestParserTest, ResetClearsState) {
  HttpRequestParser parser;
  HttpRequest r;
  size_t consumed = 0;
  EXPECT_EQ(parser.Parse("BAD\r\n", &r, &consumed), Result::kClose);
  EXPECT_EQ(parser.Parse("BAD\r\n", &r, &consumed), Result::kClose);
  parser.Reset();
  EXPECT_EQ(parser.Parse("GET / HTTP/1.1\r\n\r\n", &r, &consumed), Result::kDone);
  EXPECT_EQ(parser.error_status(), 0);
}

TEST(HttpReasonTest, Phrases) {
  EXPECT_EQ(HttpReason(100), "Continue");
  EXPECT_EQ(HttpReason(200), "OK");
  EXPECT_EQ(HttpReason(201), "Created");
  EXPECT_EQ(HttpReason(204), "No Content");
  EXPECT_EQ(HttpReason(400), "Bad Request");
  EXPECT_EQ(HttpReason(404), "Not Found");
  EXPECT_EQ(HttpReason(413), "Request Entity Too Large");
  EXPECT_EQ(HttpReason(414), "Request-URI Too Long");
  EXPECT_EQ(HttpReason(450), "Logical Inconsistency");
  EXPECT_EQ(HttpReason(500), "Internal Server Error");
  EXPECT_EQ(HttpReason(501), "Not Implemented");
  EXPECT_EQ(HttpReason(503), "Service Unavailable");
}

}  // namespace
}  // namespace ryoan::server
