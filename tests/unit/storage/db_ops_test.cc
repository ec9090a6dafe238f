// DB single-record and bulk operations over every in-memory type (spec/databases.md 5).
#include <cmath>
#include <limits>
#include <map>

#include "storage/increment.h"
#include "tests/unit/storage/db_test_util.h"

namespace ryoan::storage::testing {
namespace {

constexpr int64_t kTry = std::numeric_limits<int64_t>::min();
constexpr int64_t kSet = std::numeric_limits<int64_t>::max();

std::string Int64Bytes(int64_t v) {
  char buf[8];
  EncodeInt64(v, buf);
  return std::string(buf, 8);
}

std::string Fixed(int64_t integer, int64_t fraction) {
  return Int64Bytes(integer) + Int64Bytes(fraction);
}

TYPED_TEST(DBTest, SetGetCheck) {
  DB& db = *this->db_;
  std::string value = "x";
  int64_t xt = 0;
  Status status = db.Get("k", &value, &xt);
  EXPECT_EQ(status.code(), Code::kNoRec);
  EXPECT_EQ(status.message(), "no record");
  ASSERT_TRUE(db.Set("k", "v1").ok());
  ASSERT_TRUE(db.Get("k", &value, &xt).ok());
  EXPECT_EQ(value, "v1");
  EXPECT_EQ(xt, kXtMax);
  ASSERT_TRUE(db.Set("k", "value two").ok());
  EXPECT_EQ(this->GetOr("k"), "value two");
  int64_t size = 0;
  ASSERT_TRUE(db.Check("k", &size, &xt).ok());
  EXPECT_EQ(size, 9);
  EXPECT_EQ(db.Check("missing", &size, &xt).code(), Code::kNoRec);
  EXPECT_EQ(size, -1);
  ASSERT_TRUE(db.Set("", "").ok());  // empty key and value are records like any other
  EXPECT_EQ(this->GetOr(""), "");
  ASSERT_TRUE(db.Set(std::string("a\0b", 3), std::string("\0\xff", 2)).ok());
  EXPECT_EQ(this->GetOr(std::string("a\0b", 3)), std::string("\0\xff", 2));
  EXPECT_EQ(this->GetOr("a"), "<none>");
  EXPECT_EQ(db.Count(), 3);
  EXPECT_GT(db.Size(), 0);
}

TYPED_TEST(DBTest, AddReplaceAppend) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.Add("k", "1").ok());
  Status status = db.Add("k", "2");
  EXPECT_EQ(status.code(), Code::kDupRec);
  EXPECT_EQ(status.message(), "record duplication");
  EXPECT_EQ(this->GetOr("k"), "1");
  status = db.Replace("other", "x");
  EXPECT_EQ(status.code(), Code::kNoRec);
  EXPECT_EQ(status.message(), "no record");
  EXPECT_EQ(this->GetOr("other"), "<none>");
  ASSERT_TRUE(db.Replace("k", "3").ok());
  EXPECT_EQ(this->GetOr("k"), "3");
  ASSERT_TRUE(db.Append("k", "45").ok());
  EXPECT_EQ(this->GetOr("k"), "345");
  ASSERT_TRUE(db.Append("new", "ab").ok());
  EXPECT_EQ(this->GetOr("new"), "ab");
  EXPECT_EQ(db.Count(), 2);
}

TYPED_TEST(DBTest, RemoveAndSeize) {
  DB& db = *this->db_;
  ASSERT_TRUE(db.Set("k", "v", 100).ok());
  std::string value;
  int64_t xt = 0;
  ASSERT_TRUE(db.Seize("k", &value, &xt).ok());
  EXPECT_EQ(value, "v");
  EXPECT_EQ(xt, this->now() + 100);
  EXPECT_EQ(db.Seize("k", &value, &xt).code(), Code::kNoRec);
  EXPECT_EQ(db.Count(), 0);
  ASSERT_TRUE(db.Set("k", "v").ok());
  ASSERT_TRUE(db.Remove("k").ok());
  Status status = db.Remove("k");
  EXPECT_EQ(status.code(), Code::kNoRec);
  EXPECT_EQ(status.message(), "no record");
  EXPECT_EQ(db.Count(), 0);
}

