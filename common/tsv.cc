// TSV record maps of the HTTP RPC. This runs for every RPC request and reply, so the decoders
// write straight into the map's strings and the encoder into one reserved buffer.

#include "common/tsv.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "common/codec.h"

namespace ryoan {

void RecordMap::Set(std::string name, std::string value) {
  for (Entry& e : entries_) {
    if (e.first == name) {
      e.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(name), std::move(value));
}

void RecordMap::Append(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

const std::string* RecordMap::Find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.first == name) return &e.second;
  }
  return nullptr;
}

namespace {

inline char ToLowerAscii(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

// Merges freshly decoded entries into `map` with Set semantics (a later name replaces the
// earlier value in place). Bulk inputs can carry many thousands of records, where one Set per
// record would be quadratic, so large merges go through a hash index instead.
void MergeEntries(std::vector<RecordMap::Entry>* fresh, RecordMap* map) {
  std::vector<RecordMap::Entry>& entries = map->mutable_entries();
  if (entries.empty() && fresh->size() <= 1) {
    entries = std::move(*fresh);
    return;
  }
  if ((entries.size() + fresh->size()) <= 16) {
    for (auto& e : *fresh) map->Set(std::move(e.first), std::move(e.second));
    return;
  }
  // The index holds views of the names stored in `entries`; reserving first guarantees no
  // reallocation moves those strings while the index is alive.
  entries.reserve(entries.size() + fresh->size());
  std::unordered_map<std::string_view, size_t> index;
  index.reserve(entries.size() + fresh->size());
  for (size_t i = 0; i < entries.size(); ++i) index.emplace(entries[i].first, i);
  for (auto& e : *fresh) {
    auto it = index.find(e.first);
    if (it != index.end()) {
      entries[it->second].second = std::move(e.second);
    } else {
      entries.push_back(std::move(e));
      index.emplace(entries.back().first, entries.size() - 1);
    }
  }
}

void DecodeColumn(std::string_view in, ColumnEncoding enc, std::string* out) {
  switch (enc) {
    case ColumnEncoding::kNone:
      out->assign(in.data(), in.size());
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
  size_t i = content_type.find_first_of("; ");
  if (i == std::string_view::npos) return ColumnEncoding::kNone;
  const size_t n = content_type.size();
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
  std::vector<RecordMap::Entry> fresh;
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
    RecordMap::Entry& e = fresh.emplace_back();
    DecodeColumn(record.substr(0, tab), enc, &e.first);
    DecodeColumn(record.substr(tab + 1), enc, &e.second);
  }
  MergeEntries(&fresh, map);
}

void DecodeForm(std::string_view form, RecordMap* map) {
  // The original treats the form as a C string.
  size_t nul = form.find('\0');
  if (nul != std::string_view::npos) form = form.substr(0, nul);
  std::vector<RecordMap::Entry> fresh;
  const size_t n = form.size();
  size_t i = 0;
  while (i < n) {
    size_t stop = form.find_first_of("&;", i);
    if (stop == std::string_view::npos) stop = n;
    std::string_view pair = form.substr(i, stop - i);
    i = stop + 1;
    while (!pair.empty() && pair[0] >= 0x01 && pair[0] <= 0x20) pair.remove_prefix(1);
    if (pair.empty()) continue;
    RecordMap::Entry& e = fresh.emplace_back();
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      AppendUrlDecode(pair, &e.first);
    } else {
      AppendUrlDecode(pair.substr(0, eq), &e.first);
      AppendUrlDecode(pair.substr(eq + 1), &e.second);
    }
  }
  MergeEntries(&fresh, map);
}

ColumnEncoding ChooseOutputEncoding(const RecordMap& map) {
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
  std::vector<const RecordMap::Entry*> order;
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
