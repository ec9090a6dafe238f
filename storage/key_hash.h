// KeyHash: the 64-bit hash that places keys in the hash engine. It must be stable for the
// life of a process (cursors remember hashes) and mix well in both its top bits (bucket
// index) and its low bits (shard index). Not for persistent formats: the result depends on
// the host's byte order.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace ryoan::storage {

namespace key_hash_internal {

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// Full 64x64->128 multiply folded back to 64 bits: one instruction pair that spreads every
// input bit over the whole result.
inline uint64_t MulFold(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

inline constexpr uint64_t kK0 = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio
inline constexpr uint64_t kK1 = 0xC2B2AE3D27D4EB4Full;
inline constexpr uint64_t kK2 = 0x165667B19E3779F9ull;
inline constexpr uint64_t kK3 = 0xD6E8FEB86659FD93ull;

}  // namespace key_hash_internal

inline uint64_t KeyHash(std::string_view key) {
  using namespace key_hash_internal;
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = MulFold(n ^ kK0, kK1);
  while (n > 16) {
    h = MulFold(Load64(p) ^ kK2 ^ h, Load64(p + 8) ^ kK3) + (h << 7 | h >> 57);
    p += 16;
    n -= 16;
  }
  uint64_t a = 0;
  uint64_t b = 0;
  if (n >= 8) {
    a = Load64(p);
    b = Load64(p + n - 8);  // overlaps the first word when n < 16; cheaper than a byte loop
  } else if (n >= 4) {
    a = Load32(p);
    b = Load32(p + n - 4);
  } else if (n > 0) {
    a = static_cast<uint64_t>(static_cast<unsigned char>(p[0])) << 16 |
        static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
        static_cast<unsigned char>(p[n - 1]);
  }
  h = MulFold(a ^ kK2 ^ h, b ^ kK3 ^ n);
  // Final avalanche so that both ends of the word are usable as indexes.
  h ^= h >> 31;
  h *= kK1;
  h ^= h >> 29;
  h *= kK3;
  h ^= h >> 32;
  return h;
}

}  // namespace ryoan::storage
