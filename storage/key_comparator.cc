#include "storage/key_comparator.h"

#include <cstdint>

namespace ryoan::storage {
namespace {

// A key read as a decimal number: skip bytes <= 0x20, optional '-', integer digits, then
// up to 16 fraction digits after a '.'. Both parts carry the sign, so (integer, fraction)
// pairs compare correctly as tuples.
struct Decimal {
  int64_t integer = 0;
  int64_t fraction = 0;  // in units of 1e-16
};

Decimal ParseDecimal(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && static_cast<unsigned char>(s[i]) <= 0x20) ++i;
  bool negative = false;
  if (i < s.size() && s[i] == '-') {
    negative = true;
    ++i;
  }
  uint64_t integer = 0;  // unsigned: overflow wraps instead of being undefined
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    integer = integer * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  int64_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (digits < 16 && i < s.size() && s[i] >= '0' && s[i] <= '9') {
      fraction = fraction * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    for (; digits < 16; ++digits) fraction *= 10;
  }
  Decimal d;
  d.integer = static_cast<int64_t>(negative ? 0 - integer : integer);
  d.fraction = negative ? -fraction : fraction;
  return d;
}

int CompareLex(std::string_view a, std::string_view b) {
  int c = a.compare(b);  // char_traits<char>::compare is unsigned byte-wise (memcmp)
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int CompareDec(std::string_view a, std::string_view b) {
  Decimal da = ParseDecimal(a);
  Decimal db = ParseDecimal(b);
  if (da.integer != db.integer) return da.integer < db.integer ? -1 : 1;
  if (da.fraction != db.fraction) return da.fraction < db.fraction ? -1 : 1;
  return CompareLex(a, b);
}

}  // namespace

KeyComparator KeyComparator::FromName(std::string_view name) {
  if (name == "dec") return KeyComparator(kDec);
  if (name == "lexdesc") return KeyComparator(kLexDesc);
  if (name == "decdesc") return KeyComparator(kDecDesc);
  return KeyComparator(kLex);
}

const char* KeyComparator::name() const {
  switch (kind_) {
    case kLex:
      return "lex";
    case kDec:
      return "dec";
    case kLexDesc:
      return "lexdesc";
    case kDecDesc:
      return "decdesc";
  }
  return "lex";
}

int KeyComparator::Compare(std::string_view a, std::string_view b) const {
  switch (kind_) {
    case kLex:
      return CompareLex(a, b);
    case kDec:
      return CompareDec(a, b);
    case kLexDesc:
      return CompareLex(b, a);
    case kDecDesc:
      return CompareDec(b, a);
  }
  return 0;
}

}  // namespace ryoan::storage
