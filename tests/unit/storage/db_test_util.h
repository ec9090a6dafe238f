// Shared fixture of the DB typed test suite: every test runs over each engine type with a
// fake clock, so expiry is tested without sleeping. Each test gets a fresh temporary
// directory, where file engines keep their files.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/database_spec.h"
#include "storage/db.h"

namespace ryoan::storage::testing {

// Each type names its database argument; memory types ignore `dir`. A file engine adds a
// type like: struct FileTreeType { static std::string Argument(const std::string& dir) {
// return dir + "/casket.kct"; } static constexpr bool kOrdered = true; ... }.
struct StashType {
  static constexpr const char* kName = ":";
  static constexpr bool kOrdered = false;
};
struct ProtoHashType {
  static constexpr const char* kName = "-";
  static constexpr bool kOrdered = false;
};
struct CacheHashType {
  static constexpr const char* kName = "*";
  static constexpr bool kOrdered = false;
};
struct ProtoTreeType {
  static constexpr const char* kName = "+";
  static constexpr bool kOrdered = true;
};
struct CacheTreeType {
  static constexpr const char* kName = "%";
  static constexpr bool kOrdered = true;
};
struct FileHashType {
  static constexpr const char* kName = "casket.kch";
  static constexpr bool kOrdered = false;
  static std::string Argument(const std::string& dir) { return dir + "/" + kName; }
};
struct FileTreeType {
  static constexpr const char* kName = "casket.kct";
  static constexpr bool kOrdered = true;
  static std::string Argument(const std::string& dir) { return dir + "/" + kName; }
};

using EngineTypes = ::testing::Types<StashType, ProtoHashType, CacheHashType, ProtoTreeType,
                                     CacheTreeType, FileHashType, FileTreeType>;

class EngineTypeNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    if (std::is_same_v<T, StashType>) return "Stash";
    if (std::is_same_v<T, ProtoHashType>) return "ProtoHash";
    if (std::is_same_v<T, CacheHashType>) return "CacheHash";
    if (std::is_same_v<T, ProtoTreeType>) return "ProtoTree";
    if (std::is_same_v<T, FileHashType>) return "FileHash";
    if (std::is_same_v<T, FileTreeType>) return "FileTree";
    return "CacheTree";
  }
};

// Records every change reported, as "set k=v@xt", "remove k", "clear".
class RecordingObserver : public UpdateObserver {
 public:
  void OnSet(std::string_view key, std::string_view value, int64_t xt) override {
    Add("set " + std::string(key) + "=" + std::string(value) + "@" + std::to_string(xt));
  }
  void OnRemove(std::string_view key) override { Add("remove " + std::string(key)); }
  void OnClear() override { Add("clear"); }

  // Returns and forgets the events so far.
  std::vector<std::string> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(events_);
  }

 private:
  void Add(std::string event) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(event));
  }
  std::mutex mu_;
  std::vector<std::string> events_;
};

inline constexpr int64_t kStartTime = 1700000000;

template <typename T>
class DBTest : public ::testing::Test {
 protected:
  // File engines give space back only when they compact (a full vacuum, or in the
  // background), so a test of Size() vacuums first on them.
  static constexpr bool kFileBacked = requires { T::Argument(std::string()); };

  void SetUp() override {
    char pattern[] = "/tmp/ryoan-db-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    db_ = Open("");
  }

  void TearDown() override {
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // T's database argument: the in-memory name, or a path in this test's directory. Like an
  // in-memory one, every database a test opens is a new one: file types get a subdirectory
  // per Open() (db_ is the first).
  std::string Argument() {
    if constexpr (requires { T::Argument(dir_); }) {
      std::string dir = dir_ + "/" + std::to_string(opens_++);
      std::filesystem::create_directory(dir);
      return T::Argument(dir);
    } else {
      return T::kName;
    }
  }

  // Opens T's database with extra "#name=value" parameters and the fake clock.
  std::unique_ptr<DB> Open(const std::string& params, bool readonly = false) {
    DatabaseSpec spec;
    Status status = ParseDatabaseSpec(Argument() + params, &spec);
    EXPECT_TRUE(status.ok()) << status.ToString();
    if (readonly && spec.type >= DatabaseType::kFileHash) {
      // A reader needs an existing file: create the (empty) database first.
      std::unique_ptr<DB> writer;
      EXPECT_TRUE(DB::Open(spec, OpenOptions(), &writer).ok());
    }
    OpenOptions options;
    options.readonly = readonly;
    options.clock = [this] { return now_.load(); };
    std::unique_ptr<DB> db;
    status = DB::Open(spec, options, &db);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return db;
  }

  void SetNow(int64_t now) { now_.store(now); }
  void Advance(int64_t seconds) { now_.fetch_add(seconds); }
  int64_t now() const { return now_.load(); }

  std::string GetOr(std::string_view key, const std::string& fallback = "<none>") {
    std::string value;
    return db_->Get(key, &value, nullptr).ok() ? value : fallback;
  }

  // All live keys through a forward cursor scan.
  std::vector<std::string> ScanKeys(DB* db) {
    std::vector<std::string> keys;
    std::unique_ptr<Cursor> cursor = db->NewCursor();
    if (!cursor->Jump().ok()) return keys;
    std::string key;
    while (cursor->GetKey(&key, true).ok()) keys.push_back(key);
    return keys;
  }

  std::atomic<int64_t> now_{kStartTime};
  std::string dir_;
  int opens_ = 0;
  std::unique_ptr<DB> db_;
};

TYPED_TEST_SUITE(DBTest, EngineTypes, EngineTypeNames);

inline std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace ryoan::storage::testing
