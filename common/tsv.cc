// TSV record maps of the HTTP RPC. This runs for every RPC request and reply, so the decoders
// write straight into the map's strings and the encoder into one reserved buffer.

#include "common/tsv.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "common/codec.h"

namespace ryoan {

void RecordMap::ClearLarge() {
  if (entries_.size() > kKeptEntries) entries_.resize(kKeptEntries);
  size_t used = std::min(size_, entries_.size());
  for (size_t i = 0; i < used; ++i) {
    ClearKeepingSmall(entries_[i].first);
    ClearKeepingSmall(entries_[i].second);
  }
  if (index_.capacity() > 4 * kKeptEntries) std::vector<uint32_t>().swap(index_);
  size_ = 0;
}

RecordMap::Entry& RecordMap::AppendSlot() {
  entries_.emplace_back();
  return entries_[size_++];
}

void RecordMap::Append(std::string_view name, std::string_view value) {
  Entry& e = AppendEntry();
  e.first.assign(name);
  e.second.assign(value);
}

void RecordMap::Append(std::string_view name, std::string&& value) {
  Entry& e = AppendEntry();
  e.first.assign(name);
  e.second = std::move(value);
}

void RecordMap::Set(std::string_view name, std::string_view value) {
  for (size_t i = 0; i < size_; ++i) {
    if (entries_[i].first == name) {
      entries_[i].second.assign(value);
      return;
    }
  }
  Append(name, value);
}

void RecordMap::Set(std::string_view name, std::string&& value) {
  for (size_t i = 0; i < size_; ++i) {
    if (entries_[i].first == name) {
      entries_[i].second = std::move(value);
      return;
    }
  }
  Append(name, std::move(value));
}

void RecordMap::MergeSlow(size_t first) {
  size_t kept = first;
  if (size_ <= 16) {
    for (size_t i = first; i < size_; ++i) {
      size_t j = 0;
      while (j < kept && entries_[j].first != entries_[i].first) ++j;
      if (j < kept) {
        entries_[j].second.swap(entries_[i].second);
      } else {
        if (j != i) entries_[j].swap(entries_[i]);
        ++kept;
      }
    }
    size_ = kept;
    return;
  }
  // Bulk inputs carry many records, where the scan above would be quadratic: an
  // open-addressing table of entry positions (plus one), at most half full.
  size_t slots = 64;
  while (slots < 2 * size_) slots *= 2;
  index_.assign(slots, 0);
  const size_t mask = slots - 1;
  std::hash<std::string_view> hash;
  // Returns the slot holding `name`, or the empty slot where it belongs.
  auto probe = [&](std::string_view name) {
    size_t at = hash(name) & mask;
    while (index_[at] != 0 && entries_[index_[at] - 1].first != name) at = (at + 1) & mask;
    return at;
  };
  for (size_t i = 0; i < first; ++i) {
    size_t at = probe(entries_[i].first);
    if (index_[at] == 0) index_[at] = static_cast<uint32_t>(i + 1);
  }
  for (size_t i = first; i < size_; ++i) {
    size_t at = probe(entries_[i].first);
    if (index_[at] != 0) {
      entries_[index_[at] - 1].second.swap(entries_[i].second);
      continue;
    }
    if (kept != i) entries_[kept].swap(entries_[i]);
    index_[at] = static_cast<uint32_t>(kept + 1);
    ++kept;
  }
  size_ = kept;
}

namespace {

inline char ToLowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

void DecodeColumn(std::string_view in, ColumnEncoding enc, std::string* out) {
  switch (enc) {
    case ColumnEncoding::kNone:
      out->append(in.data(), in.size());  // `out` is a fresh entry's, so empty
      break;
    case ColumnEncoding::kBase64:
      AppendBase64Decode(in, out);
      break;
    case ColumnEncoding::kQuotedPrintable:
      AppendQuotedPrintableDecode(in, out);
      break;
    case ColumnEncoding::kUrl:
      AppendUrlDecode(in, out);
      break;
  }
}

void EncodeColumn(std::string_view in, ColumnEncoding enc, std::string* out) {
  switch (enc) {
    case ColumnEncoding::kNone:
      out->append(in.data(), in.size());
      break;
    case ColumnEncoding::kBase64:
      AppendBase64Encode(in, out);
      break;
    case ColumnEncoding::kQuotedPrintable:
      AppendQuotedPrintableEncode(in, out);
      break;
    case ColumnEncoding::kUrl:
      AppendUrlEncode(in, out);
      break;
  }
}

// Output length of 6.3's "ulen": 1 for the bytes it leaves alone, 3 for the others. The set
// is the original's and deliberately differs from UrlEncode's literal set.
struct UlenTable {
  uint8_t cost[256];
  bool control[256];
  constexpr UlenTable() : cost(), control() {
    for (int c = 0; c < 256; ++c) {
      bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '-' || c == '.' || c == '!' || c == '~' || c == '*' ||
                   c == '\'' || c == '(' || c == ')';
      cost[c] = plain ? 1 : 3;
      control[c] = c < 0x20 || c == 0x7F;
    }
  }
};
constexpr UlenTable kUlen;

}  // namespace

ColumnEncoding ParseColumnEncoding(std::string_view content_type) {
  // Skip the media type: the attributes start after the first ';' or space.
  const size_t n = content_type.size();
  size_t i = 0;
  while (i < n && content_type[i] != ';' && content_type[i] != ' ') ++i;
  if (i == n) return ColumnEncoding::kNone;
  while (i < n) {
    while (i < n && (content_type[i] == ';' || content_type[i] == ' ')) ++i;
    size_t start = i;
    while (i < n && content_type[i] != ';' && content_type[i] != ' ') ++i;
    std::string_view token = content_type.substr(start, i - start);
    static constexpr std::string_view kKey = "colenc=";
    if (token.size() < kKey.size()) continue;
    bool match = true;
    for (size_t k = 0; k < kKey.size(); ++k) {
      if (ToLowerAscii(token[k]) != kKey[k]) {
        match = false;
        break;
      }
    }
    if (!match) continue;
    std::string_view v = token.substr(kKey.size());
    if (!v.empty() && v[0] == '"') v.remove_prefix(1);
    if (v.empty()) return ColumnEncoding::kNone;
    switch (v[0]) {
      case 'B':
      case 'b':
        return ColumnEncoding::kBase64;
      case 'Q':
      case 'q':
        return ColumnEncoding::kQuotedPrintable;
      case 'U':
      case 'u':
        return ColumnEncoding::kUrl;
      default:
        return ColumnEncoding::kNone;
    }
  }
  return ColumnEncoding::kNone;
}

void DecodeTsv(std::string_view body, ColumnEncoding enc, RecordMap* map) {
  const size_t first = map->size();
  const char* p = body.data();
  const char* end = p + body.size();
  while (p < end) {
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (eol == nullptr) eol = end;
    std::string_view record(p, static_cast<size_t>(eol - p));
    p = eol + 1;
    if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
    size_t tab = record.find('\t');
    if (tab == std::string_view::npos) continue;
    RecordMap::Entry& e = map->AppendEntry();
    if (enc == ColumnEncoding::kNone) {  // the usual case, without the per-column dispatch
      e.first.append(record.data(), tab);
      e.second.append(record.data() + tab + 1, record.size() - tab - 1);
      continue;
    }
    DecodeColumn(record.substr(0, tab), enc, &e.first);
    DecodeColumn(record.substr(tab + 1), enc, &e.second);
  }
  map->MergeFrom(first);
}

void DecodeForm(std::string_view form, RecordMap* map) {
  // The original treats the form as a C string.
  size_t nul = form.find('\0');
  if (nul != std::string_view::npos) form = form.substr(0, nul);
  const size_t first = map->size();
  const size_t n = form.size();
  size_t i = 0;
  while (i < n) {
    size_t stop = i;  // (find_first_of would call memchr once per byte)
    while (stop < n && form[stop] != '&' && form[stop] != ';') ++stop;
    std::string_view pair = form.substr(i, stop - i);
    i = stop + 1;
    while (!pair.empty() && pair[0] >= 0x01 && pair[0] <= 0x20) pair.remove_prefix(1);
    if (pair.empty()) continue;
    RecordMap::Entry& e = map->AppendEntry();
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      AppendUrlDecode(pair, &e.first);
    } else {
      AppendUrlDecode(pair.substr(0, eq), &e.first);
      AppendUrlDecode(pair.substr(eq + 1), &e.second);
    }
  }
  map->MergeFrom(first);
}

