#include "storage/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

#include "common/murmur_hash.h"
#include "storage/db.h"
#include "storage/engine.h"
#include "storage/varnum.h"

namespace ryoan::storage {

namespace {

constexpr char kMagic[6] = {'K', 'T', 'S', 'S', '\n', '\0'};
constexpr size_t kHeaderSize = 6 + 4 + 8 + 8 + 8;
constexpr unsigned char kRecordMagic = 0xCC;
constexpr size_t kXtWidth = 5;
constexpr size_t kFlushAt = size_t{1} << 20;  // also the chunk size when compressed
// A chunk longer than this, packed or unpacked, is damage: memory stays bounded.
constexpr size_t kMaxChunk = size_t{1} << 30;

Status Errno(const std::string& path, const char* what) {
  return Status::System(path + ": " + what + ": " + std::strerror(errno));
}

void PutFixed(std::string* out, uint64_t v, size_t width) {
  for (size_t i = width; i > 0; i--) out->push_back(static_cast<char>((v >> (8 * (i - 1))) & 0xFF));
}

uint64_t GetFixed(const char* p, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; i++) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(path, "write failed");
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

std::string EncodeHeader(const SnapshotInfo& info) {
  std::string header(kMagic, sizeof(kMagic));
  PutFixed(&header, SnapshotChecksum(info.compression), 4);
  PutFixed(&header, info.timestamp, 8);
  PutFixed(&header, static_cast<uint64_t>(info.count), 8);
  PutFixed(&header, static_cast<uint64_t>(info.size), 8);
  return header;
}

// Sequential reader of a snapshot's record stream: the bytes after the header, or with a
// compressor the concatenated contents of the chunks.
class Reader {
 public:
  Reader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void set_compression(Compression compression) { compression_ = compression; }
  // The header, read past any buffer: the stream after it may be compressed.
  Status ReadHeader(std::string* out) { return ReadFile(kHeaderSize, out); }

  // Reads exactly n bytes into out; *eof when the stream ended before the first byte.
  Status Read(size_t n, std::string* out, bool* eof) {
    out->clear();
    *eof = false;
    while (out->size() < n) {
      if (pos_ == buf_.size()) {
        Status s = compression_ == Compression::kNone ? Fill() : NextChunk();
        if (!s.ok()) return s;
        if (buf_.empty()) {
          if (out->empty()) *eof = true;
          return out->empty() ? Status::OK() : Truncated();
        }
      }
      size_t take = std::min(n - out->size(), buf_.size() - pos_);
      out->append(buf_, pos_, take);
      pos_ += take;
    }
    return Status::OK();
  }
  Status ReadVarNum(uint64_t* v) {
    *v = 0;
    std::string byte;
    bool eof;
    for (int i = 0; i < 10; i++) {
      Status s = Read(1, &byte, &eof);
      if (!s.ok()) return s;
      if (eof) return Truncated();
      unsigned char c = static_cast<unsigned char>(byte[0]);
      *v = (*v << 7) | (c & 0x7F);
      if ((c & 0x80) == 0) return Status::OK();
    }
    return Status(Code::kBroken, path_ + ": invalid snapshot record length");
  }
  Status Truncated() const {
    return Status(Code::kBroken, path_ + ": the snapshot file is truncated");
  }

