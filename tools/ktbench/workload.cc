#include "tools/ktbench/workload.h"

namespace ktbench {

Workload::Workload(uint64_t keys, size_t value_size) : keys_(keys), value_size_(value_size) {
  static constexpr char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  pool_.resize(kPoolSpan + value_size_);
  Rng rng(42);
  for (char& c : pool_) c = kAlnum[rng.Next() % 62];
}

void Workload::FormatKey(uint64_t k, char* buf) {
  buf[0] = 'k';
  for (size_t i = kKeySize - 1; i >= 1; --i) {
    buf[i] = static_cast<char>('0' + k % 10);
    k /= 10;
  }
}

void Workload::AppendKey(uint64_t k, std::string* out) {
  char buf[kKeySize];
  FormatKey(k, buf);
  out->append(buf, kKeySize);
}

bool Workload::ParseKey(std::string_view key, uint64_t* k) {
  if (key.size() != kKeySize || key[0] != 'k') return false;
  uint64_t v = 0;
  for (size_t i = 1; i < kKeySize; ++i) {
    if (key[i] < '0' || key[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(key[i] - '0');
  }
  *k = v;
  return true;
}

}  // namespace ktbench
