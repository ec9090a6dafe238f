// Response framing of spec/http-rpc.md 2.6 and 2.7. Runs once per response, so it appends
// into the connection's output buffer without temporary strings.

#include "server/http_response.h"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "common/http_date.h"
#include "server/http_request.h"

namespace ryoan::server {

namespace {

inline char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
inline char Upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }

bool LessNoCase(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    auto ca = static_cast<unsigned char>(Lower(a[i]));
    auto cb = static_cast<unsigned char>(Lower(b[i]));
    if (ca != cb) return ca < cb;
  }
  return a.size() < b.size();
}

void AppendNumber(std::string* out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out->append(buf, static_cast<size_t>(end - buf));
}

// "x-kt-xt" -> "X-Kt-Xt": upper-case the first letter and each one after '-', lower the rest.
// Fixed in place after one append: this runs for every header of every reply.
void AppendHeaderName(std::string* out, std::string_view name) {
  size_t at = out->size();
  out->append(name);
  char* p = out->data() + at;
  bool start = true;
  for (size_t i = 0; i < name.size(); ++i) {
    p[i] = start ? Upper(p[i]) : Lower(p[i]);
    start = p[i] == '-';
  }
}

}  // namespace

void AppendHttpResponse(std::string* out, int status, bool close, bool head,
                        std::initializer_list<HttpHeader> headers, std::string_view body) {
  std::vector<HttpHeader> copy(headers);
  AppendHttpResponse(out, status, close, head, std::span<HttpHeader>(copy), body);
}

void AppendHttpResponse(std::string* out, int status, bool close, bool head,
                        std::span<HttpHeader> headers, std::string_view body) {
  // Stable insertion sort: handler headers are a handful, and this avoids the temporary
  // buffer std::stable_sort would allocate.
  for (size_t i = 1; i < headers.size(); ++i) {
    HttpHeader h = headers[i];
    size_t j = i;
    for (; j > 0 && LessNoCase(h.name, headers[j - 1].name); --j) headers[j] = headers[j - 1];
    headers[j] = h;
  }
  std::string_view reason = HttpReason(status);
  std::string_view date = CurrentHttpDate();
  size_t size = 96 + reason.size() + date.size() + body.size();
  for (const auto& h : headers) size += h.name.size() + h.value.size() + 4;
  out->reserve(out->size() + size);

  out->append("HTTP/1.1 ");
  AppendNumber(out, static_cast<uint64_t>(status < 0 ? 0 : status));
  out->push_back(' ');
  out->append(reason);
  out->append("\r\nServer: KyotoTycoon/0.9.56\r\nDate: ");
  out->append(date);
  out->append("\r\n");
  if (close) out->append("Connection: close\r\n");
  // HEAD and 304 carry no body, so the server states no length (a REST HEAD handler passes
  // the record's length as its own header).
  const bool no_body = head || status == 304;
  if (!no_body) {
    out->append("Content-Length: ");
    AppendNumber(out, body.size());
    out->append("\r\n");
  }
  for (const auto& h : headers) {
    AppendHeaderName(out, h.name);
    out->append(": ");
    out->append(h.value);
    out->append("\r\n");
  }
  out->append("\r\n");
  if (!no_body) out->append(body);
}

void AppendHttpTransportError(std::string* out, int status, std::string_view message) {
  std::string body;
  std::string_view reason = HttpReason(status);
  body.reserve(reason.size() + message.size() + 8);
  AppendNumber(&body, static_cast<uint64_t>(status < 0 ? 0 : status));
  body.push_back(' ');
  body.append(reason);
  body.append(" (");
  body.append(message);
  body.append(")\n");
  HttpHeader type{"Content-Type", "text/plain"};
  AppendHttpResponse(out, status, /*close=*/true, /*head=*/false, std::span<HttpHeader>(&type, 1),
                     body);
}

std::string_view CurrentHttpDate() {
  // One formatting per second per thread; the view stays valid until this thread's next
  // call that crosses a second boundary.
  struct Cache {
    int64_t second = -1;
    size_t length = 0;
    char text[ryoan::kHttpDateLength];
  };
  thread_local Cache cache;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (now != cache.second) {
    cache.length = ryoan::FormatHttpDate(now, cache.text);
    cache.second = now;
  }
  return std::string_view(cache.text, cache.length);
}

}  // namespace ryoan::server
