// HTTP dates without the C library's time zone machinery: calendar arithmetic on days since
// the epoch (proleptic Gregorian), so nothing depends on TZ or the process locale.

#include "common/http_date.h"

#include <cstring>

namespace ryoan {

namespace {

constexpr char kWeekdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days since 1970-01-01 of a civil date (month 1-12), valid for any year.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// A small cursor over the text, for the field-by-field date grammars.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  void SkipSpaces() {
    while (!AtEnd() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  }
  // Reads 1..max_digits decimal digits.
  bool Number(int max_digits, int64_t* out) {
    int64_t v = 0;
    int n = 0;
    while (n < max_digits && IsDigit(Peek())) {
      v = v * 10 + (s_[pos_++] - '0');
      ++n;
    }
    *out = v;
    return n > 0;
  }
  // Reads exactly `digits` decimal digits.
  bool Fixed(int digits, int64_t* out) {
    size_t start = pos_;
    if (!Number(digits, out)) return false;
    if (pos_ - start != static_cast<size_t>(digits)) {
      pos_ = start;
      return false;
    }
    return true;
  }
  std::string_view Word() {
    size_t start = pos_;
    while (!AtEnd() && ((Peek() >= 'A' && Peek() <= 'Z') || (Peek() >= 'a' && Peek() <= 'z'))) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }
  std::string_view Rest() const { return s_.substr(pos_); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// Seconds since the epoch of a broken-down GMT time, after checking the fields are sane.
std::optional<int64_t> Compose(int64_t y, int64_t mon, int64_t d, int64_t h, int64_t min, int64_t s,
                               int64_t offset_seconds) {
  if (mon < 1 || mon > 12 || d < 1 || d > 31 || h > 24 || min > 59 || s > 61) return std::nullopt;
  return DaysFromCivil(y, mon, d) * 86400 + h * 3600 + min * 60 + s - offset_seconds;
}

// "Z", "+hh:mm", "-hhmm", "+hh" or nothing (GMT) at the end of a numeric date.
bool NumericZone(Scanner* sc, int64_t* offset) {
  *offset = 0;
  sc->SkipSpaces();
  if (sc->AtEnd()) return true;
  if (sc->Consume('Z') || sc->Consume('z')) return true;
  char sign = sc->Peek();
  if (sign != '+' && sign != '-') {
    return EqualsNoCase(sc->Rest(), "GMT") || EqualsNoCase(sc->Rest(), "UTC");
  }
  sc->Consume(sign);
  int64_t hh = 0, mm = 0;
  if (!sc->Fixed(2, &hh)) return false;
  sc->Consume(':');
  if (!sc->AtEnd() && !sc->Fixed(2, &mm)) return false;
  *offset = (hh * 3600 + mm * 60) * (sign == '-' ? -1 : 1);
  return true;
}

// W3CDTF (sep '-', 'T') or "YYYY/MM/DD hh:mm:ss" (sep '/', ' '): date, optional time with
// optional seconds and ignored fraction, optional zone.
std::optional<int64_t> ParseNumericDate(std::string_view text, char sep) {
  Scanner sc(text);
  int64_t y = 0, mon = 1, d = 1, h = 0, min = 0, s = 0, offset = 0;
  if (!sc.Fixed(4, &y) || !sc.Consume(sep) || !sc.Fixed(2, &mon)) return std::nullopt;
  if (sc.Consume(sep) && !sc.Fixed(2, &d)) return std::nullopt;
  if (sc.Consume('T') || sc.Consume('t') || sc.Consume(' ')) {
    sc.SkipSpaces();
    if (!sc.Fixed(2, &h) || !sc.Consume(':') || !sc.Fixed(2, &min)) return std::nullopt;
    if (sc.Consume(':') && !sc.Fixed(2, &s)) return std::nullopt;
    if (sc.Consume('.')) {
      while (IsDigit(sc.Peek())) sc.Consume(sc.Peek());
    }
  }
  if (!NumericZone(&sc, &offset)) return std::nullopt;
  return Compose(y, mon, d, h, min, s, offset);
}

// Offsets of the zone names the original knows, in seconds east of GMT.
bool NamedZone(std::string_view name, int64_t* offset) {
  static constexpr struct {
    const char* name;
    int hours;
  } kZones[] = {{"GMT", 0},  {"UT", 0},   {"UTC", 0},  {"Z", 0},    {"JST", 9},  {"KST", 9},
                {"CCT", 8},  {"EDT", -4}, {"EST", -5}, {"CDT", -5}, {"CST", -6}, {"MDT", -6},
                {"MST", -7}, {"PDT", -7}, {"PST", -8}, {"HDT", -9}, {"HST", -10}};
  for (const auto& z : kZones) {
    if (EqualsNoCase(name, z.name)) {
      *offset = int64_t{z.hours} * 3600;
      return true;
    }
  }
  return false;
}

// "[Wkd,] DD Mon YYYY hh:mm[:ss] [zone]".
std::optional<int64_t> ParseRfc822(std::string_view text) {
  Scanner sc(text);
  sc.SkipSpaces();
  if (!IsDigit(sc.Peek())) {
    std::string_view weekday = sc.Word();
    bool known = false;
    for (const auto* w : kWeekdays) known |= EqualsNoCase(weekday, w);
    if (!known) return std::nullopt;
    sc.Consume(',');
    sc.SkipSpaces();
  }
  int64_t d = 0, y = 0, h = 0, min = 0, s = 0, offset = 0;
  if (!sc.Number(2, &d)) return std::nullopt;
  sc.SkipSpaces();
  sc.Consume('-');  // RFC 850 style "02-Jan-12" costs nothing to accept
  std::string_view month = sc.Word();
  int64_t mon = 0;
  for (int i = 0; i < 12; ++i) {
    if (EqualsNoCase(month, kMonths[i])) mon = i + 1;
  }
  if (mon == 0) return std::nullopt;
  sc.Consume('-');
  sc.SkipSpaces();
  Scanner year_start = sc;
  if (!sc.Number(4, &y)) return std::nullopt;
  size_t year_digits = year_start.Rest().size() - sc.Rest().size();
  if (year_digits <= 2) y += y < 50 ? 2000 : 1900;  // RFC 822 two-digit years
  sc.SkipSpaces();
  if (!sc.AtEnd()) {
    if (!sc.Number(2, &h) || !sc.Consume(':') || !sc.Number(2, &min)) return std::nullopt;
    if (sc.Consume(':') && !sc.Number(2, &s)) return std::nullopt;
    sc.SkipSpaces();
  }
  if (!sc.AtEnd()) {
    char sign = sc.Peek();
    if (sign == '+' || sign == '-') {
      sc.Consume(sign);
      int64_t hh = 0, mm = 0;
      if (!sc.Fixed(2, &hh)) return std::nullopt;
      sc.Consume(':');
      if (!sc.Fixed(2, &mm)) return std::nullopt;
      offset = (hh * 3600 + mm * 60) * (sign == '-' ? -1 : 1);
    } else if (!NamedZone(sc.Word(), &offset)) {
      return std::nullopt;
    }
    sc.SkipSpaces();
    if (!sc.AtEnd()) return std::nullopt;
  }
  return Compose(y, mon, d, h, min, s, offset);
}

}  // namespace

size_t FormatHttpDate(int64_t unix_seconds, char* out) {
  int64_t days = FloorDiv(unix_seconds, 86400);
  int64_t secs = unix_seconds - days * 86400;
  int64_t year;
  int month, day;
  CivilFromDays(days, &year, &month, &day);
  int weekday = static_cast<int>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  // Years outside 0..9999 do not fit the fixed layout; clamp rather than overflow `out`.
  if (year < 0) year = 0;
  if (year > 9999) year = 9999;
  char* w = out;
  auto put2 = [&w](int v) {
    *w++ = static_cast<char>('0' + v / 10);
    *w++ = static_cast<char>('0' + v % 10);
  };
  std::memcpy(w, kWeekdays[weekday], 3);
  w += 3;
  *w++ = ',';
  *w++ = ' ';
  put2(day);
  *w++ = ' ';
  std::memcpy(w, kMonths[month - 1], 3);
  w += 3;
  *w++ = ' ';
  put2(static_cast<int>(year / 100));
  put2(static_cast<int>(year % 100));
  *w++ = ' ';
  put2(static_cast<int>(secs / 3600));
  *w++ = ':';
  put2(static_cast<int>(secs / 60 % 60));
  *w++ = ':';
  put2(static_cast<int>(secs % 60));
  std::memcpy(w, " GMT", 4);
  w += 4;
  return static_cast<size_t>(w - out);
}

std::string FormatHttpDate(int64_t unix_seconds) {
  char buf[kHttpDateLength];
  return std::string(buf, FormatHttpDate(unix_seconds, buf));
}

std::optional<int64_t> ParseHttpDate(std::string_view text) {
  while (!text.empty() && text.front() >= 0x01 && text.front() <= 0x20) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;

  // Hex seconds.
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    uint64_t v = 0;
    for (size_t i = 2; i < text.size(); ++i) {
      int digit = IsDigit(text[i])                                   ? text[i] - '0'
                  : (Lower(text[i]) >= 'a' && Lower(text[i]) <= 'f') ? Lower(text[i]) - 'a' + 10
                                                                     : -1;
      if (digit < 0) return std::nullopt;
      v = v * 16 + static_cast<uint64_t>(digit);
    }
    return static_cast<int64_t>(v);
  }

