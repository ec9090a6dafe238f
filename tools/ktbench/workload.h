// Key naming, value derivation and verification shared by every protocol.
//
// Keys are "k" + 10 decimal digits, values are slices of a fixed pseudo-random alphanumeric
// pool at an offset derived from the key. So the expected value of any key is known without
// storing anything, a get can be verified against it, and neither keys nor values need
// escaping in URLs, TSV or the memcached line protocol (the server sends them raw or with
// colenc=U, which is the identity for these bytes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ktbench {

inline constexpr size_t kKeySize = 11;

// splitmix64: a fast, well-mixed generator; also used as a hash of key indexes.
inline uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() { return Mix64(state_++); }
  // Uniform in [0, 1).
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

class Workload {
 public:
  Workload(uint64_t keys, size_t value_size);

  uint64_t keys() const { return keys_; }
  size_t value_size() const { return value_size_; }

  // Writes the kKeySize bytes of key `k` to `buf`.
  static void FormatKey(uint64_t k, char* buf);
  static void AppendKey(uint64_t k, std::string* out);
  // Parses a key written by FormatKey; false for anything else.
  static bool ParseKey(std::string_view key, uint64_t* k);

  std::string_view Value(uint64_t k) const {
    return std::string_view(pool_.data() + Offset(k), value_size_);
  }
  bool Check(uint64_t k, std::string_view value) const { return value == Value(k); }

 private:
  static constexpr uint64_t kPoolSpan = 1 << 20;
  static uint64_t Offset(uint64_t k) { return Mix64(k ^ 0x5bd1e995) & (kPoolSpan - 1); }

  uint64_t keys_;
  size_t value_size_;
  std::string pool_;
};

}  // namespace ktbench
