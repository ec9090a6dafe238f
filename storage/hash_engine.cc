#include "storage/hash_engine.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "storage/key_hash.h"

namespace ryoan::storage {

namespace hash_internal {

// One heap block: this header, then the key, then `vcap` bytes of value space. The header is
// 40 bytes so that, for short keys, what a lookup reads (chain link, hash, key) and the start
// of the value mostly share the block's first cache line. The '*' database's LRU links live
// in an LruLinks prefix just before the header, so the other databases do not pay for them.
struct Record {
  Record* next;  // bucket chain, sorted by (hash, key)
  uint64_t hash;
  int64_t xt;
  size_t vsiz;
  uint32_t ksiz;
  uint32_t slack;  // vcap - vsiz: value bytes allocated but unused

  char* key_data() { return reinterpret_cast<char*>(this + 1); }
  char* value_data() { return key_data() + ksiz; }
  std::string_view key() { return {key_data(), ksiz}; }
  std::string_view value() { return {value_data(), vsiz}; }
  size_t vcap() const { return vsiz + slack; }
};
static_assert(sizeof(Record) == 40, "keep the header small: see above");

// The LRU list of a cache shard (only with `lru`), stored in front of each Record.
struct LruLinks {
  Record* prev;  // towards the oldest
  Record* next;  // towards the newest
};
static_assert(sizeof(LruLinks) % alignof(Record) == 0, "the header stays aligned");

struct alignas(64) Shard {
  std::mutex mu;
  std::unique_ptr<Record*[]> buckets;
  int bits = 0;  // log2 of the bucket count
  // Atomic only so that Count() and Size() can read them without the lock.
  std::atomic<int64_t> count{0};
  std::atomic<int64_t> bytes{0};  // record blocks
  std::atomic<int64_t> bucket_bytes{0};
  Record* lru_oldest = nullptr;
  Record* lru_newest = nullptr;
};

}  // namespace hash_internal

using hash_internal::LruLinks;
using hash_internal::Record;
using hash_internal::Shard;

namespace {

constexpr int kMinBits = 3;
constexpr int kDefaultBits = 8;  // 256 buckets per shard until the table grows
constexpr int kMaxInitialBits = 20;
constexpr int kMaxBits = 48;
constexpr size_t kCacheSlots = 16;  // spec/databases.md 4.6
constexpr size_t kShards = 64;
static_assert(kShards <= 64 && kCacheSlots <= 64, "AcceptBulk keeps a 64-bit shard mask");
constexpr int64_t kDefaultBnum = 1048583;

size_t BucketOf(const Shard& shard, uint64_t hash) { return hash >> (64 - shard.bits); }

// Position of `r` relative to (hash, key) in scan order.
int CompareTo(Record* r, uint64_t hash, std::string_view key) {
  if (r->hash != hash) return r->hash < hash ? -1 : 1;
  return r->key().compare(key);
}

// The link where (hash, key) is or would be inserted.
Record** FindLink(Shard& shard, uint64_t hash, std::string_view key, bool* found) {
  Record** link = &shard.buckets[BucketOf(shard, hash)];
  while (*link != nullptr) {
    int c = CompareTo(*link, hash, key);
    if (c >= 0) {
      *found = c == 0;
      return link;
    }
    link = &(*link)->next;
  }
  *found = false;
  return link;
}

Record* FirstFromBucket(Shard& shard, size_t bucket) {
  if (shard.count.load(std::memory_order_relaxed) == 0) return nullptr;
  size_t n = size_t{1} << shard.bits;
  for (; bucket < n; ++bucket) {
    if (shard.buckets[bucket] != nullptr) return shard.buckets[bucket];
  }
  return nullptr;
}

// First record of the shard after (hash, key), or at it when `inclusive`.
Record* SeekInShard(Shard& shard, uint64_t hash, std::string_view key, bool inclusive) {
  size_t bucket = BucketOf(shard, hash);
  for (Record* r = shard.buckets[bucket]; r != nullptr; r = r->next) {
    int c = CompareTo(r, hash, key);
    if (c > 0 || (c == 0 && inclusive)) return r;
  }
  return FirstFromBucket(shard, bucket + 1);
}

// Allocates a record block with `prefix` bytes (0 or sizeof(LruLinks)) in front of it.
Record* NewRecord(size_t prefix, uint64_t hash, std::string_view key, std::string_view value,
                  int64_t xt) {
  char* mem = static_cast<char*>(std::malloc(prefix + sizeof(Record) + key.size() + value.size()));
  if (mem == nullptr) throw std::bad_alloc();
  if (prefix != 0) new (mem) LruLinks{};
  Record* r = new (mem + prefix) Record{};
  r->hash = hash;
  r->xt = xt;
  r->ksiz = static_cast<uint32_t>(key.size());
  r->vsiz = value.size();
  r->slack = 0;
  if (!key.empty()) std::memcpy(r->key_data(), key.data(), key.size());
  if (!value.empty()) std::memcpy(r->value_data(), value.data(), value.size());
  return r;
}

void FreeRecord(size_t prefix, Record* r) { std::free(reinterpret_cast<char*>(r) - prefix); }

// Bytes of the record's block, as counted against capsiz and reported by Size().
int64_t Footprint(size_t prefix, const Record* r) {
  return static_cast<int64_t>(prefix + sizeof(Record) + r->ksiz + r->vcap());
}

LruLinks& Links(Record* r) {
  return *std::launder(reinterpret_cast<LruLinks*>(reinterpret_cast<char*>(r) - sizeof(LruLinks)));
}

void LruUnlink(Shard& shard, Record* r) {
  LruLinks& l = Links(r);
  (l.prev ? Links(l.prev).next : shard.lru_oldest) = l.next;
  (l.next ? Links(l.next).prev : shard.lru_newest) = l.prev;
  l.prev = l.next = nullptr;
}

void LruAppend(Shard& shard, Record* r) {
  LruLinks& l = Links(r);
  l.prev = shard.lru_newest;
  l.next = nullptr;
  (shard.lru_newest ? Links(shard.lru_newest).next : shard.lru_oldest) = r;
  shard.lru_newest = r;
}

// `fresh` takes the LRU place of `old`.
void LruReplace(Shard& shard, Record* old, Record* fresh) {
  LruLinks& o = Links(old);
  Links(fresh) = o;
  (o.prev ? Links(o.prev).next : shard.lru_oldest) = fresh;
  (o.next ? Links(o.next).prev : shard.lru_newest) = fresh;
}

int InitialBits(int64_t bnum, size_t shards) {
  if (bnum <= 0) return kDefaultBits;
  int bits = kMinBits;
  while (bits < kMaxInitialBits && (int64_t{1} << bits) * static_cast<int64_t>(shards) < bnum) {
    ++bits;
  }
  return bits;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Cursor

class HashEngine::CursorImpl : public EngineCursor {
 public:
  explicit CursorImpl(HashEngine* engine) : engine_(engine) {}

  Status Jump() override {
    std::unique_lock<std::mutex> lock;
    Record* r = Locate(0, &lock);
    if (r == nullptr) return Unposition();
    return Status::OK();
  }

  Status Jump(std::string_view key) override {
    uint64_t hash = KeyHash(key);
    size_t index = hash & (engine_->shard_count_ - 1);
    Shard& shard = engine_->shards_[index];
    std::lock_guard<std::mutex> lock(shard.mu);
    bool found;
    Record** link = FindLink(shard, hash, key, &found);
    if (!found) return Unposition();
    SetPosition(index, *link);
    return Status::OK();
  }

  Status JumpBack() override { return Status::NoImpl(); }
  Status JumpBack(std::string_view) override { return Status::NoImpl(); }
  Status StepBack() override { return Status::NoImpl(); }

  Status Step() override {
    if (!positioned_) return Status::NoRec();
    std::unique_lock<std::mutex> lock;
    Record* r = Seek(/*inclusive=*/false, &lock);
    if (r == nullptr) return Unposition();
    return Status::OK();
  }

  Status Accept(RecordVisitor& visitor, bool writable, bool step) override {
    if (!positioned_) return Status::NoRec();
    std::unique_lock<std::mutex> lock;
    // Inclusive: if our record was removed meanwhile, its successor is the current one.
    Record* r = Seek(/*inclusive=*/true, &lock);
    if (r == nullptr) return Unposition();
    Shard& shard = engine_->shards_[shard_];
    Decision decision = visitor.VisitFull(r->key(), r->value(), r->xt);
    bool removed = false;
    if (writable && decision.op != Decision::kKeep) {
      bool found;
      Record** link = FindLink(shard, r->hash, r->key(), &found);
      removed = engine_->Apply(shard, link, found, r->hash, r->key(), decision,
                               /*allow_evict=*/true) == nullptr;
    }
    if (removed || step) {
      // The position still names the visited record, which may be gone now. Unpositioned
      // past the end is not an error here: the visit itself succeeded.
      Record* next = SeekInShard(shard, hash_, key_, /*inclusive=*/false);
      if (next != nullptr) {
        SetPosition(shard_, next);
      } else if (Locate(shard_ + 1, &lock) == nullptr) {
        positioned_ = false;
      }
    }
    return Status::OK();
  }

 private:
  Status Unposition() {
    positioned_ = false;
    return Status::NoRec();
  }

  void SetPosition(size_t shard, Record* r) {
    positioned_ = true;
    generation_ = engine_->generation_.load(std::memory_order_relaxed);
    shard_ = shard;
    hash_ = r->hash;
    key_.assign(r->key_data(), r->ksiz);
  }

  // First record in scan order from the start of shard `from`; positions the cursor on it
  // and returns with its shard locked in *lock.
  Record* Locate(size_t from, std::unique_lock<std::mutex>* lock) {
    for (size_t i = from; i < engine_->shard_count_; ++i) {
      Shard& shard = engine_->shards_[i];
      if (lock->owns_lock()) lock->unlock();  // one shard lock at a time
      *lock = std::unique_lock<std::mutex>(shard.mu);
      Record* r = FirstFromBucket(shard, 0);
      if (r != nullptr) {
        SetPosition(i, r);
        return r;
      }
    }
    if (lock->owns_lock()) lock->unlock();
    return nullptr;
  }

  // The record at (inclusive) or after the remembered position; positions on it.
  Record* Seek(bool inclusive, std::unique_lock<std::mutex>* lock) {
    if (lock->owns_lock()) lock->unlock();
    Shard& shard = engine_->shards_[shard_];
    *lock = std::unique_lock<std::mutex>(shard.mu);
    if (generation_ != engine_->generation_.load(std::memory_order_relaxed)) {
      lock->unlock();
      return nullptr;  // cleared since we were positioned
    }
    Record* r = SeekInShard(shard, hash_, key_, inclusive);
    if (r != nullptr) {
      SetPosition(shard_, r);
      return r;
    }
    return Locate(shard_ + 1, lock);
  }

  HashEngine* engine_;
  bool positioned_ = false;
  uint64_t generation_ = 0;
  size_t shard_ = 0;
  uint64_t hash_ = 0;
  std::string key_;
};

// ---------------------------------------------------------------------------------------
// Engine

HashEngine::HashEngine(const Options& options)
    : options_(options),
      shard_count_(options.lru ? kCacheSlots : kShards),
      prefix_(options.lru ? sizeof(hash_internal::LruLinks) : 0),
      initial_bits_(InitialBits(options.bnum, shard_count_)),
      shards_(new Shard[shard_count_]) {
  if (options_.lru) {
    int64_t slots = static_cast<int64_t>(kCacheSlots);
    if (options_.capcnt >= 0) slot_capcnt_ = options_.capcnt / slots + 1;
    if (options_.capsiz >= 0) slot_capsiz_ = options_.capsiz / slots + 1;
  }
  for (size_t i = 0; i < shard_count_; ++i) ResetShard(shards_[i]);
}

HashEngine::~HashEngine() {
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    size_t n = size_t{1} << shard.bits;
    for (size_t b = 0; b < n; ++b) {
      for (Record* r = shard.buckets[b]; r != nullptr;) {
        Record* next = r->next;
        FreeRecord(prefix_, r);
        r = next;
      }
    }
  }
}

// Frees every record of a locked shard and restores its initial bucket array.
void HashEngine::ResetShard(Shard& shard) {
  if (shard.buckets) {
    size_t n = size_t{1} << shard.bits;
    for (size_t b = 0; b < n; ++b) {
      for (Record* r = shard.buckets[b]; r != nullptr;) {
        Record* next = r->next;
        FreeRecord(prefix_, r);
        r = next;
      }
    }
  }
  shard.bits = initial_bits_;
  shard.buckets = std::make_unique<Record*[]>(size_t{1} << shard.bits);  // zeroed
  shard.count.store(0, std::memory_order_relaxed);
  shard.bytes.store(0, std::memory_order_relaxed);
  shard.bucket_bytes.store(static_cast<int64_t>(sizeof(Record*) << shard.bits),
                           std::memory_order_relaxed);
  shard.lru_oldest = shard.lru_newest = nullptr;
}

Shard& HashEngine::ShardOf(uint64_t hash) const { return shards_[hash & (shard_count_ - 1)]; }

Status HashEngine::Accept(std::string_view key, RecordVisitor& visitor, bool writable) {
  uint64_t hash = KeyHash(key);
  Shard& shard = ShardOf(hash);
  std::lock_guard<std::mutex> lock(shard.mu);
  VisitLocked(shard, hash, key, visitor, writable);
  return Status::OK();
}

void HashEngine::VisitLocked(Shard& shard, uint64_t hash, std::string_view key,
                             RecordVisitor& visitor, bool writable) {
  bool found;
  Record** link = FindLink(shard, hash, key, &found);
  Decision decision =
      found ? visitor.VisitFull(key, (*link)->value(), (*link)->xt) : visitor.VisitEmpty(key);
  Record* r = found ? *link : nullptr;
  if (writable && decision.op != Decision::kKeep) {
    r = Apply(shard, link, found, hash, key, decision, /*allow_evict=*/true);
  }
  if (options_.lru && found && r != nullptr && r != shard.lru_newest) {
    LruUnlink(shard, r);
    LruAppend(shard, r);
  }
}

Record* HashEngine::Apply(Shard& shard, Record** link, bool found, uint64_t hash,
                          std::string_view key, const Decision& decision, bool allow_evict) {
  if (decision.op == Decision::kRemove) {
    if (found) Unlink(shard, link);
    return nullptr;
  }
  if (decision.op != Decision::kSet) return found ? *link : nullptr;

  std::string_view value = decision.value;
  if (found) {
    Record* r = *link;
    const size_t vcap = r->vcap();
    if (value.size() <= vcap && value.size() >= vcap / 2 && vcap - value.size() <= UINT32_MAX) {
      // Fits without wasting more than half the block: overwrite in place. memmove,
      // because the new value may be a piece of the old one.
      if (!value.empty()) std::memmove(r->value_data(), value.data(), value.size());
      r->vsiz = value.size();
      r->slack = static_cast<uint32_t>(vcap - value.size());
      r->xt = decision.xt;
      return r;
    }
    // `key` and `value` may point into r: copy them before freeing it.
    Record* fresh = NewRecord(prefix_, hash, r->key(), value, decision.xt);
    fresh->next = r->next;
    *link = fresh;
    if (options_.lru) LruReplace(shard, r, fresh);
    const int64_t old_bytes = Footprint(prefix_, r), new_bytes = Footprint(prefix_, fresh);
    shard.bytes.fetch_add(new_bytes - old_bytes, std::memory_order_relaxed);
    FreeRecord(prefix_, r);
    if (allow_evict && new_bytes > old_bytes && options_.lru) MaybeEvict(shard, fresh);
    return fresh;
  }

  Record* r = NewRecord(prefix_, hash, key, value, decision.xt);
  r->next = *link;
  *link = r;
  if (options_.lru) LruAppend(shard, r);
  int64_t count = shard.count.fetch_add(1, std::memory_order_relaxed) + 1;
  shard.bytes.fetch_add(Footprint(prefix_, r), std::memory_order_relaxed);
  if (count > (int64_t{1} << shard.bits) && shard.bits < kMaxBits) Grow(shard);
  if (allow_evict && options_.lru) MaybeEvict(shard, r);
  return r;
}

void HashEngine::Unlink(Shard& shard, Record** link) {
  Record* r = *link;
  *link = r->next;
  if (options_.lru) LruUnlink(shard, r);
  shard.count.fetch_sub(1, std::memory_order_relaxed);
  shard.bytes.fetch_sub(Footprint(prefix_, r), std::memory_order_relaxed);
  FreeRecord(prefix_, r);
}

void HashEngine::Grow(Shard& shard) {
  int bits = shard.bits + 1;
  size_t old_count = size_t{1} << shard.bits;
  auto buckets = std::make_unique<Record*[]>(size_t{1} << bits);
  for (size_t b = 0; b < old_count; ++b) {
    // Bucket b splits into 2b and 2b+1; appending at each tail keeps the chains sorted.
    Record** tails[2] = {&buckets[2 * b], &buckets[2 * b + 1]};
    for (Record* r = shard.buckets[b]; r != nullptr;) {
      Record* next = r->next;
      Record**& tail = tails[(r->hash >> (64 - bits)) & 1];
      *tail = r;
      tail = &r->next;
      r = next;
    }
    *tails[0] = nullptr;
    *tails[1] = nullptr;
  }
  shard.buckets = std::move(buckets);
  shard.bits = bits;
  shard.bucket_bytes.store(static_cast<int64_t>(sizeof(Record*) << bits),
                           std::memory_order_relaxed);
}

void HashEngine::MaybeEvict(Shard& shard, const Record* keep) {
  bool over = (slot_capcnt_ >= 0 && shard.count.load(std::memory_order_relaxed) > slot_capcnt_) ||
              (slot_capsiz_ >= 0 && shard.bytes.load(std::memory_order_relaxed) > slot_capsiz_);
  Record* victim = shard.lru_oldest;
  if (!over || victim == nullptr || victim == keep) return;
  bool found;
  Record** link = FindLink(shard, victim->hash, victim->key(), &found);
  if (found) Unlink(shard, link);
}

Status HashEngine::AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                              bool writable) {
  // Small batches (DB::GetEach's groups) keep their hashes on the stack.
  uint64_t local[64];
  std::unique_ptr<uint64_t[]> heap;
  uint64_t* hashes = local;
  if (keys.size() > std::size(local)) {
    heap = std::make_unique_for_overwrite<uint64_t[]>(keys.size());
    hashes = heap.get();
  }
  uint64_t mask = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    hashes[i] = KeyHash(keys[i]);
    mask |= uint64_t{1} << (hashes[i] & (shard_count_ - 1));
  }
  // Ascending shard order: two bulk operations can never wait on each other in a cycle.
  for (size_t i = 0; i < shard_count_; ++i) {
    if (mask & (uint64_t{1} << i)) shards_[i].mu.lock();
  }
  // A lookup is two dependent cache misses (bucket slot, then record). Touching every key's
  // slot, then every chain's first record, before visiting lets the misses of the batch
  // overlap instead of following one another. Only the first 64 keys: the rest of a big
  // batch would evict what the first ones fetched.
  const size_t ahead = std::min<size_t>(keys.size(), 64);
  for (size_t i = 0; i < ahead; ++i) {
    Shard& shard = ShardOf(hashes[i]);
    __builtin_prefetch(&shard.buckets[BucketOf(shard, hashes[i])]);
  }
  for (size_t i = 0; i < ahead; ++i) {
    Shard& shard = ShardOf(hashes[i]);
    __builtin_prefetch(shard.buckets[BucketOf(shard, hashes[i])]);
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    VisitLocked(ShardOf(hashes[i]), hashes[i], keys[i], visitor, writable);
  }
  for (size_t i = shard_count_; i-- > 0;) {
    if (mask & (uint64_t{1} << i)) shards_[i].mu.unlock();
  }
  return Status::OK();
}

