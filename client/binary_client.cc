#include "client/binary_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "client/socket.h"

namespace ryoan::client {
namespace {

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
  fd_ = ConnectTcp(host, port, timeout_seconds, &error_);
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
  return SendAll(fd_, bytes, timeout_, &error_);
}

void BinaryClient::ShutdownWrite() {
  if (fd_ >= 0) shutdown(fd_, SHUT_WR);
}

bool BinaryClient::Fill() {
  int rc = ReceiveSome(fd_, &buffer_, timeout_);
  if (rc > 0) return true;
  error_ = rc == 0 ? "connection closed by the server" : rc == -1 ? "read timeout" : "read error";
  return false;
}

bool BinaryClient::ReadExact(size_t n, std::string* out) {
  while (buffer_.size() < n) {
    if (!Fill()) return false;
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
    if (!Fill()) return false;
  }
}

std::string BinaryClient::ReadSome(double timeout_seconds, bool* eof) {
  return TakeSome(fd_, &buffer_, timeout_seconds, eof);
}

bool BinaryClient::WaitForClose(double timeout_seconds, std::string* received) {
  return WaitForEof(fd_, &buffer_, timeout_seconds, received);
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
