// Page tables for LMDB's map (lmdb_env.h), filled ahead of the readers.
//
// A page in the OS page cache but not in the process's page tables costs its first read
// through the map a minor page fault (the kernel maps 16 neighbours too): every page after
// the map moves (growth, compaction, reopen: a new mapping starts empty), and with LMDB
// writing pwrite (no MDB_WRITEMAP, ktserver -oas) every page the process has written. On a
// database of a few GB that is tens of thousands of faults, spread over the first random
// reads: at 10M records they cost the first million random gets 0.1-0.4 us each on average
// (of about 1.9) and doubled their p99. The warmer maps those pages from a thread of its own.
//
// * Only pages already in the page cache are mapped (mincore, then MADV_POPULATE_READ on
//   each resident run): nothing is read from disk, so a file larger than memory is not
//   pulled in, and the cost is the page tables (8 bytes per 4 KiB page).
// * Work is done in bounded chunks, each while the map is held still, so growth and
//   compaction wait for one chunk at most; a moved map starts over.
// * Kernels before Linux 5.14 have no MADV_POPULATE_READ: the warmer then does nothing and
//   readers fault pages in as before.
// * Page tables of a shared file mapping are not copied by fork, so forked children (the
//   open-time check) cost no more.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace ryoan::storage::lmdb {

// Maps into the page tables the pages of [begin, begin + length) (a readable shared file
// mapping) that are in the page cache, and leaves the others alone. Returns the pages
// mapped, or -1 when the kernel cannot populate page tables (no MADV_POPULATE_READ).
int64_t MapResidentPages(const void* begin, size_t length);

class MapWarmer {
 public:
  // The part of the map worth mapping: [base, base + end). `generation` changes whenever the
  // map moves. base == nullptr: nothing to map (the map's address is unknown).
  struct Region {
    const char* base = nullptr;
    size_t end = 0;
    uint64_t generation = 0;
  };
  // Runs its argument with the current region while the map cannot move or be unmapped.
  using Hold = std::function<void(const std::function<void(const Region&)>&)>;

  explicit MapWarmer(Hold hold);
  ~MapWarmer();  // stops the thread; the map must still exist until it returns
  MapWarmer(const MapWarmer&) = delete;
  MapWarmer& operator=(const MapWarmer&) = delete;

  // The map moved or gained pages: map what is new.
  void Poke();
  // Test seam: waits until every poke so far has been worked off. False on timeout.
  bool WaitIdle(std::chrono::milliseconds timeout);
  int64_t pages_mapped() const;

 private:
  static constexpr size_t kChunk = 4 << 20;  // bytes per hold of the map
  void Run();
  // One chunk of work; false when nothing is left to do for now.
  bool Step();

  Hold hold_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  bool poked_ = false;
  bool busy_ = false;
  bool stop_ = false;
  bool unsupported_ = false;
  int64_t pages_mapped_ = 0;
  // Progress, touched by the thread only: what of which generation is mapped.
  uint64_t done_generation_ = 0;
  size_t done_end_ = 0;
  std::thread thread_;
};

}  // namespace ryoan::storage::lmdb
