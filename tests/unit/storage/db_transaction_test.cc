// Database-wide transactions (spec/databases.md 5.4) and the buffering of update-log events
// until commit (4.8), over every engine.
#include <chrono>
#include <thread>

#include "tests/unit/storage/db_test_util.h"

namespace ryoan::storage::testing {
namespace {

TYPED_TEST(DBTest, TransactionCommitKeepsChanges) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.Set("a", "1").ok());
  ASSERT_TRUE(db.BeginTransaction(false).ok());
  ASSERT_TRUE(db.Set("a", "2").ok());
  ASSERT_TRUE(db.Set("b", "3", 100).ok());
  ASSERT_TRUE(db.EndTransaction(true).ok());
  EXPECT_EQ(this->GetOr("a"), "2");
  EXPECT_EQ(this->GetOr("b"), "3");
  // A hard commit syncs and keeps too.
  ASSERT_TRUE(db.BeginTransaction(true).ok());
  ASSERT_TRUE(db.Remove("a").ok());
  ASSERT_TRUE(db.EndTransaction(true).ok());
  EXPECT_EQ(this->GetOr("a"), "<none>");
  EXPECT_EQ(db.Count(), 1);
}

TYPED_TEST(DBTest, TransactionAbortRestoresValuesTtlsAndAbsence) {
  DB& db = *this->db_;
  const int64_t t = this->now();
  ASSERT_TRUE(db.Set("keep", "k", 50).ok());
  ASSERT_TRUE(db.Set("changed", "old", 100).ok());
  ASSERT_TRUE(db.Set("removed", "gone", 200).ok());
  ASSERT_TRUE(db.Set("seized", "s").ok());
  ASSERT_TRUE(db.BeginTransaction(false).ok());
  ASSERT_TRUE(db.Set("changed", "new", 5).ok());
  ASSERT_TRUE(db.Append("changed", "+").ok());
  ASSERT_TRUE(db.Remove("removed").ok());
  ASSERT_TRUE(db.Seize("seized", nullptr, nullptr).ok());
  ASSERT_TRUE(db.Add("added", "x").ok());
  int64_t n = 0;
  ASSERT_TRUE(db.Increment("counter", 3, 0, kNoXt, &n).ok());
  ASSERT_TRUE(db.SetBulk({{"bulk1", "1"}, {"bulk2", "2"}}, kNoXt, true, nullptr).ok());
  {
    std::unique_ptr<Cursor> cursor = db.NewCursor();
    ASSERT_TRUE(cursor->Jump("keep").ok());
    ASSERT_TRUE(cursor->SetValue("cursor", 7, false).ok());
  }
  EXPECT_EQ(db.Count(), 6);
  ASSERT_TRUE(db.EndTransaction(false).ok());

  EXPECT_EQ(Sorted(this->ScanKeys(&db)),
            (std::vector<std::string>{"changed", "keep", "removed", "seized"}));
  std::string value;
  int64_t xt = 0;
  ASSERT_TRUE(db.Get("changed", &value, &xt).ok());
  EXPECT_EQ(value, "old");
  EXPECT_EQ(xt, t + 100);
  ASSERT_TRUE(db.Get("removed", &value, &xt).ok());
  EXPECT_EQ(value, "gone");
  EXPECT_EQ(xt, t + 200);
  ASSERT_TRUE(db.Get("keep", &value, &xt).ok());
  EXPECT_EQ(value, "k");
  EXPECT_EQ(xt, t + 50);
  ASSERT_TRUE(db.Get("seized", &value, &xt).ok());
  EXPECT_EQ(xt, kXtMax);
  EXPECT_EQ(db.Count(), 4);
  // The database works normally afterwards, and a new transaction can begin.
  ASSERT_TRUE(db.BeginTransaction(false).ok());
  ASSERT_TRUE(db.Set("after", "1").ok());
  ASSERT_TRUE(db.EndTransaction(true).ok());
  EXPECT_EQ(this->GetOr("after"), "1");
}

TYPED_TEST(DBTest, TransactionAbortUndoesClear) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.Set("a", "1").ok());
  ASSERT_TRUE(db.Set("b", "2").ok());
  ASSERT_TRUE(db.BeginTransaction(false).ok());
  ASSERT_TRUE(db.Set("a", "changed").ok());
  ASSERT_TRUE(db.Clear().ok());
  EXPECT_EQ(db.Count(), 0);
  ASSERT_TRUE(db.Set("c", "3").ok());
  ASSERT_TRUE(db.Set("b", "again").ok());
  ASSERT_TRUE(db.EndTransaction(false).ok());
  EXPECT_EQ(Sorted(this->ScanKeys(&db)), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(this->GetOr("a"), "1");
  EXPECT_EQ(this->GetOr("b"), "2");
}