Status HashEngine::Iterate(RecordVisitor& visitor, bool writable) {
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(shard_count_);
  for (size_t i = 0; i < shard_count_; ++i) locks.emplace_back(shards_[i].mu);
  for (size_t i = 0; i < shard_count_; ++i) {
    Shard& shard = shards_[i];
    size_t n = size_t{1} << shard.bits;
    for (size_t b = 0; b < n; ++b) {
      Record** link = &shard.buckets[b];
      while (*link != nullptr) {
        Record* r = *link;
        Decision decision = visitor.VisitFull(r->key(), r->value(), r->xt);
        // No eviction here: it could free the record our link lives in.
        if (writable && decision.op != Decision::kKeep &&
            Apply(shard, link, true, r->hash, r->key(), decision, /*allow_evict=*/false) ==
                nullptr) {
          continue;  // removed: *link is already the next record
        }
        link = &(*link)->next;
      }
    }
  }
  return Status::OK();
}

std::unique_ptr<EngineCursor> HashEngine::NewCursor() { return std::make_unique<CursorImpl>(this); }

Status HashEngine::Clear() { return ClearWith({}); }

Status HashEngine::ClearWith(const std::function<void()>& while_locked) {
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(shard_count_);
  for (size_t i = 0; i < shard_count_; ++i) locks.emplace_back(shards_[i].mu);
  for (size_t i = 0; i < shard_count_; ++i) ResetShard(shards_[i]);
  generation_.fetch_add(1, std::memory_order_relaxed);
  if (while_locked) while_locked();
  return Status::OK();
}

int64_t HashEngine::Count() const {
  int64_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    total += shards_[i].count.load(std::memory_order_relaxed);
  }
  return total;
}

int64_t HashEngine::Size() const {
  int64_t total = 0;
  for (size_t i = 0; i < shard_count_; ++i) {
    total += shards_[i].bytes.load(std::memory_order_relaxed) +
             shards_[i].bucket_bytes.load(std::memory_order_relaxed);
  }
  return total;
}

void HashEngine::AddStatus(std::map<std::string, std::string>* status) const {
  (*status)["bnum"] = std::to_string(options_.bnum > 0 ? options_.bnum : kDefaultBnum);
  if (options_.lru) {
    (*status)["capcnt"] = std::to_string(options_.capcnt);
    (*status)["capsiz"] = std::to_string(options_.capsiz);
  }
}

}  // namespace ryoan::storage
