// The HTTP request parser of spec/http-rpc.md 2.1-2.5. It is resumable: every call gets the
// connection's unconsumed bytes again plus whatever arrived since, and picks up at offset_
// (the first byte not yet accepted) and scan_ (how far the current line was searched), so a
// request costs time in proportion to its size however it is split into reads.

#include "server/http_request.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace ryoan::server {

namespace {

enum Stage {
  kRequestLine = 0,
  kHeaders,
  kBodyLength,    // Content-Length body
  kChunkSize,     // expecting a chunk size line
  kChunkData,     // inside a chunk's data
  kChunkDataEnd,  // expecting the CR LF after a chunk's data
  kLastChunkEnd,  // expecting the CR LF after the 0 chunk
  kFinished,      // kDone returned; Reset() before the next request
  kFailed,        // kClose or kError returned
};

inline char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Copies a line without any of its CR bytes (2.1: every CR is dropped, not only a trailing
// one).
void AssignWithoutCr(std::string_view line, std::string* out) {
  out->clear();
  out->reserve(line.size());
  for (;;) {
    size_t cr = line.find('\r');
    if (cr == std::string_view::npos) break;
    out->append(line.data(), cr);
    line.remove_prefix(cr + 1);
  }
  out->append(line.data(), line.size());
}

HttpMethod MethodFromName(std::string_view name) {
  if (name == "GET") return HttpMethod::kGet;
  if (name == "HEAD") return HttpMethod::kHead;
  if (name == "POST") return HttpMethod::kPost;
  if (name == "PUT") return HttpMethod::kPut;
  if (name == "DELETE") return HttpMethod::kDelete;
  return HttpMethod::kOther;
}

// Content-Length: decimal digits only (surrounding blanks tolerated). Returns false for
// anything else; sets *too_large when the number exceeds `limit` (including overflow).
bool ParseContentLength(std::string_view v, size_t limit, size_t* out, bool* too_large) {
  while (!v.empty() && IsBlank(v.front())) v.remove_prefix(1);
  while (!v.empty() && IsBlank(v.back())) v.remove_suffix(1);
  if (v.empty()) return false;
  size_t n = 0;
  *too_large = false;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    if (n > limit) {
      *too_large = true;  // keep validating the rest, but stop growing
      continue;
    }
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  if (n > limit) *too_large = true;
  *out = n;
  return true;
}

// Keeps one entry per header name: the value of the last occurrence, at the position of the
// first. Done once per request; many headers go through a hash index so a header section of
// thousands of tiny lines stays linear.
void DeduplicateHeaders(std::vector<std::pair<std::string, std::string>>* headers) {
  auto& h = *headers;
  if (h.size() < 2) return;
  size_t kept = 0;
  if (h.size() <= 16) {
    for (size_t i = 0; i < h.size(); ++i) {
      size_t j = 0;
      while (j < kept && h[j].first != h[i].first) ++j;
      if (j < kept) {
        h[j].second = std::move(h[i].second);
      } else {
        if (j != i) h[j] = std::move(h[i]);
        ++kept;
      }
    }
  } else {
    // Views must point at names that do not move: index the kept entries only after they
    // have reached their final slot.
    std::unordered_map<std::string_view, size_t> index;
    index.reserve(h.size());
    for (size_t i = 0; i < h.size(); ++i) {
      auto it = index.find(h[i].first);
      if (it != index.end()) {
        h[it->second].second = std::move(h[i].second);
      } else {
        if (kept != i) h[kept] = std::move(h[i]);
        index.emplace(h[kept].first, kept);
        ++kept;
      }
    }
  }
  h.resize(kept);
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& h : headers) {
    if (h.first == lower_name) return &h.second;
  }
  return nullptr;
}

void HttpRequestParser::Reset() {
  error_status_ = 0;
  error_message_.clear();
  stage_ = kRequestLine;
  offset_ = 0;
  header_bytes_ = 0;
  content_length_ = 0;
  chunk_remaining_ = 0;
  discard_body_ = false;
  chunked_ = false;
  continue_pending_ = false;
  continue_sent_ = false;
  scan_ = 0;
  body_total_ = 0;
  failure_ = Result::kNeedMore;
  pending_ = HttpRequest();
}

bool HttpRequestParser::TakeContinueRequest() {
  if (!continue_pending_ || continue_sent_) return false;
  if (stage_ < kBodyLength || stage_ >= kFinished) return false;
  continue_sent_ = true;
  return true;
}

HttpRequestParser::Result HttpRequestParser::Fail(int status, std::string message,
                                                  HttpRequest* request) {
  error_status_ = status;
  error_message_ = std::move(message);
  stage_ = kFailed;
  failure_ = Result::kError;
  *request = std::move(pending_);  // what was parsed so far, for the access log
  return failure_;
}

HttpRequestParser::Result HttpRequestParser::Close(HttpRequest* request) {
  stage_ = kFailed;
  failure_ = Result::kClose;
  *request = std::move(pending_);
  return failure_;
}

bool HttpRequestParser::FindLineEnd(std::string_view data, size_t* lf) {
  if (scan_ < offset_) scan_ = offset_;
  if (scan_ >= data.size()) return false;
  const void* p = std::memchr(data.data() + scan_, '\n', data.size() - scan_);
  if (p == nullptr) {
    scan_ = data.size();
    return false;
  }
  *lf = static_cast<size_t>(static_cast<const char*>(p) - data.data());
  scan_ = *lf + 1;
  return true;
}

bool HttpRequestParser::ParseRequestLine(std::string_view raw) {
  HttpRequest& r = pending_;
  AssignWithoutCr(raw, &r.request_line);
  std::string_view line = r.request_line;
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (target.empty()) return false;
  if (version == "HTTP/1.1") {
    r.http11 = true;
  } else if (version == "HTTP/1.0") {
    r.http11 = false;
  } else {
    return false;
  }
  r.method_name.assign(method);
  r.method = MethodFromName(method);
  r.target.assign(target);
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    r.path.assign(target);
    r.query.clear();
  } else {
    r.path.assign(target.substr(0, q));
    r.query.assign(target.substr(q + 1));
  }
  return true;
}

