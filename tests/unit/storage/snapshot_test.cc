// The -bgs snapshot format (storage/snapshot.h): round trips, expiration times, binary keys,
// and damaged files refused before the database changes.
#include "storage/snapshot.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "common/compression.h"
#include "common/murmur_hash.h"
#include "storage/database_spec.h"
#include "storage/db.h"

namespace ryoan::storage {
namespace {

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ryoan-snapshot-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/00000000.ktss";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<DB> Open(const std::string& argument) {
    DatabaseSpec spec;
    EXPECT_TRUE(ParseDatabaseSpec(argument, &spec).ok());
    OpenOptions options;
    options.clock = [this] { return now_; };
    std::unique_ptr<DB> db;
    Status s = DB::Open(spec, options, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return db;
  }
  std::string ReadFile() {
    std::ifstream in(path_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteFile(const std::string& data) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << data;
  }

  std::string dir_;
  std::string path_;
  int64_t now_ = 1'000'000;
};

TEST_F(SnapshotTest, RoundTripWithExpirationAndBinaryKeys) {
  for (const char* type : {":", "+", "*", "%"}) {
    SCOPED_TRACE(type);
    now_ = 1'000'000;
    std::unique_ptr<DB> db = Open(type);
    const std::string binary_key("a\0b\xff\n", 5);
    const std::string big(300000, 'x');
    ASSERT_TRUE(db->Set("plain", "v1").ok());
    ASSERT_TRUE(db->Set(binary_key, std::string("\0\x01\xcc", 3), 100).ok());
    ASSERT_TRUE(db->Set("big", big).ok());
    ASSERT_TRUE(db->Set("empty", "").ok());
    ASSERT_TRUE(db->Set("gone", "x", 10).ok());
    now_ += 50;  // "gone" has expired: not written
    SnapshotInfo written;
    ASSERT_TRUE(WriteSnapshot(db.get(), path_, 42, &written).ok());
    EXPECT_EQ(written.count, 4);
    EXPECT_EQ(written.timestamp, 42u);
    EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));
    std::string data = ReadFile();
    EXPECT_EQ(data.substr(0, 10), std::string("KTSS\n\0\0\0\0\0", 10));

    std::unique_ptr<DB> copy = Open(type);
    ASSERT_TRUE(copy->Set("plain", "old").ok());
    SnapshotInfo read;
    Status s = ReadSnapshot(copy.get(), path_, &read);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(read.count, 4);
    EXPECT_EQ(read.timestamp, 42u);
    EXPECT_EQ(read.size, written.size);
    EXPECT_EQ(copy->Count(), 4);
    std::string value;
    int64_t xt = 0;
    ASSERT_TRUE(copy->Get("plain", &value, &xt).ok());
    EXPECT_EQ(value, "v1");
    EXPECT_EQ(xt, kXtMax);
    ASSERT_TRUE(copy->Get(binary_key, &value, &xt).ok());
    EXPECT_EQ(value, std::string("\0\x01\xcc", 3));
    EXPECT_EQ(xt, 1'000'100);
    ASSERT_TRUE(copy->Get("big", &value, &xt).ok());
    EXPECT_EQ(value, big);
    ASSERT_TRUE(copy->Get("empty", &value, &xt).ok());
    EXPECT_EQ(value, "");
    // An expired record in the file is skipped on load.
    now_ += 1000;
    std::unique_ptr<DB> late = Open(type);
    ASSERT_TRUE(ReadSnapshot(late.get(), path_).ok());
    EXPECT_EQ(late->Count(), 3);
    std::filesystem::remove(path_);
  }
}

TEST_F(SnapshotTest, RecordLayout) {
  std::unique_ptr<DB> db = Open(":");
  ASSERT_TRUE(db->Set("k", "vv", -0x0102030405).ok());
  ASSERT_TRUE(WriteSnapshot(db.get(), path_, 7).ok());
  std::string data = ReadFile();
  ASSERT_EQ(data.size(), 34u + 1 + 1 + 1 + 1 + 5 + 2);
  EXPECT_EQ(data.substr(34), std::string("\xcc\x01\x07k\x01\x02\x03\x04\x05vv", 11));
  // ktopts=p: the bare value, no expiration time.
  std::unique_ptr<DB> persistent = Open(":#ktopts=p");
  ASSERT_TRUE(persistent->Set("k", "vv").ok());
  ASSERT_TRUE(WriteSnapshot(persistent.get(), path_, 7).ok());
  EXPECT_EQ(ReadFile().substr(34), std::string("\xcc\x01\x02kvv", 6));
}

