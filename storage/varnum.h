// The varnum of Kyoto Cabinet's serial forms (spec/lua.md 4.4, spec/databases.md 4.8 and 8):
// big-endian base-128, most significant group first, 0x80 on every byte but the last
// (200 -> 81 48). Not LEB128.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ryoan::storage {

// At most 10 bytes hold any uint64_t.
inline constexpr size_t kMaxVarNumSize = 10;

inline void AppendVarNum(uint64_t v, std::string* out) {
  char buf[kMaxVarNumSize];
  size_t n = 0;
  do {
    buf[n++] = static_cast<char>(v & 0x7F);
    v >>= 7;
  } while (v > 0);
  while (n > 1) out->push_back(static_cast<char>(buf[--n] | 0x80));
  out->push_back(buf[0]);
}

// Reads one varnum at *pos and advances it. False when the input ends inside the number or
// the number is longer than kMaxVarNumSize bytes.
inline bool ReadVarNum(std::string_view in, size_t* pos, uint64_t* v) {
  *v = 0;
  for (size_t i = 0; i < kMaxVarNumSize && *pos < in.size(); i++) {
    auto c = static_cast<unsigned char>(in[(*pos)++]);
    *v = (*v << 7) | (c & 0x7F);
    if ((c & 0x80) == 0) return true;
  }
  return false;
}

}  // namespace ryoan::storage
