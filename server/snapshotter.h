// The durability chores of ktserver (spec/ktserver-cli.md 4 and 5): background snapshots of
// the memory databases (-bgs, -bgsi) and periodic synchronization (-asi, -ash).
//
// -bgsc picks the snapshot codec (storage/snapshot.h); loading tells it from each file.
//
// Snapshots cover memory databases only: file databases (.kch, .kct) are durable on their
// own, and loading a snapshot into one would rewrite every record at each start.
#pragma once

#include <string>

#include "server/service.h"

namespace ryoan::server {

// "<dir>/<8-digit index>.ktss".
std::string SnapshotPath(const std::string& dir, size_t index);

// Creates the -bgs directory if missing; false if it cannot be made or is not a directory.
bool PrepareSnapshotDirectory(const std::string& dir);

// Whether -bgs covers this database (memory databases only).
bool SnapshotCovers(const storage::DB& db);

// Loads every existing snapshot file whose index is < the number of databases (at start,
// before listening). Failures are logged; returns false if any failed.
bool LoadSnapshots(Service& service, const std::string& dir);

// Snapshots every covered database (logs "snapshotting databases"). Returns false if any
// failed (each failure is logged).
bool SnapshotDatabases(Service& service, const std::string& dir);

// Synchronizes every database (logs "synchronizing databases"); `hard` fsyncs.
bool SynchronizeDatabases(Service& service, bool hard);

}  // namespace ryoan::server
