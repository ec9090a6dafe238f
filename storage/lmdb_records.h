// How the records of a '.kct' database live in one LMDB database (see FORMAT-kct.md).
//
// LMDB keys are 1..511 bytes; Kyoto Tycoon keys are 0..2^28 bytes. Every LMDB key starts
// with a tag byte (so that the empty key has a place), then:
//   * a key shorter than `prefix` bytes (510) follows whole: a direct record whose LMDB value
//     is crc (4 bytes) || xt (8 bytes big-endian) || value;
//   * a longer key contributes only its first `prefix` bytes: a group record, holding every
//     key with that prefix as (crc, suffix, xt, value) entries sorted by suffix.
// An LMDB key of exactly 1 + prefix bytes is therefore a group, any shorter one direct.
//
// Every record (every group entry) carries a CRC-32C over its LMDB key and its own bytes, so
// that a damaged record is reported (kBadRecord, Broken) and never returned as data: LMDB
// itself checks no data. Readers verify exactly the records they hand out; writers verify a
// group before rewriting it, so that a damaged entry is never given a fresh checksum.
//
// Why the order is right. Under lex, a direct key d (shorter than prefix) and a group prefix
// g compare as every key starting with g would: either d is a prefix of g (d sorts first in
// both) or they differ inside d. Distinct groups differ inside their prefixes, and members of
// one group differ only in their suffixes. So LMDB order, then suffix order inside a group,
// is the lex order of whole keys; lexdesc is its mirror (suffixes sorted descending).
// Under dec/decdesc the same holds whenever a key's number ends within its first 510 bytes
// (numeric equality then falls back to lex); a key that is all digits or blanks beyond that
// is ordered by the number read from its first 510 bytes. The order stays total and stable.
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "storage/key_comparator.h"
#include "storage/lmdb_env.h"

namespace ryoan::storage::lmdb {

// mdb_set_compare function for an order; null for lex (LMDB's default memcmp order).
MDB_cmp_func* CompareFunction(KeyComparator::Kind kind);

// A record found in a transaction. `value` points into LMDB's map (or a group's copy) and
// lives until the transaction writes or ends.
struct Record {
  std::string key;
  int64_t xt = 0;
  std::string_view value;
};

class RecordTable {
 public:
  struct Entry {
    std::string_view suffix;
    int64_t xt = 0;
    std::string_view value;
    // Decoded from a file: the entry's bytes after its checksum, and the checksum.
    std::string_view encoded;
    uint32_t crc = 0;
  };

  RecordTable() = default;
  RecordTable(const Env* env, MDB_dbi dbi, size_t prefix, bool descending)
      : env_(env), dbi_(dbi), prefix_(prefix), descending_(descending) {}

  MDB_dbi dbi() const { return dbi_; }
  // `rc` of an LMDB read that gave `key` and `data`, or kBadRecord when they would lie past
  // the end of the file (Env::Readable): check before touching their bytes.
  int Checked(int rc, const MDB_val& key, const MDB_val& data) const {
    return rc != 0 || env_ == nullptr || env_->Readable(key, data) ? rc : kBadRecord;
  }

  // Point lookup: 0 (found), MDB_NOTFOUND, kBadRecord or an LMDB error.
  int Get(MDB_txn* txn, std::string_view key, int64_t* xt, std::string_view* value) const;
  // Writes through `txn` (which logs them). `delta` gets +1 for a new record (Set) or -1
  // for a removed one (Remove). `existed`, when given, is whether Get found `key` in the
  // state `txn` writes to: a record of its own then needs no second lookup.
  bool Set(WriteTxn& txn, std::string_view key, std::string_view value, int64_t xt, int64_t* delta,
           const bool* existed = nullptr) const;
  bool Remove(WriteTxn& txn, std::string_view key, int64_t* delta) const;

  enum Where { kFirst, kLast, kAtOrAfter, kAfter, kAtOrBefore, kBefore };
  // The record nearest `key` as `where` says (key ignored for kFirst/kLast): 0,
  // MDB_NOTFOUND, kBadRecord or an LMDB error.
  int Find(MDB_txn* txn, Where where, std::string_view key, Record* out) const;

