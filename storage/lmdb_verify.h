// The check of a '.kct' file at open (FORMAT-kct.md, "Damaged files").
//
// LMDB checks nothing it reads: a damaged page header, node offset or branch key can hide
// records from lookups or crash LMDB's tree walk, and a damaged free list makes later
// writes overwrite live pages. So before a file is opened for service, every page the
// trees reach is walked once and everything that can be checked from outside LMDB is:
//
// * the two meta pages are a consistent pair (the chosen one's transaction id is the other's
//   plus one and sits in the slot LMDB writes it to);
// * every record's checksum, the strict key order across the whole walk, and that a point
//   lookup of each key lands on the very node the walk found (branch keys route right);
// * every leaf and overflow page the walk meets names its own page number and kind, lies in
//   the file, is not on the free list and belongs to one tree only; the free list names
//   each page once, inside the file;
// * the page, entry and record counts of each tree match the walk (LMDB's database records,
//   our `count`), and tree pages + free pages + 2 meta pages = the file's page count.
//
// The walk runs in a forked child: if LMDB crashes on a damaged page there, the child dies
// by a signal and the open is refused with a message, instead of taking the server down.
#pragma once

#include <cstdint>
#include <string>

#include "storage/status.h"

namespace ryoan::storage::lmdb {

struct VerifyResult {
  int64_t records = 0;       // user records (group entries counted one by one)
  int64_t lmdb_entries = 0;  // entries of the records database
  int64_t pages = 0;         // pages of the file
  double seconds = 0;        // wall time of the walk, fork included
};

// Checks the file at `path` (`subdir`: a directory holding data.mdb) in a child process.
// OK when it passes, or when there is nothing to check (no file, an empty file, a file LMDB
// itself refuses: the open that follows reports those). Broken "<path>: broken database
// file (...)" otherwise. The caller has not opened the file in this process.
Status VerifyFile(const std::string& path, bool subdir, VerifyResult* result = nullptr);

// The same checks in the calling process (no fork): for the child, and for tests that
// want the finding without a process. A damaged file may crash this.
Status VerifyFileHere(const std::string& path, bool subdir, VerifyResult* result);

}  // namespace ryoan::storage::lmdb
