#include "tools/ktbench/histogram.h"

#include <bit>
#include <cmath>

namespace ktbench {

int Histogram::Index(uint64_t value) {
  if (value < kSub) return static_cast<int>(value);
  // Group g holds [2^(msb), 2^(msb+1)) split into kSub equal parts; the top bit is implicit.
  const int msb = 63 - std::countl_zero(value);
  const int group = msb - kSubBits + 1;
  const int sub = static_cast<int>((value >> (msb - kSubBits)) & (kSub - 1));
  return group * kSub + sub;
}

uint64_t Histogram::BucketLow(int index) {
  const int group = index / kSub;
  const uint64_t sub = static_cast<uint64_t>(index % kSub);
  if (group == 0) return sub;
  return (kSub + sub) << (group - 1);
}

uint64_t Histogram::BucketWidth(int index) {
  const int group = index / kSub;
  return group == 0 ? 1 : uint64_t{1} << (group - 1);
}

void Histogram::Merge(const Histogram& other) {
  for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
}

uint64_t Histogram::Quantile(double q) const {
  if (total_ == 0) return 0;
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total_)));
  if (rank < 1) rank = 1;
  if (rank > total_) rank = total_;
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) return BucketLow(i) + BucketWidth(i) / 2;
  }
  return BucketLow(kBuckets - 1);
}

}  // namespace ktbench