  // Find(kAtOrAfter, key) and, with the same descent of the tree, the record after it
  // (`next_rc`: 0, MDB_NOTFOUND, kBadRecord or an LMDB error). Cursors stepping forward use
  // it: one search per step instead of two.
  int FindWithNext(MDB_txn* txn, std::string_view key, Record* out, Record* next,
                   int* next_rc) const;

  // Calls fn(record) for every record in order, in one transaction, until fn returns false.
  template <typename Fn>
  int ForEach(MDB_txn* txn, Fn fn) const;

  // Layout helpers, public for Iterate and tests.
  bool IsGroup(std::string_view lmdb_key) const { return lmdb_key.size() == prefix_ + 1; }
  std::string LmdbKey(std::string_view key) const;
  // `lmdb_key` is the record's LMDB key (LmdbKey()): the checksums cover it. Decoding
  // fails (false) when the bytes do not parse or a checksum does not match.
  static std::string EncodeDirect(std::string_view lmdb_key, int64_t xt, std::string_view value);
  static bool DecodeDirect(std::string_view lmdb_key, std::string_view data, int64_t* xt,
                           std::string_view* value);
  // verify=false only parses: the caller checks each entry it uses with VerifyEntry.
  static bool DecodeGroup(std::string_view lmdb_key, std::string_view data,
                          std::vector<Entry>* entries, bool verify = true);
  static bool VerifyEntry(std::string_view lmdb_key, const Entry& entry);
  static std::string EncodeGroup(std::string_view lmdb_key, const std::vector<Entry>& entries);
  // Writes a group (sorted entries; none: deleted).
  bool PutGroup(WriteTxn& txn, std::string_view lmdb_key, const std::vector<Entry>& entries) const;
  int CompareSuffix(std::string_view a, std::string_view b) const {
    int c = a.compare(b);
    return descending_ ? -c : c;
  }

 private:
  // Turns the LMDB record under `cursor` into its first (or last) record.
  int Take(MDB_val key, MDB_val data, bool last, Record* out) const;

  const Env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  size_t prefix_ = 510;
  bool descending_ = false;
};

// Closes an LMDB cursor on scope exit.
class CursorHandle {
 public:
  CursorHandle(MDB_txn* txn, MDB_dbi dbi) { rc_ = mdb_cursor_open(txn, dbi, &cursor_); }
  ~CursorHandle() {
    if (rc_ == 0) mdb_cursor_close(cursor_);
  }
  CursorHandle(const CursorHandle&) = delete;
  CursorHandle& operator=(const CursorHandle&) = delete;
  int rc() const { return rc_; }
  int Get(MDB_val* key, MDB_val* data, MDB_cursor_op op) {
    return rc_ != 0 ? rc_ : mdb_cursor_get(cursor_, key, data, op);
  }

 private:
  MDB_cursor* cursor_ = nullptr;
  int rc_;
};

inline std::string_view View(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

template <typename Fn>
int RecordTable::ForEach(MDB_txn* txn, Fn fn) const {
  CursorHandle cursor(txn, dbi_);
  MDB_val key, data;
  std::vector<Entry> entries;
  for (int rc = cursor.Get(&key, &data, MDB_FIRST); rc != MDB_NOTFOUND;
       rc = cursor.Get(&key, &data, MDB_NEXT)) {
    rc = Checked(rc, key, data);
    if (rc != 0) return rc;
    std::string_view lmdb_key = View(key);
    Record record;
    if (!IsGroup(lmdb_key)) {
      if (!DecodeDirect(lmdb_key, View(data), &record.xt, &record.value)) return kBadRecord;
      record.key.assign(lmdb_key.substr(1));
      if (!fn(record)) return 0;
      continue;
    }
    if (!DecodeGroup(lmdb_key, View(data), &entries)) return kBadRecord;
    for (const Entry& entry : entries) {
      record.key.assign(lmdb_key.substr(1)).append(entry.suffix);
      record.xt = entry.xt;
      record.value = entry.value;
      if (!fn(record)) return 0;
    }
  }
  return 0;
}

}  // namespace ryoan::storage::lmdb
