// When to probe a file written through a shared mapping for writability. A mapping gives no
// error when the file system turns read-only (ext4's emergency read-only state is invisible
// to statvfs), so the .kch and .kct engines send one write at most once a millisecond
// through pwrite, whose error they do see.
#pragma once

#include <time.h>

#include <cstdint>

namespace ryoan::storage {

// True once a millisecond at most (then `*last_ns` is set to now): time for a probe.
inline bool ProbeDue(int64_t* last_ns) {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t now = int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  if (now - *last_ns < 1'000'000) return false;
  *last_ns = now;
  return true;
}

}  // namespace ryoan::storage
