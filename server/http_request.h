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

// The fields are views: into the bytes passed to the parser (the connection's input buffer)
// where a line needed no rewriting, else into the parser's own storage. They stay valid
// until the next Parse() on the parser that produced them, as long as those bytes stay put;
// so a connection parses, handles and replies without copying or allocating per request.
struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  std::string_view method_name;   // as sent
  std::string_view request_line;  // CRs removed, for the access log
  std::string_view target;        // raw request target
  std::string_view path;          // target before the first '?', raw (not decoded)
  std::string_view query;         // target after the first '?', raw
  bool http11 = true;
  bool keep_alive = true;  // after Connection: close / keep-alive and the version rule
  // Names as sent (lookups ignore their case); a later header with the same name (in any
  // case) replaced the earlier one's value.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  // The Content-Type value (the same as Header("content-type")), found while parsing because
  // every RPC with a body asks for it.
  std::string_view content_type;
  bool has_content_type = false;
  std::string_view body;  // only for POST, PUT and unknown methods
  bool has_body = false;  // a body was read (Content-Length or chunked)

  // The value of the header whose name, lower-cased, is `lower_name`; null if none.
  const std::string_view* Header(std::string_view lower_name) const;
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
  // On kDone (and on kClose/kError, as far as parsed) *request views `data` and this
  // parser's storage: see HttpRequest.
  Result Parse(std::string_view data, HttpRequest* request, size_t* consumed);
  void Reset();
  // Frees storage a large request left behind (a chunked body, many headers). Call only when
  // the last request's views are no longer used, e.g. when the connection goes idle.
  void ShrinkIfLarge();

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
  // The request being assembled, as spans (offsets survive the caller's buffer moving
  // between calls): into `data` or, for lines that had CRs inside and chunked bodies, into
  // arena_. Turned into views only when the request is complete.
  struct Span {
    uint32_t offset = 0;
    uint32_t size = 0;
    bool in_arena = false;
  };
  struct HeaderSpan {
    Span name, value;
  };
  HttpMethod method_ = HttpMethod::kGet;
  bool http11_ = true;
  bool keep_alive_ = true;
  bool has_body_ = false;
  bool fresh_ = true;  // arena_ and the spans still hold the previous request
  Span line_, method_name_, target_, path_, query_, body_;
  std::vector<HeaderSpan> headers_;
  std::string arena_;

  std::string_view View(Span span, std::string_view data) const;
  // The line without CRs: a view of `data` when its only CR is the last byte, else a copy.
  Span LineWithoutCr(std::string_view data, size_t begin, size_t end);
  Span CopyWithoutCr(std::string_view line);  // the rare case: a CR inside the line
  // The headers that frame the request, and Content-Type, recorded as header lines are added
  // (the last occurrence wins, as after deduplication); null when absent.
  enum KnownHeader {
    kConnection,
    kContentLength,
    kTransferEncoding,
    kExpect,
    kContentType,
    kKnown
  };
  Span known_[kKnown];
  unsigned known_present_ = 0;  // bit k: known_[k] holds a value
  // A bit per (name length, lower-cased first byte) seen: two names that are equal in any case
  // share a bit, so when no bit was hit twice the names are distinct and need no dedup pass.
  uint64_t name_bits_ = 0;
  bool maybe_duplicates_ = false;
  void NoteHeader(std::string_view name, Span value);
  const Span* Known(KnownHeader k) const {
    return (known_present_ >> k) & 1 ? &known_[k] : nullptr;
  }
  void Export(std::string_view data, HttpRequest* request) const;
  void StartRequest();
  Result Fail(int status, std::string message, std::string_view data, HttpRequest* request);
  Result Close(std::string_view data, HttpRequest* request);
  bool FindLineEnd(std::string_view data, size_t* lf);
  bool ParseRequestLine(Span line, std::string_view data);
  void AddHeaderLine(Span line, std::string_view data);
  // A raw header line [begin, end) (its final CR already excluded) added in place; false when
  // it holds a CR, which must be dropped first (AddHeaderLine on LineWithoutCr).
  bool AddPlainHeaderLine(std::string_view data, size_t begin, size_t end);
  void AddHeader(Span line_span, std::string_view line, size_t colon);
  void DeduplicateHeaders(std::string_view data);
  Result FinishHeaders(std::string_view data, HttpRequest* request);
};

// Reason phrase for a status code ("OK", "Logical Inconsistency", ...).
std::string_view HttpReason(int status);

}  // namespace ryoan::server
