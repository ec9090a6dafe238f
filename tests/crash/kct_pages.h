// crash_harness pageflips <dbarg.kct> <seed> <flips-per-kind>: flips bytes inside the LMDB
// pages of a '.kct' file (meta, branch, leaf and overflow pages: headers, node offsets, keys,
// values, page numbers) and opens each damaged copy. Every open must either be refused with
// a message or return exactly the records written: no crash of the opening process, no
// missing record, no wrong or older value.
#pragma once

#include <cstdint>
#include <string>

namespace ryoan::crash {

int RunPageFlips(const std::string& dbarg, uint64_t seed, int flips_per_kind);

}  // namespace ryoan::crash
