#include "storage/file_hash_engine.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "storage/crc32c.h"
#include "storage/file_hash_index.h"
#include "storage/key_hash.h"
#include "storage/record_log.h"

namespace ryoan::storage {

namespace kch {

struct alignas(64) Shard {
  std::mutex mu;
  SlotTable table{0};
  // Bumped (under mu) by every change of the table or of what its slots point to, so that
  // a cursor can tell that its slot and record are still what it read.
  uint64_t version = 0;
  // Atomic only so that Count() can read it without the lock.
  std::atomic<int64_t> count{0};
};

}  // namespace kch

using kch::DecodeFixed;
using kch::EncodeFixed32;
using kch::EncodeFixed64;
using kch::kFileHeaderSize;
using kch::LocOffset;
using kch::LocSize;
using kch::PackLoc;
using kch::RecordKind;
using kch::RecordView;
using kch::Shard;
using kch::Slot;
using kch::SlotTable;

namespace {

constexpr size_t kShards = 64;
constexpr int kMinBits = 6;
constexpr int kMaxInitialBits = 24;
constexpr int64_t kDefaultBnum = 1048583;  // what KC reports for .kch
constexpr uint64_t kCatchUpChunk = uint64_t{1} << 20;
constexpr size_t kCopyBuffer = size_t{1} << 20;
constexpr auto kRetryAfterFailure = std::chrono::seconds(60);

// The index file: header, (hash, loc) per record shard by shard in table order, CRC-32C.
constexpr char kIndexMagic[8] = {'R', 'Y', 'K', 'C', 'H', 'I', 'X', '1'};
constexpr size_t kIndexHeaderSize = 56;
// KeyHash of this string is stored in the index file: if the hash function ever changes
// (or differs on this host) the index is rebuilt instead of trusted.
constexpr std::string_view kHashProbe = "ryoan kch index";

// Smallest table size holding `records` per shard without being crowded.
int BitsFor(int64_t records) {
  int bits = kMinBits;
  while (bits < kMaxInitialBits && (int64_t{3} << bits) / 4 < records) ++bits;
  return bits;
}

Status Broken(const std::string& message) { return Status(Code::kBroken, message); }

uint64_t NewFileId() {
  std::random_device rd;
  uint64_t id = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return id == 0 ? 1 : id;
}

// Writes a fresh data file with just a header to `path`: used for creation and compaction.
Status CreateDataFile(const std::string& path, uint64_t file_id, int* fd_out) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return kch::ErrnoStatus(path);
  char header[kFileHeaderSize];
  kch::EncodeFileHeader(file_id, header);
  Status status = kch::PwriteFull(fd, header, sizeof(header), 0);
  if (!status.ok()) {
    // A full disk must not leave a stray file behind (nor a compaction's next try find it).
    ::close(fd);
    ::unlink(path.c_str());
    return Status::System(path + ": " + status.message());
  }
  *fd_out = fd;
  return Status::OK();
}

// Holds every shard lock (ascending) for a scope.
class AllShardsLock {
 public:
  AllShardsLock(Shard* shards, size_t n) : shards_(shards), n_(n) {
    for (size_t i = 0; i < n_; ++i) shards_[i].mu.lock();
  }
  ~AllShardsLock() {
    for (size_t i = n_; i-- > 0;) shards_[i].mu.unlock();
  }
  AllShardsLock(const AllShardsLock&) = delete;
  AllShardsLock& operator=(const AllShardsLock&) = delete;

 private:
  Shard* shards_;
  size_t n_;
};

}  // namespace

// ---------------------------------------------------------------------------------------
// Cursor

class FileHashEngine::CursorImpl : public EngineCursor {
 public:
  explicit CursorImpl(FileHashEngine* engine) : engine_(engine) {}

  Status Jump() override {
    std::unique_lock<std::mutex> lock;
    size_t pos;
    bool found;
    Status status = Locate(0, &lock, &pos, &found);
    if (!status.ok() || !found) return Unposition(status);
    return Status::OK();
  }

  Status Jump(std::string_view key) override {
    uint64_t hash = KeyHash(key);
    size_t index = hash & (kShards - 1);
    Shard& shard = engine_->shards_[index];
    std::lock_guard<std::mutex> lock(shard.mu);
    size_t pos;
    bool found;
    Status status = engine_->Find(shard, hash, key, &pos, &found, &buf_, &record_);
    if (!status.ok() || !found) return Unposition(status);
    SetPosition(index, shard, pos, hash, key);
    return Status::OK();
  }

  Status JumpBack() override { return Status::NoImpl(); }
  Status JumpBack(std::string_view) override { return Status::NoImpl(); }
  Status StepBack() override { return Status::NoImpl(); }

  Status Step() override {
    if (!positioned_) return Status::NoRec();
    std::unique_lock<std::mutex> lock;
    size_t pos;
    bool found;
    Status status = SeekFrom(/*inclusive=*/false, &lock, &pos, &found);
    if (!status.ok() || !found) return Unposition(status);
    return Status::OK();
  }

