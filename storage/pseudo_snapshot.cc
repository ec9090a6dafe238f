#include "storage/pseudo_snapshot.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string_view>

#include "storage/db.h"
#include "storage/engine.h"
#include "storage/varnum.h"

namespace ryoan::storage {
namespace {

constexpr char kMagic[6] = {'K', 'C', 'S', 'S', '\n', '\0'};
constexpr unsigned char kRecordMark = 0x00;
constexpr unsigned char kEndMark = 0xFF;
constexpr size_t kXtWidth = 5;
constexpr size_t kBufferSize = size_t{1} << 20;

Status Errno(const std::string& path, const char* what) {
  return Status::System(path + ": " + what + ": " + std::strerror(errno));
}

class File {
 public:
  File() = default;
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd() const { return fd_; }
  void reset(int fd) { fd_ = fd; }
  // Closes now, reporting the result.
  bool Close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_ = -1;
};

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(path, "write failed");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

// Sequential reads of a whole file that knows how many bytes remain, so that a length
// field can be checked before anything is allocated for it.
class Reader {
 public:
  Reader(int fd, std::string path, uint64_t size) : fd_(fd), path_(std::move(path)), left_(size) {}

  uint64_t remaining() const { return left_ + (buf_.size() - pos_); }

  // Exactly n bytes, or Broken("truncated").
  Status Read(size_t n, std::string* out) {
    out->clear();
    if (n > remaining()) return Truncated();
    while (out->size() < n) {
      if (pos_ == buf_.size()) {
        Status s = Fill();
        if (!s.ok()) return s;
      }
      size_t take = std::min(n - out->size(), buf_.size() - pos_);
      out->append(buf_, pos_, take);
      pos_ += take;
    }
    return Status::OK();
  }

  Status ReadByte(unsigned char* c) {
    std::string byte;
    Status s = Read(1, &byte);
    if (s.ok()) *c = static_cast<unsigned char>(byte[0]);
    return s;
  }

  Status ReadVarNum(uint64_t* v) {
    std::string bytes;
    for (size_t i = 0; i < kMaxVarNumSize; i++) {
      unsigned char c = 0;
      Status s = ReadByte(&c);
      if (!s.ok()) return s;
      bytes.push_back(static_cast<char>(c));
      if ((c & 0x80) == 0) {
        size_t pos = 0;
        storage::ReadVarNum(bytes, &pos, v);
        return Status::OK();
      }
    }
    return Status(Code::kBroken, path_ + ": invalid record length in the snapshot");
  }

  Status Truncated() const {
    return Status(Code::kBroken, path_ + ": the snapshot file is truncated");
  }

