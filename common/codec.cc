// Byte codecs of spec/http-rpc.md section 5. Every decoder is total: malformed input never
// fails, it only loses the bytes the rules say to drop.

#include "common/codec.h"

#include <cstdint>

namespace ryoan {

namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUpperHex[] = "0123456789ABCDEF";
constexpr char kLowerHex[] = "0123456789abcdef";

// Base64 symbol values; -1 outside the alphabet, -2 for the pad '='.
struct Base64Table {
  int8_t value[256];
  constexpr Base64Table() : value() {
    for (int i = 0; i < 256; ++i) value[i] = -1;
    for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(kBase64Alphabet[i])] = i;
    value[static_cast<unsigned char>('=')] = -2;
  }
};
constexpr Base64Table kBase64Table;

// Bytes URL encoding writes literally.
struct UrlLiteralTable {
  bool literal[256];
  constexpr UrlLiteralTable() : literal() {
    for (int c = 0; c < 256; ++c) {
      literal[c] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-' || c == '.' || c == '~';
    }
  }
};
constexpr UrlLiteralTable kUrlLiteral;

}  // namespace

int HexDigitValue(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

namespace {

// The lenient digit rule of 5.3: a non-hex digit counts as 0.
inline unsigned LenientHex(unsigned char hi, unsigned char lo) {
  int h = HexDigitValue(hi);
  int l = HexDigitValue(lo);
  return static_cast<unsigned>((h < 0 ? 0 : h) * 16 + (l < 0 ? 0 : l));
}

}  // namespace

void AppendBase64Encode(std::string_view in, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t n = in.size();
  size_t start = out->size();
  out->resize(start + (n + 2) / 3 * 4);
  char* w = out->data() + start;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    *w++ = kBase64Alphabet[v >> 18];
    *w++ = kBase64Alphabet[(v >> 12) & 63];
    *w++ = kBase64Alphabet[(v >> 6) & 63];
    *w++ = kBase64Alphabet[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = uint32_t{p[i]} << 16;
    *w++ = kBase64Alphabet[v >> 18];
    *w++ = kBase64Alphabet[(v >> 12) & 63];
    *w++ = '=';
    *w++ = '=';
  } else if (n - i == 2) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    *w++ = kBase64Alphabet[v >> 18];
    *w++ = kBase64Alphabet[(v >> 12) & 63];
    *w++ = kBase64Alphabet[(v >> 6) & 63];
    *w++ = '=';
  }
}

void AppendBase64Decode(std::string_view in, std::string* out) {
  out->reserve(out->size() + in.size() / 4 * 3 + 3);
  uint32_t acc = 0;  // symbols of the current quantum, 6 bits each
  int count = 0;     // symbols (data or pad) in the current quantum
  int data = -1;     // data symbols before the first pad of the quantum; -1 = no pad yet
  for (unsigned char c : in) {
    int v = kBase64Table.value[c];
    if (v == -1) continue;  // whitespace and other strays are harmless
    if (v == -2) {
      if (data < 0) data = count;
    } else if (data < 0) {
      acc = (acc << 6) | static_cast<uint32_t>(v);
    }
    if (++count < 4) continue;
    if (data < 0) {
      out->push_back(static_cast<char>(acc >> 16));
      out->push_back(static_cast<char>(acc >> 8));
      out->push_back(static_cast<char>(acc));
      acc = 0;
      count = 0;
      continue;
    }
    break;  // a padded quantum is the last one
  }
  // A padded quantum, or an unpadded tail: emit the whole bytes its data symbols carry.
  int symbols = data >= 0 ? data : count;
  if (symbols >= 2) {
    acc <<= 6 * (4 - symbols);
    out->push_back(static_cast<char>(acc >> 16));
    if (symbols >= 3) out->push_back(static_cast<char>(acc >> 8));
  }
}

std::string Base64Encode(std::string_view in) {
  std::string out;
  AppendBase64Encode(in, &out);
  return out;
}

std::string Base64Decode(std::string_view in) {
  std::string out;
  AppendBase64Decode(in, &out);
  return out;
}

void AppendQuotedPrintableEncode(std::string_view in, std::string* out) {
  out->reserve(out->size() + in.size());
  for (unsigned char c : in) {
    if (c == '=' || c < 0x20 || c > 0x7E) {
      char esc[3] = {'=', kUpperHex[c >> 4], kUpperHex[c & 15]};
      out->append(esc, 3);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
}

void AppendQuotedPrintableDecode(std::string_view in, std::string* out) {
  out->reserve(out->size() + in.size());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '=') {
      if (i + 1 < n && in[i + 1] == '\n') {  // soft break "=\n"
        i += 2;
      } else if (i + 2 < n && in[i + 1] == '\r' && in[i + 2] == '\n') {  // soft break "=\r\n"
        i += 3;
      } else if (i + 2 < n) {
        // As in URL decoding, a non-hex digit counts as 0 rather than failing.
        out->push_back(static_cast<char>(LenientHex(in[i + 1], in[i + 2])));
        i += 3;
      } else {
        ++i;  // a '=' without two following bytes is dropped; the rest reads literally
      }
      continue;
    }
    if (c >= 0x20 && c != 0x7F) out->push_back(static_cast<char>(c));
    ++i;
  }
}

std::string QuotedPrintableEncode(std::string_view in) {
  std::string out;
  AppendQuotedPrintableEncode(in, &out);
  return out;
}

std::string QuotedPrintableDecode(std::string_view in) {
  std::string out;
  AppendQuotedPrintableDecode(in, &out);
  return out;
}

void AppendUrlEncode(std::string_view in, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const size_t n = in.size();
  size_t extra = 0;
  for (size_t i = 0; i < n; ++i) extra += kUrlLiteral.literal[p[i]] ? 0 : 2;
  size_t start = out->size();
  out->resize(start + n + extra);
  char* w = out->data() + start;
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = p[i];
    if (kUrlLiteral.literal[c]) {
      *w++ = static_cast<char>(c);
    } else {
      *w++ = '%';
      *w++ = kLowerHex[c >> 4];
      *w++ = kLowerHex[c & 15];
    }
  }
}

void AppendUrlDecode(std::string_view in, std::string* out) {
  out->reserve(out->size() + in.size());
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '%') {
      if (i + 2 < n) {
        out->push_back(static_cast<char>(LenientHex(in[i + 1], in[i + 2])));
        i += 3;
      } else {
        // A '%' lacking two following bytes ("%" or "%4" at the very end) is dropped and what
        // follows it reads literally, so "%4" ends as "4": the spec's end-of-input rule,
        // extended to the one-digit case rather than inventing a byte from half an escape.
        ++i;
      }
      continue;
    }
    if (c == '+') {
      out->push_back(' ');
    } else if (c > 0x20 && c != 0x7F) {
      out->push_back(static_cast<char>(c));  // raw bytes >= 0x80 kept (allowed deviation)
    }
    ++i;
  }
}

std::string UrlEncode(std::string_view in) {
  std::string out;
  AppendUrlEncode(in, &out);
  return out;
}

std::string UrlDecode(std::string_view in) {
  std::string out;
  AppendUrlDecode(in, &out);
  return out;
}

}  // namespace ryoan