  Status Accept(RecordVisitor& visitor, bool writable, bool step) override {
    if (!positioned_) return Status::NoRec();
    std::unique_lock<std::mutex> lock;
    size_t pos;
    bool found;
    // Inclusive: if our record was removed meanwhile, its successor is the current one.
    Status status = SeekFrom(/*inclusive=*/true, &lock, &pos, &found);
    if (!status.ok() || !found) return Unposition(status);
    Shard& shard = engine_->shards_[shard_];
    Decision decision = visitor.VisitFull(record_.key, record_.value, record_.xt);
    bool removed = false;
    if (writable && decision.op != Decision::kKeep) {
      if (engine_->options_.readonly) return Status::NoPerm();
      status = engine_->Apply(shard, pos, true, record_.size, hash_, record_.key, decision);
      if (!status.ok()) return status;
      removed = decision.op == Decision::kRemove;
    }
    if (removed || step) {
      // The slots are in scan order, and this visit changed at most the visited slot (a
      // removal pulls the entries after it back by one): the successor is the next entry
      // at or (if the record is still there) after pos. Unpositioned past the end is not
      // an error here: the visit itself succeeded.
      pos = NextEntry(shard, removed ? pos : pos + 1);
      if (pos < shard.table.capacity()) {
        status = PositionAt(shard_, shard, pos);
      } else {
        status = Locate(shard_ + 1, &lock, &pos, &found);
        if (status.ok() && !found) positioned_ = false;
      }
    }
    return status;
  }

 private:
  Status Unposition(const Status& status) {
    positioned_ = false;
    return status.ok() ? Status::NoRec() : status;
  }

  static size_t NextEntry(const Shard& shard, size_t p) {
    while (p < shard.table.capacity() && shard.table.at(p).empty()) ++p;
    return p;
  }

  // Positions on the record in slot `pos` of a locked shard, whose record_ is read.
  void SetPosition(size_t index, const Shard& shard, size_t pos, uint64_t hash,
                   std::string_view key) {
    positioned_ = true;
    generation_ = engine_->generation_.load(std::memory_order_relaxed);
    shard_ = index;
    pos_ = pos;
    version_ = shard.version;
    hash_ = hash;
    key_.assign(key);
  }

  // Reads the record in slot `pos` of a locked shard and positions on it.
  Status PositionAt(size_t index, Shard& shard, size_t pos) {
    const Slot& slot = shard.table.at(pos);
    Status status = engine_->ReadAt(slot.loc, &buf_, &record_);
    if (status.ok()) SetPosition(index, shard, pos, slot.hash, record_.key);
    return status;
  }

  // First record in scan order from the start of shard `from`; positions the cursor on it
  // and returns with its shard locked in *lock.
  Status Locate(size_t from, std::unique_lock<std::mutex>* lock, size_t* pos, bool* found) {
    *found = false;
    for (size_t i = from; i < kShards; ++i) {
      Shard& shard = engine_->shards_[i];
      if (lock->owns_lock()) lock->unlock();  // one shard lock at a time
      *lock = std::unique_lock<std::mutex>(shard.mu);
      if (shard.count.load(std::memory_order_relaxed) == 0) continue;
      size_t p = NextEntry(shard, 0);
      if (p < shard.table.capacity()) {
        *pos = p;
        *found = true;
        return PositionAt(i, shard, p);
      }
    }
    if (lock->owns_lock()) lock->unlock();
    return Status::OK();
  }

  // The record at (inclusive) or after the remembered position; positions on it.
  Status SeekFrom(bool inclusive, std::unique_lock<std::mutex>* lock, size_t* pos, bool* found) {
    Shard& shard = engine_->shards_[shard_];
    *lock = std::unique_lock<std::mutex>(shard.mu);
    *found = false;
    if (generation_ != engine_->generation_.load(std::memory_order_relaxed)) {
      lock->unlock();
      return Status::OK();  // cleared since we were positioned
    }
    if (shard.version == version_) {
      // Nothing in the shard changed since we read our record (so neither did the
      // mapping record_ points into): no need to search or read it again.
      *pos = inclusive ? pos_ : NextEntry(shard, pos_ + 1);
    } else {
      Status status = engine_->Seek(shard, hash_, key_, inclusive, pos);
      if (!status.ok()) return status;
    }
    if (*pos < shard.table.capacity()) {
      *found = true;
      if (inclusive && *pos == pos_ && shard.version == version_) return Status::OK();
      return PositionAt(shard_, shard, *pos);
    }
    return Locate(shard_ + 1, lock, pos, found);
  }

  FileHashEngine* engine_;
  bool positioned_ = false;
  uint64_t generation_ = 0;
  size_t shard_ = 0;
  size_t pos_ = 0;        // slot of the current record, valid while the shard's version is
  uint64_t version_ = 0;  // the shard's version when record_ was read
  uint64_t hash_ = 0;
  std::string key_;
  std::string buf_;  // holds record_ when it was read with pread
  RecordView record_;
};

// ---------------------------------------------------------------------------------------
// Open and close

FileHashEngine::FileHashEngine(std::string path, const Options& options)
    : path_(std::move(path)),
      options_(options),
      shard_count_(kShards),
      initial_bits_(BitsFor(options.bnum > 0 ? options.bnum / static_cast<int64_t>(kShards) : 0)),
      shards_(new Shard[kShards]) {
  for (size_t i = 0; i < shard_count_; ++i) shards_[i].table.Reset(initial_bits_);
}

Status FileHashEngine::Open(const std::string& path, const Options& options,
                            std::unique_ptr<FileHashEngine>* engine) {
  std::unique_ptr<FileHashEngine> e(new FileHashEngine(path, options));
  Status status = e->OpenFiles();
  if (!status.ok()) {
    e->closed_ = true;  // nothing of ours to save
    return status;
  }
  if (!options.readonly && options.background_compaction) {
    e->bg_thread_ = std::thread([raw = e.get()] { raw->CompactionLoop(); });
  }
  *engine = std::move(e);
  return Status::OK();
}

