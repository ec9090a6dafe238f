// Blocking client for the binary protocol (spec/binary.md) over one TCP connection.
//
// Each call writes one request and, unless no-reply was asked for, reads its reply. The
// server's error byte 0xBF gives BinaryStatus::kServerError; a reply starting with any other
// unexpected byte, a short read, a timeout or a socket error gives kNetworkError and closes
// the connection (it is out of sync). After kServerError from a bulk call the server closes
// the connection (spec/binary.md 1); the next call then fails with kNetworkError. Nothing
// reconnects by itself and nothing throws.
//
// Expiration (`xt`) in SetBulk is the request meaning: > 0 relative seconds, < 0 absolute
// Unix time -xt, kNoExpiration (INT64_MAX) = never. GetBulk reports the stored absolute time
// as the server sends it (0x000000FFFFFFFFFF or INT64_MAX for "never").
//
// For byte-level tests the raw layer is public: SendRaw writes any bytes, ReadExact /
// ReadUntil / ReadSome / WaitForClose read what the server sends, and the Encode* functions
// build request frames without sending them (e.g. to pipeline several in one write).
//
// Example:
//   BinaryClient c;
//   if (!c.Open("127.0.0.1", 1978, 5.0)) ...
//   uint32_t hits = 0;
//   c.SetBulk({{0, "foo", "bar", BinaryClient::kNoExpiration}}, false, &hits);
//   std::vector<BinaryRecord> got;
//   if (c.GetBulk({{0, "foo"}}, &got) == BinaryStatus::kOk) ... got[0].value ...
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ryoan::client {

enum class BinaryStatus {
  kOk,
  kServerError,   // the server answered 0xBF
  kNetworkError,  // not connected, socket error, timeout, EOF or an unexpected reply byte
};

const char* BinaryStatusName(BinaryStatus s);

// A record of set_bulk (request) or get_bulk (reply).
struct BinaryRecord {
  uint16_t dbidx = 0;
  std::string key;
  std::string value;
  int64_t xt = std::numeric_limits<int64_t>::max();

  bool operator==(const BinaryRecord&) const = default;
};

// A key of remove_bulk or get_bulk.
struct BinaryKey {
  uint16_t dbidx = 0;
  std::string key;
};

using BinaryPairs = std::vector<std::pair<std::string, std::string>>;

class BinaryClient {
 public:
  static constexpr int64_t kNoExpiration = std::numeric_limits<int64_t>::max();
  static constexpr uint8_t kMagicPlayScript = 0xB4;
  static constexpr uint8_t kMagicSetBulk = 0xB8;
  static constexpr uint8_t kMagicRemoveBulk = 0xB9;
  static constexpr uint8_t kMagicGetBulk = 0xBA;
  static constexpr uint8_t kMagicError = 0xBF;
  static constexpr uint32_t kFlagNoReply = 0x01;

  BinaryClient() = default;
  ~BinaryClient();
  BinaryClient(const BinaryClient&) = delete;
  BinaryClient& operator=(const BinaryClient&) = delete;
  BinaryClient(BinaryClient&& other) noexcept;
  BinaryClient& operator=(BinaryClient&& other) noexcept;

  // Connects to host:port (IPv4 address or resolvable name). `timeout_seconds` bounds the
  // connect and every later read or write step. Closes any previous connection.
  bool Open(const std::string& host, int port, double timeout_seconds);
  void Close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  void set_timeout(double seconds) { timeout_ = seconds; }
  // Why the last call failed (empty after success).
  const std::string& last_error() const { return error_; }

  // Stores `records`; `hits` (if given) receives the count the server reports. With
  // `no_reply` nothing is read and `hits` is left alone.
  BinaryStatus SetBulk(const std::vector<BinaryRecord>& records, bool no_reply,
                       uint32_t* hits = nullptr);
  // Removes `keys`; `hits` = how many existed.
  BinaryStatus RemoveBulk(const std::vector<BinaryKey>& keys, bool no_reply,
                          uint32_t* hits = nullptr);
  // Fetches `keys`; `records` receives the found ones in reply order (cleared first).
  BinaryStatus GetBulk(const std::vector<BinaryKey>& keys, std::vector<BinaryRecord>* records);
  // Calls the server-side procedure `name` with `input`; `output` (if given) receives the
  // reply records in the order sent.
  BinaryStatus PlayScript(std::string_view name, const BinaryPairs& input, bool no_reply,
                          BinaryPairs* output = nullptr);

  // Request frames, byte for byte as sent by the calls above.
  static std::string EncodeSetBulk(const std::vector<BinaryRecord>& records, uint32_t flags);
  static std::string EncodeRemoveBulk(const std::vector<BinaryKey>& keys, uint32_t flags);
  static std::string EncodeGetBulk(const std::vector<BinaryKey>& keys, uint32_t flags = 0);
  static std::string EncodePlayScript(std::string_view name, const BinaryPairs& input,
                                      uint32_t flags);

  // Reads one reply of the given request magic from the connection (for replies to requests
  // sent with SendRaw, e.g. pipelined ones). set/remove_bulk: `hits`; get_bulk: `records`;
  // play_script: `pairs`. Unused outputs may be null.
  BinaryStatus ReadReply(uint8_t magic, uint32_t* hits, std::vector<BinaryRecord>* records,
                         BinaryPairs* pairs);

  // Raw layer. SendRaw: false on error or timeout.
  bool SendRaw(std::string_view bytes);
  // Half-closes the connection (no more bytes from us).
  void ShutdownWrite();
  // Appends exactly `n` bytes to `out`; false on EOF, timeout or error (what arrived before
  // stays buffered).
  bool ReadExact(size_t n, std::string* out);
  // Appends bytes up to and including `delimiter`; false as ReadExact. At most `max` bytes
  // are looked at.
  bool ReadUntil(std::string_view delimiter, std::string* out, size_t max = 1 << 20);
  // Waits up to `timeout_seconds` for at least one byte or EOF; returns the buffered bytes
  // plus what arrived (all consumed). `eof` tells whether the peer closed (or reset).
  std::string ReadSome(double timeout_seconds, bool* eof = nullptr);
  // Waits up to `timeout_seconds` for the peer to close; bytes arriving meanwhile are
  // appended to `received`. True on EOF or reset.
  bool WaitForClose(double timeout_seconds, std::string* received = nullptr);
  // Bytes received and not yet consumed.
  const std::string& pending() const { return buffer_; }

 private:
  // Reads more into buffer_ within timeout_; false (and error_ says why) on EOF, timeout or
  // error.
  bool Fill();
  BinaryStatus Fail(BinaryStatus status, std::string message);
  BinaryStatus Exchange(const std::string& request, bool no_reply, uint8_t magic, uint32_t* hits,
                        std::vector<BinaryRecord>* records, BinaryPairs* pairs);
  bool Read32(uint32_t* v);

  int fd_ = -1;
  double timeout_ = 30;
  std::string buffer_;
  std::string error_;
};

}  // namespace ryoan::client