TYPED_TEST(DBTest, LargeValues) {
  DB& db = *this->db_;
  std::string big(48 << 20, 'x');
  big[12345] = 'y';
  ASSERT_TRUE(db.Set("big", big).ok());
  ASSERT_TRUE(db.Append("big", "tail").ok());
  std::string value;
  ASSERT_TRUE(db.Get("big", &value, nullptr).ok());
  EXPECT_EQ(value.size(), big.size() + 4);
  EXPECT_EQ(value[12345], 'y');
  EXPECT_EQ(value.substr(value.size() - 4), "tail");
  EXPECT_GT(db.Size(), static_cast<int64_t>(big.size()));
  ASSERT_TRUE(db.Set("big", "small").ok());
  EXPECT_EQ(this->GetOr("big"), "small");
  if (this->kFileBacked) {
    ASSERT_TRUE(db.Vacuum(0).ok());
  }
  EXPECT_LT(db.Size(), int64_t{1} << 20);  // the big block was given back
}

TYPED_TEST(DBTest, IncrementIntegerFormat) {
  DB& db = *this->db_;
  int64_t result = 0;
  ASSERT_TRUE(db.Increment("n", 5, 0, kNoXt, &result).ok());
  EXPECT_EQ(result, 5);
  EXPECT_EQ(this->GetOr("n"), Int64Bytes(5));
  ASSERT_TRUE(db.Increment("n", -7, 0, kNoXt, &result).ok());
  EXPECT_EQ(result, -2);
  EXPECT_EQ(this->GetOr("n"), std::string("\xff\xff\xff\xff\xff\xff\xff\xfe", 8));
  // orig applies only to absent records.
  ASSERT_TRUE(db.Increment("m", 3, 10, kNoXt, &result).ok());
  EXPECT_EQ(result, 13);
  ASSERT_TRUE(db.Increment("m", 3, 100, kNoXt, &result).ok());
  EXPECT_EQ(result, 16);
  // "try" fails on an absent record and writes nothing.
  Status status = db.Increment("t", 1, kTry, kNoXt, &result);
  EXPECT_EQ(status.code(), Code::kLogic);
  EXPECT_EQ(status.message(), "logical inconsistency");
  EXPECT_EQ(this->GetOr("t"), "<none>");
  ASSERT_TRUE(db.Increment("m", 1, kTry, kNoXt, &result).ok());
  EXPECT_EQ(result, 17);
  // "set" overwrites; on an absent record orig counts as 0.
  ASSERT_TRUE(db.Increment("m", 42, kSet, kNoXt, &result).ok());
  EXPECT_EQ(result, 42);
  ASSERT_TRUE(db.Increment("s", 9, kSet, kNoXt, &result).ok());
  EXPECT_EQ(result, 9);
  // num = 0 on an absent key creates it with 0.
  ASSERT_TRUE(db.Increment("z", 0, 0, kNoXt, &result).ok());
  EXPECT_EQ(this->GetOr("z"), Int64Bytes(0));
  // Wrap-around on overflow.
  ASSERT_TRUE(db.Increment("w", INT64_MAX, 0, kNoXt, &result).ok());
  ASSERT_TRUE(db.Increment("w", 2, 0, kNoXt, &result).ok());
  EXPECT_EQ(result, INT64_MIN + 1);
  // A result of INT64_MIN is written but reported as a failure.
  EXPECT_EQ(db.Increment("w", -1, 0, kNoXt, &result).code(), Code::kLogic);
  EXPECT_EQ(this->GetOr("w"), Int64Bytes(INT64_MIN));
  // A value that is not 8 bytes is left alone, even with "set".
  ASSERT_TRUE(db.Set("bad", "1234567").ok());
  EXPECT_EQ(db.Increment("bad", 1, 0, kNoXt, &result).code(), Code::kLogic);
  EXPECT_EQ(db.Increment("bad", 1, kSet, kNoXt, &result).code(), Code::kLogic);
  EXPECT_EQ(this->GetOr("bad"), "1234567");
}