void HttpRequestParser::AddHeaderLine(std::string_view line) {
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;  // 2.3: ignored
  std::string_view name = line.substr(0, colon);
  while (!name.empty() && IsBlank(name.front())) name.remove_prefix(1);
  while (!name.empty() && IsBlank(name.back())) name.remove_suffix(1);
  std::string_view value = line.substr(colon + 1);
  // The spec says leading spaces; a tab there is legal HTTP whitespace too.
  while (!value.empty() && IsBlank(value.front())) value.remove_prefix(1);
  auto& h = pending_.headers.emplace_back();
  h.first.resize(name.size());
  std::transform(name.begin(), name.end(), h.first.begin(), Lower);
  h.second.assign(value);
}

HttpRequestParser::Result HttpRequestParser::FinishHeaders(HttpRequest* request) {
  HttpRequest& r = pending_;
  DeduplicateHeaders(&r.headers);

  r.keep_alive = r.http11;
  if (const std::string* c = r.Header("connection")) {
    if (EqualsNoCase(*c, "close")) {
      r.keep_alive = false;
    } else if (EqualsNoCase(*c, "keep-alive")) {
      r.keep_alive = true;
    }
  }

  // GET, HEAD and DELETE bodies are consumed so the next request parses, but never kept.
  const bool body_method = r.method == HttpMethod::kPost || r.method == HttpMethod::kPut ||
                           r.method == HttpMethod::kOther;
  discard_body_ = !body_method;
  bool expects_bytes = false;
  if (const std::string* cl = r.Header("content-length")) {
    bool too_large = false;
    if (!ParseContentLength(*cl, limits_.max_body, &content_length_, &too_large)) {
      return Fail(400, "invalid content length", request);
    }
    if (too_large) return Fail(413, "request entity too large", request);
    stage_ = kBodyLength;
    expects_bytes = content_length_ > 0;
  } else if (const std::string* te = r.Header("transfer-encoding");
             te != nullptr && EqualsNoCase(*te, "chunked")) {
    chunked_ = true;
    stage_ = kChunkSize;
    expects_bytes = true;
  } else {
    stage_ = kFinished;  // no body; the server never reads until EOF
    return Result::kDone;
  }
  r.has_body = body_method;
  if (expects_bytes && r.http11) {
    if (const std::string* e = r.Header("expect"))
      continue_pending_ = EqualsNoCase(*e, "100-continue");
  }
  return Result::kNeedMore;
}

