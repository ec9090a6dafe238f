#include "server/binary_request.h"

namespace ryoan::server {
namespace {

uint16_t Read16(const unsigned char* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

uint32_t Read32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint64_t Read64(const unsigned char* p) { return (uint64_t{Read32(p)} << 32) | Read32(p + 4); }

}  // namespace

void BinaryRequestParser::Reset() {
  header_done_ = false;
  offset_ = 0;
  count_ = 0;
  done_ = 0;
}

BinaryRequestParser::Result BinaryRequestParser::Parse(std::string_view data,
                                                       BinaryRequest* request, size_t* consumed) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  size_t size = data.size();
  if (!header_done_) {
    if (size < 1) return Result::kNeedMore;
    uint8_t magic = bytes[0];
    request->magic = magic;
    request->flags = 0;
    request->records.clear();
    size_t header = 0;
    switch (magic) {
      case kBinarySetBulk:
      case kBinaryRemoveBulk:
      case kBinaryGetBulk:
        header = 9;  // magic, flags, rnum
        break;
      case kBinaryPlayScript:
        header = 13;  // magic, flags, nsiz, rnum
        break;
      case kBinaryReplication:
        header = 15;  // magic, flags, ts, sid
        break;
      default:
        return Result::kUnknown;
    }
    if (size < header) return Result::kNeedMore;
    request->magic = magic;
    request->flags = Read32(bytes + 1);
    request->records.clear();
    request->name_size = 0;
    if (magic == kBinaryReplication) {
      request->ts = Read64(bytes + 5);
      request->sid = Read16(bytes + 13);
      *consumed = header;
      return Result::kDone;
    }
    if (magic == kBinaryPlayScript) {
      uint64_t nsiz = Read32(bytes + 5);
      count_ = Read32(bytes + 9);
      if (nsiz > limits_.max_field) return Result::kError;
      request->name_offset = header;
      request->name_size = nsiz;
      offset_ = header + nsiz;
    } else {
      count_ = Read32(bytes + 5);
      offset_ = header;
    }
    if (count_ > limits_.max_records) return Result::kError;
    header_done_ = true;
    done_ = 0;
  }
  if (offset_ > size) return offset_ > limits_.max_request ? Result::kError : Result::kNeedMore;

  const uint8_t magic = request->magic;
  while (done_ < count_) {
    BinaryRecord record;
    size_t at = offset_;
    switch (magic) {
      case kBinarySetBulk: {
        if (size - at < 18) return Result::kNeedMore;
        record.dbidx = Read16(bytes + at);
        record.key_size = Read32(bytes + at + 2);
        record.value_size = Read32(bytes + at + 6);
        record.xt = static_cast<int64_t>(Read64(bytes + at + 10));
        at += 18;
        break;
      }
      case kBinaryRemoveBulk:
      case kBinaryGetBulk: {
        if (size - at < 6) return Result::kNeedMore;
        record.dbidx = Read16(bytes + at);
        record.key_size = Read32(bytes + at + 2);
        at += 6;
        break;
      }
      default: {  // play_script
        if (size - at < 8) return Result::kNeedMore;
        record.key_size = Read32(bytes + at);
        record.value_size = Read32(bytes + at + 4);
        at += 8;
        break;
      }
    }
    if (record.key_size > limits_.max_field || record.value_size > limits_.max_field) {
      return Result::kError;
    }
    uint64_t end = uint64_t{at} + record.key_size + record.value_size;
    if (end > limits_.max_request) return Result::kError;
    if (end > size) return Result::kNeedMore;
    record.key_offset = static_cast<uint32_t>(at);
    record.value_offset = static_cast<uint32_t>(at + record.key_size);
    request->records.push_back(record);
    offset_ = static_cast<size_t>(end);
    done_++;
  }
  *consumed = offset_;
  return Result::kDone;
}

}  // namespace ryoan::server