TYPED_TEST(DBTest, IncrementXtRules) {
  DB& db = *this->db_;
  int64_t result = 0;
  int64_t xt = 0;
  ASSERT_TRUE(db.Increment("n", 1, 0, 50, &result).ok());
  ASSERT_TRUE(db.Get("n", nullptr, &xt).ok());
  EXPECT_EQ(xt, this->now() + 50);
  // num = 0 writes nothing: the TTL stays.
  ASSERT_TRUE(db.Increment("n", 0, 0, kNoXt, &result).ok());
  EXPECT_EQ(result, 1);
  ASSERT_TRUE(db.Get("n", nullptr, &xt).ok());
  EXPECT_EQ(xt, this->now() + 50);
  // Any other increment stores its own xt; omitted clears the TTL.
  ASSERT_TRUE(db.Increment("n", 1, 0, kNoXt, &result).ok());
  ASSERT_TRUE(db.Get("n", nullptr, &xt).ok());
  EXPECT_EQ(xt, kXtMax);
}

TYPED_TEST(DBTest, IncrementDoubleVerifiedExamples) {
  DB& db = *this->db_;
  const double inf = std::numeric_limits<double>::infinity();
  double result = 0;
  ASSERT_TRUE(db.IncrementDouble("d", 1.5, 0, kNoXt, &result).ok());
  EXPECT_EQ(result, 1.5);
  EXPECT_EQ(this->GetOr("d"),
            std::string("\0\0\0\0\0\0\0\x01\x00\x01\xC6\xBF\x52\x63\x40\x00", 16));
  ASSERT_TRUE(db.IncrementDouble("d", -2.75, 0, kNoXt, &result).ok());
  EXPECT_EQ(result, -1.25);
  EXPECT_EQ(this->GetOr("d"), Fixed(-1, -250000000000000));
  ASSERT_TRUE(db.IncrementDouble("h", -0.5, 0, kNoXt, &result).ok());
  EXPECT_EQ(this->GetOr("h"), Fixed(0, -500000000000000));
  ASSERT_TRUE(db.IncrementDouble("h", -0.75, 0, kNoXt, &result).ok());
  EXPECT_EQ(this->GetOr("h"), Fixed(0, -1250000000000000));  // no borrow
  EXPECT_EQ(result, -1.25);
  // Carry when the fraction reaches 1.
  ASSERT_TRUE(db.IncrementDouble("c", 0.75, 0, kNoXt, &result).ok());
  ASSERT_TRUE(db.IncrementDouble("c", 0.5, 0, kNoXt, &result).ok());
  EXPECT_EQ(this->GetOr("c"), Fixed(1, 250000000000000));
  EXPECT_EQ(result, 1.25);
  // num = 0 reads without writing.
  ASSERT_TRUE(db.IncrementDouble("c", 0, 0, kNoXt, &result).ok());
  EXPECT_EQ(result, 1.25);
  // "set" (+inf orig) counts the current value as zero.
  ASSERT_TRUE(db.IncrementDouble("c", 2.5, inf, kNoXt, &result).ok());
  EXPECT_EQ(this->GetOr("c"), Fixed(2, 500000000000000));
  // "try" (-inf orig) and NaN orig fail on absent records.
  EXPECT_EQ(db.IncrementDouble("absent", 1, -inf, kNoXt, &result).code(), Code::kLogic);
  EXPECT_EQ(db.IncrementDouble("absent", 1, std::nan(""), kNoXt, &result).code(), Code::kLogic);
  EXPECT_EQ(this->GetOr("absent"), "<none>");
  ASSERT_TRUE(db.IncrementDouble("o", 1, 2.25, kNoXt, &result).ok());
  EXPECT_EQ(result, 3.25);
  // Infinity is stored as a marker and then sticks; NaN is stored but fails.
  ASSERT_TRUE(db.IncrementDouble("i", inf, 0, kNoXt, &result).ok());
  EXPECT_EQ(result, inf);
  EXPECT_EQ(this->GetOr("i"), Fixed(INT64_MAX, 0));
  ASSERT_TRUE(db.IncrementDouble("i", 5, 0, kNoXt, &result).ok());
  EXPECT_EQ(result, inf);
  ASSERT_TRUE(db.IncrementDouble("o", -inf, 0, kNoXt, &result).ok());
  EXPECT_EQ(this->GetOr("o"), Fixed(INT64_MIN, 0));
  ASSERT_TRUE(db.Set("nan", Fixed(0, 0)).ok());
  EXPECT_EQ(db.IncrementDouble("nan", std::nan(""), 0, kNoXt, &result).code(), Code::kLogic);
  EXPECT_EQ(this->GetOr("nan"), Fixed(INT64_MIN, INT64_MIN));
  EXPECT_EQ(db.IncrementDouble("nan", 1, 0, kNoXt, &result).code(), Code::kLogic);
  ASSERT_TRUE(db.Set("bad", "short").ok());
  EXPECT_EQ(db.IncrementDouble("bad", 1, 0, kNoXt, &result).code(), Code::kLogic);
  EXPECT_EQ(this->GetOr("bad"), "short");
}