Status FileHashEngine::OpenFiles() {
  const bool readonly = options_.readonly;
  fd_ = ::open(path_.c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
  if (fd_ < 0 && errno == ENOENT && !readonly) {
    // Create through a rename, so that a crash never leaves a file without a whole header.
    std::string tmp = path_ + ".tmp";
    int fd;
    Status status = CreateDataFile(tmp, NewFileId(), &fd);
    if (!status.ok()) return status;
    bool renamed = ::fdatasync(fd) == 0 && ::rename(tmp.c_str(), path_.c_str()) == 0;
    ::close(fd);
    if (!renamed) return kch::ErrnoStatus(path_);
    status = kch::SyncDirectoryOf(path_);
    if (!status.ok()) return status;
    fd_ = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd_ < 0) {
    return Status(errno == ENOENT ? Code::kNoRepos : Code::kSystem,
                  path_ + ": " + std::strerror(errno));
  }
  // Advisory lock: one writer or several readers, across processes and within one.
  if (!options_.nolock) {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(options_.lock_wait);
    while (::flock(fd_, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) return kch::ErrnoStatus(path_);
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::System(path_ + ": the database file is locked by another opener");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) return kch::ErrnoStatus(path_);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size == 0 && !readonly) {
    // An empty file (e.g. made by touch) becomes a new database.
    char header[kFileHeaderSize];
    kch::EncodeFileHeader(NewFileId(), header);
    Status status = kch::PwriteFull(fd_, header, sizeof(header), 0);
    if (!status.ok()) return status;
    size = kFileHeaderSize;
  }
  char header[kFileHeaderSize];
  size_t got = 0;
  Status status = kch::PreadFull(fd_, header, sizeof(header), 0, &got);
  if (!status.ok()) return status;
  if (!kch::DecodeFileHeader(std::string_view(header, got), &file_id_)) {
    return Broken(path_ + ": not a Ryoan hash database file");
  }
  end_ = size;
  size_.store(static_cast<int64_t>(end_), std::memory_order_relaxed);

  bool loaded = false;
  status = LoadIndexFile(&loaded);
  if (!status.ok()) return status;
  if (!loaded) {
    recovered_ = true;
    status = RebuildIndex();
    if (!status.ok()) return status;
  }
  size_.store(static_cast<int64_t>(end_), std::memory_order_relaxed);
  AttachMapping();
  if (!readonly) {
    // From now on the index in memory is the only truth: a crash must not find the old
    // index file and trust it. A leftover compaction file is useless too.
    if (::unlink((path_ + ".idx").c_str()) == 0) {
      status = kch::SyncDirectoryOf(path_);
      if (!status.ok()) return status;
    }
    ::unlink((path_ + ".tmp").c_str());
  }
  return Status::OK();
}

Status FileHashEngine::LoadIndexFile(bool* loaded) {
  *loaded = false;
  std::string path = path_ + ".idx";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::OK();  // no clean shutdown recorded
  struct stat st;
  std::string data;
  size_t got = 0;
  Status status;
  if (::fstat(fd, &st) == 0) {
    data.resize(static_cast<size_t>(st.st_size));
    status = kch::PreadFull(fd, data.data(), data.size(), 0, &got);
  }
  ::close(fd);
  if (!status.ok() || got != data.size()) return Status::OK();
  // Any doubt means a rebuild, never an error: the data file is the truth.
  if (data.size() < kIndexHeaderSize + 4 || (data.size() - kIndexHeaderSize - 4) % 16 != 0) {
    return Status::OK();
  }
  const char* p = data.data();
  size_t body = data.size() - 4;
  if (std::memcmp(p, kIndexMagic, 8) != 0 ||
      static_cast<uint32_t>(DecodeFixed(p + body, 4)) != Crc32cExtend(0, p, body) ||
      DecodeFixed(p + 8, 8) != file_id_ || DecodeFixed(p + 16, 8) != end_ ||
      DecodeFixed(p + 40, 8) != KeyHash(kHashProbe)) {
    return Status::OK();
  }
  uint64_t count = DecodeFixed(p + 24, 8);
  if (count != (body - kIndexHeaderSize) / 16) return Status::OK();
  int bits = BitsFor(static_cast<int64_t>(count / kShards + 1));
  for (size_t i = 0; i < kShards; ++i) shards_[i].table.Reset(std::max(bits, initial_bits_));
  // Entries come shard by shard in (hash, key) order, so each goes to the first free slot
  // from its home; a hash out of order means the file is not what we wrote.
  std::vector<uint64_t> last_hash(kShards, 0);
  bool ok = true;
  for (uint64_t i = 0; i < count && ok; ++i) {
    const char* e = p + kIndexHeaderSize + i * 16;
    Slot slot{DecodeFixed(e, 8), DecodeFixed(e + 8, 8)};
    size_t index = slot.hash & (kShards - 1);
    SlotTable& table = shards_[index].table;
    uint64_t offset = LocOffset(slot.loc);
    ok = slot.hash >= last_hash[index] && offset >= kFileHeaderSize && offset < end_;
    last_hash[index] = slot.hash;
    for (; ok;) {
      size_t pos = table.Home(slot.hash);
      while (pos < table.capacity() && !table.at(pos).empty()) ++pos;
      if (!table.crowded() && table.InsertAt(pos, slot)) break;
      table.Grow();
    }
  }
  if (!ok) {
    for (size_t i = 0; i < kShards; ++i) shards_[i].table.Reset(initial_bits_);
    return Status::OK();
  }
  for (size_t i = 0; i < kShards; ++i) {
    shards_[i].count.store(static_cast<int64_t>(shards_[i].table.count()));
  }
  live_bytes_.store(static_cast<int64_t>(DecodeFixed(p + 32, 8)));
  *loaded = true;
  return Status::OK();
}

// Replays every record from the start. The first bytes that are not a whole valid record
// end the log: a torn append from a crash. A writer cuts them off so that new appends
// follow the last good record.
Status FileHashEngine::RebuildIndex() {
  kch::RecordScanner scanner(fd_, kFileHeaderSize, end_);
  RecordView record;
  RecordView old;
  std::string buf;
  uint64_t offset;
  int64_t live = 0;
  while (scanner.Next(&record, &offset)) {
    uint64_t hash = KeyHash(record.key);
    Shard& shard = ShardOf(hash);
    size_t pos;
    bool found;
    Status status = Find(shard, hash, record.key, &pos, &found, &buf, &old);
    if (!status.ok()) return status;
    if (record.kind == RecordKind::kTombstone) {
      if (found) {
        shard.table.EraseAt(pos);
        live -= static_cast<int64_t>(old.size);
      }
      continue;
    }
    uint64_t loc = PackLoc(offset, record.size);
    if (found) {
      shard.table.at(pos).loc = loc;
      live += static_cast<int64_t>(record.size) - static_cast<int64_t>(old.size);
    } else {
      status = InsertNew(shard, hash, record.key, pos, loc);
      if (!status.ok()) return status;
      live += static_cast<int64_t>(record.size);
    }
  }
  if (!scanner.status().ok()) return scanner.status();
  bool damaged = scanner.damaged();
  bool trim = damaged;
  if (damaged) {
    // Zeros to the end are the preallocated tail of a file that was not closed cleanly:
    // the log simply ends there.
    bool zero = false;
    Status status = kch::IsZeroRange(fd_, scanner.position(), end_, &zero);
    if (!status.ok()) return status;
    damaged = !zero;
  }
  if (damaged && options_.norepair) {
    return Broken(path_ + ": the data file has a torn tail at offset " +
                  std::to_string(scanner.position()) + " and automatic repair is disabled (-onr)");
  }
  if (trim && !options_.readonly) {
    if (::ftruncate(fd_, static_cast<off_t>(scanner.position())) != 0 || ::fdatasync(fd_) != 0) {
      return kch::ErrnoStatus(path_);
    }
  }
  end_ = scanner.position();
  for (size_t i = 0; i < kShards; ++i) {
    shards_[i].count.store(static_cast<int64_t>(shards_[i].table.count()));
  }
  live_bytes_.store(live);
  return Status::OK();
}

Status FileHashEngine::WriteIndexFile() {
  std::string data(kIndexHeaderSize, '\0');
  std::memcpy(data.data(), kIndexMagic, 8);
  EncodeFixed64(data.data() + 8, file_id_);
  EncodeFixed64(data.data() + 16, end_);
  EncodeFixed64(data.data() + 32, static_cast<uint64_t>(live_bytes_.load()));
  EncodeFixed64(data.data() + 40, KeyHash(kHashProbe));
  uint64_t count = 0;
  char entry[16];
  for (size_t i = 0; i < kShards; ++i) {
    const SlotTable& table = shards_[i].table;
    for (size_t p = 0; p < table.capacity(); ++p) {
      if (table.at(p).empty()) continue;
      EncodeFixed64(entry, table.at(p).hash);
      EncodeFixed64(entry + 8, table.at(p).loc);
      data.append(entry, 16);
      ++count;
    }
  }
  EncodeFixed64(data.data() + 24, count);
  char crc[4];
  EncodeFixed32(crc, Crc32cExtend(0, data.data(), data.size()));
  data.append(crc, 4);

  std::string tmp = path_ + ".idx.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return kch::ErrnoStatus(tmp);
  Status status = kch::PwriteFull(fd, data.data(), data.size(), 0);
  if (status.ok() && ::fdatasync(fd) != 0) status = kch::ErrnoStatus(tmp);
  ::close(fd);
  if (status.ok() && ::rename(tmp.c_str(), (path_ + ".idx").c_str()) != 0) {
    status = kch::ErrnoStatus(tmp);
  }
  if (status.ok()) status = kch::SyncDirectoryOf(path_);
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

void FileHashEngine::Close() {
  if (bg_thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(bg_mu_);
      bg_stop_ = true;
    }
    bg_cv_.notify_all();
    bg_thread_.join();
  }
  if (fd_ < 0) return;
  map_.Detach();
  if (!options_.readonly && !closed_) {
    // The index may only be trusted if every record it points to is on disk, and it
    // describes a file that ends with its last record.
    if (::ftruncate(fd_, static_cast<off_t>(end_)) == 0 && ::fdatasync(fd_) == 0) {
      WriteIndexFile().ok();
    }
  }
  ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

FileHashEngine::~FileHashEngine() { Close(); }

void FileHashEngine::AttachMapping() {
  // Without the file lock another process may shrink the file under us: a store or load in
  // a mapping past its end would be a SIGBUS, where pread/pwrite only fail.
  if (options_.nolock) return;
  map_.Attach(fd_, end_, !options_.readonly);
}

// ---------------------------------------------------------------------------------------
// Index access

Shard& FileHashEngine::ShardOf(uint64_t hash) const { return shards_[hash & (kShards - 1)]; }

Status FileHashEngine::ReadAt(uint64_t loc, std::string* buf, RecordView* record,
                              bool via_map) const {
  uint64_t offset = LocOffset(loc);
  uint64_t size = LocSize(loc);
  uint64_t need = 0;
  auto broken = [&] {
    return Broken(path_ + ": broken record at offset " + std::to_string(offset));
  };
  // Bytes [offset, offset + n): in the mapping, else read into *buf.
  auto fetch = [&](uint64_t n, std::string_view* out) {
    if (const char* p = via_map ? map_.Read(offset, n) : nullptr) {
      *out = std::string_view(p, n);
      return Status::OK();
    }
    buf->resize(n);
    size_t got = 0;
    Status status = kch::PreadFull(fd_, buf->data(), n, offset, &got);
    *out = std::string_view(buf->data(), got);
    return status;
  };
  std::string_view data;
  if (size == 0) {  // a big record: its header says how big
    Status status = fetch(kch::kRecordHeaderSize, &data);
    if (!status.ok()) return status;
    // A damaged size field must not make us allocate gigabytes: the record ends in the file.
    if (kch::DecodeRecord(data, record, &need) != kch::Decoded::kShort ||
        need > static_cast<uint64_t>(Size()) - offset) {
      return broken();
    }
    size = need;
  }
  Status status = fetch(size, &data);
  if (!status.ok()) return status;
  if (data.size() != size || kch::DecodeRecord(data, record, &need) != kch::Decoded::kOk ||
      record->kind != RecordKind::kValue) {
    return broken();
  }
  return Status::OK();
}

Status FileHashEngine::Find(Shard& shard, uint64_t hash, std::string_view key, size_t* pos,
                            bool* found, std::string* buf, RecordView* record) const {
  const SlotTable& table = shard.table;
  size_t p = table.Home(hash);
  *found = false;
  // The run from the home slot up to the first empty slot holds every entry that can
  // precede (hash, key) from here on.
  for (; p < table.capacity(); ++p) {
    const Slot& slot = table.at(p);
    if (slot.empty() || slot.hash > hash) break;
    if (slot.hash < hash) continue;
    Status status = ReadAt(slot.loc, buf, record);
    if (!status.ok()) return status;
    int c = record->key.compare(key);
    if (c == 0) *found = true;
    if (c >= 0) break;
  }
  *pos = p;
  return Status::OK();
}

Status FileHashEngine::Seek(Shard& shard, uint64_t hash, std::string_view key, bool inclusive,
                            size_t* pos) const {
  const SlotTable& table = shard.table;
  std::string buf;
  RecordView record;
  size_t p = table.Home(hash);
  // Everything before the home slot precedes (hash, key); from there the entries are in
  // order, with gaps.
  for (; p < table.capacity(); ++p) {
    const Slot& slot = table.at(p);
    if (slot.empty() || slot.hash < hash) continue;
    if (slot.hash > hash) break;
    Status status = ReadAt(slot.loc, &buf, &record);
    if (!status.ok()) return status;
    int c = record.key.compare(key);
    if (c > 0 || (c == 0 && inclusive)) break;
  }
  *pos = p;
  return Status::OK();
}

Status FileHashEngine::InsertNew(Shard& shard, uint64_t hash, std::string_view key, size_t pos,
                                 uint64_t loc) {
  for (;;) {
    if (!shard.table.crowded() && shard.table.InsertAt(pos, Slot{hash, loc})) return Status::OK();
    shard.table.Grow();
    std::string buf;
    RecordView record;
    bool found;
    Status status = Find(shard, hash, key, &pos, &found, &buf, &record);
    if (!status.ok()) return status;
  }
}

// ---------------------------------------------------------------------------------------
// Visits and writes

Status FileHashEngine::Accept(std::string_view key, RecordVisitor& visitor, bool writable) {
  uint64_t hash = KeyHash(key);
  Shard& shard = ShardOf(hash);
  std::lock_guard<std::mutex> lock(shard.mu);
  return VisitLocked(shard, hash, key, visitor, writable);
}

Status FileHashEngine::VisitLocked(Shard& shard, uint64_t hash, std::string_view key,
                                   RecordVisitor& visitor, bool writable) {
  std::string buf;
  RecordView record;
  size_t pos;
  bool found;
  Status status = Find(shard, hash, key, &pos, &found, &buf, &record);
  if (!status.ok()) return status;
  Decision decision =
      found ? visitor.VisitFull(key, record.value, record.xt) : visitor.VisitEmpty(key);
  if (!writable || decision.op == Decision::kKeep) return Status::OK();
  if (options_.readonly) return Status::NoPerm();
  return Apply(shard, pos, found, found ? record.size : 0, hash, key, decision);
}

Status FileHashEngine::Apply(Shard& shard, size_t pos, bool found, uint64_t old_size, uint64_t hash,
                             std::string_view key, const Decision& decision) {
  if (decision.op == Decision::kRemove && !found) return Status::OK();
  uint64_t loc;
  uint64_t written;
  Status status;
  if (decision.op == Decision::kRemove) {
    status = Append(RecordKind::kTombstone, key, {}, 0, &loc, &written);
  } else {
    if (key.size() > kch::kMaxFieldSize ||
        decision.value.size() > kch::kMaxFieldSize - key.size()) {
      return Status::Invalid("record too large");
    }
    // Key and value may point into the old record: appending never overwrites it.
    status = Append(RecordKind::kValue, key, decision.value, decision.xt, &loc, &written);
  }
  if (!status.ok()) return status;
  ++shard.version;
  int64_t size = static_cast<int64_t>(written);
  if (decision.op == Decision::kRemove) {
    shard.table.EraseAt(pos);
    shard.count.fetch_sub(1, std::memory_order_relaxed);
    live_bytes_.fetch_sub(static_cast<int64_t>(old_size), std::memory_order_relaxed);
  } else if (found) {
    shard.table.at(pos).loc = loc;
    live_bytes_.fetch_add(size - static_cast<int64_t>(old_size), std::memory_order_relaxed);
  } else {
    status = InsertNew(shard, hash, key, pos, loc);
    if (!status.ok()) return status;
    shard.count.fetch_add(1, std::memory_order_relaxed);
    live_bytes_.fetch_add(size, std::memory_order_relaxed);
  }
  MaybeScheduleCompaction();
  return Status::OK();
}

void FileHashEngine::CutOffFailedAppend(uint64_t n) {
  // Bytes below map_.allocated() are mapped: the file must not shrink under them, so they are
  // zeroed (their blocks exist, so this needs no space), and only what lies beyond is cut.
  uint64_t allocated = map_.allocated();
  if (end_ < allocated) {
    std::string zeros(std::min(n, allocated - end_), '\0');
    (void)kch::PwriteFull(fd_, zeros.data(), zeros.size(), end_);
  }
  (void)::ftruncate(fd_, static_cast<off_t>(std::max(end_, allocated)));
}

Status FileHashEngine::Append(RecordKind kind, std::string_view key, std::string_view value,
                              int64_t xt, uint64_t* loc, uint64_t* size) {
  const uint64_t n = kch::RecordSize(key, value);
  std::lock_guard<std::mutex> lock(append_mu_);
  if (end_ + n > kch::kMaxOffset) return Status::System(path_ + ": file too large");
  // On failure end_ stays put: the next append overwrites whatever part was written.
  if (char* p = map_.Allocate(end_, n)) {
    kch::EncodeRecordTo(p, kind, key, value, xt);
    if (options_.autosync) {
      Status status = map_.Sync(end_, end_ + n);
      if (!status.ok()) return Status::System(path_ + ": " + status.message());
    }
  } else {
    thread_local std::string encoded;
    kch::EncodeRecord(kind, key, value, xt, &encoded);
    Status status = kch::PwriteFull(fd_, encoded.data(), n, end_);
    map_.NotePwrite(status.ok());
    if (encoded.capacity() > (size_t{1} << 20)) std::string().swap(encoded);
    if (!status.ok()) {
      CutOffFailedAppend(n);
      return Status::System(path_ + ": " + status.message());
    }
  }
  if (options_.autosync && ::fdatasync(fd_) != 0) {
    Status status = kch::ErrnoStatus("fdatasync");
    return Status::System(path_ + ": " + status.message());
  }
  *loc = PackLoc(end_, n);
  *size = n;
  end_ += n;
  size_.store(static_cast<int64_t>(end_), std::memory_order_relaxed);
  return Status::OK();
}

Status FileHashEngine::AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                                  bool writable) {
  std::vector<uint64_t> hashes(keys.size());
  uint64_t mask = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    hashes[i] = KeyHash(keys[i]);
    mask |= uint64_t{1} << (hashes[i] & (kShards - 1));
  }
  // Ascending shard order: two bulk operations can never wait on each other in a cycle.
  for (size_t i = 0; i < kShards; ++i) {
    if (mask & (uint64_t{1} << i)) shards_[i].mu.lock();
  }
  Status status;
  for (size_t i = 0; i < keys.size() && status.ok(); ++i) {
    status = VisitLocked(ShardOf(hashes[i]), hashes[i], keys[i], visitor, writable);
  }
  for (size_t i = kShards; i-- > 0;) {
    if (mask & (uint64_t{1} << i)) shards_[i].mu.unlock();
  }
  return status;
}

