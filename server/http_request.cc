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

// `name` equals `want` (same size, at least 4 bytes, lower-case letters and '-') in any case.
// ORing 0x20 compares eight bytes at a time: the bytes it maps onto a lower-case letter are
// that letter in either case, and onto '-' are '-' and CR, which header lines no longer hold.
bool EqualsLowerName(std::string_view name, std::string_view want) {
  const size_t n = want.size();
  auto differs = [&](size_t at, size_t width) {
    uint64_t a = 0, b = 0;
    std::memcpy(&a, name.data() + at, width);
    std::memcpy(&b, want.data() + at, width);
    const uint64_t lower = width == 8 ? 0x2020202020202020u : 0x20202020u;
    return (a | lower) != b;
  };
  if (n < 8) return !differs(0, 4) && !differs(n - 4, 4);
  for (size_t at = 0; at + 8 <= n; at += 8) {
    if (differs(at, 8)) return false;
  }
  return n % 8 == 0 || !differs(n - 8, 8);
}

inline bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// Appends a line without any of its CR bytes (2.1: every CR is dropped, not only a trailing
// one).
void AppendWithoutCr(std::string_view line, std::string* out) {
  for (;;) {
    size_t cr = line.find('\r');
    if (cr == std::string_view::npos) break;
    out->append(line.data(), cr);
    line.remove_prefix(cr + 1);
  }
  out->append(line.data(), line.size());
}

HttpMethod MethodFromName(std::string_view name) {
  switch (name.size()) {  // one comparison per request
    case 3:
      if (name == "GET") return HttpMethod::kGet;
      if (name == "PUT") return HttpMethod::kPut;
      break;
    case 4:
      if (name == "POST") return HttpMethod::kPost;
      if (name == "HEAD") return HttpMethod::kHead;
      break;
    case 6:
      if (name == "DELETE") return HttpMethod::kDelete;
      break;
  }
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

}  // namespace

const std::string_view* HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& h : headers) {
    if (h.first.size() != lower_name.size()) continue;
    size_t i = 0;
    while (i < lower_name.size() && Lower(h.first[i]) == lower_name[i]) ++i;
    if (i == lower_name.size()) return &h.second;
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
  // The finished request's views stay valid until the next Parse(): its spans are dropped
  // there (StartRequest), not here.
  fresh_ = true;
}

void HttpRequestParser::StartRequest() {
  fresh_ = false;
  arena_.clear();
  headers_.clear();
  line_ = method_name_ = target_ = path_ = query_ = body_ = Span();
  method_ = HttpMethod::kGet;
  http11_ = keep_alive_ = true;
  has_body_ = false;
  known_present_ = 0;
  name_bits_ = 0;
  maybe_duplicates_ = false;
}

void HttpRequestParser::ShrinkIfLarge() {
  constexpr size_t kKeep = 64 * 1024;
  if (arena_.capacity() > kKeep) std::string().swap(arena_);
  if (headers_.capacity() > 256) std::vector<HeaderSpan>().swap(headers_);
}

std::string_view HttpRequestParser::View(Span span, std::string_view data) const {
  const char* base = span.in_arena ? arena_.data() : data.data();
  return std::string_view(base + span.offset, span.size);
}

inline HttpRequestParser::Span HttpRequestParser::LineWithoutCr(std::string_view data, size_t begin,
                                                                size_t end) {
  if (end > begin && data[end - 1] == '\r') --end;
  if (std::memchr(data.data() + begin, '\r', end - begin) == nullptr) {
    return Span{static_cast<uint32_t>(begin), static_cast<uint32_t>(end - begin), false};
  }
  return CopyWithoutCr(data.substr(begin, end - begin));
}

HttpRequestParser::Span HttpRequestParser::CopyWithoutCr(std::string_view line) {
  size_t at = arena_.size();
  AppendWithoutCr(line, &arena_);
  return Span{static_cast<uint32_t>(at), static_cast<uint32_t>(arena_.size() - at), true};
}

