// Kyoto's 64-bit MurmurHash (a MurmurHash64A variant, spec/lua.md kt.hash_murmur): used by
// Lua's kt.hash_murmur (masked to 48 bits there) and by the KTSS snapshot header checksum
// (truncated to 32 bits, spec/databases.md 8).
#pragma once

#include <cstdint>
#include <string_view>

namespace ryoan {

uint64_t MurmurHash64(std::string_view data);

}  // namespace ryoan