Status FileHashEngine::Iterate(RecordVisitor& visitor, bool writable) {
  AllShardsLock lock(shards_.get(), kShards);
  std::string buf;
  RecordView record;
  for (size_t i = 0; i < kShards; ++i) {
    Shard& shard = shards_[i];
    for (size_t p = 0; p < shard.table.capacity();) {
      Slot slot = shard.table.at(p);
      if (slot.empty()) {
        ++p;
        continue;
      }
      Status status = ReadAt(slot.loc, &buf, &record);
      if (!status.ok()) return status;
      Decision decision = visitor.VisitFull(record.key, record.value, record.xt);
      if (writable && decision.op != Decision::kKeep) {
        if (options_.readonly) return Status::NoPerm();
        status = Apply(shard, p, true, record.size, slot.hash, record.key, decision);
        if (!status.ok()) return status;
        if (decision.op == Decision::kRemove) continue;  // the next entry moved into p
      }
      ++p;
    }
  }
  return Status::OK();
}

std::unique_ptr<EngineCursor> FileHashEngine::NewCursor() {
  return std::make_unique<CursorImpl>(this);
}

Status FileHashEngine::Clear() { return ClearWith({}); }

Status FileHashEngine::ClearWith(const std::function<void()>& while_locked) {
  if (options_.readonly) return Status::NoPerm();
  AllShardsLock lock(shards_.get(), kShards);
  std::lock_guard<std::mutex> append_lock(append_mu_);
  // A new file id: nothing written for the old contents (an index file) can match again.
  uint64_t file_id = NewFileId();
  char header[kFileHeaderSize];
  kch::EncodeFileHeader(file_id, header);
  map_.Detach();  // no page of it may outlive the truncation
  if (::ftruncate(fd_, static_cast<off_t>(kFileHeaderSize)) != 0) return kch::ErrnoStatus(path_);
  Status status = kch::PwriteFull(fd_, header, sizeof(header), 0);
  if (status.ok() && ::fdatasync(fd_) != 0) status = kch::ErrnoStatus(path_);
  if (!status.ok()) return status;  // unmapped: pread/pwrite from now on
  file_id_ = file_id;
  end_ = kFileHeaderSize;
  AttachMapping();
  size_.store(static_cast<int64_t>(end_), std::memory_order_relaxed);
  live_bytes_.store(0, std::memory_order_relaxed);
  for (size_t i = 0; i < kShards; ++i) {
    shards_[i].table.Reset(initial_bits_);
    shards_[i].count.store(0, std::memory_order_relaxed);
    ++shards_[i].version;
  }
  generation_.fetch_add(1, std::memory_order_relaxed);
  if (while_locked) while_locked();
  return Status::OK();
}

