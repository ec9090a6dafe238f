#include "storage/file_hash_mapping.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "storage/write_probe.h"

namespace ryoan::storage::kch {
namespace {

// Address space to reserve: room for the file to grow 4x, within these bounds. Reserved
// address space costs no memory (PROT_NONE, MAP_NORESERVE); a file that outgrows it is read
// and written with pread/pwrite beyond the reserved part.
constexpr uint64_t kMinReserve = uint64_t{64} << 30;
constexpr uint64_t kMaxReserve = uint64_t{1} << 40;
constexpr uint64_t kLastResortReserve = uint64_t{1} << 30;
// Growth step of the file's preallocated tail: an eighth of the file, within these bounds.
constexpr uint64_t kMinChunk = uint64_t{4} << 20;
constexpr uint64_t kMaxChunk = uint64_t{256} << 20;

uint64_t PageSize() {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return page;
}

uint64_t RoundUp(uint64_t n, uint64_t unit) { return (n + unit - 1) / unit * unit; }

}  // namespace

void LogMapping::Attach(int fd, uint64_t file_size, bool writable) {
  Detach();
  uint64_t want = kMinReserve;
  while (want < kMaxReserve && want / 4 < file_size) want *= 2;
  void* base = MAP_FAILED;
  for (; want >= kLastResortReserve; want /= 2) {
    base = ::mmap(nullptr, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base != MAP_FAILED) break;
  }
  if (base == MAP_FAILED) return;  // no address space: pread/pwrite only
  fd_ = fd;
  writable_ = writable;
  base_ = static_cast<char*>(base);
  reserved_ = want;
  uint64_t len = std::min(RoundUp(file_size, PageSize()), reserved_);
  if (len > 0) {
    int prot = PROT_READ | (writable ? PROT_WRITE : 0);
    if (::mmap(base_, len, prot, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
      Detach();
      return;
    }
  }
  // The last page may extend past the end of the file: readable (as zeros), but a store
  // there waits for Allocate() to extend the file first.
  allocated_ = std::min(file_size, len);
  mapped_.store(len, std::memory_order_release);
}

void LogMapping::Detach() {
  if (base_ != nullptr) ::munmap(base_, reserved_);
  fd_ = -1;
  writable_ = false;
  base_ = nullptr;
  reserved_ = 0;
  allocated_ = 0;
  mapped_.store(0, std::memory_order_release);
}

char* LogMapping::Allocate(uint64_t offset, uint64_t n) {
  if (!writable_ || offset > reserved_ || n > reserved_ - offset) return nullptr;
  uint64_t end = offset + n;
  uint64_t mapped = mapped_.load(std::memory_order_relaxed);
  if (probe_failed_ || ProbeDue(&probed_ns_)) return nullptr;
  if (end <= allocated_ && end <= mapped) return base_ + offset;
  uint64_t chunk = std::clamp(allocated_ / 8, kMinChunk, kMaxChunk);
  uint64_t target = std::min(RoundUp(std::max(end, allocated_ + chunk), PageSize()), reserved_);
  // Blocks first: a store into a hole of a full file system would be a SIGBUS.
  int r;
  do {
    r = ::fallocate(fd_, 0, static_cast<off_t>(allocated_),
                    static_cast<off_t>(target - allocated_));
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    // Without fallocate (some file systems) every append is a pwrite; a full disk is
    // retried, as space may come back.
    if (errno == EOPNOTSUPP) writable_ = false;
    return nullptr;
  }
  allocated_ = target;
  if (target > mapped) {
    if (::mmap(base_ + mapped, target - mapped, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_,
               static_cast<off_t>(mapped)) == MAP_FAILED) {
      writable_ = false;  // never MAP_FIXED again into a range that may now be released
      return nullptr;
    }
    mapped_.store(target, std::memory_order_release);
  }
  return base_ + offset;
}

Status LogMapping::Sync(uint64_t begin, uint64_t end) const {
  uint64_t mapped = mapped_.load(std::memory_order_acquire);
  end = std::min(end, mapped);
  if (base_ == nullptr || begin >= end) return Status::OK();
  begin = begin / PageSize() * PageSize();
  if (::msync(base_ + begin, end - begin, MS_SYNC) != 0) {
    return Status::System(std::string("msync: ") + std::strerror(errno));
  }
  return Status::OK();
}

}  // namespace ryoan::storage::kch
