#include "tools/ktbench/http_response.h"

#include "tools/ktbench/protocol.h"

namespace ktbench {
namespace {

// Header blocks larger than this are not ktserver's; stop instead of buffering forever.
constexpr size_t kMaxHeaderBytes = 64 * 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
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
    std::string_view name = Trim(line.substr(0, colon));
    std::string_view value = Trim(line.substr(colon + 1));
    if (EqualsIgnoreCase(name, "content-length")) {
      if (!ParseDecimal(value, &length)) return HttpParse::kMalformed;
      have_length = true;
    } else if (EqualsIgnoreCase(name, "connection")) {
      out->close = EqualsIgnoreCase(value, "close");
    } else if (EqualsIgnoreCase(name, "content-type")) {
      out->content_type = value;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      // ktserver never chunks its responses (spec/http-rpc.md 2.6).
      return HttpParse::kMalformed;
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
