// CopyDatabase (storage/db_copy.h) while other threads write: the copy is one consistent
// state, opens as a database of the same type, and holds only records that were written.
#include "storage/db_copy.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "storage/database_spec.h"
#include "storage/db.h"

namespace ryoan::storage {
namespace {

class DbCopyTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ryoan-copy-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<DB> Open(const std::string& argument, bool readonly = false) {
    DatabaseSpec spec;
    EXPECT_TRUE(ParseDatabaseSpec(argument, &spec).ok());
    OpenOptions options;
    options.readonly = readonly;
    std::unique_ptr<DB> db;
    Status s = DB::Open(spec, options, &db);
    EXPECT_TRUE(s.ok()) << argument << ": " << s.message();
    return db;
  }

  std::string dir_;
};

// A writer sets k<i> = v<i> in order and removes k<i-50> behind it; each copy must be one
// contiguous window of that sequence: every record exact, and no gap in the window.
TEST_P(DbCopyTest, CopiesAreConsistentUnderConcurrentWrites) {
  const std::string ext = GetParam();
  std::unique_ptr<DB> db = Open(dir_ + "/src" + ext);
  ASSERT_NE(db, nullptr);
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int i = 0; !stop.load(); i++) {
      char key[16];
      snprintf(key, sizeof(key), "k%08d", i);
      ASSERT_TRUE(db->Set(key, "v" + std::to_string(i)).ok());
      if (i >= 50) {
        snprintf(key, sizeof(key), "k%08d", i - 50);
        ASSERT_TRUE(db->Remove(key).ok());
      }
      written.store(i + 1);
    }
  });
  while (written.load() < 100) std::this_thread::yield();
  for (int round = 0; round < 5; round++) {
    const std::string dest = dir_ + "/copy" + std::to_string(round) + ext;
    ASSERT_TRUE(CopyDatabase(db.get(), dest).ok()) << dest;
    std::unique_ptr<DB> copy = Open(dest, /*readonly=*/true);
    ASSERT_NE(copy, nullptr);
    std::unique_ptr<Cursor> cursor = copy->NewCursor();
    std::vector<int> ids;
    std::string key, value;
    for (Status s = cursor->Jump(); s.ok(); s = cursor->Step()) {
      ASSERT_TRUE(cursor->Get(&key, &value, nullptr, false).ok());
      int id = std::stoi(key.substr(1));
      EXPECT_EQ(value, "v" + std::to_string(id));
      ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    ASSERT_FALSE(ids.empty());
    EXPECT_LE(ids.size(), 51u);  // between a set and the remove behind it
    EXPECT_EQ(ids.back() - ids.front() + 1, static_cast<int>(ids.size())) << dest;
    EXPECT_EQ(copy->Count(), static_cast<int64_t>(ids.size()));
  }
  stop.store(true);
  writer.join();
}

INSTANTIATE_TEST_SUITE_P(FileEngines, DbCopyTest, ::testing::Values(".kch", ".kct"));

// Another open database's file is never replaced.
TEST_P(DbCopyTest, RefusesTheFileOfAnotherOpenDatabase) {
  const std::string ext = GetParam();
  std::unique_ptr<DB> a = Open(dir_ + "/a" + ext);
  std::unique_ptr<DB> b = Open(dir_ + "/b" + ext);
  ASSERT_TRUE(a->Set("k", "a").ok());
  ASSERT_TRUE(b->Set("k", "b").ok());
  EXPECT_EQ(CopyDatabase(a.get(), dir_ + "/a" + ext).code(), Code::kInvalid);
  EXPECT_EQ(CopyDatabase(a.get(), dir_ + "/b" + ext).code(), Code::kInvalid);
  b.reset();
  std::unique_ptr<DB> reopened = Open(dir_ + "/b" + ext);
  std::string value;
  ASSERT_TRUE(reopened->Get("k", &value, nullptr).ok());
  EXPECT_EQ(value, "b");
}

TEST(DbCopy, MemoryDatabasesHaveNoFile) {
  DatabaseSpec spec;
  ASSERT_TRUE(ParseDatabaseSpec("%", &spec).ok());
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(spec, OpenOptions{}, &db).ok());
  Status s = CopyDatabase(db.get(), "/tmp/ryoan-copy-never");
  EXPECT_EQ(s.code(), Code::kNoRepos);
  EXPECT_FALSE(std::filesystem::exists("/tmp/ryoan-copy-never"));
}

}  // namespace
}  // namespace ryoan::storage
