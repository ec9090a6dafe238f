// Expiration times, expired records, the sweeper and the generic visits
// (spec/databases.md 4.2-4.6, 5.3).
#include "storage/engine.h"
#include "tests/unit/storage/db_test_util.h"

namespace ryoan::storage::testing {
namespace {

TEST(ResolveXtTest, Rules) {
  const int64_t now = 1000;
  EXPECT_EQ(ResolveXt(kNoXt, now), kXtMax);
  EXPECT_EQ(ResolveXt(0, now), 1000);
  EXPECT_EQ(ResolveXt(60, now), 1060);
  EXPECT_EQ(ResolveXt(-5000, now), 5000);
  EXPECT_EQ(ResolveXt(INT64_MAX - 1, now), kXtMax);
  EXPECT_EQ(ResolveXt(INT64_MIN, now), kXtMax);
  EXPECT_EQ(ResolveXt(-kXtMax - 10, now), kXtMax);
  EXPECT_EQ(ResolveXt(kXtMax - 1000, now), kXtMax);
  EXPECT_EQ(ResolveXt(kXtMax - 1001, now), kXtMax - 1);
}

TYPED_TEST(DBTest, TtlBoundaries) {
  DB& db = *this->db_;
  const int64_t t = this->now();
  ASSERT_TRUE(db.Set("ttl", "v", 10).ok());
  ASSERT_TRUE(db.Set("zero", "v", 0).ok());
  ASSERT_TRUE(db.Set("abs", "v", -(t + 3)).ok());
  int64_t xt = 0;
  ASSERT_TRUE(db.Get("ttl", nullptr, &xt).ok());
  EXPECT_EQ(xt, t + 10);
  ASSERT_TRUE(db.Get("abs", nullptr, &xt).ok());
  EXPECT_EQ(xt, t + 3);
  EXPECT_EQ(this->GetOr("zero"), "v");  // xt = 0: readable for the rest of this second
  this->Advance(1);
  EXPECT_EQ(this->GetOr("zero"), "<none>");
  this->SetNow(t + 3);
  EXPECT_EQ(this->GetOr("abs"), "v");
  this->SetNow(t + 4);
  EXPECT_EQ(this->GetOr("abs"), "<none>");
  this->SetNow(t + 10);
  EXPECT_EQ(this->GetOr("ttl"), "v");
  this->SetNow(t + 11);
  EXPECT_EQ(this->GetOr("ttl"), "<none>");
  int64_t size = 0;
  EXPECT_EQ(db.Check("ttl", &size, &xt).code(), Code::kNoRec);
  EXPECT_EQ(db.Count(), 3);  // expired records count until swept
  // A past absolute time is stored as given and is expired at once.
  ASSERT_TRUE(db.Set("past", "v", -(t - 100)).ok());
  EXPECT_EQ(this->GetOr("past"), "<none>");
}

TYPED_TEST(DBTest, OmittedXtClearsTtl) {
  DB& db = *this->db_;
  int64_t xt = 0;
  for (auto write :
       {+[](DB& d) { return d.Set("k", "v"); }, +[](DB& d) { return d.Append("k", "w"); },
        +[](DB& d) { return d.Replace("k", "x"); }}) {
    ASSERT_TRUE(db.Set("k", "v", 5).ok());
    ASSERT_TRUE(write(db).ok());
    ASSERT_TRUE(db.Get("k", nullptr, &xt).ok());
    EXPECT_EQ(xt, kXtMax);
  }
}

TYPED_TEST(DBTest, ExpiredRecordsBehaveAsAbsent) {
  DB& db = *this->db_;
  RecordingObserver observer;
  db.SetUpdateObserver(&observer);
  for (const char* key : {"add", "rep", "app", "inc", "cas", "rm", "get", "seize"}) {
    ASSERT_TRUE(db.Set(key, "old", 0).ok());
  }
  this->Advance(1);
  observer.Take();
  EXPECT_TRUE(db.Add("add", "new").ok());
  EXPECT_EQ(this->GetOr("add"), "new");
  EXPECT_EQ(db.Replace("rep", "new").code(), Code::kNoRec);
  EXPECT_TRUE(db.Append("app", "new").ok());
  EXPECT_EQ(this->GetOr("app"), "new");
  int64_t n = 0;
  EXPECT_TRUE(db.Increment("inc", 1, 10, kNoXt, &n).ok());  // orig applies: absent
  EXPECT_EQ(n, 11);
  EXPECT_TRUE(db.Cas("cas", std::nullopt, "new").ok());
  EXPECT_EQ(db.Seize("seize", nullptr, nullptr).code(), Code::kNoRec);
  EXPECT_EQ(db.Get("get", nullptr, nullptr).code(), Code::kNoRec);
  const int64_t before = db.Count();
  EXPECT_EQ(db.Remove("rm").code(), Code::kNoRec);
  EXPECT_EQ(db.Count(), before - 1);  // physically deleted anyway, and logged
  EXPECT_EQ(db.Count(), 7);           // get/seize/replace left theirs in place
  std::vector<std::string> events = observer.Take();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events.back(), "remove rm");
  db.SetUpdateObserver(nullptr);
}

TYPED_TEST(DBTest, SweeperReclaimsExpiredRecordsInBoundedSteps) {
  DB& db = *this->db_;
  RecordingObserver observer;
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(db.Set("e" + std::to_string(i), "v", 5).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(db.Set("l" + std::to_string(i), "v").ok());
  db.SetUpdateObserver(&observer);
  this->Advance(6);
  // One write examines about one record: after 20 writes at most ~28 records are gone.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(db.Set("l" + std::to_string(i % 5), "w").ok());
  int64_t count = db.Count();
  EXPECT_LT(count, 205);
  EXPECT_GE(count, 205 - 30);
  // Reads count an eighth as much.
  for (int i = 0; i < 400; ++i) db.Get("l1", nullptr, nullptr).ok();
  EXPECT_LT(db.Count(), count);
  count = db.Count();
  ASSERT_TRUE(db.Vacuum(16).ok());  // about 16 more records
  EXPECT_LT(db.Count(), count);
  EXPECT_GE(db.Count(), count - 24);
  db.SweepIdle();
  EXPECT_LT(db.Count(), count - 8);
  ASSERT_TRUE(db.Vacuum(0).ok());  // everything expired, at once
  EXPECT_EQ(db.Count(), 5);
  EXPECT_EQ(this->GetOr("l3"), "w");
  std::vector<std::string> events = observer.Take();
  EXPECT_EQ(events.size(), 20u);  // only the 20 sets: sweeps are not reported
  db.SetUpdateObserver(nullptr);
}

TYPED_TEST(DBTest, SweeperExaminesNothingWithoutExpiringRecords) {
  DB& db = *this->db_;
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(db.Set("k" + std::to_string(i % 500), "v").ok());
  for (int i = 0; i < 3000; ++i) db.Get("k1", nullptr, nullptr).ok();
  ASSERT_TRUE(db.Vacuum(64).ok());
  db.SweepIdle();
  std::unique_ptr<Cursor> cursor = db.NewCursor();
  ASSERT_TRUE(cursor->Jump().ok());
  ASSERT_TRUE(cursor->SetValue("w", kNoXt, true).ok());
  EXPECT_EQ(db.swept_records(), 0);
  EXPECT_EQ(db.Count(), 500);
}

TYPED_TEST(DBTest, SweeperWakesForExpiringRecordsAndIdlesAfterACleanPass) {
  DB& db = *this->db_;
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(db.Set("l" + std::to_string(i), "v").ok());
  EXPECT_EQ(db.swept_records(), 0);
  // Expiring records written after an idle stretch are still reclaimed by plain writes.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(db.Set("e" + std::to_string(i), "v", 5).ok());
  this->Advance(6);
  for (int i = 0; i < 1500 && db.Count() > 300; ++i) {
    ASSERT_TRUE(db.Set("l" + std::to_string(i % 300), "w").ok());
  }
  EXPECT_EQ(db.Count(), 300);
  EXPECT_GT(db.swept_records(), 0);
  // Once a whole pass has kept no expiring record, writes stop feeding the sweeper.
  for (int i = 0; i < 1500; ++i) ASSERT_TRUE(db.Set("l" + std::to_string(i % 300), "x").ok());
  int64_t swept = db.swept_records();
  for (int i = 0; i < 1500; ++i) ASSERT_TRUE(db.Set("l" + std::to_string(i % 300), "y").ok());
  EXPECT_EQ(db.swept_records(), swept);
  // A record that expires later keeps the sweeper awake through the pass that sees it.
  ASSERT_TRUE(db.Set("later", "v", 1000).ok());
  for (int i = 0; i < 1500; ++i) ASSERT_TRUE(db.Set("l" + std::to_string(i % 300), "z").ok());
  EXPECT_GT(db.swept_records(), swept + 600);
  this->Advance(1001);
  ASSERT_TRUE(db.Vacuum(0).ok());
  EXPECT_EQ(db.Count(), 300);
}

TYPED_TEST(DBTest, FullVacuumLeavesTheSweeperIdle) {
  DB& db = *this->db_;
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(db.Set("e" + std::to_string(i), "v", 5).ok());
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(db.Set("l" + std::to_string(i), "v").ok());
  this->Advance(6);
  ASSERT_TRUE(db.Vacuum(0).ok());
  EXPECT_EQ(db.Count(), 50);
  int64_t swept = db.swept_records();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(db.Set("l" + std::to_string(i % 50), "w").ok());
  EXPECT_EQ(db.swept_records(), swept);
}

TYPED_TEST(DBTest, AbortedTransactionWakesTheSweeperForRestoredRecords) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.Set("e", "v", 5).ok());
  ASSERT_TRUE(db.Set("l", "v").ok());
  ASSERT_TRUE(db.Vacuum(0).ok());  // keeps "e": the sweeper stays awake
  ASSERT_TRUE(db.BeginTransaction().ok());
  ASSERT_TRUE(db.Remove("e").ok());
  ASSERT_TRUE(db.Vacuum(0).ok());  // nothing expiring left: idle
  ASSERT_TRUE(db.EndTransaction(false).ok());
  ASSERT_EQ(db.Count(), 2);
  this->Advance(6);
  for (int i = 0; i < 200 && db.Count() > 1; ++i) ASSERT_TRUE(db.Set("l", "w").ok());
  EXPECT_EQ(db.Count(), 1);
  EXPECT_EQ(this->GetOr("e"), "<none>");
}