TEST_F(SnapshotTest, DamagedFilesAreRefusedUntouched) {
  std::unique_ptr<DB> db = Open(":");
  for (int i = 0; i < 100; i++) {
    ASSERT_TRUE(db->Set("key" + std::to_string(i), "value" + std::to_string(i)).ok());
  }
  ASSERT_TRUE(WriteSnapshot(db.get(), path_).ok());
  const std::string good = ReadFile();
  struct Case {
    std::string data;
    std::string message;
  };
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  std::string compressed = good;
  compressed[9] = 1;
  std::string bad_record = good;
  bad_record[34] = 0;
  for (const Case& c :
       {Case{good.substr(0, good.size() - 3), "truncated"},
        Case{good.substr(0, good.size() - 14), "truncated"},
        Case{good.substr(0, 20), "invalid snapshot header"}, Case{bad_magic, "bad magic"},
        Case{compressed, "unknown compression"}, Case{bad_record, "invalid snapshot record"}}) {
    WriteFile(c.data);
    std::unique_ptr<DB> target = Open(":");
    Status s = ReadSnapshot(target.get(), path_);
    EXPECT_EQ(s.code(), Code::kBroken) << c.message;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
    EXPECT_EQ(target->Count(), 0) << c.message;
  }
  std::unique_ptr<DB> target = Open(":");
  EXPECT_EQ(ReadSnapshot(target.get(), dir_ + "/missing.ktss").code(), Code::kSystem);
  EXPECT_EQ(WriteSnapshot(db.get(), dir_ + "/no/such/dir.ktss").code(), Code::kSystem);
}

constexpr Compression kCodecs[] = {Compression::kZlib, Compression::kLzo, Compression::kLzma};

uint32_t GetU32(const std::string& data, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; i++) v = v << 8 | static_cast<unsigned char>(data[at + i]);
  return v;
}

// Offsets of the chunks of a compressed snapshot: each "u32 BE length || chunk" must end
// exactly where the next begins, and the last at the end of the file.
std::vector<size_t> ChunkOffsets(const std::string& data) {
  std::vector<size_t> offsets;
  size_t at = 34;
  while (at + 4 <= data.size()) {
    offsets.push_back(at);
    at += 4 + GetU32(data, at);
  }
  EXPECT_EQ(at, data.size());
  return offsets;
}

// A database of ~3 MiB of records, so that the stream needs several 1 MiB chunks.
void Fill(DB* db) {
  for (int i = 0; i < 3000; i++) {
    std::string value = "value-" + std::to_string(i) + "-";
    value.resize(1000, static_cast<char>('a' + i % 26));
    ASSERT_TRUE(db->Set("key" + std::to_string(i), value, i % 2 ? 5000 : kNoXt).ok());
  }
}

TEST_F(SnapshotTest, HeaderChecksumIsMurmurOfTheCompressedMagic) {
  EXPECT_EQ(SnapshotChecksum(Compression::kNone), 0u);
  const std::string magic("KTSS\n\0", 6);
  std::vector<uint32_t> seen;
  for (Compression c : kCodecs) {
    std::string packed;
    ASSERT_TRUE(Compress(c, magic, &packed));
    EXPECT_EQ(SnapshotChecksum(c), static_cast<uint32_t>(MurmurHash64(packed)));
    EXPECT_NE(SnapshotChecksum(c), 0u);
    for (uint32_t other : seen) EXPECT_NE(SnapshotChecksum(c), other);  // tells codecs apart
    seen.push_back(SnapshotChecksum(c));
  }
}

TEST_F(SnapshotTest, CompressedRoundTripEachCodec) {
  std::unique_ptr<DB> db = Open(":");
  Fill(db.get());
  ASSERT_TRUE(WriteSnapshot(db.get(), path_, 42).ok());
  const size_t plain_size = ReadFile().size();
  for (Compression c : kCodecs) {
    SCOPED_TRACE(CompressionName(c));
    SnapshotInfo written;
    ASSERT_TRUE(WriteSnapshot(db.get(), path_, 42, &written, c).ok());
    EXPECT_EQ(written.count, 3000);
    EXPECT_EQ(written.compression, c);
    const std::string data = ReadFile();
    EXPECT_EQ(data.substr(0, 6), std::string("KTSS\n\0", 6));
    EXPECT_EQ(GetU32(data, 6), SnapshotChecksum(c));
    EXPECT_LT(data.size(), plain_size / 2);
    // About 1 MiB of records per chunk, each of which decompresses on its own.
    std::vector<size_t> chunks = ChunkOffsets(data);
    EXPECT_GE(chunks.size(), 3u);
    for (size_t at : chunks) {
      std::string unpacked;
      ASSERT_TRUE(Decompress(c, data.substr(at + 4, GetU32(data, at)), 1 << 30, &unpacked));
      EXPECT_GE(unpacked.size(), at == chunks.back() ? 1u : size_t{1} << 20);
      EXPECT_LT(unpacked.size(), (size_t{1} << 20) + 2000);
      EXPECT_EQ(static_cast<unsigned char>(unpacked[0]), 0xCC);  // chunks hold whole records
    }

    // The reader tells the codec from the header alone.
    std::unique_ptr<DB> copy = Open(":");
    SnapshotInfo read;
    Status s = ReadSnapshot(copy.get(), path_, &read);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(read.compression, c);
    EXPECT_EQ(read.count, 3000);
    ASSERT_EQ(copy->Count(), 3000);
    for (int i = 0; i < 3000; i += 7) {
      std::string value, expected;
      int64_t xt = 0, expected_xt = 0;
      ASSERT_TRUE(db->Get("key" + std::to_string(i), &expected, &expected_xt).ok());
      ASSERT_TRUE(copy->Get("key" + std::to_string(i), &value, &xt).ok()) << i;
      EXPECT_EQ(value, expected);
      EXPECT_EQ(xt, expected_xt);
    }
  }
  // An empty database: a header and no chunk at all.
  std::unique_ptr<DB> empty = Open(":");
  ASSERT_TRUE(WriteSnapshot(empty.get(), path_, 1, nullptr, Compression::kLzo).ok());
  EXPECT_EQ(ReadFile().size(), 34u);
  std::unique_ptr<DB> copy = Open(":");
  EXPECT_TRUE(ReadSnapshot(copy.get(), path_).ok());
  EXPECT_EQ(copy->Count(), 0);
}

