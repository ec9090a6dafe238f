#include "storage/lmdb_records.h"

#include <algorithm>

#include "storage/crc32c.h"

namespace ryoan::storage::lmdb {
namespace {

// First byte of every LMDB key of the records database; it gives the empty key a place.
constexpr char kTag = 'r';

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

// The LMDB keys compared as user keys: the tag is stripped.
template <KeyComparator::Kind kKind>
int CompareKeys(const MDB_val* a, const MDB_val* b) {
  std::string_view x = View(*a);
  std::string_view y = View(*b);
  x.remove_prefix(std::min<size_t>(1, x.size()));
  y.remove_prefix(std::min<size_t>(1, y.size()));
  return KeyComparator(kKind).Compare(x, y);
}

void PutFixed64(std::string* out, uint64_t v) {
  char buf[8];
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(buf, 8);
}

uint64_t GetFixed64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    unsigned char byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    *v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (byte < 0x80) return true;
  }
  return false;
}

bool GetBytes(std::string_view* in, uint64_t n, std::string_view* out) {
  if (in->size() < n) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

// Record checksums: CRC-32C over the LMDB key's size (4 bytes big-endian), the LMDB key and
// the bytes of the record (group entry) after its checksum. Stored big-endian.
constexpr size_t kCrcSize = 4;

uint32_t KeyCrc(std::string_view lmdb_key) {
  const auto n = static_cast<uint32_t>(lmdb_key.size());
  const unsigned char size[4] = {static_cast<unsigned char>(n >> 24),
                                 static_cast<unsigned char>(n >> 16),
                                 static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
  return Crc32cExtend(Crc32cExtend(0, size, sizeof(size)), lmdb_key.data(), lmdb_key.size());
}

uint32_t RecordCrc(std::string_view lmdb_key, std::string_view covered) {
  return Crc32cExtend(KeyCrc(lmdb_key), covered.data(), covered.size());
}

void PutCrc(std::string* out, size_t at, uint32_t crc) {
  for (int i = 3; i >= 0; --i) {
    (*out)[at + i] = static_cast<char>(crc & 0xff);
    crc >>= 8;
  }
}

uint32_t GetCrc(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

MDB_cmp_func* CompareFunction(KeyComparator::Kind kind) {
  switch (kind) {
    case KeyComparator::kLex:
      return nullptr;
    case KeyComparator::kDec:
      return &CompareKeys<KeyComparator::kDec>;
    case KeyComparator::kLexDesc:
      return &CompareKeys<KeyComparator::kLexDesc>;
    case KeyComparator::kDecDesc:
      return &CompareKeys<KeyComparator::kDecDesc>;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------
// Encodings

std::string RecordTable::LmdbKey(std::string_view key) const {
  std::string lmdb_key;
  lmdb_key.reserve(std::min(key.size(), prefix_) + 1);
  lmdb_key.push_back(kTag);
  lmdb_key.append(key.substr(0, key.size() < prefix_ ? key.size() : prefix_));
  return lmdb_key;
}

std::string RecordTable::EncodeDirect(std::string_view lmdb_key, int64_t xt,
                                      std::string_view value) {
  std::string out;
  out.reserve(kCrcSize + 8 + value.size());
  out.append(kCrcSize, '\0');
  PutFixed64(&out, static_cast<uint64_t>(xt));
  out.append(value);
  PutCrc(&out, 0, RecordCrc(lmdb_key, std::string_view(out).substr(kCrcSize)));
  return out;
}

bool RecordTable::DecodeDirect(std::string_view lmdb_key, std::string_view data, int64_t* xt,
                               std::string_view* value) {
  if (data.size() < kCrcSize + 8) return false;
  std::string_view covered = data.substr(kCrcSize);
  if (GetCrc(data.data()) != RecordCrc(lmdb_key, covered)) return false;
  *xt = static_cast<int64_t>(GetFixed64(covered.data()));
  *value = covered.substr(8);
  return true;
}

// Entry: crc, varint suffix size, suffix, 8-byte xt, varint value size, value.
bool RecordTable::DecodeGroup(std::string_view lmdb_key, std::string_view data,
                              std::vector<Entry>* entries, bool verify) {
  entries->clear();
  const uint32_t key_crc = verify ? KeyCrc(lmdb_key) : 0;
  while (!data.empty()) {
    Entry entry;
    uint64_t size = 0;
    std::string_view crc, xt;
    if (!GetBytes(&data, kCrcSize, &crc)) return false;
    std::string_view start = data;
    if (!GetVarint(&data, &size) || !GetBytes(&data, size, &entry.suffix) ||
        !GetBytes(&data, 8, &xt) || !GetVarint(&data, &size) ||
        !GetBytes(&data, size, &entry.value)) {
      return false;
    }
    entry.encoded = start.substr(0, start.size() - data.size());
    entry.crc = GetCrc(crc.data());
    if (verify && entry.crc != Crc32cExtend(key_crc, entry.encoded.data(), entry.encoded.size())) {
      return false;
    }
    entry.xt = static_cast<int64_t>(GetFixed64(xt.data()));
    entries->push_back(entry);
  }
  return !entries->empty();
}

bool RecordTable::VerifyEntry(std::string_view lmdb_key, const Entry& entry) {
  return entry.crc == RecordCrc(lmdb_key, entry.encoded);
}

std::string RecordTable::EncodeGroup(std::string_view lmdb_key, const std::vector<Entry>& entries) {
  size_t size = 0;
  for (const Entry& e : entries) size += e.suffix.size() + e.value.size() + 32;
  std::string out;
  out.reserve(size);
  const uint32_t key_crc = KeyCrc(lmdb_key);
  for (const Entry& e : entries) {
    size_t start = out.size();
    out.append(kCrcSize, '\0');
    PutVarint(&out, e.suffix.size());
    out.append(e.suffix);
    PutFixed64(&out, static_cast<uint64_t>(e.xt));
    PutVarint(&out, e.value.size());
    out.append(e.value);
    std::string_view covered = std::string_view(out).substr(start + kCrcSize);
    PutCrc(&out, start, Crc32cExtend(key_crc, covered.data(), covered.size()));
  }
  return out;
}

bool RecordTable::PutGroup(WriteTxn& txn, std::string_view lmdb_key,
                           const std::vector<Entry>& entries) const {
  if (entries.empty()) return txn.Del(dbi_, lmdb_key);
  return txn.Put(dbi_, lmdb_key, EncodeGroup(lmdb_key, entries));
}

// ---------------------------------------------------------------------------------------
// Point access

int RecordTable::Get(MDB_txn* txn, std::string_view key, int64_t* xt,
                     std::string_view* value) const {
  std::string lmdb_key = LmdbKey(key);
  MDB_val k = Val(lmdb_key);
  MDB_val data;
  int rc = Checked(mdb_get(txn, dbi_, &k, &data), k, data);
  if (rc != 0) return rc;
  if (!IsGroup(lmdb_key)) return DecodeDirect(lmdb_key, View(data), xt, value) ? 0 : kBadRecord;
  std::vector<Entry> entries;
  if (!DecodeGroup(lmdb_key, View(data), &entries, false)) return kBadRecord;
  std::string_view suffix = key.substr(prefix_);
  auto it = std::lower_bound(
      entries.begin(), entries.end(), suffix,
      [this](const Entry& e, std::string_view s) { return CompareSuffix(e.suffix, s) < 0; });
  if (it == entries.end() || it->suffix != suffix) return MDB_NOTFOUND;
  if (!VerifyEntry(lmdb_key, *it)) return kBadRecord;
  *xt = it->xt;
  *value = it->value;
  return 0;
}

bool RecordTable::Set(WriteTxn& txn, std::string_view key, std::string_view value, int64_t xt,
                      int64_t* delta, const bool* existed) const {
  *delta = 0;
  if (!txn.ok() || txn.get() == nullptr) return false;  // failed already: nothing to read
  std::string lmdb_key = LmdbKey(key);
  const bool group = IsGroup(lmdb_key);
  MDB_val data{0, nullptr};
  int rc = 0;
  if (existed != nullptr && !group) {
    rc = *existed ? 0 : MDB_NOTFOUND;  // a record of its own: the caller's lookup says
  } else {
    MDB_val k = Val(lmdb_key);
    rc = Checked(mdb_get(txn.get(), dbi_, &k, &data), k, data);
    if (rc != 0 && rc != MDB_NOTFOUND) {
      txn.Fail(rc);
      return false;
    }
  }
  if (!group) {
    if (rc == MDB_NOTFOUND) *delta = 1;
    return txn.Put(dbi_, lmdb_key, EncodeDirect(lmdb_key, xt, value));
  }
  std::vector<Entry> entries;
  if (rc == 0 && !DecodeGroup(lmdb_key, View(data), &entries)) {
    txn.Fail(kBadRecord);
    return false;
  }
  std::string_view suffix = key.substr(prefix_);
  auto it = std::lower_bound(
      entries.begin(), entries.end(), suffix,
      [this](const Entry& e, std::string_view s) { return CompareSuffix(e.suffix, s) < 0; });
  if (it != entries.end() && it->suffix == suffix) {
    it->xt = xt;
    it->value = value;
  } else {
    entries.insert(it, Entry{suffix, xt, value, {}, 0});
    *delta = 1;
  }
  return PutGroup(txn, lmdb_key, entries);  // copies every view before LMDB changes a page
}

bool RecordTable::Remove(WriteTxn& txn, std::string_view key, int64_t* delta) const {
  *delta = 0;
  if (!txn.ok() || txn.get() == nullptr) return false;  // failed already: nothing to read
  std::string lmdb_key = LmdbKey(key);
  MDB_val k = Val(lmdb_key);
  MDB_val data;
  int rc = Checked(mdb_get(txn.get(), dbi_, &k, &data), k, data);
  if (rc == MDB_NOTFOUND) return true;
  if (rc != 0) {
    txn.Fail(rc);
    return false;
  }
  if (!IsGroup(lmdb_key)) {
    *delta = -1;
    return txn.Del(dbi_, lmdb_key);
  }
  std::vector<Entry> entries;
  if (!DecodeGroup(lmdb_key, View(data), &entries)) {
    txn.Fail(kBadRecord);
    return false;
  }
  std::string_view suffix = key.substr(prefix_);
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const Entry& e) { return e.suffix == suffix; });
  if (it == entries.end()) return true;
  entries.erase(it);
  *delta = -1;
  return PutGroup(txn, lmdb_key, entries);
}

// ---------------------------------------------------------------------------------------
// Navigation

int RecordTable::Take(MDB_val key, MDB_val data, bool last, Record* out) const {
  std::string_view lmdb_key = View(key);
  if (!IsGroup(lmdb_key)) {
    out->key.assign(lmdb_key.substr(1));
    return DecodeDirect(lmdb_key, View(data), &out->xt, &out->value) ? 0 : kBadRecord;
  }
  std::vector<Entry> entries;
  if (!DecodeGroup(lmdb_key, View(data), &entries, false)) return kBadRecord;
  const Entry& entry = last ? entries.back() : entries.front();
  if (!VerifyEntry(lmdb_key, entry)) return kBadRecord;
  out->key.assign(lmdb_key.substr(1)).append(entry.suffix);
  out->xt = entry.xt;
  out->value = entry.value;
  return 0;
}

int RecordTable::Find(MDB_txn* txn, Where where, std::string_view key, Record* out) const {
  CursorHandle handle(txn, dbi_);
  struct {
    CursorHandle& handle;
    const RecordTable& table;
    int Get(MDB_val* k, MDB_val* d, MDB_cursor_op op) {
      return table.Checked(handle.Get(k, d, op), *k, *d);
    }
  } cursor{handle, *this};
  MDB_val k{0, nullptr};
  MDB_val data{0, nullptr};
  int rc;
  if (where == kFirst || where == kLast) {
    rc = cursor.Get(&k, &data, where == kFirst ? MDB_FIRST : MDB_LAST);
    return rc != 0 ? rc : Take(k, data, where == kLast, out);
  }
  const bool forward = where == kAtOrAfter || where == kAfter;
  const bool inclusive = where == kAtOrAfter || where == kAtOrBefore;
  std::string lmdb_key = LmdbKey(key);
  k = Val(lmdb_key);
  rc = cursor.Get(&k, &data, MDB_SET_RANGE);  // first LMDB key >= lmdb_key
  if (rc == MDB_NOTFOUND && !forward) {
    rc = cursor.Get(&k, &data, MDB_LAST);
    return rc != 0 ? rc : Take(k, data, true, out);
  }
  if (rc != 0) return rc;
  if (View(k) != lmdb_key) {  // every record here is beyond `key`
    if (forward) return Take(k, data, false, out);
    rc = cursor.Get(&k, &data, MDB_PREV);
    return rc != 0 ? rc : Take(k, data, true, out);
  }
  if (IsGroup(lmdb_key)) {
    // The group of `key` itself: look among its entries first.
    std::vector<Entry> entries;
    if (!DecodeGroup(lmdb_key, View(data), &entries, false)) return kBadRecord;
    std::string_view suffix = key.substr(prefix_);
    const Entry* found = nullptr;
    if (forward) {
      for (const Entry& e : entries) {
        int c = CompareSuffix(e.suffix, suffix);
        if (c > 0 || (inclusive && c == 0)) {
          found = &e;
          break;
        }
      }
    } else {
      for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
        int c = CompareSuffix(it->suffix, suffix);
        if (c < 0 || (inclusive && c == 0)) {
          found = &*it;
          break;
        }
      }
    }
    if (found != nullptr) {
      if (!VerifyEntry(lmdb_key, *found)) return kBadRecord;
      out->key.assign(lmdb_key.substr(1)).append(found->suffix);
      out->xt = found->xt;
      out->value = found->value;
      return 0;
    }
  } else if (inclusive) {
    return Take(k, data, false, out);
  }
  rc = cursor.Get(&k, &data, forward ? MDB_NEXT : MDB_PREV);
  return rc != 0 ? rc : Take(k, data, !forward, out);
}

int RecordTable::FindWithNext(MDB_txn* txn, std::string_view key, Record* out, Record* next,
                              int* next_rc) const {
  CursorHandle cursor(txn, dbi_);
  const std::string lmdb_key = LmdbKey(key);
  MDB_val k = Val(lmdb_key);
  MDB_val data{0, nullptr};
  Record* slots[2] = {out, next};
  int found = 0;
  // Fills the slots in order; past the first, a failure is the next record's only.
  auto fail = [&](int rc) {
    if (found == 0) return rc;
    *next_rc = rc;
    return 0;
  };
  int rc = Checked(cursor.Get(&k, &data, MDB_SET_RANGE), k, data);
  bool exact = rc == 0 && View(k) == lmdb_key;  // else every record here is beyond `key`
  std::vector<Entry> entries;
  while (rc == 0) {
    const std::string_view here = View(k);
    if (!IsGroup(here)) {
      rc = Take(k, data, false, slots[found]);
      if (rc != 0) return fail(rc);
      if (++found == 2) break;
    } else {
      if (!DecodeGroup(here, View(data), &entries, false)) return fail(kBadRecord);
      for (const Entry& entry : entries) {
        // In the group of `key` itself, entries before it do not count.
        if (exact && found == 0 && CompareSuffix(entry.suffix, key.substr(prefix_)) < 0) continue;
        if (!VerifyEntry(here, entry)) return fail(kBadRecord);
        Record* slot = slots[found];
        slot->key.assign(here.substr(1)).append(entry.suffix);
        slot->xt = entry.xt;
        slot->value = entry.value;
        if (++found == 2) break;
      }
      if (found == 2) break;
    }
    exact = false;
    rc = Checked(cursor.Get(&k, &data, MDB_NEXT), k, data);
  }
  if (found == 2) {
    *next_rc = 0;
    return 0;
  }
  return fail(rc);
}

}  // namespace ryoan::storage::lmdb
