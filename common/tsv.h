// The TSV record maps of the HTTP RPC (spec/http-rpc.md 4.2, 4.3, 6.2, 6.3).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ryoan {

// An RPC input or output map. Kept as a vector: inputs are small, names are looked up a few
// times, and bulk inputs keep their order; a later entry with the same name replaces an
// earlier one (Set).
//
// A map is meant to be reused (one per connection): clear() keeps the entries' strings, and
// later entries are written into them, so a steady stream of requests of similar sizes
// allocates nothing. clear() frees what a much larger request left behind.
class RecordMap {
 public:
  using Entry = std::pair<std::string, std::string>;

  // Spare slots and string capacity a map keeps across clear(): enough for bulk requests of a
  // hundred small records, at most about 140 KiB (typically a few KiB) per map.
  static constexpr size_t kKeptEntries = 128;
  static constexpr size_t kKeptStringBytes = 512;

  // Replaces the value of an existing name, else appends.
  void Set(std::string_view name, std::string_view value);
  void Set(std::string_view name, std::string&& value);
  void Set(std::string_view name, const char* value) { Set(name, std::string_view(value)); }
  // Appends without looking for an existing name (caller knows names are distinct).
  void Append(std::string_view name, std::string_view value);
  void Append(std::string_view name, std::string&& value);
  void Append(std::string_view name, const char* value) { Append(name, std::string_view(value)); }
  // Appends an entry with empty strings (which may keep capacity from earlier use) for the
  // caller to fill; the reference is valid until the next change of the map.
  Entry& AppendEntry() {
    if (size_ == entries_.size()) return AppendSlot();
    Entry& e = entries_[size_++];
    e.first.clear();
    e.second.clear();
    return e;
  }
  // Drops the last entry (an AppendEntry that found nothing to fill in).
  void RemoveLast() {
    if (size_ > 0) --size_;
  }
  // Inline: the RPC path looks up a handful of names in a map of a few entries per request,
  // where the call would cost more than the scan (sizes first, so few bytes are compared).
  const std::string* Find(std::string_view name) const {
    const size_t n = name.size();
    for (size_t i = 0; i < size_; ++i) {
      const std::string& key = entries_[i].first;
      if (key.size() == n &&
          (n == 0 || (key[0] == name[0] && std::memcmp(key.data(), name.data(), n) == 0))) {
        return &entries_[i].second;
      }
    }
    return nullptr;
  }
  bool Has(std::string_view name) const { return Find(name) != nullptr; }
  std::span<const Entry> entries() const { return {entries_.data(), size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  void clear() {
    if (entries_.size() > kKeptEntries || index_.capacity() > 4 * kKeptEntries) {
      ClearLarge();
      return;
    }
    for (size_t i = 0; i < size_; ++i) {
      ClearKeepingSmall(entries_[i].first);
      ClearKeepingSmall(entries_[i].second);
    }
    size_ = 0;
  }

  // Makes the names from position `first` on distinct among the whole map with Set
  // semantics: an entry whose name is already present gives its value to that one and is
  // dropped. Linear in the entries (through a hash index for large maps).
  void MergeFrom(size_t first) {
    // A single entry in an empty map (a one-record request) has nothing to merge with.
    if (first == 0 && size_ <= 2) {
      // One or two records into an empty map (most single-record requests).
      if (size_ == 2 && entries_[0].first == entries_[1].first) {
        entries_[0].second.swap(entries_[1].second);
        size_ = 1;
      }
      return;
    }
    if (first < size_) MergeSlow(first);
  }

 private:
  static void ClearKeepingSmall(std::string& s) {
    if (s.capacity() > kKeptStringBytes) {
      std::string().swap(s);
    } else {
      s.clear();
    }
  }
  void ClearLarge();
  Entry& AppendSlot();
  void MergeSlow(size_t first);

  std::vector<Entry> entries_;  // entries_[size_..] are spare slots
  size_t size_ = 0;
  std::vector<uint32_t> index_;  // MergeFrom's open-addressing table, reused
};

enum class ColumnEncoding { kNone, kBase64, kQuotedPrintable, kUrl };

// Reads the colenc attribute from a Content-Type value after the media type: tokens split by
// spaces and ';', one starting (any case) with "colenc=" picks B/Q/U by its next character
// (an optional '"' skipped).
ColumnEncoding ParseColumnEncoding(std::string_view content_type);

// Decodes a TSV body into `map` (records split at LF, one trailing CR removed, name before the
// first TAB, records without TAB ignored), decoding names and values with `enc`.
void DecodeTsv(std::string_view body, ColumnEncoding enc, RecordMap* map);

// Decodes a form (query string or x-www-form-urlencoded body) into `map`: pairs split at '&'
// or ';', leading bytes 0x01-0x20 of a pair skipped, empty pairs skipped, name=value split at
// the first '=', both URL-decoded. The input ends at its first NUL byte.
void DecodeForm(std::string_view form, RecordMap* map);

// Chooses the output encoding by the exact rule of spec/http-rpc.md 6.3.
ColumnEncoding ChooseOutputEncoding(const RecordMap& map);

// Writes the map as TSV sorted by name in byte order, every name and value encoded with
// `enc` (kNone, kBase64 or kUrl), one "name\tvalue\n" line per record.
void EncodeTsv(const RecordMap& map, ColumnEncoding enc, std::string* out);

// The Content-Type for an output encoding: "text/tab-separated-values" or with
// "; colenc=B" / "; colenc=U".
std::string_view TsvContentType(ColumnEncoding enc);

}  // namespace ryoan
