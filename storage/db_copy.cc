#include "storage/db_copy.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
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
  return from->ForEachLiveRecord([to](std::string_view key, std::string_view value, int64_t xt) {
    return to->Set(key, value, xt >= kXtMax ? kNoXt : -xt);
  });
}

// True if a descriptor of this process refers to the file `st` describes (an open
// database of this server: LMDB keeps its data file open without a lock on it).
bool OpenInThisProcess(const struct stat& st) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    struct stat fd_st;
    if (::stat(entry.path().c_str(), &fd_st) == 0 && fd_st.st_dev == st.st_dev &&
        fd_st.st_ino == st.st_ino) {
      return true;
    }
  }
  return false;
}

// Removes a file that no database uses: one open in this process, or locked by any process
// (a .kch holds a flock), must not be unlinked under its users.
Status RemoveUnused(const std::string& path, const struct stat& st) {
  if (OpenInThisProcess(st)) return Status::Invalid(path + ": the destination is in use");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return Status::Invalid(path + ": the destination is in use");
  }
  Status s;
  if (::unlink(path.c_str()) != 0)
    s = Status::System(path + ": unlink failed: " + std::strerror(errno));
  if (fd >= 0) ::close(fd);
  return s;
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
    if (::stat(dest.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      s = RemoveUnused(dest, st);
      if (!s.ok()) return s;
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
