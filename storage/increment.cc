#include "storage/increment.h"

#include <cmath>
#include <limits>

namespace ryoan::storage {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Two's-complement wrap-around addition without signed-overflow UB.
int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}

// trunc(v) as int64, saturating: converting an out-of-range float is undefined behaviour.
int64_t Trunc64(long double v) {
  if (v >= 9223372036854775807.0L) return kMax;
  if (v <= -9223372036854775808.0L) return kMin;
  return static_cast<int64_t>(v);
}

void EncodeFixed(int64_t integer, int64_t fraction, char out[16]) {
  EncodeInt64(integer, out);
  EncodeInt64(fraction, out + 8);
}

// Encodes a double as (trunc(v), trunc(frac(v) * 1e15)), both with the sign of v, or as one
// of the NaN / infinity markers.
void EncodeDouble(long double v, char out[16]) {
  if (std::isnan(v)) return EncodeFixed(kMin, kMin, out);
  if (std::isinf(v)) return EncodeFixed(v > 0 ? kMax : kMin, 0, out);
  long double integer;
  long double fraction = std::modf(v, &integer);
  EncodeFixed(Trunc64(integer), Trunc64(fraction * kDecUnit), out);
}

}  // namespace

void EncodeInt64(int64_t v, char out[8]) {
  uint64_t u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(u & 0xff);
    u >>= 8;
  }
}

int64_t DecodeInt64(const char* in) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = u << 8 | static_cast<unsigned char>(in[i]);
  return static_cast<int64_t>(u);
}

IncrementOutcome IncrementInt(std::optional<std::string_view> current, int64_t num, int64_t orig,
                              int64_t* result, char out[8]) {
  int64_t value;
  if (current.has_value()) {
    if (current->size() != 8) return IncrementOutcome::kFail;
    if (orig == kMax) {
      value = num;
    } else if (num == 0) {
      *result = DecodeInt64(current->data());
      return IncrementOutcome::kNoWrite;
    } else {
      value = WrapAdd(DecodeInt64(current->data()), num);
    }
  } else {
    if (orig == kMin) return IncrementOutcome::kFail;
    value = WrapAdd(num, orig == kMax ? 0 : orig);
  }
  *result = value;
  EncodeInt64(value, out);
  // INT64_MIN doubles as the failure marker of the original's API.
  return value == kMin ? IncrementOutcome::kWriteFail : IncrementOutcome::kWrite;
}

IncrementOutcome IncrementDouble(std::optional<std::string_view> current, double num, double orig,
                                 double* result, char out[16]) {
  const double inf = std::numeric_limits<double>::infinity();
  if (!current.has_value()) {
    if (std::isnan(orig) || orig == -inf) return IncrementOutcome::kFail;
    long double v = static_cast<long double>(num) + (std::isinf(orig) ? 0.0L : orig);
    EncodeDouble(v, out);
    *result = static_cast<double>(v);
    return std::isnan(v) ? IncrementOutcome::kWriteFail : IncrementOutcome::kWrite;
  }
  if (current->size() != 16) return IncrementOutcome::kFail;
  int64_t integer = 0;
  int64_t fraction = 0;
  if (orig != inf) {  // "set" counts the current value as zero
    integer = DecodeInt64(current->data());
    fraction = DecodeInt64(current->data() + 8);
    if (integer == kMin && fraction == kMin) return IncrementOutcome::kFail;  // NaN
    if (integer == kMax || integer == kMin) {
      *result = integer == kMax ? inf : -inf;
      return IncrementOutcome::kNoWrite;
    }
    if (num == 0) {
      *result = static_cast<double>(integer + static_cast<long double>(fraction) / kDecUnit);
      return IncrementOutcome::kNoWrite;
    }
  }
  if (std::isnan(num)) {
    EncodeFixed(kMin, kMin, out);
    *result = num;
    return IncrementOutcome::kWriteFail;
  }
  if (std::isinf(num)) {
    EncodeFixed(num > 0 ? kMax : kMin, 0, out);
    *result = num;
    return IncrementOutcome::kWrite;
  }
  long double add_integer;
  long double add_fraction = std::modf(static_cast<long double>(num), &add_integer);
  integer = WrapAdd(integer, Trunc64(add_integer));
  fraction = WrapAdd(fraction, Trunc64(add_fraction * kDecUnit));
  if (fraction >= kDecUnit) {  // carry; negative fractions are deliberately not borrowed
    integer = WrapAdd(integer, 1);
    fraction -= kDecUnit;
  }
  EncodeFixed(integer, fraction, out);
  *result = static_cast<double>(integer + static_cast<long double>(fraction) / kDecUnit);
  return IncrementOutcome::kWrite;
}

}  // namespace ryoan::storage
