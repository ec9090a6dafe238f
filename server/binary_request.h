// The binary protocol's requests (spec/binary.md): a pure, resumable parser over the bytes a
// connection has received, like HttpRequestParser. Records are kept as offsets into those
// bytes, so nothing is copied and a buffer that moves between calls does no harm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ryoan::server {

enum BinaryMagic : uint8_t {
  kBinaryNop = 0xB0,
  kBinaryReplication = 0xB1,
  kBinaryPlayScript = 0xB4,
  kBinarySetBulk = 0xB8,
  kBinaryRemoveBulk = 0xB9,
  kBinaryGetBulk = 0xBA,
  kBinaryError = 0xBF,
};

inline constexpr uint32_t kBinaryNoReply = 0x01;

struct BinaryLimits {
  uint64_t max_field = uint64_t{1} << 28;    // key, value or name, as the original
  uint64_t max_request = uint64_t{1} << 29;  // whole frame (allowed deviation)
  uint64_t max_records = uint64_t{1} << 20;  // rnum (allowed deviation)
  uint64_t max_reply = uint64_t{1} << 29;    // get_bulk reply (allowed deviation)
};

// Offsets fit 32 bits because a frame is at most max_request (2^29) bytes.
struct BinaryRecord {
  int64_t xt = 0;  // set_bulk
  uint32_t key_offset = 0, key_size = 0;
  uint32_t value_offset = 0, value_size = 0;  // set_bulk, play_script
  uint16_t dbidx = 0;                         // set/remove/get_bulk
};

struct BinaryRequest {
  uint8_t magic = 0;
  uint32_t flags = 0;
  size_t name_offset = 0, name_size = 0;  // play_script
  std::vector<BinaryRecord> records;
  // replication
  uint64_t ts = 0;
  uint16_t sid = 0;

  bool no_reply() const { return (flags & kBinaryNoReply) != 0 && magic != kBinaryGetBulk; }
  static std::string_view Slice(std::string_view data, size_t offset, size_t size) {
    return data.substr(offset, size);
  }
};

class BinaryRequestParser {
 public:
  enum class Result {
    kNeedMore,  // feed more bytes (the same prefix again, with more appended)
    kDone,      // the request is complete: `consumed` bytes of the input belong to it
    kUnknown,   // unknown magic byte: close without reply
    kError,     // malformed or over a limit: answer 0xBF (unless no-reply), then close
  };

  explicit BinaryRequestParser(BinaryLimits limits = {}) : limits_(limits) {}

  // `data` starts at the magic byte. Progress is kept between calls so each call costs time
  // in proportion to the new bytes. Call Reset() after kDone.
  Result Parse(std::string_view data, BinaryRequest* request, size_t* consumed);
  void Reset();

 private:
  BinaryLimits limits_;
  bool header_done_ = false;
  size_t offset_ = 0;   // bytes parsed so far
  uint64_t count_ = 0;  // rnum
  uint64_t done_ = 0;   // records parsed
};

}  // namespace ryoan::server
