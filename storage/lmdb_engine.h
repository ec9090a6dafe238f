// LmdbEngine: the ordered file databases ('.kct', '.tdb', type=kct/tdb/tree) on LMDB, and the
// directory tree ('.kcf', '.fdb', type=kcf/forest), which is the same engine with LMDB's
// own directory layout (<dir>/data.mdb). File layout: FORMAT-kct.md.
//
// * Writers queue their visits; the first in line (the leader) runs every queued visit, in
//   order, inside ONE write transaction, commits once and wakes them (group commit). The
//   writer next in line spins briefly before it sleeps (a batch is usually shorter than a
//   sleep and a wake-up). So each
//   visit runs under a single-writer lock and an acknowledged write is committed. A batch
//   that has not written yet reads a snapshot of the last commit (the same state), so
//   visits that change nothing (sweeper steps) need no LMDB write transaction. Update-log
//   events of a batch are delivered after its commit (CommitScope in engine.h).
// * Opening checks the whole file first, in a forked child (lmdb_verify.h); `#verify=off`
//   skips it.
// * Readers use read-only snapshots and never wait for the writer, nor for a full vacuum
//   except while it swaps the compacted file in.
// * Commits reach the OS page cache (MDB_NOSYNC): they survive a kill of the process, and
//   Synchronize(true) or `autosync` (fsync at every commit) makes them survive power loss.
// * The map grows by itself (lmdb_env.h); `msiz` is only its starting size. A thread fills
//   the map's page tables for the pages already in the page cache (lmdb_map_warmer.h), so
//   reads of a large file take no page faults after open, growth or compaction.
// * Cursors hold the key of their record and re-seek it in a fresh snapshot at every call,
//   so concurrent changes never make them return a removed record or skip a kept one.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "storage/database_spec.h"
#include "storage/engine.h"
#include "storage/key_comparator.h"
#include "storage/lmdb_env.h"
#include "storage/lmdb_records.h"

namespace ryoan::storage {

class LmdbEngine : public Engine {
 public:
  struct Options {
    // Order of a new file; an existing file keeps the order it was created with.
    KeyComparator comparator = KeyComparator(KeyComparator::kLex);
    bool readonly = false;
    bool autosync = false;        // fsync at every commit (ktserver -oas)
    bool directory = false;       // `path` is a directory holding data.mdb ('.kcf')
    int64_t map_size = 64 << 20;  // starting map size (msiz)
    // ktopts=p, recorded in the file while it is empty and read back afterwards.
    bool persistent = false;
    // Check the whole file before opening it (lmdb_verify.h); `#verify=off` skips it.
    bool verify = true;
    // Test seam: runs when a full vacuum is about to copy the file (lmdb_env.h).
    std::function<void()> before_compact_copy;
  };
  // Options from a database argument's parameters (rcomp, msiz, ktopts, verify).
  static Options OptionsFor(const DatabaseSpec& spec, bool readonly, bool autosync);

  // Opens or creates the database. Fails with a Status, never crashes, on foreign or
  // truncated files; a second open of the same path in this process is refused.
  static Status Open(const std::string& path, const Options& options,
                     std::unique_ptr<LmdbEngine>* engine);
  ~LmdbEngine() override;

  Status Accept(std::string_view key, RecordVisitor& visitor, bool writable) override;
  Status AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                    bool writable) override;
  Status Iterate(RecordVisitor& visitor, bool writable) override;
  std::unique_ptr<EngineCursor> NewCursor() override;
  Status Clear() override { return ClearWith({}); }
  Status ClearWith(const std::function<void()>& while_locked) override;
  Status Synchronize(bool hard) override { return env_->Sync(hard); }
  // Full vacuum: rewrites the file without its free pages when they are worth it (LMDB
  // reuses free pages but never shrinks the file). Writers wait meanwhile; readers go on
  // and wait only while the copy is swapped in.
  Status Compact() override;
  int64_t Count() const override { return count_.load(std::memory_order_relaxed); }
  int64_t Size() const override { return env_->DataSize(); }
  bool ordered() const override { return true; }
  void AddStatus(std::map<std::string, std::string>* status) const override;

  const KeyComparator& comparator() const { return comparator_; }
  bool persistent() const { return persistent_; }
  // Write transactions committed so far (tests check that writers were batched).
  int64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  size_t map_size() const { return env_->map_size(); }
  // Whether writes go through the map (lmdb_env.h): writable, without fsync per commit.
  bool writes_through_map() const { return env_->writemap(); }

 private:
  class CursorImpl;
  class Batch;
  struct Writer;
  // The body of a write, run by the leader inside the batch's transaction.
  using WriteFn = std::function<Status(Batch&)>;

  LmdbEngine(std::string path, std::string registry_key, std::unique_ptr<lmdb::Env> env);
  // Reads (a new file: writes) the metadata and opens the records database.
  Status Setup(const Options& options);

  enum WriteMode {
    kShared,         // batched with other writers
    kSharedReading,  // batched; usually changes nothing (cursor visits: the sweeper)
    kAlone,          // a batch of its own (it may commit early, as Iterate does)
    kNoTxn,          // the writer role without a transaction (compaction)
  };
  // Group commit: queues `fn` and returns once the transaction that ran it has committed.
  Status Write(const WriteFn& fn, WriteMode mode);
  void RunBatch(const std::vector<Writer*>& batch);
  // Visits `key` inside the batch's transaction and applies the decision.
  void VisitInBatch(Batch& batch, std::string_view key, RecordVisitor& visitor);
  Status IterateInBatch(Batch& batch, RecordVisitor& visitor);
  Status ReadStatus(int rc) const;
  // One key seen in the read transaction `txn`: VisitFull or VisitEmpty.
  Status VisitReadOnly(MDB_txn* txn, std::string_view key, RecordVisitor& visitor);

  const std::string path_;
  const std::string registry_key_;  // this file in the process-wide set of open files
  std::unique_ptr<lmdb::Env> env_;
  MDB_dbi meta_dbi_ = 0;
  lmdb::RecordTable table_;
  KeyComparator comparator_;
  bool persistent_ = false;
  std::atomic<int64_t> count_{0};
  std::atomic<int64_t> commits_{0};
  std::atomic<uint64_t> generation_{0};  // bumped by Clear(); stale cursors are unpositioned

  std::mutex write_mu_;
  std::deque<Writer*> writers_;       // front: the leader
  std::atomic<int64_t> batch_ns_{0};  // recent time of a batch (moving average)
};

}  // namespace ryoan::storage