Status FileHashEngine::Synchronize(bool hard) {
  if (!hard || options_.readonly) return Status::OK();  // soft: already in the page cache
  std::lock_guard<std::mutex> lock(append_mu_);
  Status status = map_.Sync(0, end_);
  if (!status.ok()) return status;
  if (::fdatasync(fd_) != 0) return kch::ErrnoStatus(path_);
  return Status::OK();
}

int64_t FileHashEngine::Count() const {
  int64_t total = 0;
  for (size_t i = 0; i < kShards; ++i) total += shards_[i].count.load(std::memory_order_relaxed);
  return total;
}

int64_t FileHashEngine::Size() const { return size_.load(std::memory_order_relaxed); }

int64_t FileHashEngine::garbage() const {
  return Size() - static_cast<int64_t>(kFileHeaderSize) -
         live_bytes_.load(std::memory_order_relaxed);
}

void FileHashEngine::AddStatus(std::map<std::string, std::string>* status) const {
  (*status)["bnum"] = std::to_string(options_.bnum > 0 ? options_.bnum : kDefaultBnum);
  (*status)["realsize"] = std::to_string(Size());
  (*status)["garbage"] = std::to_string(garbage());
  (*status)["compactions"] = std::to_string(compactions_.load());
  (*status)["recovered"] = recovered_ ? "1" : "0";
}