TYPED_TEST(DBTest, ReopenedFileWithExpiringRecordsIsSwept) {
  if constexpr (!TestFixture::kFileBacked) {
    GTEST_SKIP() << "in-memory databases start empty";
  } else {
    DatabaseSpec spec;
    ASSERT_TRUE(ParseDatabaseSpec(TypeParam::Argument(this->dir_), &spec).ok());
    OpenOptions options;
    options.clock = [this] { return this->now(); };
    std::unique_ptr<DB> db;
    ASSERT_TRUE(DB::Open(spec, options, &db).ok());
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(db->Set("e" + std::to_string(i), "v", 5).ok());
    ASSERT_TRUE(db->Set("l", "v").ok());
    db.reset();
    ASSERT_TRUE(DB::Open(spec, options, &db).ok());
    this->Advance(6);
    for (int i = 0; i < 200 && db->Count() > 1; ++i) ASSERT_TRUE(db->Set("l", "w").ok());
    EXPECT_EQ(db->Count(), 1);
  }
}

TYPED_TEST(DBTest, KtCapCountIsEnforcedBySweeper) {
  std::unique_ptr<DB> db = this->Open("#ktcapcnt=50");
  RecordingObserver observer;
  db->SetUpdateObserver(&observer);
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(db->Set("k" + std::to_string(i), "v").ok());
  // No record expires, yet the cap keeps the sweeper running.
  EXPECT_LE(db->Count(), 50 + 8);  // checked only when the sweeper runs
  EXPECT_GT(db->swept_records(), 0);
  ASSERT_TRUE(db->Vacuum(8).ok());
  EXPECT_LE(db->Count(), 50);
  EXPECT_EQ(observer.Take().size(), 200u);
  db->SetUpdateObserver(nullptr);
}