HttpRequestParser::Result HttpRequestParser::Parse(std::string_view data, HttpRequest* request,
                                                   size_t* consumed) {
  *consumed = 0;
  if (stage_ == kFailed) return failure_;
  if (data.size() < offset_) return Result::kNeedMore;  // caller lost bytes; nothing to do
  // A raw line may carry a CR before its LF on top of max_line bytes of content.
  const size_t max_raw_line = limits_.max_line + 1;
  size_t lf = 0;

  for (;;) {
    switch (stage_) {
      case kRequestLine: {
        if (!FindLineEnd(data, &lf)) {
          if (data.size() - offset_ > max_raw_line) {
            return Fail(414, "request line too long", request);
          }
          return Result::kNeedMore;
        }
        if (lf - offset_ > max_raw_line) return Fail(414, "request line too long", request);
        if (!ParseRequestLine(data.substr(offset_, lf - offset_))) return Close(request);
        offset_ = lf + 1;
        stage_ = kHeaders;
        break;
      }

      case kHeaders: {
        if (!FindLineEnd(data, &lf)) {
          size_t partial = data.size() - offset_;
          if (partial > max_raw_line) return Fail(400, "header line too long", request);
          if (header_bytes_ + partial > limits_.max_header_bytes) {
            return Fail(400, "headers too large", request);
          }
          return Result::kNeedMore;
        }
        size_t len = lf - offset_;
        if (len > max_raw_line) return Fail(400, "header line too long", request);
        header_bytes_ += len + 1;
        if (header_bytes_ > limits_.max_header_bytes) {
          return Fail(400, "headers too large", request);
        }
        std::string_view raw = data.substr(offset_, len);
        offset_ = lf + 1;
        std::string line;
        if (raw.find('\r') != std::string_view::npos) {
          AssignWithoutCr(raw, &line);
          raw = line;
        }
        if (raw.empty()) {
          Result r = FinishHeaders(request);
          if (r == Result::kError) return r;
          break;  // the loop continues in the body stage, or finishes
        }
        AddHeaderLine(raw);
        break;
      }

      case kBodyLength: {
        if (data.size() - offset_ < content_length_) return Result::kNeedMore;
        // One copy of the whole body once it is complete: exact allocation, and nothing is
        // touched while it is still arriving.
        if (!discard_body_) pending_.body.assign(data.data() + offset_, content_length_);
        offset_ += content_length_;
        stage_ = kFinished;
        break;
      }

      case kChunkSize: {
        if (!FindLineEnd(data, &lf)) {
          if (data.size() - offset_ > max_raw_line) {
            return Fail(400, "invalid chunk", request);
          }
          return Result::kNeedMore;
        }
        if (lf - offset_ > max_raw_line) return Fail(400, "invalid chunk", request);
        std::string_view line = data.substr(offset_, lf - offset_);
        offset_ = lf + 1;
        std::string without_cr;
        if (line.find('\r') != std::string_view::npos) {
          AssignWithoutCr(line, &without_cr);
          line = without_cr;
        }
        if (line.empty()) {
          stage_ = kFinished;  // an empty size line ends the body
          break;
        }
        // HEXSIZE, then anything non-hex (extensions) ignored.
        size_t size = 0;
        bool too_large = false;
        for (char c : line) {
          int v = (c >= '0' && c <= '9')   ? c - '0'
                  : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                  : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                           : -1;
          if (v < 0) break;
          if (size > limits_.max_body) {
            too_large = true;
            break;
          }
          size = size * 16 + static_cast<size_t>(v);
        }
        if (too_large || size > limits_.max_body - body_total_) {
          return Fail(413, "request entity too large", request);
        }
        if (size == 0) {
          stage_ = kLastChunkEnd;
          break;
        }
        body_total_ += size;
        chunk_remaining_ = size;
        stage_ = kChunkData;
        break;
      }

      case kChunkData: {
        size_t take = std::min(data.size() - offset_, chunk_remaining_);
        if (!discard_body_) pending_.body.append(data.data() + offset_, take);
        offset_ += take;
        chunk_remaining_ -= take;
        if (chunk_remaining_ > 0) return Result::kNeedMore;
        stage_ = kChunkDataEnd;
        break;
      }

      case kChunkDataEnd:
      case kLastChunkEnd: {
        // Exactly CR LF; after the 0 chunk anything else is a trailer, which is unsupported.
        size_t avail = data.size() - offset_;
        if (avail >= 1 && data[offset_] != '\r') return Fail(400, "invalid chunk", request);
        if (avail < 2) return Result::kNeedMore;
        if (data[offset_ + 1] != '\n') return Fail(400, "invalid chunk", request);
        offset_ += 2;
        stage_ = stage_ == kChunkDataEnd ? kChunkSize : kFinished;
        break;
      }

      case kFinished: {
        *request = std::move(pending_);
        pending_ = HttpRequest();
        *consumed = offset_;
        return Result::kDone;
      }

      default:
        return failure_;
    }
  }
}

std::string_view HttpReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Request Entity Too Large";
    case 414:
      return "Request-URI Too Long";
    case 450:
      return "Logical Inconsistency";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

}  // namespace ryoan::server
