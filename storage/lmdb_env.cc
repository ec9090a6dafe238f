#include "storage/lmdb_env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "storage/write_probe.h"

namespace ryoan::storage::lmdb {
namespace {

// ktserver runs up to 64 workers plus I/O threads; every pooled read transaction keeps a
// slot, so leave plenty (a slot is 64 bytes of the lock file).
constexpr unsigned kMaxReaders = 1024;
constexpr size_t kMaxIdlePerPool = 64;
constexpr size_t kMinMapSize = 64 << 10;

int ThreadStripe() {
  static std::atomic<int> next{0};
  thread_local const int stripe = next.fetch_add(1, std::memory_order_relaxed);
  return stripe;
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

}  // namespace

Status Error(const std::string& path, const char* what, int rc) {
  if (rc == kBadRecord) {
    return Status(Code::kBroken,
                  path + ": broken database file (" + what + ": a record fails its checksum)");
  }
  std::string reason = mdb_strerror(rc);
  switch (rc) {
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return Status::Invalid(path + ": not a database file (" + reason + ")");
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
      return Status(Code::kBroken, path + ": broken database file (" + reason + ")");
    case ENOENT:
      return Status(Code::kNoRepos, path + ": " + what + ": " + reason);
    default:
      return Status::System(path + ": " + what + ": " + reason);
  }
}

// ---------------------------------------------------------------------------------------
// Gate

int Gate::Enter() {
  int stripe = ThreadStripe() % kStripes;
  for (;;) {
    stripes_[stripe].holders.fetch_add(1);  // seq_cst, paired with Exclusive's store
    if (!closed_.load()) return stripe;
    stripes_[stripe].holders.fetch_sub(1);
    std::lock_guard wait(mu_);  // held by Exclusive until the gate reopens
  }
}

void Gate::Leave(int stripe) { stripes_[stripe].holders.fetch_sub(1, std::memory_order_release); }

void Gate::WaitEmpty() {
  for (;;) {
    int64_t holders = 0;
    for (const Stripe& stripe : stripes_) holders += stripe.holders.load();
    if (holders == 0) return;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// ---------------------------------------------------------------------------------------
// Env

Status Env::Open(const std::string& path, const Options& options, std::unique_ptr<Env>* out) {
  std::unique_ptr<Env> env(new Env);
  env->path_ = path;
  env->options_ = options;
  env->readonly_ = options.readonly;
  int rc = env->OpenHandle(/*writemap=*/false, /*used=*/0);
  if (rc != 0) return Error(path, "open", rc);

  // Pages past the end of a truncated file would fault (SIGBUS) when read: refuse them.
  int64_t needed = env->DataSize();
  int64_t size = env->FileSize();
  if (size < needed) {
    return Status(Code::kBroken, path +
                                     ": not a database file (truncated: " + std::to_string(size) +
                                     " of " + std::to_string(needed) + " bytes)");
  }
  if (!options.readonly) {
    // Reopened for writing only now that the file is known to be whole: opening with
    // MDB_WRITEMAP extends the file to the map size, which would hide a truncation. (With
    // fsync at every commit, LMDB would msync the whole map per commit: pwrite is cheaper.)
    mdb_env_close(env->env_);
    env->env_ = nullptr;
    rc = env->OpenHandle(/*writemap=*/!options.sync_each_commit, static_cast<size_t>(needed));
    if (rc != 0) return Error(path, "open", rc);
  }
  env->warmer_ = std::make_unique<MapWarmer>([raw = env.get()](const auto& fn) {
    const int stripe = raw->gate_.Enter();
    MapWarmer::Region region;
    const uintptr_t base = raw->map_base_.load(std::memory_order_relaxed);
    if (base != 0 && raw->env_ != nullptr) {
      // Never past the file: a page there is not in the page cache, and LMDB's own pages
      // past the committed ones are of no use to readers.
      const int64_t file = std::max<int64_t>(raw->FileSize(), 0);
      region.base = reinterpret_cast<const char*>(base);
      region.end = std::min(
          {static_cast<size_t>(raw->DataSize()), raw->map_size(), static_cast<size_t>(file)});
      region.generation = raw->map_generation_.load(std::memory_order_relaxed);
    }
    fn(region);
    raw->gate_.Leave(stripe);
  });
  env->LocateMap();
  if (!options.readonly) {
    int dead = 0;
    mdb_reader_check(env->env_, &dead);  // slots of killed processes
  }
  *out = std::move(env);
  return Status::OK();
}

int Env::OpenHandle(bool writemap, size_t used) {
  map_base_.store(0, std::memory_order_relaxed);
  writemap_ = writemap;
  reserved_ = 0;
  int rc = mdb_env_create(&env_);
  if (rc != 0) {
    env_ = nullptr;
    return rc;
  }
  mdb_env_set_maxreaders(env_, kMaxReaders);
  mdb_env_set_maxdbs(env_, 4);
  // An existing file's larger map size wins inside LMDB, which maps exactly the file's used
  // part when that is larger still: a writer gets room to grow, or its first write would move
  // the map and drop the page tables the warmer has just filled. (`used`, not the file's
  // length: with MDB_WRITEMAP the file is as long as the map, and each reopen would double
  // it.)
  size_t map_size = std::max(options_.map_size, kMinMapSize);
  if (!options_.readonly && used > 0) {
    constexpr size_t kUnit = 1 << 20;
    map_size = std::max(map_size, (used * 2 + kUnit - 1) / kUnit * kUnit);
  }
  mdb_env_set_mapsize(env_, map_size);
  unsigned flags = MDB_NOTLS;
  if (!options_.subdir) flags |= MDB_NOSUBDIR;
  if (options_.readonly) flags |= MDB_RDONLY;
  // Without fsync a commit still reaches the OS page cache, which survives a process kill.
  if (!options_.sync_each_commit) flags |= MDB_NOSYNC;
  if (writemap) flags |= MDB_WRITEMAP;
  rc = mdb_env_open(env_, path_.c_str(), flags, 0644);
  if (rc != 0) return rc;  // the destructor closes the handle
  MDB_envinfo info;
  MDB_stat stat;
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &stat);
  page_size_ = stat.ms_psize;
  map_size_.store(info.me_mapsize);
  return 0;
}

void Env::LocateMap() {
  map_base_.store(0, std::memory_order_relaxed);
  MDB_txn* txn = nullptr;
  if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != 0) return;
  MDB_dbi main_dbi;
  MDB_cursor* cursor = nullptr;
  MDB_val key, data;
  if (mdb_dbi_open(txn, nullptr, 0, &main_dbi) == 0 &&
      mdb_cursor_open(txn, main_dbi, &cursor) == 0 &&
      mdb_cursor_get(cursor, &key, &data, MDB_FIRST) == 0) {
    // The map starts at a page boundary and every page begins with its own number (LMDB's
    // page header), the two meta pages with 0 and 1: a key of the main database's leaf page
    // gives the start of the map, which the meta pages confirm.
    const uintptr_t psize = page_size_;
    const uintptr_t page = reinterpret_cast<uintptr_t>(key.mv_data) & ~(psize - 1);
    uint64_t pgno = 0, meta0 = 1, meta1 = 0;
    std::memcpy(&pgno, reinterpret_cast<const void*>(page), sizeof(pgno));
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    if (pgno >= 2 && pgno <= info.me_last_pgno && page / psize > pgno) {
      const uintptr_t base = page - pgno * psize;
      std::memcpy(&meta0, reinterpret_cast<const void*>(base), sizeof(meta0));
      std::memcpy(&meta1, reinterpret_cast<const void*>(base + psize), sizeof(meta1));
      if (meta0 == 0 && meta1 == 1) map_base_.store(base, std::memory_order_relaxed);
    }
  }
  if (cursor != nullptr) mdb_cursor_close(cursor);
  mdb_txn_abort(txn);
  map_generation_.fetch_add(1, std::memory_order_relaxed);
  warm_requested_.store(static_cast<size_t>(DataSize()), std::memory_order_relaxed);
  if (warmer_ != nullptr) warmer_->Poke();
}

void Env::Committed() {
  // A poke per commit would wake the warmer at every small write; pages not mapped yet
  // cost a reader no more than they did without the warmer.
  constexpr size_t kWorthWaking = 1 << 20;
  const size_t committed = static_cast<size_t>(DataSize());
  if (committed < warm_requested_.load(std::memory_order_relaxed) + kWorthWaking) return;
  warm_requested_.store(committed, std::memory_order_relaxed);
  warmer_->Poke();
}

bool Env::Readable(const MDB_val& key, const MDB_val& data) const {
  const uintptr_t base = map_base_.load(std::memory_order_relaxed);
  if (base == 0) return true;
  const size_t mapped = map_size_.load(std::memory_order_relaxed);
  const auto a = reinterpret_cast<uintptr_t>(key.mv_data);
  const auto b = reinterpret_cast<uintptr_t>(data.mv_data);
  const bool in_map_a = a >= base && a - base < mapped;
  const bool in_map_b = b >= base && b - base < mapped;
  if (!in_map_a && !in_map_b) return true;
  auto inside = [&](bool in_map, uintptr_t p, size_t n, uintptr_t end) {
    return !in_map || (p < end && n <= end - p);
  };
  // The committed pages (no system call); past them, the file itself, which also holds the
  // pages a big write transaction spilled before its commit.
  uintptr_t end = base + static_cast<uintptr_t>(DataSize());
  if (inside(in_map_a, a, key.mv_size, end) && inside(in_map_b, b, data.mv_size, end)) return true;
  end = base + static_cast<uintptr_t>(std::max<int64_t>(FileSize(), 0));
  return inside(in_map_a, a, key.mv_size, end) && inside(in_map_b, b, data.mv_size, end);
}

int64_t Env::UsedBytes(const std::vector<MDB_dbi>& dbis) {
  ReadTxn txn(this);
  if (!txn.status().ok()) return DataSize();
  MDB_stat stat;
  mdb_env_stat(env_, &stat);
  int64_t pages = 2 + stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages;
  for (MDB_dbi dbi : dbis) {
    if (mdb_stat(txn.get(), dbi, &stat) != 0) return DataSize();
    pages += stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages;
  }
  return pages * page_size_;
}

namespace {

// Makes a finished copy durable before it replaces the original: a power loss after the
// rename must not leave a file whose pages never reached the disk.
bool SyncPath(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  bool ok = fsync(fd) == 0;
  close(fd);
  return ok;
}

}  // namespace

Status Env::Compact(const std::function<Status()>& reopened) {
  if (readonly_) return Status::OK();
  std::error_code ec;
  const std::string data = options_.subdir ? path_ + "/data.mdb" : path_;
  const std::string target = options_.subdir ? path_ + "/compact.tmp" : path_ + ".compact.tmp";
  const std::string copy = options_.subdir ? target + "/data.mdb" : target;
  std::filesystem::remove_all(target, ec);
  if (options_.subdir) std::filesystem::create_directory(target, ec);
  if (options_.before_compact_copy) options_.before_compact_copy();
  // The copy reads one snapshot through its own read transaction, beside the readers.
  int rc = mdb_env_copy2(env_, target.c_str(), MDB_CP_COMPACT);
  Status status;
  if (rc != 0) {
    status = Error(path_, "compact", rc);
  } else if (!SyncPath(copy)) {
    status = Status::System(path_ + ": compact: cannot sync the copy");
  }
  if (!status.ok()) {
    std::filesystem::remove_all(target, ec);
    return status;
  }
  gate_.Exclusive([&] {
    for (Pool& pool : pools_) {
      for (MDB_txn* txn : pool.idle) mdb_txn_abort(txn);
      pool.idle.clear();
    }
    mdb_env_close(env_);
    env_ = nullptr;
    // If the rename fails the old file is intact: reopen it all the same.
    std::filesystem::rename(copy, data, ec);
    if (ec) status = Status::System(path_ + ": compact: " + ec.message());
    struct stat st {};
    rc = OpenHandle(writemap_, stat(data.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0);
    if (rc != 0) {
      status = Error(path_, "reopen after compaction", rc);
      return;
    }
    LocateMap();
    Status again = reopened();
    if (status.ok()) status = again;
  });
  if (status.ok()) {  // the rename
    std::string dir = std::filesystem::path(data).parent_path().string();
    SyncPath(dir.empty() ? "." : dir);
  }
  std::filesystem::remove_all(target, ec);
  return status;
}

Env::~Env() {
  warmer_.reset();  // it reads the map
  if (env_ == nullptr) return;
  for (Pool& pool : pools_) {
    for (MDB_txn* txn : pool.idle) mdb_txn_abort(txn);
  }
  mdb_env_close(env_);
}

int64_t Env::FileSize() const {
  mdb_filehandle_t fd;
  struct stat st;
  if (mdb_env_get_fd(env_, &fd) != 0 || fstat(fd, &st) != 0) return 0;
  return st.st_size;
}

int64_t Env::DataSize() const {
  if (env_ == nullptr) return 0;
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  return static_cast<int64_t>(info.me_last_pgno + 1) * page_size_;
}

int Env::Reserve(uint64_t end) {
  if (!writemap_ || end <= reserved_) return 0;
  // Steps of an eighth of what is reserved (1-64 MiB): few calls, little reserved ahead.
  const uint64_t step = std::clamp<uint64_t>(reserved_ / 8, 1 << 20, 64 << 20);
  uint64_t target = std::min<uint64_t>(std::max(end, reserved_ + step), map_size());
  target = (target + page_size_ - 1) / page_size_ * page_size_;
  if (target <= reserved_) return 0;  // past the map: LMDB stops at MDB_MAP_FULL first
  mdb_filehandle_t fd;
  if (mdb_env_get_fd(env_, &fd) != 0) return EINVAL;
  // Inside the file's length (LMDB extended it to the map): only allocates blocks for holes.
  if (::fallocate(fd, 0, static_cast<off_t>(reserved_), static_cast<off_t>(target - reserved_)) !=
      0) {
    // Without fallocate there is nothing better to do: the file stays sparse.
    if (errno != EOPNOTSUPP) return errno;
  }
  reserved_ = target;
  return 0;
}

int Env::ProbeWritable() {
  if (!writemap_) return 0;
  // After a failure every transaction probes, so that writes resume as soon as they can.
  if (!ProbeDue(&probed_ns_) && probe_error_ == 0) return 0;
  mdb_filehandle_t fd;
  char byte = 0;
  errno = 0;
  if (mdb_env_get_fd(env_, &fd) != 0) {
    probe_error_ = EINVAL;
  } else if (::pread(fd, &byte, 1, 0) != 1 || ::pwrite(fd, &byte, 1, 0) != 1) {
    // The holder of the write transaction is the only writer of the file, so the byte
    // written back is the one read.
    probe_error_ = errno != 0 ? errno : EIO;
  } else {
    probe_error_ = 0;
  }
  return probe_error_;
}

Status Env::Sync(bool hard) {
  if (readonly_) return Status::OK();
  // With MDB_NOSYNC and hard=false there is nothing to do: commits are already written to
  // the OS, which is what a soft flush promises.
  int rc = mdb_env_sync(env_, hard ? 1 : 0);
  return rc == 0 ? Status::OK() : Error(path_, "sync", rc);
}

Status Env::GrowIfNearlyFull() {
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  size_t used = (info.me_last_pgno + 1) * page_size_;
  if (used / 3 < info.me_mapsize / 4) return Status::OK();
  return Grow();
}

Status Env::Grow() {
  size_t target = map_size() * 2;
  target = (target + page_size_ - 1) / page_size_ * page_size_;
  int rc = 0;
  gate_.Exclusive([&] {
    rc = mdb_env_set_mapsize(env_, target);
    if (rc != 0) return;
    MDB_envinfo info;
    mdb_env_info(env_, &info);
    map_size_.store(info.me_mapsize);
    LocateMap();  // the map may have moved
  });
  return rc == 0 ? Status::OK() : Error(path_, "grow map", rc);
}

MDB_txn* Env::AcquireRead(int stripe, int* rc) {
  Pool& pool = pools_[stripe % kPools];
  MDB_txn* txn = nullptr;
  {
    std::lock_guard lock(pool.mu);
    if (!pool.idle.empty()) {
      txn = pool.idle.back();
      pool.idle.pop_back();
    }
  }
  if (txn != nullptr) {
    *rc = mdb_txn_renew(txn);
    if (*rc == 0) return txn;
    mdb_txn_abort(txn);
  }
  *rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
  return *rc == 0 ? txn : nullptr;
}

void Env::ReleaseRead(int stripe, MDB_txn* txn) {
  mdb_txn_reset(txn);
  Pool& pool = pools_[stripe % kPools];
  {
    std::lock_guard lock(pool.mu);
    if (pool.idle.size() < kMaxIdlePerPool) {
      pool.idle.push_back(txn);
      return;
    }
  }
  mdb_txn_abort(txn);
}

// ---------------------------------------------------------------------------------------
// ReadTxn

ReadTxn::ReadTxn(Env* env) : env_(env), stripe_(env->gate_.Enter()) {
  txn_ = env_->AcquireRead(stripe_, &rc_);
}

ReadTxn::~ReadTxn() {
  if (txn_ != nullptr) env_->ReleaseRead(stripe_, txn_);
  env_->gate_.Leave(stripe_);
}

// ---------------------------------------------------------------------------------------
// WriteTxn

Status WriteTxn::Begin() {
  Abort();
  rc_ = 0;
  stripe_ = env_->gate_.Enter();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_->env_, nullptr, 0, &txn);
  txn_ = rc == 0 ? txn : nullptr;
  if (rc == 0) rc = Started();
  if (rc != 0) {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
    txn_ = nullptr;
    Abort();
    return Error(env_->path(), "begin", rc);
  }
  return Status::OK();
}

int WriteTxn::Started() {
  first_free_page_ = static_cast<uint64_t>(env_->DataSize()) / env_->page_size();
  pages_bound_ = 0;
  return env_->ProbeWritable();
}

int WriteTxn::ReserveFor(const Op& op) {
  if (!env_->writemap()) return 0;
  const uint64_t psize = env_->page_size();
  MDB_stat stat{};
  if (mdb_stat(txn_, op.dbi, &stat) != 0) stat = MDB_stat{};
  if (op.kind == Op::kDrop) {
    // The freed pages go to the free list: 8 bytes each.
    uint64_t freed = stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages;
    pages_bound_ += freed / (psize / 8 - 4) + 2 * (stat.ms_depth + 1);
  } else {
    // A put or delete may copy each page on its path and split it, and a big value needs
    // overflow pages.
    pages_bound_ += 2 * (stat.ms_depth + 2) + (op.key.size() + op.value.size()) / psize + 1;
  }
  // Slack for what the commit adds: the free list's own pages and the main database's.
  constexpr uint64_t kSlackPages = 64;
  return env_->Reserve((first_free_page_ + pages_bound_ + kSlackPages) * psize);
}

int WriteTxn::Apply(const Op& op) {
  if (int rc = ReserveFor(op); rc != 0) return rc;
  MDB_val key = Val(op.key);
  switch (op.kind) {
    case Op::kPut: {
      MDB_val value = Val(op.value);
      return mdb_put(txn_, op.dbi, &key, &value, 0);
    }
    case Op::kDel: {
      int rc = mdb_del(txn_, op.dbi, &key, nullptr);
      return rc == MDB_NOTFOUND ? 0 : rc;
    }
    case Op::kDrop:
      return mdb_drop(txn_, op.dbi, 0);
  }
  return EINVAL;
}

int WriteTxn::Run(Op op) {
  if (rc_ != 0 || txn_ == nullptr) return rc_ != 0 ? rc_ : EINVAL;
  log_bytes_ += op.key.size() + op.value.size();
  log_.push_back(std::move(op));
  int rc = Apply(log_.back());
  if (rc == MDB_MAP_FULL) rc = Rebuild();
  Fail(rc);
  return rc;
}

bool WriteTxn::Put(MDB_dbi dbi, std::string_view key, std::string value) {
  return Run(Op{Op::kPut, dbi, std::string(key), std::move(value)}) == 0;
}

bool WriteTxn::Del(MDB_dbi dbi, std::string_view key) {
  return Run(Op{Op::kDel, dbi, std::string(key), {}}) == 0;
}

bool WriteTxn::Drop(MDB_dbi dbi) { return Run(Op{Op::kDrop, dbi, {}, {}}) == 0; }

int WriteTxn::Rebuild() {
  // Each round at least doubles the map, so a few rounds fit any transaction that fits
  // the address space.
  for (int round = 0; round < 24; ++round) {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
    txn_ = nullptr;
    env_->gate_.Leave(stripe_);
    Status grown = env_->Grow();
    stripe_ = env_->gate_.Enter();
    if (!grown.ok()) return ENOMEM;
    int rc = mdb_txn_begin(env_->env_, nullptr, 0, &txn_);
    if (rc != 0) {
      txn_ = nullptr;
      return rc;
    }
    ++rebuilds_;
    if (rc = Started(); rc != 0) return rc;
    for (const Op& op : log_) {
      rc = Apply(op);
      if (rc != 0) break;
    }
    if (rc != MDB_MAP_FULL) return rc;
  }
  return MDB_MAP_FULL;
}

Status WriteTxn::Commit() {
  int rc = rc_;
  if (rc == 0 && txn_ == nullptr) rc = EINVAL;
  while (rc == 0) {
    rc = mdb_txn_commit(txn_);  // frees the transaction, also on failure
    txn_ = nullptr;
    if (rc != MDB_MAP_FULL) break;
    rc = Rebuild();  // the freelist did not fit: grow and write it all again
    if (rc == 0) continue;
  }
  if (rc == 0) env_->Committed();
  Abort();
  return rc == 0 ? Status::OK() : Error(env_->path(), "commit", rc);
}

void WriteTxn::Abort() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
  txn_ = nullptr;
  if (stripe_ >= 0) env_->gate_.Leave(stripe_);
  stripe_ = -1;
  log_.clear();
  log_bytes_ = 0;
}

}  // namespace ryoan::storage::lmdb