 private:
  // Reads up to n bytes of the file into *out (fewer only at its end).
  Status ReadFile(size_t n, std::string* out) {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::read(fd_, out->data() + got, n - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        out->clear();
        return Errno(path_, "read failed");
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    file_offset_ += got;
    return Status::OK();
  }
  Status Fill() {
    pos_ = 0;
    return ReadFile(kFlushAt, &buf_);
  }
  // Decompresses the next chunk into buf_ (left empty at the end of the file).
  Status NextChunk() {
    pos_ = 0;
    buf_.clear();
    const uint64_t at = file_offset_;
    std::string length;
    Status s = ReadFile(4, &length);
    if (!s.ok() || length.empty()) return s;
    if (length.size() < 4) return Truncated();
    uint64_t size = GetFixed(length.data(), 4);
    if (size > kMaxChunk) return Damaged(at, "impossible chunk length");
    s = ReadFile(size, &packed_);
    if (!s.ok()) return s;
    if (packed_.size() < size) return Truncated();
    if (!Decompress(compression_, packed_, kMaxChunk, &buf_)) {
      return Damaged(
          at, std::string("the chunk does not decompress with ") + CompressionName(compression_));
    }
    return Status::OK();
  }
  Status Damaged(uint64_t offset, const std::string& why) const {
    return Status(Code::kBroken, path_ + ": damaged compressed chunk at offset " +
                                     std::to_string(offset) + ": " + why);
  }

  int fd_;
  std::string path_;
  Compression compression_ = Compression::kNone;
  uint64_t file_offset_ = 0;
  std::string buf_;
  std::string packed_;
  size_t pos_ = 0;
};

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// One pass over the records; with `db` null it only validates.
Status ScanRecords(const std::string& path, DB* db, bool persistent, Compression expected,
                   SnapshotInfo* info) {
  Fd file;
  file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd < 0) return Errno(path, "could not open the snapshot file");
  Reader reader(file.fd, path);
  std::string header;
  Status s = reader.ReadHeader(&header);
  if (!s.ok() || header.size() < kHeaderSize) {
    return Status(Code::kBroken, path + ": invalid snapshot header");
  }
  s = ParseSnapshotHeader(header, info, expected);
  if (!s.ok()) return Status(Code::kBroken, path + ": " + s.message());
  reader.set_compression(info->compression);
  int64_t count = 0;
  int64_t now = db != nullptr ? db->Now() : 0;
  std::string marker, key, value;
  bool eof = false;
  while (true) {
    s = reader.Read(1, &marker, &eof);
    if (!s.ok()) return s;
    if (eof) break;
    if (static_cast<unsigned char>(marker[0]) != kRecordMagic) {
      return Status(Code::kBroken,
                    path + ": invalid snapshot record at record " + std::to_string(count));
    }
    uint64_t klen, vlen;
    s = reader.ReadVarNum(&klen);
    if (s.ok()) s = reader.ReadVarNum(&vlen);
    if (!s.ok()) return s;
    if (klen > (uint64_t{1} << 32) || vlen > (uint64_t{1} << 34)) {
      return Status(Code::kBroken, path + ": invalid snapshot record length");
    }
    s = reader.Read(klen, &key, &eof);
    if (s.ok() && eof && klen > 0) s = reader.Truncated();
    if (s.ok()) s = reader.Read(vlen, &value, &eof);
    if (s.ok() && eof && vlen > 0) s = reader.Truncated();
    if (!s.ok()) return s;
    int64_t xt = kXtMax;
    std::string_view body = value;
    if (!persistent) {
      if (value.size() < kXtWidth)
        return Status(Code::kBroken, path + ": invalid snapshot record value");
      xt = static_cast<int64_t>(GetFixed(value.data(), kXtWidth));
      body.remove_prefix(kXtWidth);
    }
    count++;
    if (db == nullptr || (xt != kXtMax && xt < now)) continue;
    s = db->Set(key, body, xt >= kXtMax ? kNoXt : -xt);
    if (!s.ok()) return s;
  }
  if (count != info->count) {
    return Status(Code::kBroken, path + ": the snapshot file is truncated (" +
                                     std::to_string(count) + " of " + std::to_string(info->count) +
                                     " records)");
  }
  return Status::OK();
}

}  // namespace

uint32_t SnapshotChecksum(Compression compression) {
  static constexpr Compression kCodecs[] = {Compression::kZlib, Compression::kLzo,
                                            Compression::kLzma};
  // Computed once: lzma's encoder is costly to set up.
  static const std::array<uint32_t, 3> checksums = [] {
    std::array<uint32_t, 3> sums{};
    for (size_t i = 0; i < sums.size(); i++) {
      std::string packed;
      if (Compress(kCodecs[i], std::string_view(kMagic, sizeof(kMagic)), &packed)) {
        sums[i] = static_cast<uint32_t>(MurmurHash64(packed));
      }
    }
    return sums;
  }();
  for (size_t i = 0; i < checksums.size(); i++) {
    if (kCodecs[i] == compression) return checksums[i];
  }
  return 0;
}

Status ParseSnapshotHeader(const std::string& data, SnapshotInfo* info, Compression expected) {
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status(Code::kBroken, "not a snapshot file (bad magic)");
  }
  const uint32_t checksum = static_cast<uint32_t>(GetFixed(data.data() + 6, 4));
  info->compression = Compression::kNone;
  if (checksum != 0) {
    info->compression = expected;
    for (Compression c : {Compression::kZlib, Compression::kLzo, Compression::kLzma}) {
      if (SnapshotChecksum(c) == checksum) info->compression = c;
    }
    if (info->compression == Compression::kNone) {
      return Status(Code::kBroken, "unknown compression of the snapshot file (checksum " +
                                       std::to_string(checksum) +
                                       " matches none of zlib, lzo, lzma)");
    }
  }
  info->timestamp = GetFixed(data.data() + 10, 8);
  info->count = static_cast<int64_t>(GetFixed(data.data() + 18, 8));
  info->size = static_cast<int64_t>(GetFixed(data.data() + 26, 8));
  if (info->count < 0 || info->size < 0) return Status(Code::kBroken, "invalid snapshot header");
  return Status::OK();
}

