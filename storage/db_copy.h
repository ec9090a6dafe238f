// Lua's db:copy(dest) (spec/lua.md 8.2, spec/databases.md 5.3): a copy of a file database
// that opens as a database with the same records.
#pragma once

#include <string>

#include "storage/status.h"

namespace ryoan::storage {

class DB;

// Writes a copy of `db` at `dest` (a file, or for directory types a directory), replacing a
// file already there. Memory databases have no file: NoRepos. The copy is consistent: it is
// made while other threads' writes wait (as db:occupy does; reads go on). It is a logical
// copy, not a byte copy: a new database of the same type and parameters is filled with
// every live record and its expiration time and closed cleanly, so it is compact and needs
// no knowledge of the engine's files (an engine's own background work, such as compaction,
// cannot tear it). `dest` must not be the database's own file, nor a file open in this
// process or locked by another (another open database: Invalid).
Status CopyDatabase(DB* db, const std::string& dest);

}  // namespace ryoan::storage