TYPED_TEST(DBTest, Cas) {
  DB& db = *this->db_;
  // oval absent: succeeds only without a live record.
  ASSERT_TRUE(db.Cas("k", std::nullopt, "v1").ok());
  EXPECT_EQ(this->GetOr("k"), "v1");
  Status status = db.Cas("k", std::nullopt, "v2");
  EXPECT_EQ(status.code(), Code::kLogic);
  EXPECT_EQ(status.message(), "status conflict");
  EXPECT_EQ(db.Cas("k", std::nullopt, std::nullopt).code(), Code::kLogic);
  ASSERT_TRUE(db.Cas("none", std::nullopt, std::nullopt).ok());
  EXPECT_EQ(this->GetOr("none"), "<none>");
  // oval given: must equal byte for byte.
  EXPECT_EQ(db.Cas("k", "v", "v3").code(), Code::kLogic);
  EXPECT_EQ(db.Cas("none", "v1", "v3").code(), Code::kLogic);
  ASSERT_TRUE(db.Cas("k", "v1", "v3", 30).ok());
  int64_t xt = 0;
  ASSERT_TRUE(db.Get("k", nullptr, &xt).ok());
  EXPECT_EQ(xt, this->now() + 30);
  EXPECT_EQ(this->GetOr("k"), "v3");
  ASSERT_TRUE(db.Cas("k", "v3", std::nullopt).ok());
  EXPECT_EQ(this->GetOr("k"), "<none>");
}

TYPED_TEST(DBTest, BulkOperations) {
  for (bool atomic : {true, false}) {
    SCOPED_TRACE(atomic);
    DB& db = *this->db_;
    ASSERT_TRUE(db.Clear().ok());
    int64_t count = -1;
    ASSERT_TRUE(db.SetBulk({}, kNoXt, atomic, &count).ok());
    EXPECT_EQ(count, 0);
    ASSERT_TRUE(db.SetBulk({{"a", "1"}, {"b", "2"}, {"a", "3"}}, 10, atomic, &count).ok());
    EXPECT_EQ(count, 3);               // records given, not records changed
    EXPECT_EQ(this->GetOr("a"), "3");  // a duplicate sees the earlier change
    int64_t xt = 0;
    ASSERT_TRUE(db.Get("b", nullptr, &xt).ok());
    EXPECT_EQ(xt, this->now() + 10);
    std::vector<std::pair<std::string, std::string>> records;
    ASSERT_TRUE(db.GetBulk({"b", "x", "a"}, atomic, &records).ok());
    ASSERT_EQ(records.size(), 2u);
    EXPECT_EQ(records[0], std::make_pair(std::string("b"), std::string("2")));
    EXPECT_EQ(records[1], std::make_pair(std::string("a"), std::string("3")));
    ASSERT_TRUE(db.RemoveBulk({"a", "x", "a", "b"}, atomic, &count).ok());
    EXPECT_EQ(count, 2);
    EXPECT_EQ(db.Count(), 0);
  }
}

