// Parsing of HTTP/1.x responses as ktserver sends them (spec/http-rpc.md 2.6): a status line,
// headers, and a body whose length is always given by Content-Length.
#pragma once

#include <string_view>

namespace ktbench {

struct HttpResponse {
  int status = 0;
  size_t size = 0;  // bytes of the whole response
  std::string_view content_type;
  std::string_view body;
  bool close = false;  // "Connection: close"
};

enum class HttpParse { kIncomplete, kDone, kMalformed };

// Parses one response at the front of `in`. `head` marks the reply to a HEAD request, whose
// Content-Length describes a body that is not sent.
HttpParse ParseHttpResponse(std::string_view in, bool head, HttpResponse* out);

}  // namespace ktbench