TYPED_TEST(DBTest, KtCapSizeIsEnforcedBySweeper) {
  std::unique_ptr<DB> db = this->Open("#ktcapsiz=400k");
  std::string value(1000, 'v');
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(db->Set("k" + std::to_string(i), value).ok());
  EXPECT_LT(db->Count(), 2000);
  if (this->kFileBacked) {
    ASSERT_TRUE(db->Vacuum(0).ok());
  }
  EXPECT_LE(db->Size(), 400 * 1024 + 20 * 1024);
}

// Adds "!" to every value it sees; records what it was shown.
class ExclaimVisitor : public RecordVisitor {
 public:
  Decision VisitFull(std::string_view key, std::string_view value, int64_t) override {
    seen.push_back(std::string(key) + "=" + std::string(value));
    buffer = std::string(value) + "!";
    return Decision::Set(buffer, kXtMax);
  }
  Decision VisitEmpty(std::string_view key) override {
    seen.push_back(std::string(key) + " absent");
    return Decision::Keep();
  }
  std::vector<std::string> seen;
  std::string buffer;
};

TYPED_TEST(DBTest, AcceptAndIterate) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.Set("a", "1").ok());
  ASSERT_TRUE(db.Set("b", "2").ok());
  ASSERT_TRUE(db.Set("x", "3", 0).ok());
  this->Advance(1);
  RecordingObserver observer;
  db.SetUpdateObserver(&observer);
  ExclaimVisitor visitor;
  ASSERT_TRUE(db.Accept("a", visitor, true).ok());
  ASSERT_TRUE(db.Accept("x", visitor, true).ok());   // expired: shown as absent
  ASSERT_TRUE(db.Accept("b", visitor, false).ok());  // read-only: the change is dropped
  EXPECT_EQ(visitor.seen, (std::vector<std::string>{"a=1", "x absent", "b=2"}));
  EXPECT_EQ(this->GetOr("a"), "1!");
  EXPECT_EQ(this->GetOr("b"), "2");
  visitor.seen.clear();
  ASSERT_TRUE(db.AcceptBulk({"b", "zz", "b"}, visitor, true).ok());
  EXPECT_EQ(visitor.seen, (std::vector<std::string>{"b=2", "zz absent", "b=2!"}));
  visitor.seen.clear();
  ASSERT_TRUE(db.Iterate(visitor, true).ok());  // the expired "x" is skipped entirely
  EXPECT_EQ(Sorted(visitor.seen), (std::vector<std::string>{"a=1!", "b=2!!"}));
  EXPECT_EQ(this->GetOr("b"), "2!!!");
  std::vector<std::string> events = observer.Take();
  EXPECT_EQ(events.size(), 5u);
  db.SetUpdateObserver(nullptr);
}

}  // namespace
}  // namespace ryoan::storage::testing
