#include "server/snapshotter.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "server/log.h"
#include "storage/db.h"
#include "storage/snapshot.h"

namespace ryoan::server {
namespace {

// -bgsc; unknown names mean no compression (spec/ktserver-cli.md).
ryoan::Compression Compression(const Service& service) {
  return CompressionByName(service.options().bgs_compressor);
}

}  // namespace

std::string SnapshotPath(const std::string& dir, size_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "%08zu.ktss", index);
  return dir + "/" + name;
}

bool PrepareSnapshotDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return std::filesystem::is_directory(dir, ec);
}

bool SnapshotCovers(const storage::DB& db) {
  switch (db.spec().type) {
    case storage::DatabaseType::kProtoHash:
    case storage::DatabaseType::kProtoTree:
    case storage::DatabaseType::kStash:
    case storage::DatabaseType::kCacheHash:
    case storage::DatabaseType::kCacheTree:
      return true;
    default:
      return false;
  }
}

bool LoadSnapshots(Service& service, const std::string& dir) {
  bool ok = true;
  for (size_t i = 0; i < service.db_count(); i++) {
    storage::DB* db = service.db(i);
    std::string path = SnapshotPath(dir, i);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !SnapshotCovers(*db)) continue;
    storage::SnapshotInfo info;
    storage::Status s = storage::ReadSnapshot(db, path, &info, Compression(service));
    if (!s.ok()) {
      Log(kLogError, "could not apply a snapshot: " + std::string(storage::CodeName(s.code())) +
                         ": " + s.message());
      ok = false;
      continue;
    }
    char line[160];
    std::snprintf(line, sizeof(line),
                  "applying a snapshot file: db=%zu ts=%llu count=%lld size=%lld", i,
                  static_cast<unsigned long long>(info.timestamp),
                  static_cast<long long>(info.count), static_cast<long long>(info.size));
    Log(kLogSystem, line);
  }
  return ok;
}

bool SnapshotDatabases(Service& service, const std::string& dir) {
  Log(kLogInfo, "snapshotting databases");
  bool ok = true;
  for (size_t i = 0; i < service.db_count(); i++) {
    storage::DB* db = service.db(i);
    if (!SnapshotCovers(*db)) continue;
    storage::Status s =
        storage::WriteSnapshot(db, SnapshotPath(dir, i), 0, nullptr, Compression(service));
    if (!s.ok()) {
      Log(kLogError, "snapshotting failed: " + db->spec().argument + ": " +
                         std::string(storage::CodeName(s.code())) + ": " + s.message());
      ok = false;
    }
  }
  return ok;
}

bool SynchronizeDatabases(Service& service, bool hard) {
  Log(kLogInfo, "synchronizing databases");
  bool ok = true;
  for (size_t i = 0; i < service.db_count(); i++) {
    storage::DB* db = service.db(i);
    storage::Status s = db->Synchronize(hard);
    if (!s.ok()) {
      Log(kLogError, "synchronizing failed: " + db->spec().argument + ": " +
                         std::string(storage::CodeName(s.code())) + ": " + s.message());
      ok = false;
    }
  }
  return ok;
}

}  // namespace ryoan::server
