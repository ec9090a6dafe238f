#include "tools/ktbench/http_response.h"

#include <cstdint>
#include <cstring>

#include "tools/ktbench/protocol.h"

namespace ktbench {
namespace {

// Header blocks larger than this are not ktserver's; stop instead of buffering forever.
constexpr size_t kMaxHeaderBytes = 64 * 1024;

inline char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// `name` equals `lower` (at least 8 bytes, lower-case letters and '-' only) in any case. Eight
// bytes at a time: bit 6 marks the letters of `lower`, and only those bytes of `name` get the
// lower-case bit (0x20) set before comparing, so '-' must match exactly.
bool EqualsLowerName(std::string_view name, std::string_view lower) {
  const size_t n = lower.size();
  if (name.size() != n) return false;
  auto differs = [&](size_t at) {
    uint64_t a, w;
    std::memcpy(&a, name.data() + at, 8);
    std::memcpy(&w, lower.data() + at, 8);
    return (a | ((w & 0x4040404040404040u) >> 1)) != w;
  };
  for (size_t at = 0; at + 8 <= n; at += 8) {
    if (differs(at)) return false;
  }
  return n % 8 == 0 || !differs(n - 8);  // the tail, overlapping the last full word
}

// The headers the parser acts on; every other one is skipped after a length test.
enum class Known { kOther, kContentLength, kConnection, kContentType, kTransferEncoding };

Known Classify(std::string_view name) {
  switch (name.size()) {  // the lengths differ, so at most one comparison per header
    case 10:
      return EqualsLowerName(name, "connection") ? Known::kConnection : Known::kOther;
    case 12:
      return EqualsLowerName(name, "content-type") ? Known::kContentType : Known::kOther;
    case 14:
      return EqualsLowerName(name, "content-length") ? Known::kContentLength : Known::kOther;
    case 17:
      return EqualsLowerName(name, "transfer-encoding") ? Known::kTransferEncoding : Known::kOther;
    default:
      return Known::kOther;
  }
}

}  // namespace

HttpParse ParseHttpResponse(std::string_view in, bool head, HttpResponse* out) {
  size_t end = LineEnd(in, 0);
  if (end == std::string_view::npos) {
    return in.size() > kMaxHeaderBytes ? HttpParse::kMalformed : HttpParse::kIncomplete;
  }
  std::string_view status_line = LineText(in, 0, end);
  // "HTTP/1.1 200 OK"
  if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ') {
    return HttpParse::kMalformed;
  }
  uint64_t status = 0;
  if (!ParseDecimal(status_line.substr(9, 3), &status)) return HttpParse::kMalformed;
  out->status = static_cast<int>(status);
  out->close = false;
  out->content_type = {};
  bool have_length = false;
  uint64_t length = 0;
  size_t pos = end;
  while (true) {
    end = LineEnd(in, pos);
    if (end == std::string_view::npos) {
      return in.size() > kMaxHeaderBytes ? HttpParse::kMalformed : HttpParse::kIncomplete;
    }
    std::string_view line = LineText(in, pos, end);
    pos = end;
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const Known known = Classify(Trim(line.substr(0, colon)));
    if (known == Known::kOther) continue;
    std::string_view value = Trim(line.substr(colon + 1));
    switch (known) {
      case Known::kContentLength:
        if (!ParseDecimal(value, &length)) return HttpParse::kMalformed;
        have_length = true;
        break;
      case Known::kConnection:
        out->close = EqualsIgnoreCase(value, "close");
        break;
      case Known::kContentType:
        out->content_type = value;
        break;
      case Known::kTransferEncoding:
        // ktserver never chunks its responses (spec/http-rpc.md 2.6).
        return HttpParse::kMalformed;
      case Known::kOther:
        break;
    }
  }
  if (head || out->status == 204 || out->status == 304 ||
      (out->status >= 100 && out->status < 200)) {
    length = 0;
  } else if (!have_length) {
    // Without a length the body would run to EOF; no server under test does that.
    return HttpParse::kMalformed;
  }
  if (in.size() - pos < length) return HttpParse::kIncomplete;
  out->body = in.substr(pos, length);
  out->size = pos + length;
  return HttpParse::kDone;
}

}  // namespace ktbench
