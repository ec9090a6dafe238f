// Background snapshots (ktserver -bgs): the KTSS file format of spec/databases.md 8.
//
// A file is: magic "KTSS\n\0" (6 bytes); u32 BE checksum; u64 BE timestamp (ms x 10^6);
// u64 BE record count; u64 BE database size in bytes. Then the record stream, each record
//   0xCC varnum(klen) varnum(vlen) key engine-value
// where engine-value is the value behind a 5-byte big-endian expiration time, or the bare
// value on a ktopts=p database. varnum is base-128, most significant group first, with the
// high bit set on every byte but the last.
//
// Uncompressed, the checksum is 0 and the record stream follows the header as is. With a
// compressor (-bgsc) the checksum is Kyoto's 64-bit MurmurHash of the compressed magic,
// truncated to 32 bits, which is how a reader tells the codec; the stream is cut into chunks
// of about 1 MiB of whole records, each stored as u32 BE length || compressed chunk.
//
// WriteSnapshot iterates a cursor, so the server goes on serving while it runs (the result
// is a fuzzy copy: each record as it was when the cursor passed). It writes "<path>.tmp",
// fsyncs it and renames it over `path`, so a crash or a full disk never leaves a partial
// snapshot under the real name. ReadSnapshot checks the whole file before it changes the
// database: a wrong magic or checksum, a chunk that does not decompress, a torn record or a
// count that does not match fail with Broken and leave the database untouched.
#pragma once

#include <cstdint>
#include <string>

#include "common/compression.h"
#include "storage/status.h"

namespace ryoan::storage {

class DB;

struct SnapshotInfo {
  uint64_t timestamp = 0;                        // ms since the epoch x 10^6
  int64_t count = 0;                             // records in the file
  int64_t size = 0;                              // the database's size when the snapshot was taken
  Compression compression = Compression::kNone;  // of the record stream
};

// Writes every live record of `db` to `path` (through "<path>.tmp"). `timestamp`: the
// header's timestamp (0: now). *info (optional) describes what was written.
Status WriteSnapshot(DB* db, const std::string& path, uint64_t timestamp = 0,
                     SnapshotInfo* info = nullptr, Compression compression = Compression::kNone);

// Sets each record of the snapshot at `path` into `db` with its expiration time; records
// already expired are skipped. *info (optional) is the header. The codec comes from the
// header's checksum; `expected` (the server's -bgsc) is used only when the checksum matches
// none of ours, e.g. a file compressed by another version of the codec's library.
Status ReadSnapshot(DB* db, const std::string& path, SnapshotInfo* info = nullptr,
                    Compression expected = Compression::kNone);

// Header-only parse of a snapshot held in memory (for tests and tools).
Status ParseSnapshotHeader(const std::string& data, SnapshotInfo* info,
                           Compression expected = Compression::kNone);

// The header checksum that marks a record stream compressed with `compression` (0: none).
uint32_t SnapshotChecksum(Compression compression);

}  // namespace ryoan::storage
