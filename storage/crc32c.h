// Crc32c: the CRC-32C (Castagnoli) checksum that guards every record and index file of the
// on-disk hash engine. Uses the SSE4.2 crc32 instruction when the CPU has it, a table
// otherwise; both give the same result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ryoan::storage {

// Extends `crc` (the result of an earlier call, or 0 to start) over `n` bytes.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);

inline uint32_t Crc32c(std::string_view data) { return Crc32cExtend(0, data.data(), data.size()); }

}  // namespace ryoan::storage
