#include "storage/lmdb_map_warmer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older headers lack the name
#endif

namespace ryoan::storage::lmdb {

int64_t MapResidentPages(const void* begin, size_t length) {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t first = reinterpret_cast<uintptr_t>(begin) & ~(page - 1);
  const uintptr_t last = (reinterpret_cast<uintptr_t>(begin) + length + page - 1) & ~(page - 1);
  if (last <= first) return 0;
  const size_t pages = (last - first) / page;
  thread_local std::vector<unsigned char> resident;
  resident.resize(pages);
  if (mincore(reinterpret_cast<void*>(first), last - first, resident.data()) != 0) return 0;
  int64_t mapped = 0;
  for (size_t i = 0; i < pages;) {
    if ((resident[i] & 1) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < pages && (resident[j] & 1) != 0) ++j;
    if (madvise(reinterpret_cast<void*>(first + i * page), (j - i) * page, MADV_POPULATE_READ) !=
        0) {
      // EINVAL: an old kernel. Anything else (a page gone past the end of the file): leave
      // the rest of the range to the readers.
      return errno == EINVAL ? -1 : mapped;
    }
    mapped += static_cast<int64_t>(j - i);
    i = j;
  }
  return mapped;
}

MapWarmer::MapWarmer(Hold hold) : hold_(std::move(hold)), thread_([this] { Run(); }) {}

MapWarmer::~MapWarmer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void MapWarmer::Poke() {
  {
    std::lock_guard lock(mu_);
    if (unsupported_ || stop_) return;
    poked_ = true;
  }
  wake_.notify_one();
}

bool MapWarmer::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, timeout, [&] { return stop_ || (!poked_ && !busy_); });
}

int64_t MapWarmer::pages_mapped() const {
  std::lock_guard lock(mu_);
  return pages_mapped_;
}

void MapWarmer::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stop_ || poked_; });
    if (stop_) break;
    poked_ = false;
    busy_ = true;
    lock.unlock();
    // Pokes that arrive meanwhile are picked up by the next round.
    while (Step()) {
      std::lock_guard check(mu_);
      if (stop_) break;
    }
    lock.lock();
    busy_ = false;
    idle_.notify_all();
  }
  idle_.notify_all();
}

bool MapWarmer::Step() {
  bool more = false;
  int64_t mapped = 0;
  hold_([&](const Region& region) {
    if (region.base == nullptr) return;
    if (region.generation != done_generation_) {
      done_generation_ = region.generation;
      done_end_ = 0;
    }
    if (done_end_ >= region.end) return;
    const size_t n = std::min(region.end - done_end_, kChunk);
    mapped = MapResidentPages(region.base + done_end_, n);
    if (mapped < 0) return;
    done_end_ += n;
    more = done_end_ < region.end;
  });
  std::lock_guard lock(mu_);
  if (mapped < 0) {
    unsupported_ = true;
    poked_ = false;
    return false;
  }
  pages_mapped_ += mapped;
  return more;
}

}  // namespace ryoan::storage::lmdb
