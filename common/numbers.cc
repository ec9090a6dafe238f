// Number parsing of spec/http-rpc.md 5.4 and atoix. These parsers never fail: they read as
// far as the text makes sense and return what they have, so garbage reads as 0.

#include "common/numbers.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace ryoan {

namespace {

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Skips the leading bytes 0x01-0x20 the original skips (a NUL is not skipped: it ends a C
// string there, and reads as garbage here).
inline size_t SkipLeadingSpace(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && s[i] >= 0x01 && s[i] <= 0x20) ++i;
  return i;
}

inline bool HasPrefixNoCase(std::string_view s, size_t pos, std::string_view lower) {
  if (s.size() - pos < lower.size()) return false;
  for (size_t k = 0; k < lower.size(); ++k) {
    char c = s[pos + k];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[k]) return false;
  }
  return true;
}

}  // namespace

int64_t ParseInt(std::string_view s) {
  size_t i = SkipLeadingSpace(s);
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  // Unsigned arithmetic: the spec wants wrap-around modulo 2^64, which signed overflow would
  // make undefined.
  uint64_t v = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  if (negative) v = uint64_t{0} - v;
  return static_cast<int64_t>(v);
}

double ParseReal(std::string_view s) {
  size_t i = SkipLeadingSpace(s);
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  if (HasPrefixNoCase(s, i, "inf")) {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (HasPrefixNoCase(s, i, "nan")) return std::numeric_limits<double>::quiet_NaN();

  // Collect at most 16 significant digits; the dropped ones only shift the decimal exponent.
  // The digits then go through from_chars, which rounds correctly and ignores the locale.
  constexpr int kMaxDigits = 16;
  char buf[kMaxDigits + 32];
  int ndigits = 0;
  int64_t exp10 = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    if (ndigits == 0 && s[i] == '0') continue;
    if (ndigits < kMaxDigits) {
      buf[ndigits++] = s[i];
    } else {
      ++exp10;
    }
  }
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && IsDigit(s[i]); ++i) {
      if (ndigits == 0 && s[i] == '0') {
        --exp10;
      } else if (ndigits < kMaxDigits) {
        buf[ndigits++] = s[i];
        --exp10;
      }
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    bool exp_negative = false;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) exp_negative = s[j++] == '-';
    int64_t e = 0;
    for (; j < s.size() && IsDigit(s[j]); ++j) {
      if (e < 1000000) e = e * 10 + (s[j] - '0');  // saturate: far beyond any double
    }
    exp10 += exp_negative ? -e : e;
  }
  double value = 0.0;
  if (ndigits > 0) {
    char* end = buf + ndigits;
    *end++ = 'e';
    end = std::to_chars(end, buf + sizeof(buf), exp10).ptr;
    auto [ptr, ec] = std::from_chars(buf, end, value);
    (void)ptr;
    if (ec == std::errc::result_out_of_range) {
      // from_chars leaves the value untouched on overflow and underflow.
      value = exp10 + ndigits > 0 ? std::numeric_limits<double>::infinity() : 0.0;
    }
  }
  return negative ? -value : value;
}

int64_t ParseIntWithUnit(std::string_view s) {
  size_t i = SkipLeadingSpace(s);
  bool negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  uint64_t whole = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
  double fraction = 0.0;
  if (i < s.size() && s[i] == '.') {
    double scale = 0.1;
    for (++i; i < s.size() && IsDigit(s[i]); ++i) {
      fraction += (s[i] - '0') * scale;
      scale /= 10;
    }
  }
  int shift = 0;
  if (i < s.size()) {
    switch (s[i]) {
      case 'k':
      case 'K':
        shift = 10;
        break;
      case 'm':
      case 'M':
        shift = 20;
        break;
      case 'g':
      case 'G':
        shift = 30;
        break;
      case 't':
      case 'T':
        shift = 40;
        break;
      case 'p':
      case 'P':
        shift = 50;
        break;
      case 'e':
      case 'E':
        shift = 60;
        break;
      default:
        break;
    }
  }
  uint64_t v = whole << shift;  // wraps like the integer parser; unsigned, so no UB
  if (shift > 0) v += static_cast<uint64_t>(fraction * static_cast<double>(uint64_t{1} << shift));
  if (negative) v = uint64_t{0} - v;
  return static_cast<int64_t>(v);
}

std::string FormatReal(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  if (decimals < 0) decimals = 6;  // printf's default when the precision is negative
  // The largest double has 309 integer digits; to_chars(fixed) matches "%.*f" exactly and does
  // not depend on the C locale's decimal point.
  std::string out(static_cast<size_t>(decimals) + 320, '\0');
  auto [ptr, ec] =
      std::to_chars(out.data(), out.data() + out.size(), v, std::chars_format::fixed, decimals);
  (void)ec;
  out.resize(static_cast<size_t>(ptr - out.data()));
  return out;
}

}  // namespace ryoan