TYPED_TEST(DBTest, TransactionEndWithoutBeginFails) {
  DB& db = *this->db_;
  Status status = db.EndTransaction(true);
  EXPECT_EQ(status.code(), Code::kInvalid);
  EXPECT_EQ(status.message(), "not in transaction");
  ASSERT_TRUE(db.BeginTransaction(false).ok());
  // The same thread cannot wait for its own transaction.
  EXPECT_EQ(db.BeginTransaction(false).code(), Code::kInvalid);
  ASSERT_TRUE(db.EndTransaction(false).ok());
  EXPECT_EQ(db.EndTransaction(false).code(), Code::kInvalid);
}

TYPED_TEST(DBTest, TransactionSecondBeginWaitsAndOtherThreadsBelongToIt) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.BeginTransaction(false).ok());
  // A change by another thread belongs to the transaction.
  std::thread writer([&] { EXPECT_TRUE(db.Set("other", "x").ok()); });
  writer.join();
  std::atomic<bool> begun{false};
  std::thread second([&] {
    EXPECT_TRUE(db.BeginTransaction(false).ok());
    begun.store(true);
    EXPECT_TRUE(db.Set("second", "y").ok());
    EXPECT_TRUE(db.EndTransaction(true).ok());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(begun.load());
  ASSERT_TRUE(db.EndTransaction(false).ok());
  second.join();
  EXPECT_TRUE(begun.load());
  EXPECT_EQ(this->GetOr("other"), "<none>");
  EXPECT_EQ(this->GetOr("second"), "y");
}

TYPED_TEST(DBTest, TransactionObserverEventsAtCommitOnly) {
  DB& db = *this->db_;
  RecordingObserver observer;
  db.SetUpdateObserver(&observer);
  ASSERT_TRUE(db.Set("a", "1").ok());
  EXPECT_EQ(observer.Take(), (std::vector<std::string>{"set a=1@" + std::to_string(kXtMax)}));

  ASSERT_TRUE(db.BeginTransaction(false).ok());
  ASSERT_TRUE(db.Set("b", "2").ok());
  ASSERT_TRUE(db.Remove("a").ok());
  EXPECT_TRUE(observer.Take().empty());
  ASSERT_TRUE(db.EndTransaction(false).ok());
  EXPECT_TRUE(observer.Take().empty());

  ASSERT_TRUE(db.BeginTransaction(false).ok());
  ASSERT_TRUE(db.Set("b", "2").ok());
  ASSERT_TRUE(db.Remove("a").ok());
  ASSERT_TRUE(db.Clear().ok());
  EXPECT_TRUE(observer.Take().empty());
  ASSERT_TRUE(db.EndTransaction(true).ok());
  EXPECT_EQ(observer.Take(),
            (std::vector<std::string>{"set b=2@" + std::to_string(kXtMax), "remove a", "clear"}));
  db.SetUpdateObserver(nullptr);
}

TYPED_TEST(DBTest, TransactionCursorStaysValidAcrossAbort) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.Set("a", "1").ok());
  ASSERT_TRUE(db.Set("b", "2").ok());
  std::unique_ptr<Cursor> cursor = db.NewCursor();
  ASSERT_TRUE(cursor->Jump("a").ok());
  ASSERT_TRUE(db.BeginTransaction(false).ok());
  ASSERT_TRUE(db.Set("a", "changed").ok());
  ASSERT_TRUE(db.EndTransaction(false).ok());
  std::string value;
  ASSERT_TRUE(cursor->GetValue(&value, false).ok());
  EXPECT_EQ(value, "1");
}

TYPED_TEST(DBTest, OccupyBlocksOtherWritersOnly) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.Set("a", "1").ok());
  std::atomic<bool> written{false};
  std::thread writer;
  Status status = db.Occupy([&] {
    EXPECT_TRUE(db.Set("own", "1").ok());  // the occupying thread may write
    writer = std::thread([&] {
      EXPECT_TRUE(db.Set("b", "2").ok());
      written.store(true);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(this->GetOr("a"), "1");  // reads proceed
    EXPECT_FALSE(written.load());
    return Status::OK();
  });
  EXPECT_TRUE(status.ok());
  writer.join();
  EXPECT_TRUE(written.load());
}

TYPED_TEST(DBTest, SynchronizeHookRunsWhileOtherWritersWait) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.Set("a", "1").ok());
  std::atomic<bool> written{false};
  std::thread writer;
  std::string seen_path;
  Status status = db.Synchronize(false, [&](const std::string& path) {
    seen_path = path;
    writer = std::thread([&] {
      EXPECT_TRUE(db.Set("b", "2").ok());
      written.store(true);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(this->GetOr("a"), "1");  // reads proceed
    EXPECT_FALSE(written.load());      // a backup copy would see no half of "b"
    return Status::OK();
  });
  EXPECT_TRUE(status.ok());
  writer.join();
  EXPECT_TRUE(written.load());
  EXPECT_EQ(seen_path, db.spec().path);
}

TYPED_TEST(DBTest, TransactionReadonlyRefused) {
  std::unique_ptr<DB> reader = this->Open("", /*readonly=*/true);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->BeginTransaction(false).code(), Code::kNoPerm);
}

}  // namespace
}  // namespace ryoan::storage::testing