Status WriteSnapshot(DB* db, const std::string& path, uint64_t timestamp, SnapshotInfo* info,
                     Compression compression) {
  SnapshotInfo written;
  written.compression = compression;
  if (timestamp == 0) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    timestamp = static_cast<uint64_t>(ms) * 1000000ULL;
  }
  written.timestamp = timestamp;
  written.size = db->Size();
  const bool persistent = db->spec().persistent;
  const std::string tmp = path + ".tmp";
  Fd file;
  file.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (file.fd < 0) return Errno(tmp, "could not open the snapshot file");
  auto fail = [&](Status s) {
    ::close(file.fd);
    file.fd = -1;
    ::unlink(tmp.c_str());
    return s;
  };
  // The header is rewritten with the real count at the end.
  Status s = WriteAll(file.fd, EncodeHeader(written), tmp);
  if (!s.ok()) return fail(s);
  std::string buf;
  std::string packed;
  // Writes the buffered records: as they are, or as one compressed chunk.
  auto flush = [&]() {
    if (compression == Compression::kNone || buf.empty()) return WriteAll(file.fd, buf, tmp);
    if (!Compress(compression, buf, &packed) || packed.size() > kMaxChunk) {
      return Status::System(tmp + ": " + CompressionName(compression) + " compression failed");
    }
    std::string length;
    PutFixed(&length, packed.size(), 4);
    Status w = WriteAll(file.fd, length, tmp);
    return w.ok() ? WriteAll(file.fd, packed, tmp) : w;
  };
  std::unique_ptr<Cursor> cursor = db->NewCursor();
  s = cursor->Jump();
  std::string key, value;
  int64_t xt = kXtMax;
  while (s.ok()) {
    s = cursor->Get(&key, &value, &xt, true);
    if (!s.ok()) break;
    buf.push_back(static_cast<char>(kRecordMagic));
    AppendVarNum(key.size(), &buf);
    AppendVarNum(value.size() + (persistent ? 0 : kXtWidth), &buf);
    buf += key;
    if (!persistent) PutFixed(&buf, static_cast<uint64_t>(std::min(xt, kXtMax)), kXtWidth);
    buf += value;
    written.count++;
    if (buf.size() >= kFlushAt) {
      Status w = flush();
      if (!w.ok()) return fail(w);
      buf.clear();
    }
  }
  if (s.code() != Code::kNoRec) return fail(s);
  s = flush();
  if (!s.ok()) return fail(s);
  std::string header = EncodeHeader(written);
  if (::pwrite(file.fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size())) {
    return fail(Errno(tmp, "write failed"));
  }
  if (::fsync(file.fd) != 0) return fail(Errno(tmp, "fsync failed"));
  if (::close(file.fd) != 0) {
    file.fd = -1;
    ::unlink(tmp.c_str());
    return Errno(tmp, "close failed");
  }
  file.fd = -1;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status e = Errno(path, "rename failed");
    ::unlink(tmp.c_str());
    return e;
  }
  std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  if (info != nullptr) *info = written;
  return Status::OK();
}

Status ReadSnapshot(DB* db, const std::string& path, SnapshotInfo* info, Compression expected) {
  SnapshotInfo header;
  const bool persistent = db->spec().persistent;
  // Validate everything first, so a damaged file changes nothing.
  Status s = ScanRecords(path, nullptr, persistent, expected, &header);
  if (s.ok()) s = ScanRecords(path, db, persistent, expected, &header);
  if (s.ok() && info != nullptr) *info = header;
  return s;
}

}  // namespace ryoan::storage
