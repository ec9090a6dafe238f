#include "client/binary_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

namespace ryoan::client {
namespace {

using Clock = std::chrono::steady_clock;

void Put16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void Put32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void Put64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint64_t GetBE(std::string_view bytes) {
  uint64_t v = 0;
  for (unsigned char c : bytes) v = (v << 8) | c;
  return v;
}

void StartFrame(std::string* out, uint8_t magic, uint32_t flags) {
  out->push_back(static_cast<char>(magic));
  Put32(out, flags);
}

// Milliseconds left until `deadline` for poll(), at least 0.
int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

Clock::time_point DeadlineAfter(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(seconds < 0 ? 0 : seconds));
}

}  // namespace

const char* BinaryStatusName(BinaryStatus s) {
  switch (s) {
    case BinaryStatus::kOk:
      return "ok";
    case BinaryStatus::kServerError:
      return "server error";
    case BinaryStatus::kNetworkError:
      return "network error";
  }
  return "?";
}

BinaryClient::~BinaryClient() { Close(); }

BinaryClient::BinaryClient(BinaryClient&& other) noexcept
    : fd_(other.fd_),
      timeout_(other.timeout_),
      buffer_(std::move(other.buffer_)),
      error_(std::move(other.error_)) {
  other.fd_ = -1;
}

BinaryClient& BinaryClient::operator=(BinaryClient&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    timeout_ = other.timeout_;
    buffer_ = std::move(other.buffer_);
    error_ = std::move(other.error_);
    other.fd_ = -1;
  }
  return *this;
}

bool BinaryClient::Open(const std::string& host, int port, double timeout_seconds) {
  Close();
  timeout_ = timeout_seconds;
  error_.clear();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) {
    error_ = std::string("getaddrinfo: ") + gai_strerror(rc);
    return false;
  }
  Clock::time_point deadline = DeadlineAfter(timeout_seconds);
  for (addrinfo* ai = list; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
      error_ = std::string("socket: ") + std::strerror(errno);
      continue;
    }
    bool ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    if (!ok && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, RemainingMs(deadline)) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        ok = err == 0;
        if (!ok) error_ = std::string("connect: ") + std::strerror(err);
      } else {
        error_ = "connect: timeout";
      }
    } else if (!ok) {
      error_ = std::string("connect: ") + std::strerror(errno);
    }
    if (!ok) {
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fd_ = fd;
  }
  freeaddrinfo(list);
  if (fd_ < 0) return false;
  error_.clear();
  return true;
}

void BinaryClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffer_.clear();
}

BinaryStatus BinaryClient::Fail(BinaryStatus status, std::string message) {
  error_ = std::move(message);
  if (status == BinaryStatus::kNetworkError) Close();
  return status;
}

bool BinaryClient::SendRaw(std::string_view bytes) {
  if (fd_ < 0) {
    error_ = "not connected";
    return false;
  }
  Clock::time_point deadline = DeadlineAfter(timeout_);
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      int rc = poll(&p, 1, RemainingMs(deadline));
      if (rc == 0) {
        error_ = "send: timeout";
        return false;
      }
      if (rc < 0 && errno != EINTR) {
        error_ = std::string("poll: ") + std::strerror(errno);
        return false;
      }
      continue;
    }
    error_ = std::string("send: ") + std::strerror(errno);
    return false;
  }
  return true;
}

void BinaryClient::ShutdownWrite() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

int BinaryClient::Fill(double timeout_seconds) {
  if (fd_ < 0) return -2;
  Clock::time_point deadline = DeadlineAfter(timeout_seconds);
  char chunk[64 * 1024];
  for (;;) {
    ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return 1;
    }
    if (n == 0) return 0;
    if (errno == EINTR) continue;
    if (errno == ECONNRESET) return 0;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -2;
    pollfd p{fd_, POLLIN, 0};
    int rc = poll(&p, 1, RemainingMs(deadline));
    if (rc == 0) return -1;
    if (rc < 0 && errno != EINTR) return -2;
  }
}

bool BinaryClient::ReadExact(size_t n, std::string* out) {
  while (buffer_.size() < n) {
    int rc = Fill(timeout_);
    if (rc <= 0) {
      error_ = rc == 0    ? "connection closed by the server"
               : rc == -1 ? "read timeout"
                          : "read error";
      return false;
    }
  }
  out->append(buffer_, 0, n);
  buffer_.erase(0, n);
  return true;
}

