#include "client/http_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include "client/socket.h"

namespace ryoan::client {
namespace {

constexpr size_t kMaxHeadBytes = 1 << 20;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Parses the head (status line + header lines, without the final blank line).
bool ParseHead(std::string_view head, HttpResponse* r) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return false;
  r->version = std::string(line.substr(0, sp1));
  if (r->version.rfind("HTTP/", 0) != 0) return false;
  std::string_view rest = line.substr(sp1 + 1);
  size_t sp2 = rest.find(' ');
  std::string_view code = rest.substr(0, sp2);
  uint64_t status = 0;
  if (code.size() != 3 || !ParseDecimal(code, &status)) return false;
  r->status = static_cast<int>(status);
  r->reason = sp2 == std::string_view::npos ? "" : std::string(rest.substr(sp2 + 1));
  while (eol != std::string_view::npos) {
    size_t start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view h = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    if (h.empty()) continue;
    size_t colon = h.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view value = h.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    r->headers.emplace_back(std::string(h.substr(0, colon)), std::string(value));
  }
  return true;
}

}  // namespace

const char* ReadResultName(ReadResult r) {
  switch (r) {
    case ReadResult::kOk:
      return "ok";
    case ReadResult::kClosed:
      return "closed";
    case ReadResult::kTimeout:
      return "timeout";
    case ReadResult::kTruncated:
      return "truncated";
    case ReadResult::kMalformed:
      return "malformed";
    case ReadResult::kError:
      return "error";
  }
  return "?";
}

const std::string* HttpResponse::FindHeader(std::string_view name) const {
  for (const Header& h : headers) {
    if (EqualsIgnoreCase(h.first, name)) return &h.second;
  }
  return nullptr;
}

std::vector<std::string> HttpResponse::HeaderNames() const {
  std::vector<std::string> names;
  for (const Header& h : headers) names.push_back(h.first);
  return names;
}

HttpConnection::~HttpConnection() { Close(); }

HttpConnection::HttpConnection(HttpConnection&& other) noexcept
    : fd_(other.fd_), timeout_(other.timeout_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

HttpConnection& HttpConnection::operator=(HttpConnection&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

bool HttpConnection::Connect(const std::string& host, int port, double timeout_seconds) {
  Close();
  timeout_ = timeout_seconds;
  fd_ = ConnectTcp(host, port, timeout_seconds, nullptr, AF_INET);
  return fd_ >= 0;
}

void HttpConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool HttpConnection::Send(std::string_view bytes) {
  if (fd_ < 0) return false;
  return SendAll(fd_, bytes, timeout_, nullptr);
}

void HttpConnection::ShutdownWrite() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

int HttpConnection::Fill() { return ReceiveSome(fd_, &buffer_, timeout_); }

ReadResult HttpConnection::ReadResponse(HttpResponse* r, bool head_request) {
  *r = HttpResponse();
  r->status = -1;
  if (fd_ < 0) return ReadResult::kError;
  size_t end;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxHeadBytes) return ReadResult::kMalformed;
    int rc = Fill();
    if (rc == 0) return buffer_.empty() ? ReadResult::kClosed : ReadResult::kTruncated;
    if (rc == -1) return ReadResult::kTimeout;
    if (rc < 0) return ReadResult::kError;
  }
  r->head = buffer_.substr(0, end + 4);
  if (!ParseHead(std::string_view(buffer_).substr(0, end), r)) {
    r->status = -1;
    return ReadResult::kMalformed;
  }
  buffer_.erase(0, end + 4);
  bool no_body =
      head_request || (r->status >= 100 && r->status < 200) || r->status == 204 || r->status == 304;
  if (no_body) return ReadResult::kOk;
  const std::string* cl = r->FindHeader("Content-Length");
  if (cl) {
    uint64_t length = 0;
    if (!ParseDecimal(*cl, &length)) return ReadResult::kMalformed;
    while (buffer_.size() < length) {
      int rc = Fill();
      if (rc == 0) return ReadResult::kTruncated;
      if (rc == -1) return ReadResult::kTimeout;
      if (rc < 0) return ReadResult::kError;
    }
    r->body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return ReadResult::kOk;
  }
  r->body_until_close = true;
  for (;;) {
    int rc = Fill();
    if (rc == 0) break;
    if (rc == -1) return ReadResult::kTimeout;
    if (rc < 0) return ReadResult::kError;
  }
  r->body = std::move(buffer_);
  buffer_.clear();
  return ReadResult::kOk;
}

ReadResult HttpConnection::ReadFinalResponse(HttpResponse* r, bool head_request,
                                             int* interim_count) {
  int interim = 0;
  ReadResult rc;
  while ((rc = ReadResponse(r, head_request)) == ReadResult::kOk && r->status >= 100 &&
         r->status < 200) {
    ++interim;
  }
  if (interim_count) *interim_count = interim;
  return rc;
}

bool HttpConnection::WaitForClose(double timeout_seconds, std::string* received) {
  return WaitForEof(fd_, &buffer_, timeout_seconds, received);
}

std::string HttpConnection::ReadSome(double timeout_seconds, bool* eof) {
  return TakeSome(fd_, &buffer_, timeout_seconds, eof);
}

bool HttpSession::Open(const std::string& host, int port, double timeout_seconds) {
  Close();
  host_ = host;
  port_ = port;
  timeout_ = timeout_seconds;
  return EnsureConnected();
}

void HttpSession::Close() {
  conn_.Close();
  port_ = 0;
}

bool HttpSession::EnsureConnected() {
  if (conn_.connected()) return true;
  if (port_ <= 0) return false;
  if (!conn_.Connect(host_, port_, timeout_)) return false;
  ++connect_count_;
  return true;
}

ReadResult HttpSession::Exchange(std::string_view method, std::string_view target,
                                 const std::vector<HttpResponse::Header>& headers,
                                 std::string_view body, HttpResponse* response) {
  std::string request;
  request.reserve(256 + body.size());
  request.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  request.append("Host: ").append(host_).append(":").append(std::to_string(port_));
  request.append("\r\n");
  for (const auto& h : headers) request.append(h.first).append(": ").append(h.second + "\r\n");
  if (!body.empty() || method == "POST" || method == "PUT") {
    request.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  request.append("\r\n").append(body);
  bool head = method == "HEAD";

  ReadResult rc = ReadResult::kError;
  for (int attempt = 0; attempt < 2; ++attempt) {
    bool reused = conn_.connected();
    if (!EnsureConnected()) {
      *response = HttpResponse();
      response->status = -1;
      return ReadResult::kError;
    }
    if (!conn_.Send(request)) {
      conn_.Close();
      if (reused) continue;
      response->status = -1;
      return ReadResult::kError;
    }
    rc = conn_.ReadFinalResponse(response, head);
    if (rc == ReadResult::kClosed && reused) {
      conn_.Close();
      continue;
    }
    break;
  }
  if (rc != ReadResult::kOk) {
    conn_.Close();
    return rc;
  }
  const std::string* connection = response->FindHeader("Connection");
  if (connection && EqualsIgnoreCase(*connection, "close")) conn_.Close();
  return rc;
}

}  // namespace ryoan::client
