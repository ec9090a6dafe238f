// Kyoto Cabinet's pseudo-snapshot (spec/databases.md 8): the file of Lua's
// db:dump_snapshot(dest) and db:load_snapshot(src).
//
// A file is: magic "KCSS\n\0" (6 bytes), then for each record
//   0x00 varnum(klen) varnum(vlen) key engine-value
// and a final 0xFF. engine-value is what the timed layer stores (spec/databases.md 4.1): the
// 5-byte big-endian absolute expiration time, then the value; on a ktopts=p database the
// bare value. varnum as in storage/varnum.h.
//
// Unlike the -bgs snapshot (storage/snapshot.h) there is no header with a count: the end
// marker is what tells a complete file from a truncated one.
#pragma once

#include <cstdint>
#include <string>

#include "storage/status.h"

namespace ryoan::storage {

class DB;

// Writes every live record of `db` to `path` (created or truncated), walking a cursor, so
// the server goes on serving meanwhile (each record as it was when the cursor passed). The
// file is fsynced; on failure it is removed. *count (optional): records written.
Status DumpPseudoSnapshot(DB* db, const std::string& path, int64_t* count = nullptr);

// Sets every record of the file at `path` into `db` with its expiration time; records of
// `db` that the file does not name are kept. A record that is already expired, or whose
// engine value is too short to hold an expiration time, stands for an invisible record: it
// removes a live record of that key, as overwriting it in Kyoto Cabinet would. The whole
// file is checked first: a foreign, truncated or malformed file fails with Broken and
// changes nothing. *count (optional): records read.
Status LoadPseudoSnapshot(DB* db, const std::string& path, int64_t* count = nullptr);

}  // namespace ryoan::storage
