// LMDB plumbing for the ordered file engine (lmdb_engine.h): one environment shared by every
// thread, and the three things LMDB leaves to its user.
//
// * Read transactions come from a pool: with MDB_NOTLS any thread may use any of them, and a
//   reset transaction keeps its reader slot, so a read does not take LMDB's reader-table
//   mutex.
// * The map can grow while readers exist. mdb_env_set_mapsize needs every transaction of the
//   process closed, so every transaction holds a Gate (a striped reader count: a reader
//   writes only its own cache line) and the grower waits until the gate is empty.
//   A writable open of an existing file maps twice its size, so that the first write does
//   not move the map (LMDB would map just the used part).
// * A WriteTxn survives MDB_MAP_FULL: it logs every write it makes, and when LMDB runs out of
//   map it aborts, grows the map and replays the log in a fresh transaction. Callers never
//   see the failure, so visitors run exactly once however often the map grows.
// * Writable environments without fsync at every commit write through the map
//   (MDB_WRITEMAP): a commit then costs no system call (about 4x cheaper than writing the
//   dirty pages with pwrite), and a process kill still keeps every commit, because the
//   shared mapping is the page cache. Two things a mapping turns into SIGBUS are made
//   errors instead: before LMDB may write a page past the file's reserved blocks, the
//   blocks are reserved with fallocate (a full disk is ENOSPC, not a fault), and at most
//   a millisecond after the file system turns read-only a one-byte pwrite at the start of
//   a write transaction notices it (EROFS) and the transaction is refused. The file is as
//   long as the map (LMDB extends it, sparse); only used pages take disk blocks.
// * A MapWarmer (lmdb_map_warmer.h) fills the page tables of the map, from its own thread,
//   for the pages already in the page cache: after open, after the map moves (growth,
//   compaction) and as commits add pages. Without it every first read of a page written
//   with pwrite, or of any page after the map moved, takes a page fault.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "storage/lmdb_map_warmer.h"
#include "storage/status.h"

namespace ryoan::storage::lmdb {

// Our own error code, beside LMDB's (MDB_KEYEXIST..MDB_LAST_ERRCODE): a record that fails
// its checksum or does not decode (lmdb_records.h). Reported as Broken.
constexpr int kBadRecord = -30700;

// "<path>: <what>: <LMDB's message>", with the KC code that fits the LMDB error.
Status Error(const std::string& path, const char* what, int rc);

// Any number of holders at once; Exclusive() waits until none is left and keeps new ones out
// while it runs. Leave() takes the stripe Enter() returned.
class Gate {
 public:
  int Enter();
  void Leave(int stripe);
  template <typename Fn>
  void Exclusive(Fn fn) {
    // Holders that find the gate closed wait on mu_, which is held until it reopens.
    std::lock_guard lock(mu_);
    closed_.store(true);
    WaitEmpty();
    fn();
    closed_.store(false);
  }

 private:
  void WaitEmpty();

  static constexpr int kStripes = 16;
  struct alignas(64) Stripe {
    std::atomic<int64_t> holders{0};
  };
  Stripe stripes_[kStripes];
  std::atomic<bool> closed_{false};
  std::mutex mu_;
};

class Env {
 public:
  struct Options {
    bool readonly = false;
    bool sync_each_commit = false;  // no MDB_NOSYNC: fsync at every commit
    bool subdir = false;            // path is a directory holding data.mdb (else the file)
    size_t map_size = 64 << 20;
    // Test seam: runs on the compacting thread just before the compacting copy starts.
    std::function<void()> before_compact_copy;
  };
  // Fails with Invalid/Broken "<path>: not a database file ..." on foreign or truncated
  // files, NoRepos when a read-only open finds no file.
  static Status Open(const std::string& path, const Options& options, std::unique_ptr<Env>* env);
  ~Env();

  MDB_env* get() const { return env_; }
  const std::string& path() const { return path_; }
  bool readonly() const { return readonly_; }
  size_t map_size() const { return map_size_.load(std::memory_order_relaxed); }
  unsigned page_size() const { return page_size_; }
  int64_t FileSize() const;
  // Bytes of the file LMDB has used so far (its committed pages up to the last one, free
  // ones included); 0 while the handle is closed.
  int64_t DataSize() const;
  // Whether writes go through the map (MDB_WRITEMAP).
  bool writemap() const { return writemap_; }
  Status Sync(bool hard);

  // Grows the map (at least doubling) when its used part has passed 3/4: done between write
  // transactions, it keeps MDB_MAP_FULL rare. The caller holds no transaction.
  Status GrowIfNearlyFull();
  // Grows the map to at least twice its size. The caller holds no transaction.
  Status Grow();

  // Whether LMDB's key and data lie inside the file, so that reading them cannot fault. A
  // damaged node size can point past the end of the file, which a read turns into SIGBUS;
  // LMDB checks no node sizes. Bytes outside the map (pages of this process's write
  // transaction) are not checked, nor anything while the map's address is unknown.
  bool Readable(const MDB_val& key, const MDB_val& data) const;
  // Finds where LMDB mapped the file (after open, growth and compaction); needs a non-empty
  // main database. The caller holds no transaction and keeps the map from changing.
  void LocateMap();