bool BinaryClient::ReadUntil(std::string_view delimiter, std::string* out, size_t max) {
  size_t from = 0;
  for (;;) {
    size_t at = buffer_.find(delimiter, from);
    if (at != std::string::npos && at + delimiter.size() <= max) {
      size_t n = at + delimiter.size();
      out->append(buffer_, 0, n);
      buffer_.erase(0, n);
      return true;
    }
    if (buffer_.size() >= max) {
      error_ = "delimiter not found";
      return false;
    }
    from = buffer_.size() >= delimiter.size() ? buffer_.size() - delimiter.size() + 1 : 0;
    int rc = Fill(timeout_);
    if (rc <= 0) {
      error_ = rc == 0    ? "connection closed by the server"
               : rc == -1 ? "read timeout"
                          : "read error";
      return false;
    }
  }
}

std::string BinaryClient::ReadSome(double timeout_seconds, bool* eof) {
  if (eof) *eof = false;
  if (buffer_.empty()) {
    int rc = Fill(timeout_seconds);
    if (rc == 0 || rc == -2) {
      if (eof) *eof = true;
    }
  }
  std::string out;
  out.swap(buffer_);
  return out;
}

bool BinaryClient::WaitForClose(double timeout_seconds, std::string* received) {
  Clock::time_point deadline = DeadlineAfter(timeout_seconds);
  for (;;) {
    if (received) received->append(buffer_);
    buffer_.clear();
    int rc = Fill(std::chrono::duration<double>(deadline - Clock::now()).count());
    if (rc == 0 || rc == -2) {
      if (received) received->append(buffer_);
      buffer_.clear();
      return true;
    }
    if (rc == -1) return false;
  }
}

bool BinaryClient::Read32(uint32_t* v) {
  std::string b;
  if (!ReadExact(4, &b)) return false;
  *v = static_cast<uint32_t>(GetBE(b));
  return true;
}

std::string BinaryClient::EncodeSetBulk(const std::vector<BinaryRecord>& records, uint32_t flags) {
  std::string out;
  StartFrame(&out, kMagicSetBulk, flags);
  Put32(&out, static_cast<uint32_t>(records.size()));
  for (const BinaryRecord& r : records) {
    Put16(&out, r.dbidx);
    Put32(&out, static_cast<uint32_t>(r.key.size()));
    Put32(&out, static_cast<uint32_t>(r.value.size()));
    Put64(&out, static_cast<uint64_t>(r.xt));
    out.append(r.key).append(r.value);
  }
  return out;
}

namespace {

std::string EncodeKeys(uint8_t magic, const std::vector<BinaryKey>& keys, uint32_t flags) {
  std::string out;
  StartFrame(&out, magic, flags);
  Put32(&out, static_cast<uint32_t>(keys.size()));
  for (const BinaryKey& k : keys) {
    Put16(&out, k.dbidx);
    Put32(&out, static_cast<uint32_t>(k.key.size()));
    out.append(k.key);
  }
  return out;
}

}  // namespace

std::string BinaryClient::EncodeRemoveBulk(const std::vector<BinaryKey>& keys, uint32_t flags) {
  return EncodeKeys(kMagicRemoveBulk, keys, flags);
}

std::string BinaryClient::EncodeGetBulk(const std::vector<BinaryKey>& keys, uint32_t flags) {
  return EncodeKeys(kMagicGetBulk, keys, flags);
}

std::string BinaryClient::EncodePlayScript(std::string_view name, const BinaryPairs& input,
                                           uint32_t flags) {
  std::string out;
  StartFrame(&out, kMagicPlayScript, flags);
  Put32(&out, static_cast<uint32_t>(name.size()));
  Put32(&out, static_cast<uint32_t>(input.size()));
  out.append(name);
  for (const auto& [key, value] : input) {
    Put32(&out, static_cast<uint32_t>(key.size()));
    Put32(&out, static_cast<uint32_t>(value.size()));
    out.append(key).append(value);
  }
  return out;
}

