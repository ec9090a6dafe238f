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

constexpr std::string_view kContentType = "Content-Type";

// "Server: ...\r\nDate: ...\r\n", formatted once per second per thread; the view stays
// valid until this thread's next call that crosses a second boundary.
std::string_view ServerAndDateLines() {
  static constexpr std::string_view kServer = "Server: KyotoTycoon/0.9.56\r\nDate: ";
  struct Cache {
    int64_t second = -1;
    size_t length = 0;
    char text[kServer.size() + ryoan::kHttpDateLength + 2];
  };
  thread_local Cache cache;
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (now != cache.second) {
    std::memcpy(cache.text, kServer.data(), kServer.size());
    size_t n = kServer.size() + ryoan::FormatHttpDate(now, cache.text + kServer.size());
    cache.text[n++] = '\r';
    cache.text[n++] = '\n';
    cache.length = n;
    cache.second = now;
  }
  return std::string_view(cache.text, cache.length);
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
  // The head is written into a stack buffer (one append to `out`, no zero-filling); the bound
  // covers every fixed piece and two numbers.
  std::string_view reason = status == 200 ? std::string_view() : HttpReason(status);
  std::string_view server_date = ServerAndDateLines();
  size_t bound = 128 + reason.size() + server_date.size();
  for (const auto& h : headers) bound += h.name.size() + h.value.size() + 4;
  char stack[512];
  std::string large;  // only for heads with unusually many or long handler headers
  char* begin = stack;
  if (bound > sizeof(stack)) {
    large.resize(bound);
    begin = large.data();
  }
  char* p = begin;
  auto put = [&p](std::string_view piece) {
    std::memcpy(p, piece.data(), piece.size());
    p += piece.size();
  };
  auto put_number = [&p](uint64_t v) { p = std::to_chars(p, p + 20, v).ptr; };

  if (status == 200) {
    put("HTTP/1.1 200 OK\r\n");
  } else {
    put("HTTP/1.1 ");
    put_number(static_cast<uint64_t>(status < 0 ? 0 : status));
    *p++ = ' ';
    put(reason);
    put("\r\n");
  }
  put(server_date);
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
    if (h.name == kContentType) {
      put(kContentType);  // the usual one, already in its written form
    } else {
      // "x-kt-xt" -> "X-Kt-Xt": upper-case the first letter and each one after '-', lower
      // the rest.
      bool word_start = true;
      for (char c : h.name) {
        *p++ = word_start ? Upper(c) : Lower(c);
        word_start = c == '-';
      }
    }
    put(": ");
    put(h.value);
    put("\r\n");
  }
  put("\r\n");
  const size_t head_size = static_cast<size_t>(p - begin);
  out->reserve(out->size() + head_size + (no_body ? 0 : body.size()));
  out->append(begin, head_size);
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
