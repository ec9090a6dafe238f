// The data file of the on-disk hash engine (.kch): a 64-byte file header followed by an
// append-only sequence of checksummed records (storage/FORMAT-kch.md has the byte layout).
// This file knows the encoding and the raw I/O; which record is live is the index's business
// (file_hash_engine.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/status.h"

namespace ryoan::storage::kch {

inline constexpr uint64_t kFileHeaderSize = 64;
inline constexpr uint64_t kRecordHeaderSize = 24;
// Keys and values are limited so that a record size always fits the 32-bit size fields.
inline constexpr uint64_t kMaxFieldSize = 0xFFFFFFFFull - kRecordHeaderSize;

// Fixed-width little-endian integers, so that files move between hosts.
inline void EncodeFixed16(char* p, uint16_t v) {
  for (int i = 0; i < 2; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void EncodeFixed32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void EncodeFixed64(char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
// Reads an n-byte little-endian integer.
inline uint64_t DecodeFixed(const char* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(p[i]);
  return v;
}

enum class RecordKind : uint8_t { kValue = 1, kTombstone = 2 };

// A decoded record. key and value point into the buffer it was decoded from.
struct RecordView {
  RecordKind kind = RecordKind::kValue;
  int64_t xt = 0;
  std::string_view key;
  std::string_view value;
  uint64_t size = 0;  // header + key + value
};

// Bytes of the encoding of one record.
inline uint64_t RecordSize(std::string_view key, std::string_view value) {
  return kRecordHeaderSize + key.size() + value.size();
}
// Writes the encoding of one record to p[0, RecordSize(key, value)).
void EncodeRecordTo(char* p, RecordKind kind, std::string_view key, std::string_view value,
                    int64_t xt);
// Replaces *out with the encoding of one record.
void EncodeRecord(RecordKind kind, std::string_view key, std::string_view value, int64_t xt,
                  std::string* out);

enum class Decoded {
  kOk,
  kShort,  // framing is valid so far but `data` ends before the record does (*need says how far)
  kBad,    // wrong magic, kind or checksum: not a record
};
// Decodes the record at the start of `data`. On kShort, *need is the full record size (or
// the header size when not even the header is there).
Decoded DecodeRecord(std::string_view data, RecordView* record, uint64_t* need);

void EncodeFileHeader(uint64_t file_id, char out[kFileHeaderSize]);
// False if the bytes are not a header of ours (magic, version or checksum).
bool DecodeFileHeader(std::string_view data, uint64_t* file_id);

// Full-length pread/pwrite, retrying on EINTR and short transfers. PreadFull reports how
// many bytes it got before end of file in *got.
Status PreadFull(int fd, void* buf, size_t n, uint64_t offset, size_t* got);
Status PwriteFull(int fd, const void* buf, size_t n, uint64_t offset);
// Whether bytes [from, to) of the file are all zero (what a preallocated tail holds).
Status IsZeroRange(int fd, uint64_t from, uint64_t to, bool* zero);
// fsyncs the directory holding `path`, so that a rename or unlink there is durable.
Status SyncDirectoryOf(const std::string& path);
// A Status::System carrying "<what>: <strerror(errno)>".
Status ErrnoStatus(const std::string& what);

// Reads the records of a file sequentially through a large buffer: recovery and compaction.
class RecordScanner {
 public:
  RecordScanner(int fd, uint64_t begin, uint64_t end) : fd_(fd), pos_(begin), end_(end) {}

  // The next record; false at `end` or at the first bytes that are not a complete valid
  // record (then damaged() is true and position() is where the damage starts).
  bool Next(RecordView* record, uint64_t* offset);
  bool damaged() const { return damaged_; }
  uint64_t position() const { return pos_; }
  // An I/O error ends the scan as well; it is not damage.
  const Status& status() const { return status_; }

 private:
  bool Fill(uint64_t need);

  int fd_;
  uint64_t pos_;  // file offset of buf_[start_]
  uint64_t end_;
  std::string buf_;
  size_t start_ = 0;
  bool damaged_ = false;
  Status status_;
};

}  // namespace ryoan::storage::kch