  // Bytes of the file in use by the given databases (plus LMDB's own pages).
  int64_t UsedBytes(const std::vector<MDB_dbi>& dbis);
  // Rewrites the file without free pages and reopens it. The compacting copy is taken
  // while readers go on (the caller holds the writer role, so nothing changes meanwhile);
  // only the swap (close, rename, reopen) keeps readers out, and it waits for the readers
  // of the old file to finish first. `reopened` runs before readers come back, to reopen
  // database handles. The caller holds the writer role and no transaction.
  Status Compact(const std::function<Status()>& reopened);

  // Test seams: waits until the map warmer has nothing left to do (false on timeout);
  // pages it has mapped so far.
  bool WaitMapWarm(std::chrono::milliseconds timeout) { return warmer_->WaitIdle(timeout); }
  int64_t map_pages_warmed() const { return warmer_->pages_mapped(); }

 private:
  friend class ReadTxn;
  friend class WriteTxn;
  Env() = default;
  // mdb_env_create + mdb_env_open with options_; a writer's map gets room for twice `used`
  // bytes of pages.
  int OpenHandle(bool writemap, size_t used);
  // With writemap_: reserves disk blocks through byte `end` of the file (capped at the map
  // size), in steps, so that LMDB's writes through the map never fault. 0 or an errno.
  int Reserve(uint64_t end);
  // With writemap_: whether the file still takes writes. A one-byte pwrite of what is
  // already there, at most once a millisecond, and after every failure. 0 or an errno.
  int ProbeWritable();
  MDB_txn* AcquireRead(int stripe, int* rc);
  void ReleaseRead(int stripe, MDB_txn* txn);
  // After a commit: has the warmer map the pages it added, once there are enough of them.
  void Committed();

  MDB_env* env_ = nullptr;
  std::string path_;
  Options options_;
  bool readonly_ = false;
  unsigned page_size_ = 4096;
  std::atomic<size_t> map_size_{0};
  std::atomic<uintptr_t> map_base_{0};       // 0: unknown
  std::atomic<uint64_t> map_generation_{0};  // bumped by LocateMap
  std::atomic<size_t> warm_requested_{0};    // committed bytes when the warmer was last poked
  bool writemap_ = false;
  // Writer-only state (the single write transaction's holder).
  uint64_t reserved_ = 0;  // bytes of the file known to have disk blocks
  int64_t probed_ns_ = 0;  // when ProbeWritable last wrote
  int probe_error_ = 0;    // its answer
  Gate gate_;
  static constexpr int kPools = 8;
  struct alignas(64) Pool {
    std::mutex mu;
    std::vector<MDB_txn*> idle;  // reset read transactions, reader slots kept
  };
  Pool pools_[kPools];
  std::unique_ptr<MapWarmer> warmer_;  // last: stopped before the handle closes
};

// A read-only snapshot for the lifetime of the object.
class ReadTxn {
 public:
  explicit ReadTxn(Env* env);
  ~ReadTxn();
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

  Status status() const { return rc_ == 0 ? Status::OK() : Error(env_->path(), "read", rc_); }
  int rc() const { return rc_; }
  MDB_txn* get() const { return txn_; }

 private:
  Env* env_;
  int stripe_;
  int rc_ = 0;
  MDB_txn* txn_ = nullptr;
};

// The single write transaction. Writes go through Put/Del/Drop, which log them for a replay
// after map growth; an error other than MDB_MAP_FULL is kept and makes Commit fail.
class WriteTxn {
 public:
  explicit WriteTxn(Env* env) : env_(env) {}
  ~WriteTxn() { Abort(); }
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  Status Begin();
  MDB_txn* get() const { return txn_; }
  bool ok() const { return rc_ == 0; }
  int rc() const { return rc_; }
  // Records an LMDB error met while reading inside the transaction.
  void Fail(int rc) {
    if (rc_ == 0) rc_ = rc;
  }
  bool Put(MDB_dbi dbi, std::string_view key, std::string value);
  bool Del(MDB_dbi dbi, std::string_view key);
  bool Drop(MDB_dbi dbi);  // empties the database
  Status Commit();
  void Abort();
  // Bytes of values written so far: big transactions are committed early.
  size_t log_bytes() const { return log_bytes_; }
  // Bumped when the transaction was rebuilt: LMDB cursors opened in it are gone.
  uint64_t rebuilds() const { return rebuilds_; }

 private:
  struct Op {
    enum Kind { kPut, kDel, kDrop } kind;
    MDB_dbi dbi;
    std::string key;
    std::string value;
  };
  int Apply(const Op& op);
  // After MDB_MAP_FULL: grows the map and rebuilds the transaction from the log.
  int Rebuild();
  int Run(Op op);

  // After mdb_txn_begin: notes where the file ends and probes it (Env::ProbeWritable).
  int Started();
  // With a writemap environment: reserves disk blocks for what `op` may add to the file.
  int ReserveFor(const Op& op);

  Env* env_;
  MDB_txn* txn_ = nullptr;
  uint64_t first_free_page_ = 0;  // past the last committed page when the transaction began
  uint64_t pages_bound_ = 0;      // pages its writes may have added since
  int stripe_ = -1;
  int rc_ = 0;
  std::vector<Op> log_;
  size_t log_bytes_ = 0;
  uint64_t rebuilds_ = 0;
};

}  // namespace ryoan::storage::lmdb
