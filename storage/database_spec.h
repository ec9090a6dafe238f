// DatabaseSpec: a parsed database argument such as "/data/casket.kch#bnum=1000000"
// (spec/databases.md section 1 and 2).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "storage/status.h"

namespace ryoan::storage {

enum class DatabaseType : int {
  kProtoHash = 0x10,  // "-"
  kProtoTree = 0x11,  // "+"
  kStash = 0x18,      // ":"
  kCacheHash = 0x20,  // "*"
  kCacheTree = 0x21,  // "%"
  kFileHash = 0x30,   // ".kch"
  kFileTree = 0x31,   // ".kct"
  kDirHash = 0x40,    // ".kcd"
  kDirTree = 0x41,    // ".kcf"
  kText = 0x50,       // ".kcx"
};

struct DatabaseSpec {
  std::string argument;  // the whole argument as given
  std::string path;      // the part before the first '#'
  std::string name;      // last path component of `path` (RPC DB=, REST, kt.dbs)
  DatabaseType type = DatabaseType::kStash;
  // Every name=value parameter, aliases resolved to the canonical name ("buckets" -> "bnum").
  std::map<std::string, std::string> params;

  // Parameters that change what users see, read with atoix; -1 when not given.
  int64_t capcnt = -1;
  int64_t capsiz = -1;
  int64_t ktcapcnt = -1;
  int64_t ktcapsiz = -1;
  int64_t bnum = -1;
  bool persistent = false;    // ktopts=p
  std::string rcomp = "lex";  // lex, dec, lexdesc, decdesc (canonical names)
};

// Parses a database argument. Unknown type: Invalid("unknown database type").
Status ParseDatabaseSpec(const std::string& argument, DatabaseSpec* spec);

}  // namespace ryoan::storage