TEST_F(SnapshotTest, DamagedChunksAreRefusedUntouched) {
  std::unique_ptr<DB> db = Open(":");
  Fill(db.get());
  for (Compression c : kCodecs) {
    SCOPED_TRACE(CompressionName(c));
    ASSERT_TRUE(WriteSnapshot(db.get(), path_, 42, nullptr, c).ok());
    const std::string good = ReadFile();
    const std::vector<size_t> chunks = ChunkOffsets(good);
    ASSERT_GE(chunks.size(), 2u);
    const size_t second = chunks[1];
    const uint32_t second_size = GetU32(good, second);
    struct Case {
      std::string data;
      std::string message;
    };
    std::vector<Case> cases;
    std::string junk = good;  // the second chunk's bytes replaced by junk
    std::fill(junk.begin() + second + 4, junk.begin() + second + 4 + second_size, '\xff');
    cases.push_back({junk, "damaged compressed chunk at offset " + std::to_string(second)});
    std::string zeroed = good;  // or by zeros
    std::fill(zeroed.begin() + second + 4, zeroed.begin() + second + 4 + second_size, '\0');
    cases.push_back({zeroed, "damaged compressed chunk"});
    std::string huge = good;  // a length no chunk can have
    huge[second] = '\x7f';
    cases.push_back({huge, "damaged compressed chunk"});
    std::string longer = good;  // a length running past the end of the file
    longer[second + 1] = static_cast<char>(longer[second + 1] + 1);
    cases.push_back({longer, ""});
    cases.push_back({good.substr(0, second + 4 + second_size / 2), "truncated"});
    cases.push_back({good.substr(0, second + 2), "truncated"});
    cases.push_back({good.substr(0, second), "truncated"});  // whole chunks missing: count
    std::string other = good;                                // the header claims another codec
    Compression wrong = c == Compression::kZlib ? Compression::kLzo : Compression::kZlib;
    for (int i = 0; i < 4; i++)
      other[6 + i] = static_cast<char>(SnapshotChecksum(wrong) >> (24 - 8 * i));
    cases.push_back({other, "damaged compressed chunk at offset 34"});
    std::string unknown = good;
    unknown[9] = static_cast<char>(unknown[9] ^ 0x40);
    cases.push_back({unknown, "unknown compression"});
    for (const Case& k : cases) {
      WriteFile(k.data);
      std::unique_ptr<DB> target = Open(":");
      Status s = ReadSnapshot(target.get(), path_);
      EXPECT_EQ(s.code(), Code::kBroken) << k.message << ": " << s.ToString();
      EXPECT_NE(s.message().find(k.message), std::string::npos) << s.message();
      EXPECT_EQ(target->Count(), 0) << k.message;
    }
  }
}

TEST_F(SnapshotTest, ExpectedCodecIsTheFallbackForAnUnknownChecksum) {
  std::unique_ptr<DB> db = Open("+");
  Fill(db.get());
  ASSERT_TRUE(WriteSnapshot(db.get(), path_, 42, nullptr, Compression::kLzma).ok());
  std::string data = ReadFile();
  data[9] = static_cast<char>(data[9] ^ 1);  // as if another liblzma had written it
  WriteFile(data);
  std::unique_ptr<DB> copy = Open("+");
  EXPECT_EQ(ReadSnapshot(copy.get(), path_).code(), Code::kBroken);
  EXPECT_EQ(ReadSnapshot(copy.get(), path_, nullptr, Compression::kZlib).code(), Code::kBroken);
  EXPECT_EQ(copy->Count(), 0);
  SnapshotInfo info;
  Status s = ReadSnapshot(copy.get(), path_, &info, Compression::kLzma);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(info.compression, Compression::kLzma);
  EXPECT_EQ(copy->Count(), 3000);
}

}  // namespace
}  // namespace ryoan::storage