// GetEach looks keys up in groups of 32: indexes must stay right across groups, with
// missing, expired and repeated keys in between.
TYPED_TEST(DBTest, GetEachReportsEveryLiveKeyByItsIndex) {
  DB& db = *this->db_;
  std::vector<std::string> keys;
  std::map<size_t, std::string> expected;
  for (int i = 0; i < 100; ++i) {
    std::string key = "k" + std::to_string(i);
    keys.push_back(key);
    if (i % 3 == 0) continue;             // missing
    int64_t xt = i % 7 == 0 ? 5 : kNoXt;  // expires below
    ASSERT_TRUE(db.Set(key, "v" + std::to_string(i), xt).ok());
    if (xt == kNoXt) expected[keys.size() - 1] = "v" + std::to_string(i);
  }
  keys.push_back("k1");  // repeated: found again at its own index
  expected[keys.size() - 1] = "v1";
  this->Advance(10);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::map<size_t, std::string> got;
  size_t last = 0;
  bool ascending = true;
  ASSERT_TRUE(db.GetEach(views, [&](size_t i, std::string_view value, int64_t xt) {
                  if (!got.empty() && i <= last) ascending = false;
                  last = i;
                  got[i] = std::string(value);
                  EXPECT_EQ(xt, kXtMax);
                }).ok());
  EXPECT_TRUE(ascending);
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(db.GetEach({}, [&](size_t, std::string_view, int64_t) { FAIL(); }).ok());
}

TYPED_TEST(DBTest, ObserverSeesExactlyTheAppliedChanges) {
  DB& db = *this->db_;
  RecordingObserver observer;
  db.SetUpdateObserver(&observer);
  const std::string x = std::to_string(this->now() + 5);
  const std::string max = std::to_string(kXtMax);
  int64_t n = 0;
  ASSERT_TRUE(db.Set("a", "1", 5).ok());
  EXPECT_EQ(db.Add("a", "2").code(), Code::kDupRec);
  EXPECT_EQ(db.Replace("b", "2").code(), Code::kNoRec);
  ASSERT_TRUE(db.Append("a", "2").ok());
  EXPECT_EQ(db.Cas("a", "zz", "3").code(), Code::kLogic);
  ASSERT_TRUE(db.Increment("c", 1, 0, kNoXt, &n).ok());
  ASSERT_TRUE(db.Increment("c", 0, 0, kNoXt, &n).ok());
  EXPECT_TRUE(db.Get("a", nullptr, nullptr).ok());
  EXPECT_EQ(db.Remove("missing").code(), Code::kNoRec);
  ASSERT_TRUE(db.Seize("c", nullptr, nullptr).ok());
  ASSERT_TRUE(db.Cas("a", "12", std::nullopt).ok());
  ASSERT_TRUE(db.Clear().ok());
  EXPECT_EQ(observer.Take(),
            (std::vector<std::string>{"set a=1@" + x, "set a=12@" + max,
                                      "set c=" + Int64Bytes(1) + "@" + max,
                                      // A removal of a missing key is logged too.
                                      "remove missing", "remove c", "remove a", "clear"}));
  db.SetUpdateObserver(nullptr);
}