BinaryStatus BinaryClient::ReadReply(uint8_t magic, uint32_t* hits,
                                     std::vector<BinaryRecord>* records, BinaryPairs* pairs) {
  if (fd_ < 0) return Fail(BinaryStatus::kNetworkError, "not connected");
  std::string head;
  if (!ReadExact(1, &head)) return Fail(BinaryStatus::kNetworkError, error_);
  uint8_t got = static_cast<uint8_t>(head[0]);
  if (got == kMagicError) return Fail(BinaryStatus::kServerError, "the server answered 0xBF");
  if (got != magic) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "unexpected reply byte 0x%02X", got);
    return Fail(BinaryStatus::kNetworkError, buf);
  }
  uint32_t count = 0;
  if (!Read32(&count)) return Fail(BinaryStatus::kNetworkError, error_);
  if (magic == kMagicSetBulk || magic == kMagicRemoveBulk) {
    if (hits) *hits = count;
    error_.clear();
    return BinaryStatus::kOk;
  }
  if (records) records->clear();
  if (pairs) pairs->clear();
  for (uint32_t i = 0; i < count; i++) {
    std::string fixed;
    if (magic == kMagicGetBulk) {
      if (!ReadExact(18, &fixed)) return Fail(BinaryStatus::kNetworkError, error_);
      BinaryRecord r;
      r.dbidx = static_cast<uint16_t>(GetBE(std::string_view(fixed).substr(0, 2)));
      uint64_t ksiz = GetBE(std::string_view(fixed).substr(2, 4));
      uint64_t vsiz = GetBE(std::string_view(fixed).substr(6, 4));
      r.xt = static_cast<int64_t>(GetBE(std::string_view(fixed).substr(10, 8)));
      if (!ReadExact(ksiz, &r.key) || !ReadExact(vsiz, &r.value)) {
        return Fail(BinaryStatus::kNetworkError, error_);
      }
      if (records) records->push_back(std::move(r));
    } else {
      if (!ReadExact(8, &fixed)) return Fail(BinaryStatus::kNetworkError, error_);
      uint64_t ksiz = GetBE(std::string_view(fixed).substr(0, 4));
      uint64_t vsiz = GetBE(std::string_view(fixed).substr(4, 4));
      std::string key, value;
      if (!ReadExact(ksiz, &key) || !ReadExact(vsiz, &value)) {
        return Fail(BinaryStatus::kNetworkError, error_);
      }
      if (pairs) pairs->emplace_back(std::move(key), std::move(value));
    }
  }
  error_.clear();
  return BinaryStatus::kOk;
}

BinaryStatus BinaryClient::Exchange(const std::string& request, bool no_reply, uint8_t magic,
                                    uint32_t* hits, std::vector<BinaryRecord>* records,
                                    BinaryPairs* pairs) {
  if (fd_ < 0) return Fail(BinaryStatus::kNetworkError, "not connected");
  if (!SendRaw(request)) return Fail(BinaryStatus::kNetworkError, error_);
  if (no_reply) {
    error_.clear();
    return BinaryStatus::kOk;
  }
  return ReadReply(magic, hits, records, pairs);
}

BinaryStatus BinaryClient::SetBulk(const std::vector<BinaryRecord>& records, bool no_reply,
                                   uint32_t* hits) {
  return Exchange(EncodeSetBulk(records, no_reply ? kFlagNoReply : 0), no_reply, kMagicSetBulk,
                  hits, nullptr, nullptr);
}

BinaryStatus BinaryClient::RemoveBulk(const std::vector<BinaryKey>& keys, bool no_reply,
                                      uint32_t* hits) {
  return Exchange(EncodeRemoveBulk(keys, no_reply ? kFlagNoReply : 0), no_reply, kMagicRemoveBulk,
                  hits, nullptr, nullptr);
}

BinaryStatus BinaryClient::GetBulk(const std::vector<BinaryKey>& keys,
                                   std::vector<BinaryRecord>* records) {
  if (records) records->clear();
  return Exchange(EncodeGetBulk(keys), false, kMagicGetBulk, nullptr, records, nullptr);
}

BinaryStatus BinaryClient::PlayScript(std::string_view name, const BinaryPairs& input,
                                      bool no_reply, BinaryPairs* output) {
  if (output) output->clear();
  return Exchange(EncodePlayScript(name, input, no_reply ? kFlagNoReply : 0), no_reply,
                  kMagicPlayScript, nullptr, nullptr, output);
}

}  // namespace ryoan::client
