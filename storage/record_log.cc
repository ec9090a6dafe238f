#include "storage/record_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "storage/crc32c.h"

namespace ryoan::storage::kch {
namespace {

constexpr char kFileMagic[8] = {'R', 'Y', 'O', 'A', 'N', 'K', 'C', 'H'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint16_t kRecordMagic = 0xC3A5;

}  // namespace

void EncodeRecord(RecordKind kind, std::string_view key, std::string_view value, int64_t xt,
                  std::string* out) {
  out->resize(RecordSize(key, value));
  EncodeRecordTo(out->data(), kind, key, value, xt);
}

void EncodeRecordTo(char* p, RecordKind kind, std::string_view key, std::string_view value,
                    int64_t xt) {
  EncodeFixed16(p + 4, kRecordMagic);
  p[6] = static_cast<char>(kind);
  p[7] = 0;
  EncodeFixed32(p + 8, static_cast<uint32_t>(key.size()));
  EncodeFixed32(p + 12, static_cast<uint32_t>(value.size()));
  EncodeFixed64(p + 16, static_cast<uint64_t>(xt));
  if (!key.empty()) std::memcpy(p + kRecordHeaderSize, key.data(), key.size());
  if (!value.empty()) std::memcpy(p + kRecordHeaderSize + key.size(), value.data(), value.size());
  EncodeFixed32(p, Crc32cExtend(0, p + 4, RecordSize(key, value) - 4));
}

Decoded DecodeRecord(std::string_view data, RecordView* record, uint64_t* need) {
  if (data.size() < kRecordHeaderSize) {
    // Check what we have of the magic so that zero-filled tails are rejected early.
    if (data.size() >= 6 && DecodeFixed(data.data() + 4, 2) != kRecordMagic) return Decoded::kBad;
    *need = kRecordHeaderSize;
    return Decoded::kShort;
  }
  const char* p = data.data();
  uint8_t kind = static_cast<uint8_t>(p[6]);
  if (DecodeFixed(p + 4, 2) != kRecordMagic || p[7] != 0 ||
      (kind != static_cast<uint8_t>(RecordKind::kValue) &&
       kind != static_cast<uint8_t>(RecordKind::kTombstone))) {
    return Decoded::kBad;
  }
  uint64_t ksiz = DecodeFixed(p + 8, 4);
  uint64_t vsiz = DecodeFixed(p + 12, 4);
  uint64_t size = kRecordHeaderSize + ksiz + vsiz;
  if (data.size() < size) {
    *need = size;
    return Decoded::kShort;
  }
  if (static_cast<uint32_t>(DecodeFixed(p, 4)) != Crc32cExtend(0, p + 4, size - 4))
    return Decoded::kBad;
  record->kind = static_cast<RecordKind>(kind);
  record->xt = static_cast<int64_t>(DecodeFixed(p + 16, 8));
  record->key = std::string_view(p + kRecordHeaderSize, ksiz);
  record->value = std::string_view(p + kRecordHeaderSize + ksiz, vsiz);
  record->size = size;
  return Decoded::kOk;
}

void EncodeFileHeader(uint64_t file_id, char out[kFileHeaderSize]) {
  std::memset(out, 0, kFileHeaderSize);
  std::memcpy(out, kFileMagic, sizeof(kFileMagic));
  EncodeFixed32(out + 8, kFormatVersion);
  EncodeFixed64(out + 16, file_id);
  EncodeFixed32(out + 60, Crc32cExtend(0, out, 60));
}

bool DecodeFileHeader(std::string_view data, uint64_t* file_id) {
  if (data.size() < kFileHeaderSize) return false;
  const char* p = data.data();
  if (std::memcmp(p, kFileMagic, sizeof(kFileMagic)) != 0) return false;
  if (DecodeFixed(p + 8, 4) != kFormatVersion) return false;
  if (static_cast<uint32_t>(DecodeFixed(p + 60, 4)) != Crc32cExtend(0, p, 60)) return false;
  *file_id = DecodeFixed(p + 16, 8);
  return true;
}

Status ErrnoStatus(const std::string& what) {
  return Status::System(what + ": " + std::strerror(errno));
}

Status PreadFull(int fd, void* buf, size_t n, uint64_t offset, size_t* got) {
  size_t done = 0;
  while (done < n) {
    ssize_t r =
        ::pread(fd, static_cast<char*>(buf) + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pread");
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  *got = done;
  return Status::OK();
}

Status PwriteFull(int fd, const void* buf, size_t n, uint64_t offset) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pwrite(fd, static_cast<const char*>(buf) + done, n - done,
                         static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("pwrite");
    }
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

Status IsZeroRange(int fd, uint64_t from, uint64_t to, bool* zero) {
  *zero = true;
  std::string buf;
  while (from < to && *zero) {
    buf.resize(std::min<uint64_t>(to - from, uint64_t{1} << 20));
    size_t got = 0;
    Status status = PreadFull(fd, buf.data(), buf.size(), from, &got);
    if (!status.ok()) return status;
    if (got != buf.size()) return Status::System("pread: the file shrank");
    *zero = std::all_of(buf.begin(), buf.end(), [](char c) { return c == 0; });
    from += got;
  }
  return Status::OK();
}

Status SyncDirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(dir);
  int r = ::fsync(fd);
  Status status = r == 0 ? Status::OK() : ErrnoStatus("fsync " + dir);
  ::close(fd);
  return status;
}

// ---------------------------------------------------------------------------------------
// RecordScanner

namespace {
constexpr size_t kScanChunk = size_t{1} << 20;
}  // namespace

// Makes at least `need` bytes from start_ available, unless the file range ends first.
bool RecordScanner::Fill(uint64_t need) {
  size_t have = buf_.size() - start_;
  if (have >= need) return true;
  if (start_ > 0) {
    buf_.erase(0, start_);
    start_ = 0;
  }
  uint64_t want = std::max<uint64_t>(need, kScanChunk);
  want = std::min(want, end_ - pos_);
  if (want <= have) return false;
  size_t old = buf_.size();
  buf_.resize(want);
  size_t got = 0;
  status_ = PreadFull(fd_, buf_.data() + old, want - old, pos_ + old, &got);
  buf_.resize(old + got);
  return status_.ok() && buf_.size() >= need;
}

bool RecordScanner::Next(RecordView* record, uint64_t* offset) {
  if (damaged_ || !status_.ok() || pos_ >= end_) return false;
  uint64_t need = kRecordHeaderSize;
  for (;;) {
    bool filled = Fill(need);
    if (!status_.ok()) return false;
    std::string_view data(buf_.data() + start_, buf_.size() - start_);
    Decoded d = DecodeRecord(data, record, &need);
    if (d == Decoded::kOk) {
      *offset = pos_;
      pos_ += record->size;
      start_ += record->size;
      return true;
    }
    // Bad bytes, or a record running past the end of the range: a torn tail.
    if (d == Decoded::kBad || !filled || need > end_ - pos_) {
      damaged_ = true;
      return false;
    }
  }
}

}  // namespace ryoan::storage::kch
