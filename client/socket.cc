#include "client/socket.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace ryoan::client {
namespace {

using Clock = std::chrono::steady_clock;

// Longer waits are cut to this (about 31 years) so that the deadline arithmetic cannot overflow.
constexpr double kMaxWaitSeconds = 1e9;

Clock::time_point DeadlineAfter(double seconds) {
  if (!(seconds > 0)) seconds = 0;
  if (seconds > kMaxWaitSeconds) seconds = kMaxWaitSeconds;
  return Clock::now() +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

double SecondsLeft(Clock::time_point deadline) {
  return std::chrono::duration<double>(deadline - Clock::now()).count();
}

// poll() timeout for `seconds`, rounded up so that a poll that times out has reached the
// deadline; 0 when the deadline has passed.
int PollMillis(double seconds) {
  if (seconds <= 0) return 0;
  double ms = seconds * 1000.0 + 0.999;
  return ms > 1e9 ? 1000000000 : static_cast<int>(ms);
}

bool Fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

std::string ErrnoText(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// Connects to one resolved address before `deadline`; -1 with the reason in `why`.
int ConnectOne(const addrinfo& ai, Clock::time_point deadline, std::string* why) {
  int fd = socket(ai.ai_family, ai.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai.ai_protocol);
  if (fd < 0) {
    *why = ErrnoText("socket", errno);
    return -1;
  }
  bool ok = connect(fd, ai.ai_addr, ai.ai_addrlen) == 0;
  if (!ok) {
    int err = errno;
    if (err != EINPROGRESS) {
      *why = ErrnoText("connect", err);
    } else {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, PollMillis(SecondsLeft(deadline))) != 1) {
        *why = "connect: timeout";
      } else {
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        ok = err == 0;
        if (!ok) *why = ErrnoText("connect", err);
      }
    }
  }
  if (!ok) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

int ConnectTcp(const std::string& host, int port, double timeout_seconds, std::string* error,
               int family) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    Fail(error, std::string("getaddrinfo: ") + gai_strerror(rc));
    return -1;
  }
  Clock::time_point deadline = DeadlineAfter(timeout_seconds);
  std::string why = "getaddrinfo: no address";
  int fd = -1;
  for (addrinfo* ai = list; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ConnectOne(*ai, deadline, &why);
  }
  freeaddrinfo(list);
  if (fd < 0) Fail(error, std::move(why));
  return fd;
}

bool SendAll(int fd, std::string_view bytes, double timeout_seconds, std::string* error) {
  Clock::time_point deadline = DeadlineAfter(timeout_seconds);
  while (!bytes.empty()) {
    ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      deadline = DeadlineAfter(timeout_seconds);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      double left = SecondsLeft(deadline);
      if (left <= 0) return Fail(error, "send: timeout");
      pollfd p{fd, POLLOUT, 0};
      int rc = poll(&p, 1, PollMillis(left));
      if (rc == 0) return Fail(error, "send: timeout");
      if (rc < 0 && errno != EINTR) return Fail(error, ErrnoText("poll", errno));
      continue;
    }
    return Fail(error, ErrnoText("send", errno));
  }
  return true;
}

int ReceiveSome(int fd, std::string* buffer, double timeout_seconds) {
  if (fd < 0) return -2;
  Clock::time_point deadline = DeadlineAfter(timeout_seconds);
  char chunk[64 * 1024];
  for (;;) {
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer->append(chunk, static_cast<size_t>(n));
      return 1;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return 0;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -2;
    double left = SecondsLeft(deadline);
    if (left <= 0) return -1;
    pollfd p{fd, POLLIN, 0};
    int rc = poll(&p, 1, PollMillis(left));
    if (rc == 0) return -1;
    if (rc < 0 && errno != EINTR) return -2;
  }
}

bool WaitForEof(int fd, std::string* buffer, double timeout_seconds, std::string* received) {
  Clock::time_point deadline = DeadlineAfter(timeout_seconds);
  for (;;) {
    if (received) received->append(*buffer);
    buffer->clear();
    int rc = ReceiveSome(fd, buffer, SecondsLeft(deadline));
    if (rc == 0 || rc == -2) {
      if (received) received->append(*buffer);
      buffer->clear();
      return true;
    }
    if (rc == -1) return false;
  }
}

std::string TakeSome(int fd, std::string* buffer, double timeout_seconds, bool* eof) {
  if (eof) *eof = false;
  if (buffer->empty()) {
    int rc = ReceiveSome(fd, buffer, timeout_seconds);
    if ((rc == 0 || rc == -2) && eof) *eof = true;
  }
  std::string out;
  out.swap(*buffer);
  return out;
}

}  // namespace ryoan::client
