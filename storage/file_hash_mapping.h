// LogMapping: a MAP_SHARED view of the .kch data file, so that reads and appends cost a
// memory access instead of a pread/pwrite system call.
//
// A store into a shared file mapping lands in the kernel's page cache exactly like a pwrite:
// it survives the death of the process, and msync/fdatasync make it durable. The mapping
// lives in one address range reserved at attach time and grows in place (MAP_FIXED), so a
// pointer into it stays valid while the file grows; only Detach() (under the engine's every
// lock) unmaps it.
//
// Appends go through the mapping only into space that fallocate() has given the file, so a
// full disk is an error at allocation time, never a SIGBUS at a store. The file therefore
// ends in a zero-filled preallocated tail while open; the engine trims it at a clean close,
// and recovery treats a tail of zero bytes as the end of the log (FORMAT-kch.md). When the
// address space or fallocate is not available, callers fall back to pread/pwrite.
#pragma once

#include <atomic>
#include <cstdint>

#include "storage/status.h"

namespace ryoan::storage::kch {

class LogMapping {
 public:
  LogMapping() = default;
  ~LogMapping() { Detach(); }
  LogMapping(const LogMapping&) = delete;
  LogMapping& operator=(const LogMapping&) = delete;

  // Maps the first `file_size` bytes of `fd` (writable: also lets Allocate() grow it). On
  // failure the mapping stays empty and every call below reports "not mapped".
  void Attach(int fd, uint64_t file_size, bool writable);
  // Unmaps everything; the file is untouched.
  void Detach();

  // The bytes [offset, offset + n) if they are mapped, else null. Thread-safe: the mapped
  // range only grows between Attach and Detach.
  const char* Read(uint64_t offset, uint64_t n) const {
    uint64_t mapped = mapped_.load(std::memory_order_acquire);
    return offset <= mapped && n <= mapped - offset ? base_ + offset : nullptr;
  }

  // Makes [offset, offset + n) allocated in the file and mapped writable, growing the file by
  // a chunk when needed; returns where to store the bytes, or null when the caller must
  // pwrite instead (not mapped, no address space left, or fallocate failed: the pwrite then
  // reports a full disk itself). Caller serializes appends.
  char* Allocate(uint64_t offset, uint64_t n);

  // A file system that turns read-only under us (ext4 errors=remount-ro, which since Linux
  // 6.8 does not even show in statvfs) refuses a pwrite at once but still takes stores into
  // pages already mapped, which then never reach the disk. So at most once a millisecond,
  // and every time while the last one failed, Allocate() returns null to send that append
  // through pwrite, whose result the caller reports here.
  void NotePwrite(bool ok) { probe_failed_ = !ok; }

  // Bytes of the file given to the mapping (the file is at least this long).
  uint64_t allocated() const { return allocated_; }

  // msync(MS_SYNC) of the pages holding [begin, end).
  Status Sync(uint64_t begin, uint64_t end) const;

 private:
  int fd_ = -1;
  bool writable_ = false;
  char* base_ = nullptr;
  uint64_t reserved_ = 0;            // bytes of address space at base_
  uint64_t allocated_ = 0;           // file bytes fallocated (writable) or present (read-only)
  std::atomic<uint64_t> mapped_{0};  // bytes readable through base_ (<= allocated_)
  int64_t probed_ns_ = 0;            // when an append last went through pwrite as a probe
  bool probe_failed_ = false;        // that pwrite's answer was an error
};

}  // namespace ryoan::storage::kch