  // Decimal seconds, optionally signed, optionally with a unit. Unsigned arithmetic: absurd
  // inputs wrap instead of overflowing.
  {
    size_t i = 0;
    bool negative = false;
    if (text[0] == '+' || text[0] == '-') negative = text[i++] == '-';
    size_t digits_start = i;
    uint64_t v = 0;
    while (i < text.size() && IsDigit(text[i])) v = v * 10 + static_cast<uint64_t>(text[i++] - '0');
    if (i > digits_start) {
      uint64_t unit = 0;
      if (i == text.size()) {
        unit = 1;
      } else if (i + 1 == text.size()) {
        switch (Lower(text[i])) {
          case 's':
            unit = 1;
            break;
          case 'm':
            unit = 60;
            break;
          case 'h':
            unit = 3600;
            break;
          case 'd':
            unit = 86400;
            break;
          default:
            break;
        }
      }
      if (unit != 0) {
        v *= unit;
        if (negative) v = uint64_t{0} - v;
        return static_cast<int64_t>(v);
      }
    }
  }

  if (text.size() >= 5 && IsDigit(text[0]) && IsDigit(text[1]) && IsDigit(text[2]) &&
      IsDigit(text[3])) {
    if (text[4] == '-') return ParseNumericDate(text, '-');
    if (text[4] == '/') return ParseNumericDate(text, '/');
  }
  return ParseRfc822(text);
}

}  // namespace ryoan