TYPED_TEST(DBTest, ReadonlyRefusesEveryUpdate) {
  ASSERT_TRUE(this->db_->Set("k", "v").ok());
  std::unique_ptr<DB> db = this->Open("", /*readonly=*/true);
  int64_t n = 0;
  double d = 0;
  std::vector<Status> results = {
      db->Set("k", "v"),
      db->Add("k", "v"),
      db->Replace("k", "v"),
      db->Append("k", "v"),
      db->Increment("k", 1, 0, kNoXt, &n),
      db->IncrementDouble("k", 1, 0, kNoXt, &d),
      db->Cas("k", std::nullopt, "v"),
      db->Remove("k"),
      db->Seize("k", nullptr, nullptr),
      db->SetBulk({{"k", "v"}}, kNoXt, true, &n),
      db->RemoveBulk({"k"}, false, &n),
      db->Clear(),
      db->Vacuum(0),
  };
  for (const Status& status : results) {
    EXPECT_EQ(status.code(), Code::kNoPerm);
    EXPECT_EQ(status.message(), "permission denied");
  }
  std::unique_ptr<Cursor> cursor = db->NewCursor();
  EXPECT_EQ(cursor->Remove().code(), Code::kNoPerm);
  EXPECT_EQ(db->Get("k", nullptr, nullptr).code(), Code::kNoRec);  // reads still work
  EXPECT_EQ(db->Count(), 0);
}

TYPED_TEST(DBTest, PersistentModeIgnoresXt) {
  std::unique_ptr<DB> db = this->Open("#ktopts=p");
  RecordingObserver observer;
  db->SetUpdateObserver(&observer);
  ASSERT_TRUE(db->Set("k", "v", 0).ok());
  ASSERT_TRUE(db->Set("j", "v", -1).ok());  // an absolute time long past
  this->Advance(1000);
  int64_t xt = 0;
  ASSERT_TRUE(db->Get("k", nullptr, &xt).ok());
  EXPECT_EQ(xt, kXtMax);
  ASSERT_TRUE(db->Get("j", nullptr, &xt).ok());
  EXPECT_EQ(xt, kXtMax);
  EXPECT_EQ(this->ScanKeys(db.get()).size(), 2u);
  EXPECT_EQ(db->GetStatus().at("ktopts"), "2");
  EXPECT_EQ(this->db_->GetStatus().at("ktopts"), "0");
  EXPECT_EQ(observer.Take(), (std::vector<std::string>{"set k=v@" + std::to_string(kXtMax),
                                                       "set j=v@" + std::to_string(kXtMax)}));
  ASSERT_TRUE(db->Vacuum(0).ok());
  EXPECT_EQ(db->Count(), 2);
}

TYPED_TEST(DBTest, Status) {
  std::unique_ptr<DB> db = this->Open("#ktcapcnt=100#ktcapsiz=1m");
  ASSERT_TRUE(db->Set("k", "v").ok());
  auto status = db->GetStatus();
  EXPECT_EQ(status.at("count"), "1");
  EXPECT_EQ(status.at("size"), std::to_string(db->Size()));
  EXPECT_EQ(status.at("path"), db->path());  // the name itself for memory types
  EXPECT_EQ(status.at("ktcapcnt"), "100");
  EXPECT_EQ(status.at("ktcapsiz"), "1048576");
  EXPECT_EQ(this->db_->GetStatus().at("ktcapcnt"), "-1");
  const std::map<std::string, std::string> types = {
      {":", "24"}, {"-", "16"},          {"*", "32"},         {"+", "17"},
      {"%", "33"}, {"casket.kch", "48"}, {"casket.kct", "49"}};
  EXPECT_EQ(status.at("type"), types.at(TypeParam::kName));
  EXPECT_EQ(status.at("realtype"), types.at(TypeParam::kName));
  EXPECT_EQ(db->ordered(), TypeParam::kOrdered);
}

TYPED_TEST(DBTest, SynchronizeCallsProcWithPath) {
  std::string seen;
  Status status = this->db_->Synchronize(true, [&](const std::string& path) {
    seen = path;
    return Status::Misc("from proc");
  });
  EXPECT_EQ(seen, this->db_->path());
  EXPECT_EQ(status.message(), "from proc");
  EXPECT_TRUE(this->db_->Synchronize(false).ok());
}

}  // namespace
}  // namespace ryoan::storage::testing
