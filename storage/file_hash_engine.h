// FileHashEngine: the on-disk hash database (.kch, .hdb, #type=kch/hdb/hash).
//
// Storage: an append-only data file of checksummed records (record_log.h). A write appends
// one record (a tombstone for a removal) before the operation returns, by a store into a
// shared mapping of the file's preallocated tail (file_hash_mapping.h), or a pwrite where
// the mapping is unavailable. Either way an acknowledged write is in the page cache and
// survives the death of the process; then the write swings the key's index slot to the new
// record. Reads find the record through the mapping (pread otherwise) and verify its
// checksum: damage gives Status Broken, never wrong bytes.
//
// Index: 64 shards chosen by the low bits of the key hash, each a mutex and a SlotTable
// (file_hash_index.h) of 16-byte slots sorted by (hash, key). Appends are serialized by one
// short append lock taken inside the shard lock.
//
// Durability: a clean close trims the preallocated tail and writes the index to
// "<path>.idx" (checked against the data file's id and size) after an fdatasync. Opening for
// writing deletes it, so a later crash never trusts a stale index; without a valid index the engine
// rebuilds one by replaying the records, stopping at a zero-filled (preallocated) tail or cutting
// off a torn one. Synchronize(true), or autosync, msyncs and fdatasyncs the data.
//
// Compaction rewrites the live records into "<path>.tmp" while readers and writers go on,
// copies what was appended meanwhile, then renames it over the data file with every lock
// held only for the last small catch-up and the remapping of offsets. It runs on Compact()
// (DB::Vacuum) and on a background thread once garbage passes a ratio.
//
// Cursors follow the memory hash engine: they remember (shard, hash, key) and re-seek
// whenever the shard changed since their last call (a per-shard version says so), so growth,
// compaction and concurrent changes never invalidate them.
// storage/FORMAT-kch.md describes the files for operators.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "storage/engine.h"
#include "storage/file_hash_mapping.h"

namespace ryoan::storage {

namespace kch {
struct Shard;
struct RecordView;
enum class RecordKind : uint8_t;
}  // namespace kch

class FileHashEngine : public Engine {
 public:
  struct Options {
    int64_t bnum = -1;      // initial index size hint; <= 0: start small and grow
    bool readonly = false;  // open O_RDONLY; every update fails with NoPerm
    bool autosync = false;  // fdatasync after every write (-oas)
    bool nolock = false;    // take no flock at all (-onl)
    double lock_wait = 0;   // seconds to wait for a held lock; 0: fail at once (-otl)
    bool norepair = false;  // fail the open rather than truncate a torn tail (-onr)
    // Automatic compaction once garbage exceeds both the ratio (of the file) and the size.
    double compact_ratio = 0.5;
    int64_t compact_min_garbage = int64_t{16} << 20;
    bool background_compaction = true;
  };

  // Opens or creates the database at `path`.
  static Status Open(const std::string& path, const Options& options,
                     std::unique_ptr<FileHashEngine>* engine);
  ~FileHashEngine() override;
  FileHashEngine(const FileHashEngine&) = delete;
  FileHashEngine& operator=(const FileHashEngine&) = delete;

  Status Accept(std::string_view key, RecordVisitor& visitor, bool writable) override;
  Status AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                    bool writable) override;
  Status Iterate(RecordVisitor& visitor, bool writable) override;
  std::unique_ptr<EngineCursor> NewCursor() override;
  Status Clear() override;
  Status ClearWith(const std::function<void()>& while_locked) override;
  Status Synchronize(bool hard) override;
  Status Compact() override;
  int64_t Count() const override;
  int64_t Size() const override;
  bool ordered() const override { return false; }
  void AddStatus(std::map<std::string, std::string>* status) const override;

  // Bytes of the data file not held by live records (superseded records, tombstones).
  int64_t garbage() const;
  // Whether the last open had to rebuild the index from the records.
  bool recovered() const { return recovered_; }

 private:
  class CursorImpl;
  friend class CursorImpl;
  using Shard = kch::Shard;

  FileHashEngine(std::string path, const Options& options);
  Status OpenFiles();
  Status LoadIndexFile(bool* loaded);
  Status RebuildIndex();
  Status WriteIndexFile();
  void Close();
  // Maps the data file [0, end_) (caller holds every lock, or is opening).
  void AttachMapping();

  Shard& ShardOf(uint64_t hash) const;
  // Reads and verifies the record at `loc`: *record points into the mapping, or into *buf
  // when the record is read with pread (always, with via_map false: for readers that hold no
  // lock, which a Clear() could unmap under).
  Status ReadAt(uint64_t loc, std::string* buf, kch::RecordView* record, bool via_map = true) const;
  // Finds (hash, key) in a locked shard: *pos is its slot or where it would go. When found,
  // *record (backed by *buf) is the record.
  Status Find(Shard& shard, uint64_t hash, std::string_view key, size_t* pos, bool* found,
              std::string* buf, kch::RecordView* record) const;
  // Position of the first entry after (hash, key) (or at it when `inclusive`) from the
  // entry's home, or the table capacity if none.
  Status Seek(Shard& shard, uint64_t hash, std::string_view key, bool inclusive, size_t* pos) const;
  Status VisitLocked(Shard& shard, uint64_t hash, std::string_view key, RecordVisitor& visitor,
                     bool writable);
  // Applies a decision for (hash, key) whose slot is at `pos` (found) or would be there.
  Status Apply(Shard& shard, size_t pos, bool found, uint64_t old_size, uint64_t hash,
               std::string_view key, const Decision& decision);
  // Puts a new slot for (hash, key) at `pos`, growing the table when needed.
  Status InsertNew(Shard& shard, uint64_t hash, std::string_view key, size_t pos, uint64_t loc);
  // Appends one record; returns its location and size.
  Status Append(kch::RecordKind kind, std::string_view key, std::string_view value, int64_t xt,
                uint64_t* loc, uint64_t* size);
  // After a refused pwrite of an n-byte record at end_ (a full disk writes part of one):
  // removes the part written, which past a later, shorter record would read as a torn tail.
  void CutOffFailedAppend(uint64_t n);
  // Whether garbage passes both thresholds of automatic compaction.
  bool CompactionWanted() const;
  void MaybeScheduleCompaction();
  void CompactionLoop();
  Status CompactLocked();

  const std::string path_;
  const Options options_;
  const size_t shard_count_;
  const int initial_bits_;
  std::unique_ptr<Shard[]> shards_;

  // The data file. fd_ changes only under every shard lock (compaction); readers hold at
  // least their shard lock.
  int fd_ = -1;
  uint64_t file_id_ = 0;
  // Changes only with every shard lock and append_mu_ held; grows under append_mu_.
  kch::LogMapping map_;
  std::mutex append_mu_;
  uint64_t end_ = 0;              // guarded by append_mu_
  std::atomic<int64_t> size_{0};  // = end_, for lock-free Size()
  std::atomic<int64_t> live_bytes_{0};
  std::atomic<uint64_t> generation_{0};  // bumped by Clear(): unpositions cursors
  std::atomic<int64_t> compactions_{0};
  bool recovered_ = false;
  bool closed_ = false;

  std::mutex compact_mu_;  // one compaction at a time
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_wanted_ = false;
  bool bg_stop_ = false;
  std::atomic<bool> bg_scheduled_{false};
  std::thread bg_thread_;
};

}  // namespace ryoan::storage
