// The -bgs snapshot format (storage/snapshot.h): round trips, expiration times, binary keys,
// and damaged files refused before the database changes.
#include "storage/snapshot.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

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
        Case{compressed, "compressed"}, Case{bad_record, "invalid snapshot record"}}) {
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

}  // namespace
}  // namespace ryoan::storage
