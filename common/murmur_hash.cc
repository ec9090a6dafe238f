#include "common/murmur_hash.h"

namespace ryoan {

uint64_t MurmurHash64(std::string_view data) {
  const uint64_t mul = 0xc6a4a7935bd1e995ULL;
  const int rtt = 47;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t size = data.size();
  uint64_t hash = 19780211ULL ^ (size * mul);
  while (size >= 8) {
    uint64_t k = 0;
    for (int i = 7; i >= 0; i--) k = (k << 8) | p[i];
    k *= mul;
    k ^= k >> rtt;
    k *= mul;
    hash *= mul;  // Kyoto's variant multiplies before mixing the block in
    hash ^= k;
    p += 8;
    size -= 8;
  }
  if (size > 0) {
    for (size_t i = size; i-- > 0;) hash ^= uint64_t{p[i]} << (8 * i);
    hash *= mul;
  }
  hash ^= hash >> rtt;
  hash *= mul;
  hash ^= hash >> rtt;
  return hash;
}

}  // namespace ryoan
