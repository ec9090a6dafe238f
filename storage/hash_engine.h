// HashEngine: the in-memory hash databases ':' (stash), '-' (prototype hash) and '*' (cache
// hash, with LRU capacity limits).
//
// Layout: keys are hashed to 64 bits (KeyHash). The low bits pick one of N shards, each with
// its own mutex, record count and bucket array; the top bits pick the bucket within the
// shard. Each bucket is a singly linked chain sorted by (hash, key), and each record is one
// heap block holding its header, key and value (and, with `lru`, its LRU links in front). Growing a
// shard doubles its bucket count: bucket i splits into 2i and 2i+1, so the order (shard, hash, key)
// never changes.
//
// Cursors use that order: a cursor remembers the (shard, hash, key) of its record and
// re-finds its successor under the shard lock on every step, so inserts, removals and
// growth by other threads never invalidate it, and a record that stays put is visited
// exactly once per scan.
//
// With `lru`, the engine is split into 16 shards that double as the cache slots of
// spec/databases.md 4.6: each keeps its records in LRU order (every Accept, reads included,
// moves the record to the newest end) and evicts at most one record per operation once it
// holds more than capcnt/16+1 records or capsiz/16+1 bytes. Evictions are silent.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "storage/engine.h"

namespace ryoan::storage {

namespace hash_internal {
struct Record;
struct Shard;
}  // namespace hash_internal

class HashEngine : public Engine {
 public:
  struct Options {
    int64_t bnum = -1;  // bucket hint; <= 0: start small and grow
    bool lru = false;   // '*': LRU order and capacity limits
    int64_t capcnt = -1;
    int64_t capsiz = -1;
  };

  explicit HashEngine(const Options& options);
  ~HashEngine() override;
  HashEngine(const HashEngine&) = delete;
  HashEngine& operator=(const HashEngine&) = delete;

  Status Accept(std::string_view key, RecordVisitor& visitor, bool writable) override;
  Status AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                    bool writable) override;
  Status Iterate(RecordVisitor& visitor, bool writable) override;
  std::unique_ptr<EngineCursor> NewCursor() override;
  Status Clear() override;
  Status ClearWith(const std::function<void()>& while_locked) override;
  Status Synchronize(bool /*hard*/) override { return Status::OK(); }
  int64_t Count() const override;
  int64_t Size() const override;
  bool ordered() const override { return false; }
  void AddStatus(std::map<std::string, std::string>* status) const override;

 private:
  class CursorImpl;
  friend class CursorImpl;
  using Record = hash_internal::Record;
  using Shard = hash_internal::Shard;

  Shard& ShardOf(uint64_t hash) const;
  // Visits (hash, key) in `shard`, whose lock the caller holds.
  void VisitLocked(Shard& shard, uint64_t hash, std::string_view key, RecordVisitor& visitor,
                   bool writable);
  // Applies a decision to the record at *link (found) or inserts at *link (not found).
  // Returns the record now holding the key, or null if none.
  Record* Apply(Shard& shard, Record** link, bool found, uint64_t hash, std::string_view key,
                const Decision& decision, bool allow_evict);
  void Grow(Shard& shard);
  // Evicts the oldest record of `shard` if the slot is over a limit and it is not `keep`.
  void MaybeEvict(Shard& shard, const Record* keep);
  void Unlink(Shard& shard, Record** link);
  void ResetShard(Shard& shard);

  const Options options_;
  const size_t shard_count_;
  const size_t prefix_;  // bytes in front of each record: the LRU links, with `lru` only
  const int initial_bits_;
  int64_t slot_capcnt_ = -1;  // per-shard limits derived from capcnt/capsiz
  int64_t slot_capsiz_ = -1;
  std::unique_ptr<Shard[]> shards_;
  // Bumped by Clear() under every shard lock; a cursor with an older value is unpositioned.
  std::atomic<uint64_t> generation_{0};
};

}  // namespace ryoan::storage
