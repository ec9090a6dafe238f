// The HTTP RPC client of ktbench: the exact bytes of its requests and how it reads replies.
#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "tools/ktbench/http_response.h"
#include "tools/ktbench/protocol.h"

namespace ktbench {
namespace {

TEST(KtbenchHttpRpcTest, SingleSetIsTheDocumentedPost) {
  Options opts;
  opts.port = 1978;
  Workload workload(100, 10);
  auto proto = MakeHttpRpcProtocol(opts, workload);
  for (uint64_t k : {0, 7, 99}) {
    std::string out = "x";  // appended to, not replaced
    proto->Encode(Request{Op::kSet, &k, 1}, &out);
    std::string key;
    Workload::AppendKey(k, &key);
    const std::string body = "key\t" + key + "\nvalue\t" + std::string(workload.Value(k)) + "\n";
    EXPECT_EQ(out,
              "xPOST /rpc/set HTTP/1.1\r\nHost: 127.0.0.1:1978\r\n"
              "Content-Type: text/tab-separated-values\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n" + body);
  }
}

TEST(KtbenchHttpResponseTest, ReadsTheHeadersItNeedsInAnyCase) {
  const std::string reply =
      "HTTP/1.1 200 OK\r\nServer: KyotoTycoon/0.9.56\r\nDate: Wed, 25 Nov 2026 01:28:38 GMT\r\n"
      "content-LENGTH:  3 \r\nCONNECTION: Close\r\nContent-Type: text/tab-separated-values\r\n"
      "\r\nabcNEXT";
  HttpResponse r;
  ASSERT_EQ(ParseHttpResponse(reply, false, &r), HttpParse::kDone);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "abc");
  EXPECT_EQ(r.size, reply.size() - 4);
  EXPECT_TRUE(r.close);
  EXPECT_EQ(r.content_type, "text/tab-separated-values");
  for (size_t n = 0; n < reply.size() - 4; ++n) {
    EXPECT_EQ(ParseHttpResponse(reply.substr(0, n), false, &r), HttpParse::kIncomplete) << n;
  }
}

// Names are compared eight bytes at a time: a difference in any byte, in the first word or in
// the overlapping tail, must still tell them apart, and case alone must not.
TEST(KtbenchHttpResponseTest, HeaderNamesMatchExactlyInAnyCase) {
  const std::string name = "content-length";
  for (size_t i = 0; i < name.size(); ++i) {
    std::string upper = name;
    upper[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(upper[i])));
    HttpResponse r;
    EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\n" + upper + ": 2\r\n\r\nab", false, &r),
              HttpParse::kDone)
        << upper;
    for (char c : {'_', '\r', '\x0d', 'M', '\0', '.'}) {
      std::string other = name;
      if (other[i] == c || (c == 'M' && other[i] == 'm')) continue;
      other[i] = c;
      EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\n" + other + ": 2\r\n\r\nab", false, &r),
                HttpParse::kMalformed)  // not the length, so there is none
          << i << " " << static_cast<int>(c);
    }
  }
}

TEST(KtbenchHttpResponseTest, RejectsWhatKtserverNeverSends) {
  HttpResponse r;
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Type: a\r\n\r\n", false, &r),
            HttpParse::kMalformed);  // no length
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, &r),
            HttpParse::kMalformed);
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", false, &r),
            HttpParse::kMalformed);
  EXPECT_EQ(ParseHttpResponse("HTTP/1.1 200 OK\r\nContent-Lengthy: 1\r\n\r\n", false, &r),
            HttpParse::kMalformed);  // a lookalike name is not the length
  ASSERT_EQ(ParseHttpResponse("HTTP/1.1 450 Logical Inconsistency\r\nX-Content-Length: 9\r\n"
                              "Content-Length: 0\r\nConnection: keep-alive\r\n\r\n",
                              false, &r),
            HttpParse::kDone);
  EXPECT_EQ(r.status, 450);
  EXPECT_FALSE(r.close);
  EXPECT_EQ(r.body, "");
}

}  // namespace
}  // namespace ktbench