// ---------------------------------------------------------------------------------------
// Compaction

bool FileHashEngine::CompactionWanted() const {
  int64_t waste = garbage();
  return waste >= options_.compact_min_garbage &&
         static_cast<double>(waste) >= options_.compact_ratio * static_cast<double>(Size());
}

void FileHashEngine::MaybeScheduleCompaction() {
  if (!bg_thread_.joinable() || !CompactionWanted()) return;
  if (bg_scheduled_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(bg_mu_);
    bg_wanted_ = true;
  }
  bg_cv_.notify_one();
}

void FileHashEngine::CompactionLoop() {
  std::unique_lock<std::mutex> lock(bg_mu_);
  for (;;) {
    bg_cv_.wait(lock, [this] { return bg_stop_ || bg_wanted_; });
    if (bg_stop_) return;
    bg_wanted_ = false;
    lock.unlock();
    Status status = Compact();
    lock.lock();
    // After a failure (a full disk, say) wait before trying again, rather than on every write.
    if (!status.ok()) bg_cv_.wait_for(lock, kRetryAfterFailure, [this] { return bg_stop_; });
    // Writes made during the compaction found it scheduled and asked for nothing: if they
    // left enough garbage, go again rather than wait for a write that may never come.
    if (status.ok() && CompactionWanted()) {
      bg_wanted_ = true;
    } else {
      bg_scheduled_.store(false);
    }
  }
}

