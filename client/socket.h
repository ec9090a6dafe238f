// TCP socket steps bounded by a timeout, shared by BinaryClient and HttpConnection.
//
// Every descriptor here is non-blocking; a step that would block waits in poll() until its
// deadline. Receive steps append to a caller-owned buffer and report with an int:
//   1 = bytes arrived, 0 = EOF or connection reset, -1 = timeout, -2 = socket error (or fd < 0).
// Nothing throws; `error` arguments may be null.
//
// Example:
//   std::string error, buffer;
//   int fd = ConnectTcp("127.0.0.1", 1978, 5.0, &error);
//   if (fd < 0 || !SendAll(fd, request, 5.0, &error)) ...
//   while (buffer.size() < want && ReceiveSome(fd, &buffer, 5.0) == 1) {}
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

namespace ryoan::client {

// Resolves host:port with getaddrinfo (`family`: AF_UNSPEC or AF_INET) and tries the
// addresses in turn until one accepts, all within `timeout_seconds`. Returns a non-blocking,
// close-on-exec descriptor with TCP_NODELAY set, or -1 with the last failure in `error`
// ("getaddrinfo: ...", "socket: ...", "connect: ..." or "connect: timeout").
int ConnectTcp(const std::string& host, int port, double timeout_seconds, std::string* error,
               int family = AF_UNSPEC);

// Writes all of `bytes` (no SIGPIPE). Fails on a socket error, or when no byte could be
// written for `timeout_seconds`: the deadline restarts after every partial write, so a slow
// but steady reader does not make it fail. `error`: "send: timeout", "send: ..." or
// "poll: ...".
bool SendAll(int fd, std::string_view bytes, double timeout_seconds, std::string* error);

// Appends what one recv() returns to `buffer`, waiting up to `timeout_seconds` for it
// (0 = look once). Returns 1, 0, -1 or -2 as described above.
int ReceiveSome(int fd, std::string* buffer, double timeout_seconds);

// Waits up to `timeout_seconds` for the peer to close. `buffer` and the bytes arriving
// meanwhile are moved to `received` (dropped when it is null); `buffer` ends empty. True on
// EOF, reset, socket error or fd < 0; false when the connection is still open at the deadline.
bool WaitForEof(int fd, std::string* buffer, double timeout_seconds, std::string* received);

// Returns the content of `buffer`, first waiting up to `timeout_seconds` for bytes when it is
// empty; `buffer` ends empty. `eof` (if given) tells whether the wait ended on EOF, reset or a
// socket error.
std::string TakeSome(int fd, std::string* buffer, double timeout_seconds, bool* eof);

}  // namespace ryoan::client
