// Latency histogram with log-linear buckets: fixed memory, no allocation per sample, ~1.6%
// relative error, so that recording a sample costs a few instructions on the hot path.
#pragma once

#include <array>
#include <cstdint>

namespace ktbench {

class Histogram {
 public:
  // 2^kSubBits linear sub-buckets per power of two.
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  void Record(uint64_t value) {
    ++counts_[Index(value)];
    ++total_;
  }
  void Merge(const Histogram& other);
  uint64_t total() const { return total_; }
  // Value at quantile q in [0, 1] (the midpoint of the bucket holding it); 0 when empty.
  uint64_t Quantile(double q) const;

  static int Index(uint64_t value);
  // Smallest value mapped to bucket `index`, and the bucket's width.
  static uint64_t BucketLow(int index);
  static uint64_t BucketWidth(int index);

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
};

}  // namespace ktbench
