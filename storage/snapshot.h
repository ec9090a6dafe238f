// Background snapshots (ktserver -bgs): the KTSS file format of spec/databases.md 8.
//
// A file is: magic "KTSS\n\0" (6 bytes); u32 BE checksum (0: uncompressed, the only form
// written and read here); u64 BE timestamp (ms x 10^6); u64 BE record count; u64 BE database
// size in bytes. Then one record after another until the end of the file:
//   0xCC varnum(klen) varnum(vlen) key engine-value
// where engine-value is the value behind a 5-byte big-endian expiration time, or the bare
// value on a ktopts=p database. varnum is base-128, most significant group first, with the
// high bit set on every byte but the last.
//
// WriteSnapshot iterates a cursor, so the server goes on serving while it runs (the result
// is a fuzzy copy: each record as it was when the cursor passed). It writes "<path>.tmp",
// fsyncs it and renames it over `path`, so a crash never leaves a partial snapshot under the
// real name. ReadSnapshot checks the whole file before it changes the database: a wrong
// magic, a compressed file, a torn record or a count that does not match fail with Broken
// and leave the database untouched.
#pragma once

#include <cstdint>
#include <string>

#include "storage/status.h"

namespace ryoan::storage {

class DB;

struct SnapshotInfo {
  uint64_t timestamp = 0;  // ms since the epoch x 10^6
  int64_t count = 0;       // records in the file
  int64_t size = 0;        // the database's size when the snapshot was taken
};

// Writes every live record of `db` to `path` (through "<path>.tmp"). `timestamp`: the
// header's timestamp (0: now). *info (optional) describes what was written.
Status WriteSnapshot(DB* db, const std::string& path, uint64_t timestamp = 0,
                     SnapshotInfo* info = nullptr);

// Sets each record of the snapshot at `path` into `db` with its expiration time; records
// already expired are skipped. *info (optional) is the header.
Status ReadSnapshot(DB* db, const std::string& path, SnapshotInfo* info = nullptr);

// Header-only parse of a snapshot held in memory (for tests and tools).
Status ParseSnapshotHeader(const std::string& data, SnapshotInfo* info);

}  // namespace ryoan::storage
