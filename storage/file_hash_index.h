// SlotTable: the in-memory index of one shard of the on-disk hash engine. 16 bytes per slot:
// the key's 64-bit hash and the record's location in the data file. Keys are not kept in
// memory; the engine reads the record to confirm a key (which a read needs anyway).
//
// The table is linear probing with one extra invariant: non-empty slots are sorted by
// (hash, key), and every entry sits at or after its home slot (the top `bits` bits of the
// hash) with no empty slot in between. So a scan of the array is a scan in (hash, key) order
// (what cursors rely on), and the successor of any (hash, key) is found by scanning forward
// from its home slot. Entries never wrap around: a tail of spare slots follows the last
// home slot, and the table grows if even that overflows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ryoan::storage::kch {

// A record location: file offset << 20 | record size (0 when the size is >= 1 MiB - 1, in
// which case the reader fetches the header first). Offsets up to 2^44 (16 TiB). A location
// is never 0, because offset 0 holds the file header: 0 marks an empty slot.
inline constexpr int kSizeBits = 20;
inline constexpr uint64_t kSizeMask = (uint64_t{1} << kSizeBits) - 1;
inline constexpr uint64_t kMaxOffset = (uint64_t{1} << (64 - kSizeBits)) - 1;

inline uint64_t PackLoc(uint64_t offset, uint64_t size) {
  return offset << kSizeBits | (size < kSizeMask ? size : 0);
}
inline uint64_t LocOffset(uint64_t loc) { return loc >> kSizeBits; }
inline uint64_t LocSize(uint64_t loc) { return loc & kSizeMask; }

struct Slot {
  uint64_t hash = 0;
  uint64_t loc = 0;  // 0: empty
  bool empty() const { return loc == 0; }
};

class SlotTable {
 public:
  explicit SlotTable(int bits) { Reset(bits); }

  void Reset(int bits) {
    bits_ = bits;
    count_ = 0;
    slots_.assign((size_t{1} << bits) + kTail, Slot{});
  }

  int bits() const { return bits_; }
  size_t count() const { return count_; }
  size_t capacity() const { return slots_.size(); }
  size_t memory() const { return slots_.size() * sizeof(Slot); }
  // Above 3/4 full the probe runs get long: time to grow.
  bool crowded() const { return count_ > (size_t{3} << bits_) / 4; }

  size_t Home(uint64_t hash) const { return static_cast<size_t>(hash >> (64 - bits_)); }
  Slot& at(size_t i) { return slots_[i]; }
  const Slot& at(size_t i) const { return slots_[i]; }

  // Puts `slot` at position p, the place that keeps the order (found by the caller by
  // scanning from its home). False if the entries would run past the tail: Grow() and retry.
  bool InsertAt(size_t p, Slot slot) {
    size_t q = p;
    while (q < slots_.size() && !slots_[q].empty()) ++q;
    if (q == slots_.size()) return false;
    for (; q > p; --q) slots_[q] = slots_[q - 1];
    slots_[p] = slot;
    ++count_;
    return true;
  }

  // Empties position p and pulls back the displaced entries after it (backward-shift
  // deletion), so that the table looks as if the entry had never been inserted.
  void EraseAt(size_t p) {
    size_t j = p + 1;
    while (j < slots_.size() && !slots_[j].empty() && Home(slots_[j].hash) < j) {
      slots_[j - 1] = slots_[j];
      ++j;
    }
    slots_[j - 1] = Slot{};
    --count_;
  }

  // Doubles the home slots; entries keep their order.
  void Grow() {
    for (int bits = bits_ + 1;; ++bits) {
      std::vector<Slot> fresh((size_t{1} << bits) + kTail);
      size_t next = 0;
      bool fits = true;
      for (const Slot& s : slots_) {
        if (s.empty()) continue;
        size_t home = static_cast<size_t>(s.hash >> (64 - bits));
        size_t p = home > next ? home : next;
        if (p >= fresh.size()) {
          fits = false;
          break;
        }
        fresh[p] = s;
        next = p + 1;
      }
      if (fits) {
        slots_ = std::move(fresh);
        bits_ = bits;
        return;
      }
    }
  }

 private:
  static constexpr size_t kTail = 64;
  int bits_ = 0;
  size_t count_ = 0;
  std::vector<Slot> slots_;
};

}  // namespace ryoan::storage::kch
