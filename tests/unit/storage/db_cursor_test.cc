// DB cursors over every in-memory type (spec/databases.md 7, spec/http-rpc.md 9.29-9.36).
#include <set>
#include <thread>

#include "tests/unit/storage/db_test_util.h"

namespace ryoan::storage::testing {
namespace {

TYPED_TEST(DBTest, CursorVisitsEveryRecordOnce) {
  DB& db = *this->db_;
  std::unique_ptr<Cursor> cursor = db.NewCursor();
  EXPECT_EQ(cursor->Jump().code(), Code::kNoRec);  // empty
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    expected.push_back("key" + std::to_string(i));
    ASSERT_TRUE(db.Set(expected.back(), "v" + std::to_string(i)).ok());
  }
  std::vector<std::string> keys = this->ScanKeys(&db);
  if (TypeParam::kOrdered) {
    EXPECT_EQ(keys, Sorted(expected));
  } else {
    EXPECT_EQ(Sorted(keys), Sorted(expected));
  }
  // The order is stable while nothing changes.
  EXPECT_EQ(this->ScanKeys(&db), keys);
}

TYPED_TEST(DBTest, CursorMovementAndPositioning) {
  DB& db = *this->db_;
  for (const char* key : {"b", "d", "f"}) ASSERT_TRUE(db.Set(key, std::string(key) + "v").ok());
  std::unique_ptr<Cursor> cursor = db.NewCursor();
  std::string key;
  std::string value;
  int64_t xt = 0;
  EXPECT_EQ(cursor->Get(&key, &value, &xt, false).code(), Code::kNoRec);  // unpositioned
  EXPECT_EQ(cursor->Step().code(), Code::kNoRec);
  ASSERT_TRUE(cursor->Jump("d").ok());
  ASSERT_TRUE(cursor->Get(&key, &value, &xt, false).ok());
  EXPECT_EQ(key, "d");
  EXPECT_EQ(value, "dv");
  EXPECT_EQ(xt, kXtMax);
  if (TypeParam::kOrdered) {
    ASSERT_TRUE(cursor->Jump("c").ok());  // first key >= "c"
    ASSERT_TRUE(cursor->GetKey(&key, true).ok());
    EXPECT_EQ(key, "d");
    ASSERT_TRUE(cursor->GetKey(&key, false).ok());
    EXPECT_EQ(key, "f");
    EXPECT_EQ(cursor->Jump("g").code(), Code::kNoRec);
    ASSERT_TRUE(cursor->JumpBack().ok());
    ASSERT_TRUE(cursor->GetKey(&key, false).ok());
    EXPECT_EQ(key, "f");
    ASSERT_TRUE(cursor->StepBack().ok());
    ASSERT_TRUE(cursor->GetKey(&key, false).ok());
    EXPECT_EQ(key, "d");
    ASSERT_TRUE(cursor->JumpBack("e").ok());  // last key <= "e"
    ASSERT_TRUE(cursor->GetKey(&key, false).ok());
    EXPECT_EQ(key, "d");
    EXPECT_EQ(cursor->JumpBack("a").code(), Code::kNoRec);
    ASSERT_TRUE(cursor->Jump().ok());
    EXPECT_EQ(cursor->StepBack().code(), Code::kNoRec);  // past the first
    EXPECT_EQ(cursor->GetKey(&key, false).code(), Code::kNoRec);
  } else {
    EXPECT_EQ(cursor->Jump("c").code(), Code::kNoRec);  // exactly the key, or nothing
    Status status = cursor->JumpBack();
    EXPECT_EQ(status.code(), Code::kNoImpl);
    EXPECT_EQ(status.message(), "not implemented");
    EXPECT_EQ(cursor->JumpBack("d").code(), Code::kNoImpl);
    ASSERT_TRUE(cursor->Jump("d").ok());
    EXPECT_EQ(cursor->StepBack().code(), Code::kNoImpl);
  }
  // Step past the last record: NoRec, then unpositioned.
  ASSERT_TRUE(cursor->Jump().ok());
  ASSERT_TRUE(cursor->Step().ok());
  ASSERT_TRUE(cursor->Step().ok());
  EXPECT_EQ(cursor->Step().code(), Code::kNoRec);
  EXPECT_EQ(cursor->GetKey(&key, false).code(), Code::kNoRec);
  // A read with step on the last record succeeds, then the cursor is unpositioned.
  ASSERT_TRUE(cursor->Jump().ok());
  ASSERT_TRUE(cursor->Step().ok());
  ASSERT_TRUE(cursor->Step().ok());
  ASSERT_TRUE(cursor->GetKey(&key, true).ok());
  EXPECT_EQ(cursor->GetKey(&key, false).code(), Code::kNoRec);
}

TYPED_TEST(DBTest, CursorWritesAndRemovals) {
  DB& db = *this->db_;
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(db.Set("k" + std::to_string(i), "v").ok());
  std::vector<std::string> order = this->ScanKeys(&db);
  ASSERT_EQ(order.size(), 5u);
  RecordingObserver observer;
  db.SetUpdateObserver(&observer);
  std::unique_ptr<Cursor> cursor = db.NewCursor();
  ASSERT_TRUE(cursor->Jump().ok());
  ASSERT_TRUE(cursor->SetValue("new", 10, false).ok());  // stays on the record
  std::string key;
  std::string value;
  int64_t xt = 0;
  ASSERT_TRUE(cursor->Get(&key, &value, &xt, false).ok());
  EXPECT_EQ(key, order[0]);
  EXPECT_EQ(value, "new");
  EXPECT_EQ(xt, this->now() + 10);
  ASSERT_TRUE(cursor->SetValue("stepped", kNoXt, true).ok());
  ASSERT_TRUE(cursor->GetKey(&key, false).ok());
  EXPECT_EQ(key, order[1]);
  ASSERT_TRUE(cursor->Remove().ok());  // moves to the next record
  ASSERT_TRUE(cursor->GetKey(&key, false).ok());
  EXPECT_EQ(key, order[2]);
  ASSERT_TRUE(cursor->Seize(&key, &value, &xt).ok());
  EXPECT_EQ(key, order[2]);
  ASSERT_TRUE(cursor->GetKey(&key, false).ok());
  EXPECT_EQ(key, order[3]);
  // Removed by someone else: the next access lands on the following record.
  ASSERT_TRUE(db.Remove(order[3]).ok());
  ASSERT_TRUE(cursor->GetKey(&key, false).ok());
  EXPECT_EQ(key, order[4]);
  ASSERT_TRUE(cursor->Remove().ok());  // the last one: now unpositioned
  EXPECT_EQ(cursor->Remove().code(), Code::kNoRec);
  EXPECT_EQ(db.Count(), 1);
  EXPECT_EQ(observer.Take(),
            (std::vector<std::string>{
                "set " + order[0] + "=new@" + std::to_string(this->now() + 10),
                "set " + order[0] + "=stepped@" + std::to_string(kXtMax), "remove " + order[1],
                "remove " + order[2], "remove " + order[3], "remove " + order[4]}));
  // Clear unpositions every cursor.
  ASSERT_TRUE(cursor->Jump().ok());
  ASSERT_TRUE(db.Set("other", "v").ok());
  ASSERT_TRUE(db.Clear().ok());
  ASSERT_TRUE(db.Set(order[0], "v").ok());
  EXPECT_EQ(cursor->GetKey(&key, false).code(), Code::kNoRec);
  EXPECT_EQ(cursor->Step().code(), Code::kNoRec);
  EXPECT_EQ(observer.Take(),
            (std::vector<std::string>{"set other=v@" + std::to_string(kXtMax), "clear",
                                      "set " + order[0] + "=v@" + std::to_string(kXtMax)}));
  db.SetUpdateObserver(nullptr);
}

TYPED_TEST(DBTest, CursorSkipsExpiredRecords) {
  DB& db = *this->db_;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(db.Set("k" + std::to_string(i), "v", i % 2 == 0 ? 0 : kNoXt).ok());
  }
  const std::vector<std::string> order = this->ScanKeys(&db);  // before anything expires
  ASSERT_EQ(order.size(), 10u);
  this->Advance(1);
  std::vector<std::string> keys = this->ScanKeys(&db);
  EXPECT_EQ(Sorted(keys), (std::vector<std::string>{"k1", "k3", "k5", "k7", "k9"}));
  // jump(key) may land on an expired record; the next read skips forward.
  std::unique_ptr<Cursor> cursor = db.NewCursor();
  std::string key;
  if (TypeParam::kOrdered) {
    ASSERT_TRUE(cursor->Jump("k4").ok());
    ASSERT_TRUE(cursor->GetKey(&key, false).ok());
    EXPECT_EQ(key, "k5");
    // Moving backward skips backward.
    ASSERT_TRUE(cursor->JumpBack("k4").ok());
    ASSERT_TRUE(cursor->GetKey(&key, false).ok());
    EXPECT_EQ(key, "k3");
    ASSERT_TRUE(cursor->StepBack().ok());
    ASSERT_TRUE(cursor->GetKey(&key, false).ok());
    EXPECT_EQ(key, "k1");
    EXPECT_EQ(cursor->StepBack().code(), Code::kNoRec);  // k0 is expired
  } else {
    // Jump to the first expired key in scan order; the read lands on the next live one.
    size_t i = 0;
    while ((order[i][1] - '0') % 2 != 0) ++i;
    size_t next = i + 1;
    while (next < order.size() && (order[next][1] - '0') % 2 == 0) ++next;
    ASSERT_TRUE(cursor->Jump(order[i]).ok());
    Status status = cursor->GetKey(&key, false);
    if (next < order.size()) {
      ASSERT_TRUE(status.ok());
      EXPECT_EQ(key, order[next]);
    } else {
      EXPECT_EQ(status.code(), Code::kNoRec);
    }
  }
  EXPECT_EQ(db.Count(), 10);  // cursors do not remove expired records
}