 private:
  Status Fill() {
    buf_.resize(static_cast<size_t>(std::min<uint64_t>(kBufferSize, left_)));
    pos_ = 0;
    size_t got = 0;
    while (got < buf_.size()) {
      ssize_t n = ::read(fd_, buf_.data() + got, buf_.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno(path_, "read failed");
      if (n == 0) break;  // the file shrank since it was measured
      got += static_cast<size_t>(n);
    }
    buf_.resize(got);
    left_ -= got;
    if (got == 0) return Truncated();
    return Status::OK();
  }

  int fd_;
  std::string path_;
  uint64_t left_;
  std::string buf_;
  size_t pos_ = 0;
};

// One pass over the file; with `db` null it only checks the format.
Status ScanFile(const std::string& path, DB* db, int64_t* count) {
  File file;
  file.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.fd() < 0) {
    if (errno == ENOENT) return Status(Code::kNoRepos, path + ": no such file");
    return Errno(path, "could not open the snapshot file");
  }
  struct stat st;
  if (::fstat(file.fd(), &st) != 0) return Errno(path, "stat failed");
  if (!S_ISREG(st.st_mode)) return Status(Code::kBroken, path + ": not a snapshot file");
  Reader reader(file.fd(), path, static_cast<uint64_t>(st.st_size));
  std::string magic;
  if (!reader.Read(sizeof(kMagic), &magic).ok() ||
      std::memcmp(magic.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status(Code::kBroken, path + ": not a snapshot file (bad magic)");
  }
  const bool persistent = db != nullptr && db->spec().persistent;
  const int64_t now = db != nullptr ? db->Now() : 0;
  *count = 0;
  std::string key, value;
  while (true) {
    unsigned char mark = 0;
    Status s = reader.ReadByte(&mark);
    if (!s.ok()) return s;
    if (mark == kEndMark) return Status::OK();
    if (mark != kRecordMark) {
      return Status(Code::kBroken,
                    path + ": invalid snapshot record at record " + std::to_string(*count));
    }
    uint64_t klen, vlen;
    s = reader.ReadVarNum(&klen);
    if (s.ok()) s = reader.ReadVarNum(&vlen);
    if (!s.ok()) return s;
    // The end mark still has to follow the record.
    if (klen >= reader.remaining() || vlen >= reader.remaining() - klen) {
      return reader.Truncated();
    }
    s = reader.Read(static_cast<size_t>(klen), &key);
    if (s.ok()) s = reader.Read(static_cast<size_t>(vlen), &value);
    if (!s.ok()) return s;
    ++*count;
    if (db == nullptr) continue;
    std::string_view body = value;
    int64_t xt = kXtMax;
    if (!persistent) {
      if (body.size() < kXtWidth) {
        xt = -1;  // an invisible record in Kyoto Cabinet
      } else {
        xt = 0;
        for (size_t i = 0; i < kXtWidth; i++) xt = (xt << 8) | static_cast<unsigned char>(body[i]);
        body.remove_prefix(kXtWidth);
      }
    }
    if (xt < 0 || now > xt) {
      s = db->Remove(key);
      if (!s.ok() && s.code() != Code::kNoRec) return s;
      continue;
    }
    s = db->Set(key, body, xt >= kXtMax ? kNoXt : -xt);
    if (!s.ok()) return s;
  }
}

}  // namespace

Status DumpPseudoSnapshot(DB* db, const std::string& path, int64_t* count) {
  File file;
  file.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (file.fd() < 0) {
    if (errno == ENOENT) return Status(Code::kNoRepos, path + ": no such directory");
    return Errno(path, "could not open the snapshot file");
  }
  auto fail = [&](Status s) {
    file.Close();
    ::unlink(path.c_str());
    return s;
  };
  const bool persistent = db->spec().persistent;
  std::string buf(kMagic, sizeof(kMagic));
  int64_t written = 0;
  Status s = db->ForEachLiveRecord([&](std::string_view key, std::string_view value, int64_t xt) {
    buf.push_back(static_cast<char>(kRecordMark));
    AppendVarNum(key.size(), &buf);
    AppendVarNum(value.size() + (persistent ? 0 : kXtWidth), &buf);
    buf += key;
    if (!persistent) {
      auto stored = static_cast<uint64_t>(std::min(xt, kXtMax));
      for (size_t i = kXtWidth; i > 0; i--) {
        buf.push_back(static_cast<char>((stored >> (8 * (i - 1))) & 0xFF));
      }
    }
    buf += value;
    written++;
    if (buf.size() < kBufferSize) return Status::OK();
    Status w = WriteAll(file.fd(), buf, path);
    buf.clear();
    return w;
  });
  if (!s.ok()) return fail(s);
  buf.push_back(static_cast<char>(kEndMark));
  s = WriteAll(file.fd(), buf, path);
  if (!s.ok()) return fail(s);
  if (::fsync(file.fd()) != 0) return fail(Errno(path, "fsync failed"));
  if (!file.Close()) {
    Status e = Errno(path, "close failed");
    ::unlink(path.c_str());
    return e;
  }
  if (count != nullptr) *count = written;
  return Status::OK();
}

Status LoadPseudoSnapshot(DB* db, const std::string& path, int64_t* count) {
  if (db->readonly()) return Status::NoPerm();
  int64_t records = 0;
  Status s = ScanFile(path, nullptr, &records);
  if (s.ok()) s = ScanFile(path, db, &records);
  if (s.ok() && count != nullptr) *count = records;
  return s;
}

}  // namespace ryoan::storage