namespace {

// True when `s` holds a control byte (< 0x20 or 0x7F), tested eight bytes at a time: a byte
// below 0x20 borrows into its top bit in x - 0x20..20, and 0x7F becomes a zero byte in
// x ^ 0x7F..7F (the classic "has less" and "has zero" word tests, exact for the question
// whether any byte matches).
bool HasControlByte(const std::string& s) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const size_t n = s.size();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, s.data() + i, 8);
    uint64_t below = (x - kOnes * 0x20) & ~x & kHigh;
    uint64_t y = x ^ (kOnes * 0x7F);
    uint64_t del = (y - kOnes) & ~y & kHigh;
    if ((below | del) != 0) return true;
  }
  for (; i < n; ++i) {
    if (kUlen.control[static_cast<unsigned char>(s[i])]) return true;
  }
  return false;
}

}  // namespace

ColumnEncoding ChooseOutputEncoding(const RecordMap& map) {
  // Most replies need no encoding: a quick scan says so, and the bytes are costed only when
  // some column must be encoded.
  bool plain = true;
  for (const auto& e : map.entries()) {
    if (e.first.size() > 255 || e.second.size() > 255 || HasControlByte(e.first) ||
        HasControlByte(e.second)) {
      plain = false;
      break;
    }
  }
  if (plain) return ColumnEncoding::kNone;
  bool bin = false;
  size_t blen = 0;
  size_t ulen = 0;
  auto account = [&](const std::string& s) {
    size_t n = s.size();
    if (n > 255) {
      n = 255;
      bin = true;
    }
    blen += (n * 6) / 4 + 3;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    for (size_t i = 0; i < n; ++i) {
      bin |= kUlen.control[p[i]];
      ulen += kUlen.cost[p[i]];
    }
  };
  for (const auto& e : map.entries()) {
    account(e.first);
    account(e.second);
  }
  if (!bin) return ColumnEncoding::kNone;
  return blen < ulen ? ColumnEncoding::kBase64 : ColumnEncoding::kUrl;
}