void HttpRequestParser::NoteHeader(std::string_view name, Span value) {
  const unsigned char first = name.empty() ? 0 : static_cast<unsigned char>(Lower(name[0]));
  const uint64_t bit = uint64_t{1} << ((name.size() * 7 + first) & 63);
  if (name_bits_ & bit) maybe_duplicates_ = true;
  name_bits_ |= bit;
  // Only names of a matching length are compared.
  KnownHeader kind;
  std::string_view want;
  switch (name.size()) {
    case 6:
      kind = kExpect, want = "expect";
      break;
    case 10:
      kind = kConnection, want = "connection";
      break;
    case 12:
      kind = kContentType, want = "content-type";
      break;
    case 14:
      kind = kContentLength, want = "content-length";
      break;
    case 17:
      kind = kTransferEncoding, want = "transfer-encoding";
      break;
    default:
      return;
  }
  if (!EqualsLowerName(name, want)) return;
  known_[kind] = value;
  known_present_ |= 1u << kind;
}

void HttpRequestParser::Export(std::string_view data, HttpRequest* request) const {
  HttpRequest& r = *request;
  r.method = method_;
  r.method_name = View(method_name_, data);
  r.request_line = View(line_, data);
  r.target = View(target_, data);
  r.path = View(path_, data);
  r.query = View(query_, data);
  r.http11 = http11_;
  r.keep_alive = keep_alive_;
  r.headers.resize(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) {
    r.headers[i] = {View(headers_[i].name, data), View(headers_[i].value, data)};
  }
  const Span* type = Known(kContentType);
  r.has_content_type = type != nullptr;
  r.content_type = type != nullptr ? View(*type, data) : std::string_view();
  r.body = View(body_, data);
  r.has_body = has_body_;
}

// Keeps one entry per header name (any case): the value of the last occurrence, at the
// position of the first. Done once per request; many headers go through a hash index so a
// header section of thousands of tiny lines stays linear.
void HttpRequestParser::DeduplicateHeaders(std::string_view data) {
  auto& h = headers_;
  if (h.size() < 2 || !maybe_duplicates_) return;
  auto same = [&](const Span& a, const Span& b) {
    std::string_view x = View(a, data), y = View(b, data);
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (Lower(x[i]) != Lower(y[i])) return false;
    }
    return true;
  };
  size_t kept = 0;
  if (h.size() <= 16) {
    for (size_t i = 0; i < h.size(); ++i) {
      size_t j = 0;
      while (j < kept && !same(h[j].name, h[i].name)) ++j;
      if (j < kept) {
        h[j].value = h[i].value;
      } else {
        h[j] = h[i];
        ++kept;
      }
    }
  } else {
    // Rare (more than 16 header lines): lower-cased copies of the names as the index keys.
    std::unordered_map<std::string, size_t> index;
    index.reserve(h.size());
    for (size_t i = 0; i < h.size(); ++i) {
      std::string key(View(h[i].name, data));
      for (char& c : key) c = Lower(c);
      auto [it, inserted] = index.emplace(std::move(key), kept);
      if (!inserted) {
        h[it->second].value = h[i].value;
      } else {
        h[kept++] = h[i];
      }
    }
  }
  h.resize(kept);
}

bool HttpRequestParser::TakeContinueRequest() {
  if (!continue_pending_ || continue_sent_) return false;
  if (stage_ < kBodyLength || stage_ >= kFinished) return false;
  continue_sent_ = true;
  return true;
}

HttpRequestParser::Result HttpRequestParser::Fail(int status, std::string message,
                                                  std::string_view data, HttpRequest* request) {
  error_status_ = status;
  error_message_ = std::move(message);
  stage_ = kFailed;
  failure_ = Result::kError;
  Export(data, request);  // what was parsed so far, for the access log
  return failure_;
}

HttpRequestParser::Result HttpRequestParser::Close(std::string_view data, HttpRequest* request) {
  stage_ = kFailed;
  failure_ = Result::kClose;
  Export(data, request);
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

bool HttpRequestParser::ParseRequestLine(Span line_span, std::string_view data) {
  line_ = line_span;
  std::string_view line = View(line_span, data);
  auto part = [&](size_t pos, size_t size) {
    return Span{static_cast<uint32_t>(line_span.offset + pos), static_cast<uint32_t>(size),
                line_span.in_arena};
  };
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return false;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (target.empty()) return false;
  if (version == "HTTP/1.1") {
    http11_ = true;
  } else if (version == "HTTP/1.0") {
    http11_ = false;
  } else {
    return false;
  }
  method_name_ = part(0, sp1);
  method_ = MethodFromName(method);
  target_ = part(sp1 + 1, target.size());
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    path_ = target_;
    query_ = part(sp2, 0);
  } else {
    path_ = part(sp1 + 1, q);
    query_ = part(sp1 + 1 + q + 1, target.size() - q - 1);
  }
  return true;
}

