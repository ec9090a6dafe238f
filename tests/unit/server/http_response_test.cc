#include "server/http_response.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "common/http_date.h"

namespace ryoan::server {
namespace {

// Replaces the Date header's value, which depends on the clock, with a fixed marker.
std::string MaskDate(std::string s) {
  size_t p = s.find("\r\nDate: ");
  if (p != std::string::npos) {
    size_t start = p + 8;
    size_t end = s.find("\r\n", start);
    s.replace(start, end - start, "DATE");
  }
  return s;
}

TEST(HttpResponseTest, RpcReply) {
  std::string out;
  AppendHttpResponse(&out, 200, false, false, {{"Content-Type", "text/tab-separated-values"}},
                     "value\ttokyo\n");
  EXPECT_EQ(MaskDate(out),
            "HTTP/1.1 200 OK\r\n"
            "Server: KyotoTycoon/0.9.56\r\n"
            "Date: DATE\r\n"
            "Content-Length: 12\r\n"
            "Content-Type: text/tab-separated-values\r\n"
            "\r\n"
            "value\ttokyo\n");
}

TEST(HttpResponseTest, CloseAndSortedHeaders) {
  std::string out = "previous";
  AppendHttpResponse(&out, 450, true, false,
                     {{"x-kt-xt", "Thu, 01 Jan 1970 00:00:00 GMT"},
                      {"Content-Type", "text/plain"},
                      {"location", "/a"},
                      {"X-KT-ERROR", "e1"},
                      {"x-kt-error", "e2"}},
                     "");
  EXPECT_EQ(MaskDate(out),
            "previous"
            "HTTP/1.1 450 Logical Inconsistency\r\n"
            "Server: KyotoTycoon/0.9.56\r\n"
            "Date: DATE\r\n"
            "Connection: close\r\n"
            "Content-Length: 0\r\n"
            "Content-Type: text/plain\r\n"
            "Location: /a\r\n"
            "X-Kt-Error: e1\r\n"
            "X-Kt-Error: e2\r\n"
            "X-Kt-Xt: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
            "\r\n");
}

TEST(HttpResponseTest, HeadHasNoServerLengthAndNoBody) {
  std::string out;
  AppendHttpResponse(&out, 200, false, true, {{"Content-Length", "5"}}, "hello");
  EXPECT_EQ(MaskDate(out),
            "HTTP/1.1 200 OK\r\n"
            "Server: KyotoTycoon/0.9.56\r\n"
            "Date: DATE\r\n"
            "Content-Length: 5\r\n"
            "\r\n");
  out.clear();
  AppendHttpResponse(&out, 404, false, true, {}, "ignored");
  EXPECT_EQ(MaskDate(out),
            "HTTP/1.1 404 Not Found\r\nServer: KyotoTycoon/0.9.56\r\nDate: DATE\r\n\r\n");
}

TEST(HttpResponseTest, TransportError) {
  std::string out;
  AppendHttpTransportError(&out, 413, "request entity too large");
  EXPECT_EQ(MaskDate(out),
            "HTTP/1.1 413 Request Entity Too Large\r\n"
            "Server: KyotoTycoon/0.9.56\r\n"
            "Date: DATE\r\n"
            "Connection: close\r\n"
            "Content-Length: 56\r\n"
            "Content-Type: text/plain\r\n"
            "\r\n"
            "413 Request Entity Too Large (request entity too large)\n");
  out.clear();
  AppendHttpTransportError(&out, 400, "invalid chunk");
  EXPECT_NE(out.find("\r\n\r\n400 Bad Request (invalid chunk)\n"), std::string::npos);
}

TEST(HttpResponseTest, CurrentHttpDate) {
  int64_t before = static_cast<int64_t>(std::time(nullptr));
  std::string_view d = CurrentHttpDate();
  int64_t after = static_cast<int64_t>(std::time(nullptr));
  ASSERT_EQ(d.size(), 29u);
  auto parsed = ParseHttpDate(d);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_GE(*parsed, before);
  EXPECT_LE(*parsed, after);
  EXPECT_EQ(d.substr(25), " GMT");
  std::string out;
  AppendHttpResponse(&out, 204, false, false, {}, "");
  EXPECT_NE(out.find("\r\nDate: " + std::string(CurrentHttpDate().substr(0, 17))),
            std::string::npos);
}

}  // namespace
}  // namespace ryoan::server
