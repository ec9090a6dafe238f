#include "tests/integration/test_util.h"

#include <cstdio>
#include <cstring>
#include <fstream>

namespace ryoan::testing {

int64_t ParseRfc1123(const std::string& text) {
  static const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  // "Sun, 06 Nov 1994 08:49:37 GMT" is exactly 29 bytes.
  if (text.size() != 29 || text.compare(3, 2, ", ") != 0 || text.compare(25, 4, " GMT") != 0) {
    return -1;
  }
  int wday = -1, mon = -1;
  for (int i = 0; i < 7; ++i) {
    if (text.compare(0, 3, kDays[i]) == 0) wday = i;
  }
  for (int i = 0; i < 12; ++i) {
    if (text.compare(8, 3, kMonths[i]) == 0) mon = i;
  }
  auto digits = [&](size_t pos, size_t n) {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      v = v * 10 + (text[i] - '0');
    }
    return v;
  };
  if (wday < 0 || mon < 0 || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' ||
      text[19] != ':' || text[22] != ':') {
    return -1;
  }
  int day = digits(5, 2), year = digits(12, 4), h = digits(17, 2), m = digits(20, 2),
      s = digits(23, 2);
  if (day < 1 || year < 0 || h < 0 || m < 0 || s < 0) return -1;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = day;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = s;
  int64_t t = static_cast<int64_t>(timegm(&tm));
  std::tm check{};
  time_t tt = static_cast<time_t>(t);
  gmtime_r(&tt, &check);
  if (check.tm_wday != wday) return -1;
  return t;
}

std::string Printable(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

int64_t VmRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

bool ReadHttp(client::BinaryClient& c, std::string* head, std::string* body) {
  head->clear();
  body->clear();
  if (!c.ReadUntil("\r\n\r\n", head)) return false;
  size_t at = head->find("Content-Length: ");
  if (at == std::string::npos) return false;
  size_t length = std::stoul(head->substr(at + 16));
  return c.ReadExact(length, body);
}

void ExpectRpcReply(const HttpResponse& r, int status, std::string_view content_type,
                    std::string_view body) {
  EXPECT_EQ(r.status, status) << "body: " << Printable(r.body);
  const std::string* ct = r.FindHeader("Content-Type");
  ASSERT_NE(ct, nullptr) << "no Content-Type; head: " << Printable(r.head);
  EXPECT_EQ(*ct, content_type);
  EXPECT_EQ(Printable(r.body), Printable(body));
}

void ExpectRpcError(const HttpResponse& r, int status, std::string_view error) {
  ExpectRpcReply(r, status, kTsv, "ERROR\t" + std::string(error) + "\n");
}

}  // namespace ryoan::testing