// While one thread scans, another inserts and removes other keys (growing hash tables):
// every untouched record is visited exactly once.
TYPED_TEST(DBTest, CursorScanSurvivesConcurrentChanges) {
  DB& db = *this->db_;
  const int kStable = 2000;
  for (int i = 0; i < kStable; ++i) ASSERT_TRUE(db.Set("s" + std::to_string(i), "v").ok());
  std::atomic<bool> done{false};
  std::thread writer([&] {
    int i = 0;
    while (!done.load()) {
      std::string key = "t" + std::to_string(i);
      db.Set(key, "v").ok();
      if (i % 3 == 0) db.Remove("t" + std::to_string(i / 2)).ok();
      ++i;
      if (i > 60000) i = 0;
    }
  });
  for (int round = 0; round < 3; ++round) {
    std::unique_ptr<Cursor> cursor = db.NewCursor();
    std::multiset<std::string> seen;
    std::string key;
    ASSERT_TRUE(cursor->Jump().ok());
    std::string previous;
    while (cursor->GetKey(&key, true).ok()) {
      if (TypeParam::kOrdered && !previous.empty()) {
        EXPECT_LT(previous, key);
      }
      previous = key;
      seen.insert(key);
    }
    for (int i = 0; i < kStable; ++i) {
      ASSERT_EQ(seen.count("s" + std::to_string(i)), 1u) << "s" << i;
    }
    for (const std::string& k : seen) ASSERT_EQ(seen.count(k), 1u) << k;
  }
  done.store(true);
  writer.join();
}

}  // namespace
}  // namespace ryoan::storage::testing
