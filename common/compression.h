// Whole-buffer compression codecs: the ones Kyoto Tycoon names for snapshot files (-bgsc,
// spec/ktserver-cli.md) and Lua's kt.codec (spec/lua.md).
//
// * zlib: raw deflate (no header, no checksum), or with windowBits chosen by the caller the
//   zlib wrapper or gzip.
// * lzo: LZO1X-1, the bare compressed bytes.
// * lzma: an .xz stream (preset 6, no integrity check).
//
// Decompression never writes more than `max_size` bytes: a damaged or hostile input fails
// instead of growing memory without bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ryoan {

enum class Compression { kNone, kZlib, kLzo, kLzma };

// -bgsc names: "zlib"/"gz", "lzo"/"oz", "lzma"/"xz"; anything else is kNone.
Compression CompressionByName(std::string_view name);
// "zlib", "lzo", "lzma" or "none".
const char* CompressionName(Compression compression);

// Replaces *out with `in` compressed. kNone copies. False if the library failed.
bool Compress(Compression compression, std::string_view in, std::string* out);
// Replaces *out with `in` decompressed. False if `in` is not a complete valid stream of the
// codec or would decompress to more than `max_size` bytes.
bool Decompress(Compression compression, std::string_view in, size_t max_size, std::string* out);

// zlib with a chosen windowBits: -15 raw deflate, 15 zlib wrapper, 31 gzip.
bool Deflate(std::string_view in, int window_bits, std::string* out);
bool Inflate(std::string_view in, int window_bits, size_t max_size, std::string* out);

}  // namespace ryoan
