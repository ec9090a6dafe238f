// Behaviour particular to one database type: cache LRU limits ('*'), comparators ('%'),
// status fields, unsupported types; and the increment formats as pure functions.
#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "storage/database_spec.h"
#include "storage/db.h"
#include "storage/increment.h"
#include "storage/key_comparator.h"
#include "tests/unit/storage/db_test_util.h"

namespace ryoan::storage::testing {
namespace {

std::unique_ptr<DB> OpenDB(const std::string& argument) {
  DatabaseSpec spec;
  EXPECT_TRUE(ParseDatabaseSpec(argument, &spec).ok());
  std::unique_ptr<DB> db;
  Status status = DB::Open(spec, OpenOptions(), &db);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return db;
}

TEST(OpenTest, FileTypesAreNotSupportedYet) {
  for (const char* name : {"a.kcd", "a.kcx"}) {
    DatabaseSpec spec;
    ASSERT_TRUE(ParseDatabaseSpec(name, &spec).ok());
    std::unique_ptr<DB> db;
    Status status = DB::Open(spec, OpenOptions(), &db);
    EXPECT_EQ(status.code(), Code::kInvalid);
    EXPECT_EQ(status.message(), std::string("unsupported database type: ") + (name + 2));
    EXPECT_EQ(db, nullptr);
  }
}

TEST(CacheHashTest, CapCountEvictsLeastRecentlyUsed) {
  // capcnt=16: 16 slots of at most 16/16+1 = 2 records each.
  std::unique_ptr<DB> db = OpenDB("*#capcnt=16");
  RecordingObserver observer;
  db->SetUpdateObserver(&observer);
  ASSERT_TRUE(db->Set("keep", "v").ok());
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(db->Set("k" + std::to_string(i), "v").ok());
    ASSERT_TRUE(db->Get("keep", nullptr, nullptr).ok()) << i;  // reads refresh it
    ASSERT_LE(db->Count(), 32);
  }
  EXPECT_GE(db->Count(), 16);
  // Without refreshing, an old record does not survive a flood.
  ASSERT_TRUE(db->Set("old", "v").ok());
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(db->Set("n" + std::to_string(i), "v").ok());
  EXPECT_EQ(db->Get("old", nullptr, nullptr).code(), Code::kNoRec);
  EXPECT_EQ(observer.Take().size(), 1002u);  // evictions are not reported
  auto status = db->GetStatus();
  EXPECT_EQ(status.at("capcnt"), "16");
  EXPECT_EQ(status.at("capsiz"), "-1");
  EXPECT_EQ(status.count("bnum"), 1u);
  db->SetUpdateObserver(nullptr);
}

TEST(CacheHashTest, CapSizeBoundsMemory) {
  std::unique_ptr<DB> db = OpenDB("*#capsiz=64k");
  std::string value(1000, 'x');
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(db->Set("k" + std::to_string(i), value).ok());
  EXPECT_LT(db->Count(), 100);
  EXPECT_GT(db->Count(), 16);
  EXPECT_EQ(db->GetStatus().at("capsiz"), "65536");
  // One growing value may exceed a slot: it is the only one there and is kept.
  ASSERT_TRUE(db->Set("big", std::string(100000, 'b')).ok());
  EXPECT_TRUE(db->Get("big", nullptr, nullptr).ok());
}

// A value overwritten with shorter and longer ones is kept in place while it fills at least half
// of its block, else moved to a new block: every read returns the last value, the LRU order of
// '*' survives the moves, and Size() returns to where it was once the sizes are back.
TEST(HashEngineTest, ValuesShrinkAndGrowInPlaceAndMoved) {
  for (const char* argument : {":", "-", "*#capcnt=64"}) {
    SCOPED_TRACE(argument);
    std::unique_ptr<DB> db = OpenDB(argument);
    ASSERT_TRUE(db->Set("other", "o").ok());
    ASSERT_TRUE(db->Set("k", std::string(100, 'a')).ok());
    const int64_t size = db->Size();
    for (size_t n : {100, 60, 50, 49, 0, 7, 300, 151, 150, 100}) {
      std::string value(n, static_cast<char>('a' + n % 26));
      ASSERT_TRUE(db->Set("k", value).ok()) << n;
      std::string got;
      ASSERT_TRUE(db->Get("k", &got, nullptr).ok()) << n;
      EXPECT_EQ(got, value) << n;
      ASSERT_TRUE(db->Get("other", &got, nullptr).ok()) << n;
      EXPECT_EQ(got, "o");
    }
    // 49 moved the value to a smaller block, 300 to a larger one, and 100 (under half of 300)
    // back to a block of 100 bytes, the size it started in.
    EXPECT_EQ(db->Size(), size);
    EXPECT_EQ(db->Count(), 2);
  }
}

TEST(ComparatorTest, DecimalOrder) {
  KeyComparator dec(KeyComparator::kDec);
  EXPECT_TRUE(dec("2", "10"));
  EXPECT_TRUE(dec("-5", "3"));
  EXPECT_TRUE(dec("-1.5", "-1.2"));
  EXPECT_TRUE(dec("-0.5", "0.2"));
  EXPECT_TRUE(dec("1.25", "1.3"));
  EXPECT_TRUE(dec("  7", "8"));
  EXPECT_TRUE(dec("abc", "1"));  // reads as 0
  EXPECT_TRUE(dec("01", "1"));   // equal numbers: lexical tie-break
  EXPECT_FALSE(dec("1", "01"));
  KeyComparator lex(KeyComparator::kLex);
  EXPECT_TRUE(lex("a", "ab"));
  EXPECT_TRUE(lex("a", "\xff"));  // unsigned bytes
  EXPECT_TRUE(KeyComparator(KeyComparator::kLexDesc)("b", "a"));
  EXPECT_TRUE(KeyComparator(KeyComparator::kDecDesc)("10", "9"));
}

std::vector<std::string> TreeOrder(const std::string& argument) {
  std::unique_ptr<DB> db = OpenDB(argument);
  for (const char* key : {"10", "9", "-3", "2.5", "b", "a"}) db->Set(key, "v").ok();
  std::vector<std::string> keys;
  std::unique_ptr<Cursor> cursor = db->NewCursor();
  std::string key;
  if (cursor->Jump().ok()) {
    while (cursor->GetKey(&key, true).ok()) keys.push_back(key);
  }
  return keys;
}

TEST(CacheTreeTest, Comparators) {
  using V = std::vector<std::string>;
  EXPECT_EQ(TreeOrder("%"), (V{"-3", "10", "2.5", "9", "a", "b"}));
  EXPECT_EQ(TreeOrder("%#rcomp=lexdesc"), (V{"b", "a", "9", "2.5", "10", "-3"}));
  EXPECT_EQ(TreeOrder("%#rcomp=dec"), (V{"-3", "a", "b", "2.5", "9", "10"}));
  EXPECT_EQ(TreeOrder("%#rcomp=decimaldesc"), (V{"10", "9", "2.5", "b", "a", "-3"}));
  EXPECT_EQ(TreeOrder("+#rcomp=dec"), (V{"-3", "10", "2.5", "9", "a", "b"}));  // always lex
  EXPECT_EQ(OpenDB("%#rcomp=decdesc")->GetStatus().at("rcomp"), "decdesc");
  EXPECT_EQ(OpenDB("+")->GetStatus().count("rcomp"), 0u);
  // match_prefix on a non-lexical tree must scan everything.
  std::unique_ptr<DB> db = OpenDB("%#rcomp=dec");
  for (const char* key : {"1a", "2", "1b", "10"}) ASSERT_TRUE(db->Set(key, "v").ok());
  std::vector<std::string> keys;
  ASSERT_TRUE(db->MatchPrefix("1", -1, &keys).ok());
  EXPECT_EQ(Sorted(keys), (V{"10", "1a", "1b"}));
}

TEST(IncrementTest, IntegerEncoding) {
  char out[8];
  int64_t result = 0;
  EXPECT_EQ(IncrementInt(std::nullopt, 0x0102030405060708, 0, &result, out),
            IncrementOutcome::kWrite);
  EXPECT_EQ(std::string(out, 8), "\x01\x02\x03\x04\x05\x06\x07\x08");
  EXPECT_EQ(IncrementInt(std::string_view(out, 8), 0, 0, &result, out), IncrementOutcome::kNoWrite);
  EXPECT_EQ(result, 0x0102030405060708);
  EXPECT_EQ(IncrementInt(std::string_view("1234567", 7), 1, 0, &result, out),
            IncrementOutcome::kFail);
}

// A few threads hammer one database of each type with mixed operations; the final state
// must match what each thread's own keys say.
TYPED_TEST(DBTest, MultiThreadedStress) {
  DB& db = *this->db_;
  constexpr int kThreads = 4;
  constexpr int kOps = 4000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&db, t] {
      std::string prefix = "t" + std::to_string(t) + ":";
      int64_t n = 0;
      for (int i = 0; i < kOps; ++i) {
        std::string key = prefix + std::to_string(i % 97);
        switch (i % 6) {
          case 0:
            db.Set(key, std::string(i % 50, 'v')).ok();
            break;
          case 1:
            db.Append(key, "a").ok();
            break;
          case 2:
            db.Get(key, nullptr, nullptr).ok();
            break;
          case 3:
            db.Remove(key).ok();
            break;
          case 4:
            db.Increment("counter", 1, 0, kNoXt, &n).ok();
            break;
          case 5:
            db.SetBulk({{key, "b"}, {prefix + "x", "y"}}, 100, true, nullptr).ok();
            break;
        }
      }
    });
  }
  std::thread scanner([&] {
    for (int round = 0; round < 5; ++round) this->ScanKeys(&db);
  });
  for (auto& thread : threads) thread.join();
  scanner.join();
  std::string value;
  ASSERT_TRUE(db.Get("counter", &value, nullptr).ok());
  ASSERT_EQ(value.size(), 8u);
  int64_t expected_increments = 0;
  for (int i = 0; i < kOps; ++i) expected_increments += i % 6 == 4;
  EXPECT_EQ(DecodeInt64(value.data()), kThreads * expected_increments);
  EXPECT_EQ(db.Count(), static_cast<int64_t>(this->ScanKeys(&db).size()));
}

}  // namespace
}  // namespace ryoan::storage::testing
