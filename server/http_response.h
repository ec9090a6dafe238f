// Writes HTTP responses exactly as spec/http-rpc.md 2.6 lays them out.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ryoan::server {

// A handler header, name written Capitalised-Per-Dash ("Content-Type", "X-Kt-Xt").
struct HttpHeader {
  std::string_view name;
  std::string_view value;
};

// Appends one response to `out`:
//   HTTP/1.1 <status> <reason>, Server, Date, [Connection: close], [Content-Length],
//   handler headers sorted by lower-case name, blank line, body.
// Content-Length is written from body.size() unless `head` (HEAD requests: no
// Content-Length from the server, no body; a handler may pass its own Content-Length header).
// `headers` is sorted in place; nothing is allocated beyond growing `out`.
void AppendHttpResponse(std::string* out, int status, bool close, bool head,
                        std::span<HttpHeader> headers, std::string_view body);
void AppendHttpResponse(std::string* out, int status, bool close, bool head,
                        std::initializer_list<HttpHeader> headers, std::string_view body);

// The transport error reply of spec/http-rpc.md 2.7 ("413 Request Entity Too Large
// (request entity too large)\n", text/plain, Connection: close).
void AppendHttpTransportError(std::string* out, int status, std::string_view message);

// "Date" header value for now, cached per second.
std::string_view CurrentHttpDate();

}  // namespace ryoan::server