Status FileHashEngine::Compact() {
  if (options_.readonly) return Status::OK();
  std::lock_guard<std::mutex> lock(compact_mu_);
  return CompactLocked();
}

namespace {

// Appends to the new data file through a buffer.
class FileWriter {
 public:
  FileWriter(int fd, uint64_t pos) : fd_(fd), pos_(pos) {}
  uint64_t pos() const { return pos_ + buf_.size(); }
  Status Add(std::string_view data) {
    buf_.append(data);
    return buf_.size() >= kCopyBuffer ? Flush() : Status::OK();
  }
  Status Flush() {
    Status status = kch::PwriteFull(fd_, buf_.data(), buf_.size(), pos_);
    pos_ += buf_.size();
    buf_.clear();
    return status;
  }

 private:
  int fd_;
  uint64_t pos_;
  std::string buf_;
};

// Copies bytes [from, to) of `src` to `out` verbatim.
Status CopyRange(int src, uint64_t from, uint64_t to, FileWriter* out) {
  std::string buf;
  while (from < to) {
    buf.resize(std::min<uint64_t>(to - from, kCopyBuffer));
    size_t got = 0;
    Status status = kch::PreadFull(src, buf.data(), buf.size(), from, &got);
    if (!status.ok()) return status;
    if (got != buf.size()) return Status::System("compaction: data file shrank");
    status = out->Add(buf);
    if (!status.ok()) return status;
    from += got;
  }
  return Status::OK();
}

}  // namespace

