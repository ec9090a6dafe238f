// Blocking HTTP/1.1 over one TCP connection, byte-exact.
//
// HttpConnection is the low-level tool: it connects, sends arbitrary bytes (well-formed or
// not) and reads back exactly one response at a time, keeping the status line and the headers
// as they arrived (order and case preserved). Integration tests use it to check the server's
// bytes; the RPC and REST clients build on it through HttpSession.
//
// Every blocking step is bounded by the connection's timeout. Nothing throws; results are
// reported through return values.
//
// Example:
//   HttpConnection conn;
//   if (!conn.Connect("127.0.0.1", 1978, 5.0)) ...
//   conn.Send("GET /rpc/void HTTP/1.1\r\n\r\n");
//   HttpResponse res;
//   if (conn.ReadResponse(&res) == ReadResult::kOk) ... res.status, res.body ...
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ryoan::client {

// One response as received.
struct HttpResponse {
  using Header = std::pair<std::string, std::string>;

  std::string version;            // "HTTP/1.1"
  int status = 0;                 // 200, 404, ...; -1 when no response was read
  std::string reason;             // "OK"
  std::vector<Header> headers;    // in arrival order, names as sent, values without
                                  // leading spaces
  std::string head;               // raw bytes from the status line to the blank line
                                  // (inclusive)
  std::string body;               // exactly Content-Length bytes (empty for HEAD)
  bool body_until_close = false;  // no Content-Length: the body ran until EOF

  // First header with this name, compared case-insensitively; nullptr if none.
  const std::string* FindHeader(std::string_view name) const;
  bool HasHeader(std::string_view name) const { return FindHeader(name) != nullptr; }
  // Header names in arrival order (for layout checks).
  std::vector<std::string> HeaderNames() const;
};

enum class ReadResult {
  kOk,         // a complete response was read
  kClosed,     // the peer closed before sending any byte of a response
  kTimeout,    // no progress within the timeout
  kTruncated,  // the peer closed in the middle of a response
  kMalformed,  // the bytes received are not an HTTP response
  kError,      // socket error, or not connected
};

const char* ReadResultName(ReadResult r);

class HttpConnection {
 public:
  HttpConnection() = default;
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  HttpConnection(HttpConnection&& other) noexcept;
  HttpConnection& operator=(HttpConnection&& other) noexcept;

  // Connects to host:port (IPv4 dotted address or resolvable name). `timeout_seconds` bounds
  // the connect and every later read or write step. Closes any previous connection.
  bool Connect(const std::string& host, int port, double timeout_seconds);
  void Close();
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  void set_timeout(double seconds) { timeout_ = seconds; }
  double timeout() const { return timeout_; }

  // Sends all bytes. False on error or timeout (e.g. the peer reset the connection).
  bool Send(std::string_view bytes);
  // Half-closes the connection (no more bytes from us); responses can still be read.
  void ShutdownWrite();

  // Reads one response. With `head_request` the body is not read whatever Content-Length
  // says (responses to HEAD). Responses to be skipped (e.g. "100 Continue") are returned like
  // any other; see ReadFinalResponse.
  ReadResult ReadResponse(HttpResponse* response, bool head_request = false);
  // As ReadResponse, but skips interim 1xx responses. `interim_count`, if given, receives how
  // many were skipped.
  ReadResult ReadFinalResponse(HttpResponse* response, bool head_request = false,
                               int* interim_count = nullptr);

  // Waits up to `timeout_seconds` for the peer to close. Returns true on EOF (or reset);
  // bytes that arrive meanwhile are appended to `received` (if given) and do not stop the
  // wait. False when the connection is still open after the timeout.
  bool WaitForClose(double timeout_seconds, std::string* received = nullptr);

  // Waits up to `timeout_seconds` for at least one byte (or EOF). Returns the bytes already
  // buffered plus what arrived; `eof` (if given) tells whether the peer closed.
  std::string ReadSome(double timeout_seconds, bool* eof = nullptr);

  // Bytes received but not yet consumed by ReadResponse (e.g. the start of a pipelined reply).
  const std::string& pending() const { return buffer_; }

 private:
  // Reads more bytes into buffer_, waiting up to timeout_. 1 = got bytes, 0 = EOF,
  // -1 = timeout, -2 = error.
  int Fill();

  int fd_ = -1;
  double timeout_ = 30;
  std::string buffer_;
};

// A keep-alive connection to one server that reconnects by itself: the building block of the
// RPC and REST clients. A request is retried once on a fresh connection when a reused
// connection turns out to be closed (the send fails, or EOF arrives before any response
// byte). After a response carrying "Connection: close" the connection is dropped.
class HttpSession {
 public:
  bool Open(const std::string& host, int port, double timeout_seconds);
  void Close();
  bool is_open() const { return port_ > 0; }
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  // Number of TCP connections made so far (tests use it to observe keep-alive).
  int connect_count() const { return connect_count_; }

  // Sends "<method> <target> HTTP/1.1" with a Host header, `headers` as given (each a full
  // "Name: value" pair), Content-Length when `body` is non-empty or the method is POST/PUT,
  // and the body. Fills `response`; on failure its status is -1 and the result tells why.
  ReadResult Exchange(std::string_view method, std::string_view target,
                      const std::vector<HttpResponse::Header>& headers, std::string_view body,
                      HttpResponse* response);

 private:
  bool EnsureConnected();

  std::string host_;
  int port_ = 0;
  double timeout_ = 30;
  HttpConnection conn_;
  int connect_count_ = 0;
};

}  // namespace ryoan::client
