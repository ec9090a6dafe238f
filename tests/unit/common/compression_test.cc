// The snapshot codecs (common/compression.h) and Kyoto's MurmurHash (common/murmur_hash.h).
#include "common/compression.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "common/murmur_hash.h"

namespace ryoan {
namespace {

constexpr Compression kCodecs[] = {Compression::kZlib, Compression::kLzo, Compression::kLzma};

// Half text, half random bytes: compressible, but not trivially.
std::string SampleData(size_t size) {
  std::mt19937 rng(7);
  std::string data;
  while (data.size() < size) {
    data += "record-" + std::to_string(data.size()) + "\t";
    for (int i = 0; i < 8; i++) data.push_back(static_cast<char>(rng()));
  }
  data.resize(size);
  return data;
}

TEST(CompressionTest, NamesFollowBgsc) {
  EXPECT_EQ(CompressionByName("zlib"), Compression::kZlib);
  EXPECT_EQ(CompressionByName("gz"), Compression::kZlib);
  EXPECT_EQ(CompressionByName("lzo"), Compression::kLzo);
  EXPECT_EQ(CompressionByName("oz"), Compression::kLzo);
  EXPECT_EQ(CompressionByName("lzma"), Compression::kLzma);
  EXPECT_EQ(CompressionByName("xz"), Compression::kLzma);
  for (const char* unknown : {"", "ZLIB", "gzip", "bz2", "none"}) {
    EXPECT_EQ(CompressionByName(unknown), Compression::kNone) << unknown;
  }
}

TEST(CompressionTest, RoundTripEachCodec) {
  for (Compression c : kCodecs) {
    SCOPED_TRACE(CompressionName(c));
    for (size_t size : {size_t{0}, size_t{1}, size_t{6}, size_t{70000}, size_t{3} << 20}) {
      const std::string data = SampleData(size);
      std::string packed, unpacked;
      ASSERT_TRUE(Compress(c, data, &packed));
      if (size > 1000) {
        EXPECT_LT(packed.size(), data.size());
      }
      ASSERT_TRUE(Decompress(c, packed, data.size(), &unpacked)) << size;
      EXPECT_EQ(unpacked, data);
    }
  }
}

TEST(CompressionTest, DamagedOrOversizedInputFails) {
  const std::string data = SampleData(200000);
  for (Compression c : kCodecs) {
    SCOPED_TRACE(CompressionName(c));
    std::string packed, out = "stale";
    ASSERT_TRUE(Compress(c, data, &packed));
    // More than max_size bytes would come out: refused, not truncated.
    EXPECT_FALSE(Decompress(c, packed, data.size() - 1, &out));
    EXPECT_TRUE(out.empty());
    // A truncated stream.
    EXPECT_FALSE(Decompress(c, packed.substr(0, packed.size() / 2), data.size(), &out));
    // Junk.
    EXPECT_FALSE(Decompress(c, std::string(4096, '\xff'), data.size(), &out));
    EXPECT_FALSE(Decompress(c, "", data.size(), &out));
  }
  // A small stream that expands enormously is stopped at max_size.
  const std::string zeros(size_t{8} << 20, '\0');
  for (Compression c : kCodecs) {
    std::string packed, out;
    ASSERT_TRUE(Compress(c, zeros, &packed));
    EXPECT_FALSE(Decompress(c, packed, 1 << 20, &out)) << CompressionName(c);
  }
}

TEST(CompressionTest, ZlibIsRawDeflate) {
  // Raw deflate has no zlib header: the zlib-wrapper decoder must not accept it, the raw
  // one must.
  std::string packed, out;
  ASSERT_TRUE(Compress(Compression::kZlib, "hello hello hello", &packed));
  EXPECT_FALSE(Inflate(packed, 15, 1000, &out));
  EXPECT_TRUE(Inflate(packed, -15, 1000, &out));
  EXPECT_EQ(out, "hello hello hello");
}

TEST(CompressionTest, LzmaIsAnXzStream) {
  std::string packed;
  ASSERT_TRUE(Compress(Compression::kLzma, "abc", &packed));
  EXPECT_EQ(packed.substr(0, 6), std::string("\xfd"
                                             "7zXZ\0",
                                             6));
}

TEST(MurmurHashTest, SpecVectorsInTheLow48Bits) {
  // spec/lua.md kt.hash_murmur: the 64-bit hash masked to 48 bits.
  const uint64_t mask = (uint64_t{1} << 48) - 1;
  EXPECT_EQ(MurmurHash64("") & mask, 33346480082061u);
  EXPECT_EQ(MurmurHash64("hello") & mask, 254910939360214u);
  EXPECT_EQ(MurmurHash64("abcdefghijklmnopqrstuvwxyz") & mask, 261920343064416u);
}

}  // namespace
}  // namespace ryoan
