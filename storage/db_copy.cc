#include "storage/db_copy.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "storage/database_spec.h"
#include "storage/db.h"

namespace ryoan::storage {
namespace {

bool HasFile(DatabaseType type) {
  switch (type) {
    case DatabaseType::kFileHash:
    case DatabaseType::kFileTree:
    case DatabaseType::kDirHash:
    case DatabaseType::kDirTree:
    case DatabaseType::kText:
      return true;
    default:
      return false;
  }
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// Every live record of `from` into `to`, with its absolute expiration time.
Status CopyRecords(DB* from, DB* to) {
  std::unique_ptr<Cursor> cursor = from->NewCursor();
  Status s = cursor->Jump();
  std::string key, value;
  int64_t xt = kXtMax;
  while (s.ok()) {
    s = cursor->Get(&key, &value, &xt, /*step=*/true);
    if (!s.ok()) break;
    Status w = to->Set(key, value, xt >= kXtMax ? kNoXt : -xt);
    if (!w.ok()) return w;
  }
  return s.code() == Code::kNoRec ? Status::OK() : s;
}

}  // namespace

Status CopyDatabase(DB* db, const std::string& dest) {
  if (!HasFile(db->spec().type)) {
    return Status(Code::kNoRepos, "a memory database has no file to copy");
  }
  if (dest.empty()) return Status::Invalid("no destination");
  if (SameFile(db->path(), dest)) return Status::Invalid("the destination is the database");
  DatabaseSpec spec = db->spec();
  spec.path = dest;
  spec.argument = dest;
  spec.name = dest.substr(dest.rfind('/') + 1);
  return db->Occupy([&]() -> Status {
    Status s = db->Synchronize(false);
    if (!s.ok()) return s;
    struct stat st;
    if (::stat(dest.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::unlink(dest.c_str()) != 0) {
      return Status::System(dest + ": unlink failed: " + std::strerror(errno));
    }
    std::unique_ptr<DB> copy;
    s = DB::Open(spec, OpenOptions{}, &copy);
    if (!s.ok()) return s;
    s = CopyRecords(db, copy.get());
    if (s.ok()) s = copy->Synchronize(/*hard=*/true);
    copy.reset();
    if (!s.ok() && ::stat(dest.c_str(), &st) == 0 && S_ISREG(st.st_mode)) ::unlink(dest.c_str());
    return s;
  });
}

}  // namespace ryoan::storage