// Caller holds compact_mu_. Three phases:
//  1. With no lock held for long, copy each shard's live records that lie below end0 (the
//     file end when we started) into a new file, remembering old -> new offsets.
//  2. Copy the records appended since end0 verbatim, in chunks, until little is left. A
//     verbatim copy keeps their relative offsets, and replaying them after the compacted
//     records gives the same final state as the old file.
//  3. Under every lock: copy the rest, make the new file durable, rename it over the old
//     one, and remap every slot. Only phase 3 blocks readers and writers.
Status FileHashEngine::CompactLocked() {
  const uint64_t generation = generation_.load();
  uint64_t end0;
  int old_fd;  // only compaction replaces fd_, so it stays open while we read it
  {
    std::lock_guard<std::mutex> lock(append_mu_);
    end0 = end_;
    old_fd = fd_;
  }
  if (garbage() <= 0) return Status::OK();

  std::string tmp = path_ + ".tmp";
  const uint64_t new_id = NewFileId();
  int new_fd = -1;
  Status status = CreateDataFile(tmp, new_id, &new_fd);
  if (!status.ok()) return status;
  auto abandon = [&](Status why) {
    ::close(new_fd);
    ::unlink(tmp.c_str());
    // A Clear() meanwhile invalidates the copy; that is not a failure.
    return generation_.load() != generation ? Status::OK() : why;
  };

  // Phase 1.
  FileWriter out(new_fd, kFileHeaderSize);
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> moved(kShards);  // old offset -> loc
  std::vector<Slot> slots;
  std::string buf;
  RecordView record;
  for (size_t i = 0; i < kShards; ++i) {
    slots.clear();
    {
      std::lock_guard<std::mutex> lock(shards_[i].mu);
      const SlotTable& table = shards_[i].table;
      for (size_t p = 0; p < table.capacity(); ++p) {
        const Slot& slot = table.at(p);
        if (!slot.empty() && LocOffset(slot.loc) < end0) slots.push_back(slot);
      }
    }
    for (const Slot& slot : slots) {
      // Read through the old fd we captured (ReadAt uses fd_, the same file here), not the
      // mapping: holding no lock, we must not touch what a Clear() may unmap.
      status = ReadAt(slot.loc, &buf, &record, /*via_map=*/false);
      if (!status.ok()) return abandon(status);
      uint64_t new_loc = PackLoc(out.pos(), record.size);
      status = out.Add(std::string_view(buf.data(), record.size));
      if (!status.ok()) return abandon(status);
      moved[i].emplace_back(LocOffset(slot.loc), new_loc);
    }
    std::sort(moved[i].begin(), moved[i].end());
  }

  // Phase 2.
  const uint64_t delta_base = out.pos();
  uint64_t from = end0;
  for (;;) {
    uint64_t to;
    {
      std::lock_guard<std::mutex> lock(append_mu_);
      to = end_;
    }
    if (to < from || to - from < kCatchUpChunk) break;
    status = CopyRange(old_fd, from, to, &out);
    if (!status.ok()) return abandon(status);
    from = to;
  }
  status = out.Flush();
  if (status.ok() && ::fdatasync(new_fd) != 0) status = kch::ErrnoStatus(tmp);
  if (!status.ok()) return abandon(status);

  // Phase 3.
  AllShardsLock all(shards_.get(), kShards);
  std::lock_guard<std::mutex> append_lock(append_mu_);
  if (generation_.load() != generation) return abandon(Status::OK());
  status = CopyRange(old_fd, from, end_, &out);
  if (status.ok()) status = out.Flush();
  if (!status.ok()) return abandon(status);
  // Work out every new location before touching anything, so that a surprise aborts cleanly.
  std::vector<std::vector<uint64_t>> remapped(kShards);
  for (size_t i = 0; i < kShards; ++i) {
    const SlotTable& table = shards_[i].table;
    remapped[i].reserve(table.count());
    for (size_t p = 0; p < table.capacity(); ++p) {
      const Slot& slot = table.at(p);
      if (slot.empty()) continue;
      uint64_t offset = LocOffset(slot.loc);
      if (offset >= end0) {
        remapped[i].push_back(PackLoc(offset - end0 + delta_base, 0) | LocSize(slot.loc));
        continue;
      }
      auto it =
          std::lower_bound(moved[i].begin(), moved[i].end(), std::make_pair(offset, uint64_t{0}));
      if (it == moved[i].end() || it->first != offset) {
        return abandon(Status::Logic(path_ + ": compaction lost track of a record"));
      }
      remapped[i].push_back(it->second);
    }
  }
  if (::fdatasync(new_fd) != 0) return abandon(kch::ErrnoStatus(tmp));
  if (::flock(new_fd, LOCK_EX | LOCK_NB) != 0) return abandon(kch::ErrnoStatus(tmp));
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return abandon(kch::ErrnoStatus(tmp));
  // The rename is done: from here on the new file is the database, whatever else fails.
  kch::SyncDirectoryOf(path_).ok();
  for (size_t i = 0; i < kShards; ++i) {
    SlotTable& table = shards_[i].table;
    size_t next = 0;
    for (size_t p = 0; p < table.capacity(); ++p) {
      if (!table.at(p).empty()) table.at(p).loc = remapped[i][next++];
    }
    ++shards_[i].version;  // cursors' records point into the old mapping
  }
  map_.Detach();
  ::close(old_fd);
  fd_ = new_fd;
  file_id_ = new_id;
  end_ = out.pos();
  AttachMapping();
  size_.store(static_cast<int64_t>(end_), std::memory_order_relaxed);
  compactions_.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

}  // namespace ryoan::storage
