// HttpRequest and its parser: a pure, resumable function over the bytes a connection has
// received (spec/http-rpc.md section 2). No sockets here, so it is unit-testable and fuzzable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ryoan::server {

enum class HttpMethod { kGet, kHead, kPost, kPut, kDelete, kOther };

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string method_name;   // as sent
  std::string request_line;  // CRs removed, for the access log
  std::string target;        // raw request target
  std::string path;          // target before the first '?', raw (not decoded)
  std::string query;         // target after the first '?', raw
  bool http11 = true;
  bool keep_alive = true;  // after Connection: close / keep-alive and the version rule
  // Lower-cased names; a later header with the same name replaced the earlier one.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;       // only for POST, PUT and unknown methods
  bool has_body = false;  // a body was read (Content-Length or chunked)

  const std::string* Header(std::string_view lower_name) const;
};

struct HttpLimits {
  size_t max_line = 8192;               // request line and each header line
  size_t max_header_bytes = 64 * 1024;  // all header lines together
  size_t max_body = size_t{1} << 28;    // 268,435,456 bytes, as the original
};

class HttpRequestParser {
 public:
  enum class Result {
    kNeedMore,  // feed more bytes (the same prefix again, with more appended)
    kDone,      // *request is complete; `consumed` bytes of the input belong to it
    kClose,     // malformed request line: close without any response
    kError,     // transport error: answer error_status()/error_message(), then close
  };

  explicit HttpRequestParser(HttpLimits limits = {}) : limits_(limits) {}

  // `data` holds the connection's unconsumed bytes, starting at the first byte of the
  // request. The parser keeps its progress between calls, so each call costs time in
  // proportion to the new bytes only. After kDone, call Reset() before the next request.
  Result Parse(std::string_view data, HttpRequest* request, size_t* consumed);
  void Reset();

  // True once, when the headers are complete, carry "Expect: 100-continue" and the body has
  // not fully arrived: the connection may then send "HTTP/1.1 100 Continue".
  bool TakeContinueRequest();

  int error_status() const { return error_status_; }
  const std::string& error_message() const { return error_message_; }

 private:
  HttpLimits limits_;
  int error_status_ = 0;
  std::string error_message_;
  // Progress state, private to the implementation.
  int stage_ = 0;
  size_t offset_ = 0;
  size_t header_bytes_ = 0;
  size_t content_length_ = 0;
  size_t chunk_remaining_ = 0;
  bool discard_body_ = false;
  bool chunked_ = false;
  bool continue_pending_ = false;
  bool continue_sent_ = false;
  // Where the search for the current line's LF resumes, so bytes are scanned once.
  size_t scan_ = 0;
  // Chunked body bytes accepted so far, against limits_.max_body.
  size_t body_total_ = 0;
  // kClose or kError once a request failed; repeated until Reset().
  Result failure_ = Result::kNeedMore;
  // The request being assembled; moved out on kDone, so callers need not keep their
  // HttpRequest between calls.
  HttpRequest pending_;

  Result Fail(int status, std::string message, HttpRequest* request);
  Result Close(HttpRequest* request);
  bool FindLineEnd(std::string_view data, size_t* lf);
  bool ParseRequestLine(std::string_view line);
  void AddHeaderLine(std::string_view line);
  Result FinishHeaders(HttpRequest* request);
};

// Reason phrase for a status code ("OK", "Logical Inconsistency", ...).
std::string_view HttpReason(int status);

}  // namespace ryoan::server