void EncodeTsv(const RecordMap& map, ColumnEncoding enc, std::string* out) {
  const auto& entries = map.entries();
  const size_t n = entries.size();
  if (n == 0) return;

  // Size the buffer once: exact for raw and Base64, the raw size for URL (which grows it at
  // most once more through AppendUrlEncode's own reservation).
  size_t total = 0;
  for (const auto& e : entries) {
    size_t a = e.first.size(), b = e.second.size();
    total += enc == ColumnEncoding::kBase64 ? (a + 2) / 3 * 4 + (b + 2) / 3 * 4 : a + b;
    total += 2;
  }
  out->reserve(out->size() + total);

  auto write = [&](const RecordMap::Entry& e) {
    EncodeColumn(e.first, enc, out);
    out->push_back('\t');
    EncodeColumn(e.second, enc, out);
    out->push_back('\n');
  };
  // std::string's operator< compares as unsigned bytes, which is the byte order wanted. Most
  // maps are built in order already; only sort (an index, stably) when they are not.
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; ++i) sorted = !(entries[i].first < entries[i - 1].first);
  if (sorted) {
    for (const auto& e : entries) write(e);
    return;
  }
  // The order is kept per thread, so a steady stream of unsorted maps allocates nothing.
  thread_local std::vector<const RecordMap::Entry*> order;
  order.clear();
  if (order.capacity() > 4 * RecordMap::kKeptEntries)
    std::vector<const RecordMap::Entry*>().swap(order);
  order.reserve(n);
  for (const auto& e : entries) order.push_back(&e);
  std::stable_sort(
      order.begin(), order.end(),
      [](const RecordMap::Entry* a, const RecordMap::Entry* b) { return a->first < b->first; });
  for (const auto* e : order) write(*e);
}

std::string_view TsvContentType(ColumnEncoding enc) {
  switch (enc) {
    case ColumnEncoding::kBase64:
      return "text/tab-separated-values; colenc=B";
    case ColumnEncoding::kUrl:
      return "text/tab-separated-values; colenc=U";
    case ColumnEncoding::kQuotedPrintable:
      return "text/tab-separated-values; colenc=Q";  // never produced by the server
    case ColumnEncoding::kNone:
      break;
  }
  return "text/tab-separated-values";
}

}  // namespace ryoan
