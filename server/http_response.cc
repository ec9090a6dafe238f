// Response framing of spec/http-rpc.md 2.6 and 2.7. Runs once per response, so it appends
// into the connection's output buffer without temporary strings.

#include "server/http_response.h"

#include <algorithm>
#include <charconv>
#include <cstring>
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
  // The head is written through a pointer into room made once (std::string::append per
  // piece costs more than the copying); the bound covers every fixed piece and two numbers.
  size_t bound = 192 + reason.size() + date.size();
  for (const auto& h : headers) bound += h.name.size() + h.value.size() + 4;
  const size_t start = out->size();
  out->reserve(start + bound + body.size());
  out->resize(start + bound);
  char* const begin = out->data() + start;
  char* p = begin;
  auto put = [&p](std::string_view piece) {
    std::memcpy(p, piece.data(), piece.size());
    p += piece.size();
  };
  auto put_number = [&p](uint64_t v) { p = std::to_chars(p, p + 20, v).ptr; };

  put("HTTP/1.1 ");
  put_number(static_cast<uint64_t>(status < 0 ? 0 : status));
  *p++ = ' ';
  put(reason);
  put("\r\nServer: KyotoTycoon/0.9.56\r\nDate: ");
  put(date);
  put("\r\n");
  if (close) put("Connection: close\r\n");
  // HEAD and 304 carry no body, so the server states no length (a REST HEAD handler passes
  // the record's length as its own header).
  const bool no_body = head || status == 304;
  if (!no_body) {
    put("Content-Length: ");
    put_number(body.size());
    put("\r\n");
  }
  for (const auto& h : headers) {
    // "x-kt-xt" -> "X-Kt-Xt": upper-case the first letter and each one after '-', lower the
    // rest.
    bool word_start = true;
    for (char c : h.name) {
      *p++ = word_start ? Upper(c) : Lower(c);
      word_start = c == '-';
    }
    put(": ");
    put(h.value);
    put("\r\n");
  }
  put("\r\n");
  out->resize(start + static_cast<size_t>(p - begin));
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