void HttpRequestParser::AddHeaderLine(Span line_span, std::string_view data) {
  std::string_view line = View(line_span, data);
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return;  // 2.3: ignored
  AddHeader(line_span, line, colon);
}

bool HttpRequestParser::AddPlainHeaderLine(std::string_view data, size_t begin, size_t end) {
  const char* p = data.data() + begin;
  const size_t n = end - begin;
  if (std::memchr(p, '\r', n) != nullptr) return false;
  const void* found = std::memchr(p, ':', n);
  if (found == nullptr) return true;  // 2.3: ignored
  const size_t colon = static_cast<size_t>(static_cast<const char*>(found) - p);
  AddHeader(Span{static_cast<uint32_t>(begin), static_cast<uint32_t>(n), false},
            std::string_view(p, n), colon);
  return true;
}

void HttpRequestParser::AddHeader(Span line_span, std::string_view line, size_t colon) {
  size_t name_begin = 0, name_end = colon;
  while (name_begin < name_end && IsBlank(line[name_begin])) ++name_begin;
  while (name_end > name_begin && IsBlank(line[name_end - 1])) --name_end;
  // The spec says leading spaces; a tab there is legal HTTP whitespace too.
  size_t value_begin = colon + 1;
  while (value_begin < line.size() && IsBlank(line[value_begin])) ++value_begin;
  auto part = [&](size_t pos, size_t size) {
    return Span{static_cast<uint32_t>(line_span.offset + pos), static_cast<uint32_t>(size),
                line_span.in_arena};
  };
  HeaderSpan header{part(name_begin, name_end - name_begin),
                    part(value_begin, line.size() - value_begin)};
  NoteHeader(line.substr(name_begin, name_end - name_begin), header.value);
  headers_.push_back(header);
}

HttpRequestParser::Result HttpRequestParser::FinishHeaders(std::string_view data,
                                                           HttpRequest* request) {
  if (maybe_duplicates_) DeduplicateHeaders(data);
  auto header = [&](const Span* span, std::string_view* value) {
    if (span != nullptr) *value = View(*span, data);
    return span != nullptr;
  };
  std::string_view v;

  keep_alive_ = http11_;
  if (header(Known(kConnection), &v)) {
    if (EqualsNoCase(v, "close")) {
      keep_alive_ = false;
    } else if (EqualsNoCase(v, "keep-alive")) {
      keep_alive_ = true;
    }
  }

  // GET, HEAD and DELETE bodies are consumed so the next request parses, but never kept.
  const bool body_method =
      method_ == HttpMethod::kPost || method_ == HttpMethod::kPut || method_ == HttpMethod::kOther;
  discard_body_ = !body_method;
  bool expects_bytes = false;
  if (header(Known(kContentLength), &v)) {
    bool too_large = false;
    if (!ParseContentLength(v, limits_.max_body, &content_length_, &too_large)) {
      return Fail(400, "invalid content length", data, request);
    }
    if (too_large) return Fail(413, "request entity too large", data, request);
    stage_ = kBodyLength;
    expects_bytes = content_length_ > 0;
  } else if (header(Known(kTransferEncoding), &v) && EqualsNoCase(v, "chunked")) {
    chunked_ = true;
    stage_ = kChunkSize;
    expects_bytes = true;
    // Chunks are gathered at the end of the arena; nothing else is added after them.
    body_ = Span{static_cast<uint32_t>(arena_.size()), 0, true};
  } else {
    stage_ = kFinished;  // no body; the server never reads until EOF
    return Result::kDone;
  }
  has_body_ = body_method;
  if (expects_bytes && http11_ && header(Known(kExpect), &v)) {
    continue_pending_ = EqualsNoCase(v, "100-continue");
  }
  return Result::kNeedMore;
}

HttpRequestParser::Result HttpRequestParser::Parse(std::string_view data, HttpRequest* request,
                                                   size_t* consumed) {
  *consumed = 0;
  if (stage_ == kFailed) return failure_;
  if (data.size() < offset_) return Result::kNeedMore;  // caller lost bytes; nothing to do
  if (fresh_) StartRequest();
  // A raw line may carry a CR before its LF on top of max_line bytes of content.
  const size_t max_raw_line = limits_.max_line + 1;
  size_t lf = 0;

  for (;;) {
    switch (stage_) {
      case kRequestLine: {
        if (!FindLineEnd(data, &lf)) {
          if (data.size() - offset_ > max_raw_line) {
            return Fail(414, "request line too long", data, request);
          }
          return Result::kNeedMore;
        }
        if (lf - offset_ > max_raw_line) return Fail(414, "request line too long", data, request);
        if (!ParseRequestLine(LineWithoutCr(data, offset_, lf), data)) {
          return Close(data, request);
        }
        offset_ = lf + 1;
        stage_ = kHeaders;
        break;
      }

      case kHeaders: {
        if (!FindLineEnd(data, &lf)) {
          size_t partial = data.size() - offset_;
          if (partial > max_raw_line) return Fail(400, "header line too long", data, request);
          if (header_bytes_ + partial > limits_.max_header_bytes) {
            return Fail(400, "headers too large", data, request);
          }
          return Result::kNeedMore;
        }
        size_t len = lf - offset_;
        if (len > max_raw_line) return Fail(400, "header line too long", data, request);
        header_bytes_ += len + 1;
        if (header_bytes_ > limits_.max_header_bytes) {
          return Fail(400, "headers too large", data, request);
        }
        const size_t begin = offset_;
        offset_ = lf + 1;
        size_t end = lf;
        if (end > begin && data[end - 1] == '\r') --end;
        // Usually the line holds no CR but the last, and is handled in place; else it is
        // rewritten without its CRs first.
        bool blank = end == begin;
        if (!blank && !AddPlainHeaderLine(data, begin, end)) {
          Span line = LineWithoutCr(data, begin, lf);
          blank = line.size == 0;
          if (!blank) AddHeaderLine(line, data);
        }
        if (blank) {
          Result r = FinishHeaders(data, request);
          if (r == Result::kError) return r;
        }
        break;  // the loop continues with the next line, in the body stage, or finishes
      }

      case kBodyLength: {
        if (data.size() - offset_ < content_length_) return Result::kNeedMore;
        // No copy: the body is viewed where it arrived.
        if (!discard_body_) {
          body_ =
              Span{static_cast<uint32_t>(offset_), static_cast<uint32_t>(content_length_), false};
        }
        offset_ += content_length_;
        stage_ = kFinished;
        break;
      }

      case kChunkSize: {
        if (!FindLineEnd(data, &lf)) {
          if (data.size() - offset_ > max_raw_line) {
            return Fail(400, "invalid chunk", data, request);
          }
          return Result::kNeedMore;
        }
        if (lf - offset_ > max_raw_line) return Fail(400, "invalid chunk", data, request);
        std::string_view line = data.substr(offset_, lf - offset_);
        offset_ = lf + 1;
        std::string without_cr;  // rare: a CR inside the size line
        if (line.find('\r') != std::string_view::npos) {
          AppendWithoutCr(line, &without_cr);
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
          return Fail(413, "request entity too large", data, request);
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
        if (!discard_body_) {
          arena_.append(data.data() + offset_, take);
          body_.size += static_cast<uint32_t>(take);
        }
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
        if (avail >= 1 && data[offset_] != '\r') return Fail(400, "invalid chunk", data, request);
        if (avail < 2) return Result::kNeedMore;
        if (data[offset_ + 1] != '\n') return Fail(400, "invalid chunk", data, request);
        offset_ += 2;
        stage_ = stage_ == kChunkDataEnd ? kChunkSize : kFinished;
        break;
      }

      case kFinished: {
        Export(data, request);
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
