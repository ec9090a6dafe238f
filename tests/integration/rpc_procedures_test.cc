// Every non-cursor RPC procedure of spec/http-rpc.md 9: one success case and each failure
// status the spec gives it. Databases: 0 ':' 1 '+' 2 '*' 3 '%'.
#include <map>
#include <regex>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

class RpcProcedures : public SharedServerTest<RpcProcedures> {};

constexpr std::string_view kDuplicate = "DB: 6: record duplication: record duplication";
constexpr std::string_view kConflict = "DB: 8: logical inconsistency: status conflict";

// ---- void, echo, report, status, clear, synchronize, vacuum -------------------------------

TEST_F(RpcProcedures, VoidAnswers200WithEmptyTsvBody) {
  ExpectRpcReply(Get("/rpc/void"), 200, kTsv, "");
}

TEST_F(RpcProcedures, EchoReturnsTheWholeInputSortedByName) {
  ExpectRpcReply(Get("/rpc/echo?b=2&a=1&DB=x&_z=9"), 200, kTsv, "DB\tx\n_z\t9\na\t1\nb\t2\n");
}

TEST_F(RpcProcedures, EchoOfNoInputIsEmpty) { ExpectRpcReply(Get("/rpc/echo"), 200, kTsv, ""); }

TEST_F(RpcProcedures, ReportListsEveryDatabaseAsCountSizePath) {
  auto db = Rpc("1");
  ASSERT_TRUE(db->Clear().ok());
  ASSERT_TRUE(db->Set("r1", "v").ok());
  ASSERT_TRUE(db->Set("r2", "v").ok());
  RpcResult r = db->Report();
  ASSERT_EQ(r.status, 200);
  const char* paths[] = {":", "\\+", "\\*", "%"};
  int64_t total = 0;
  for (int i = 0; i < 4; ++i) {
    const std::string* v = r.Find("db_" + std::to_string(i));
    ASSERT_NE(v, nullptr) << "db_" << i;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(
        *v, m, std::regex(std::string("count=([0-9]+) size=([0-9]+) path=") + paths[i])))
        << *v;
    total += std::stoll(m[1].str());
    if (i == 1) {
      EXPECT_EQ(m[1].str(), "2");
    }
  }
  EXPECT_EQ(r.Find("db_4"), nullptr);
  ASSERT_NE(r.Find("db_total_count"), nullptr);
  EXPECT_EQ(std::stoll(*r.Find("db_total_count")), total);
  for (const char* name :
       {"db_total_size",     "serv_conn_count",   "serv_task_count",  "serv_thread_count",
        "serv_current_time", "serv_running_term", "serv_proc_id",     "sys_ru_utime",
        "sys_ru_stime",      "cnt_set",           "cnt_set_misses",   "cnt_remove",
        "cnt_remove_misses", "cnt_get",           "cnt_get_misses",   "cnt_script",
        "cnt_misc",          "conf_kt_version",   "conf_kt_features", "conf_kc_version",
        "conf_kc_features",  "conf_os_name"}) {
    EXPECT_NE(r.Find(name), nullptr) << name;
  }
  EXPECT_EQ(r.Find("repl_master_host"), nullptr) << "repl_* only while a master is configured";
  EXPECT_EQ(*r.Find("serv_proc_id"), std::to_string(server().pid()));
  EXPECT_TRUE(std::regex_match(*r.Find("serv_current_time"), std::regex("[0-9]+\\.[0-9]{6}")))
      << *r.Find("serv_current_time");
  EXPECT_EQ(*r.Find("conf_os_name"), "Linux");
}

TEST_F(RpcProcedures, ReportCountersCountSetsAndMisses) {
  auto db = Rpc();
  RpcResult before = db->Report();
  ASSERT_EQ(before.status, 200);
  ASSERT_TRUE(db->Set("cnt_k", "v").ok());
  ASSERT_EQ(db->Get("cnt_missing_key").status, 450);
  RpcResult after = db->Report();
  EXPECT_EQ(std::stoll(*after.Find("cnt_set")), std::stoll(*before.Find("cnt_set")) + 1);
  EXPECT_EQ(std::stoll(*after.Find("cnt_get")), std::stoll(*before.Find("cnt_get")) + 1);
  EXPECT_EQ(std::stoll(*after.Find("cnt_get_misses")),
            std::stoll(*before.Find("cnt_get_misses")) + 1);
}

TEST_F(RpcProcedures, StatusReportsCountSizePathTypeAndTimedLayerFields) {
  const char* paths[] = {":", "+", "*", "%"};
  const char* types[] = {"24", "17", "32", "33"};
  for (int i = 0; i < 4; ++i) {
    auto db = Rpc(std::to_string(i));
    ASSERT_TRUE(db->Clear().ok());
    ASSERT_TRUE(db->Set("s1", "v1").ok());
    RpcResult r = db->Status();
    ASSERT_EQ(r.status, 200) << i;
    ASSERT_NE(r.Find("count"), nullptr);
    EXPECT_EQ(*r.Find("count"), "1") << i;
    ASSERT_NE(r.Find("size"), nullptr);
    ASSERT_NE(r.Find("path"), nullptr);
    EXPECT_EQ(*r.Find("path"), paths[i]);
    ASSERT_NE(r.Find("realtype"), nullptr);
    EXPECT_EQ(*r.Find("realtype"), types[i]);
    EXPECT_NE(r.Find("type"), nullptr);
    ASSERT_NE(r.Find("ktopts"), nullptr);
    EXPECT_EQ(*r.Find("ktopts"), "0");
    ASSERT_NE(r.Find("ktcapcnt"), nullptr);
    EXPECT_EQ(*r.Find("ktcapcnt"), "-1");
    ASSERT_NE(r.Find("ktcapsiz"), nullptr);
    EXPECT_EQ(*r.Find("ktcapsiz"), "-1");
  }
}

TEST_F(RpcProcedures, StatusOfUnknownDatabaseIs400NoSuchDatabase) {
  ExpectRpcError(Get("/rpc/status?DB=9"), 400, "no such database");
}

TEST_F(RpcProcedures, ClearRemovesEveryRecordOfTheSelectedDatabaseOnly) {
  auto db2 = Rpc("2");
  auto db3 = Rpc("3");
  ASSERT_TRUE(db2->Set("c1", "1").ok());
  ASSERT_TRUE(db2->Set("c2", "2").ok());
  ASSERT_TRUE(db3->Set("c3", "3").ok());
  ExpectRpcReply(Get("/rpc/clear?DB=2"), 200, kTsv, "");
  EXPECT_EQ(db2->Count().value, 0);
  EXPECT_EQ(db2->Get("c1").status, 450);
  EXPECT_TRUE(db3->Get("c3").ok());
}

TEST_F(RpcProcedures, ClearOfUnknownDatabaseIs400) {
  ExpectRpcError(Get("/rpc/clear?DB=nosuch"), 400, "no such database");
}

TEST_F(RpcProcedures, SynchronizeAnswers200) {
  ExpectRpcReply(Get("/rpc/synchronize"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/synchronize?DB=1&hard"), 200, kTsv, "");
}

TEST_F(RpcProcedures, SynchronizeCommandWithSlashIs500PostprocessingFailed) {
  ExpectRpcError(Get("/rpc/synchronize?command=a%2Fb"), 500,
                 "DB: 8: logical inconsistency: postprocessing failed");
  ExpectRpcError(Get("/rpc/synchronize?command=.."), 500,
                 "DB: 8: logical inconsistency: postprocessing failed");
}

TEST_F(RpcProcedures, SynchronizeOfUnknownDatabaseIs400) {
  ExpectRpcError(Get("/rpc/synchronize?DB=7"), 400, "no such database");
}

TEST_F(RpcProcedures, VacuumRemovesExpiredRecords) {
  auto db = Rpc("2");
  ASSERT_TRUE(db->Clear().ok());
  ASSERT_TRUE(db->Set("live", "v").ok());
  ASSERT_TRUE(db->Set("dead", "v", -1).ok());  // absolute time 1: long expired
  EXPECT_EQ(db->Get("dead").status, 450);
  ExpectRpcReply(Get("/rpc/vacuum?DB=2"), 200, kTsv, "");
  EXPECT_EQ(db->Count().value, 1);
  ExpectRpcReply(Get("/rpc/vacuum?DB=2&step=2"), 200, kTsv, "");
  EXPECT_TRUE(db->Get("live").ok());
}

TEST_F(RpcProcedures, VacuumOfUnknownDatabaseIs400) {
  ExpectRpcError(Get("/rpc/vacuum?DB=5"), 400, "no such database");
}

// ---- set, add, replace, append ------------------------------------------------------------

TEST_F(RpcProcedures, SetStoresUnconditionally) {
  ExpectRpcReply(Get("/rpc/set?key=set1&value=a"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/set?key=set1&value=bc"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=set1"), 200, kTsv, "value\tbc\n");
}

TEST_F(RpcProcedures, SetWithoutKeyOrValueIs400InvalidParameters) {
  ExpectRpcError(Get("/rpc/set?key=set2"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/set?value=x"), 400, "invalid parameters");
  ExpectRpcReply(Get("/rpc/get?key=set2"), 450, kTsv, "ERROR\tDB: 7: no record: no record\n");
}

TEST_F(RpcProcedures, SetWithEmptyKeyAndValueIsValid) {
  ExpectRpcReply(Get("/rpc/set?DB=2&key=&value="), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?DB=2&key="), 200, kTsv, "value\t\n");
}

TEST_F(RpcProcedures, SetOnUnknownDatabaseIs400NoSuchDatabase) {
  ExpectRpcError(Get("/rpc/set?DB=4&key=k&value=v"), 400, "no such database");
  ExpectRpcError(Get("/rpc/set?DB=nosuch&key=k&value=v"), 400, "no such database");
}

TEST_F(RpcProcedures, AddStoresOnlyWhenAbsent) {
  ExpectRpcReply(Get("/rpc/add?key=add1&value=first"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/add?key=add1&value=second"), 450, kDuplicate);
  ExpectRpcReply(Get("/rpc/get?key=add1"), 200, kTsv, "value\tfirst\n");
}

TEST_F(RpcProcedures, AddOverAnExpiredRecordSucceeds) {
  ExpectRpcReply(Get("/rpc/set?key=add2&value=old&xt=-1"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/add?key=add2&value=new"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=add2"), 200, kTsv, "value\tnew\n");
}

TEST_F(RpcProcedures, AddWithoutValueIs400) {
  ExpectRpcError(Get("/rpc/add?key=add3"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/add?DB=99&key=add3&value=v"), 400, "no such database");
}

TEST_F(RpcProcedures, ReplaceStoresOnlyWhenPresent) {
  ExpectRpcError(Get("/rpc/replace?key=rep1&value=v"), 450, kNoRecord);
  ExpectRpcReply(Get("/rpc/get?key=rep1"), 450, kTsv, "ERROR\tDB: 7: no record: no record\n");
  ExpectRpcReply(Get("/rpc/set?key=rep1&value=a"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/replace?key=rep1&value=b"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=rep1"), 200, kTsv, "value\tb\n");
  ExpectRpcError(Get("/rpc/replace?value=b"), 400, "invalid parameters");
}

TEST_F(RpcProcedures, AppendCreatesThenAppends) {
  ExpectRpcReply(Get("/rpc/append?key=app1&value=ab"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/append?key=app1&value=cd"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=app1"), 200, kTsv, "value\tabcd\n");
  ExpectRpcError(Get("/rpc/append?key=app1"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/append?DB=x&key=app1&value=v"), 400, "no such database");
}

TEST_F(RpcProcedures, AppendReplacesTheExpirationWithItsOwn) {
  ExpectRpcReply(Get("/rpc/set?key=app2&value=a&xt=100"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/append?key=app2&value=b"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=app2"), 200, kTsv, "value\tab\n");
}

// ---- increment ------------------------------------------------------------------------------

TEST_F(RpcProcedures, IncrementCreatesOrigPlusNumAsEightByteBigEndian) {
  ExpectRpcReply(Get("/rpc/increment?key=inc1&num=5&orig=10"), 200, kTsv, "num\t15\n");
  // 00 00 00 00 00 00 00 0F: binary, so the reply is Base64 (blen 25 < ulen 29).
  ExpectRpcReply(Get("/rpc/get?key=inc1"), 200, kTsvB, "dmFsdWU=\tAAAAAAAAAA8=\n");
  ExpectRpcReply(Get("/rpc/increment?key=inc1&num=-20"), 200, kTsv, "num\t-5\n");
  ExpectRpcReply(Get("/rpc/increment?key=inc1&num=-20&orig=1000"), 200, kTsv, "num\t-25\n");
}

TEST_F(RpcProcedures, IncrementWithoutOrigStartsAtZero) {
  ExpectRpcReply(Get("/rpc/increment?key=inc2&num=0"), 200, kTsv, "num\t0\n");
  ExpectRpcReply(Get("/rpc/check?key=inc2"), 200, kTsv, "vsiz\t8\n");
}

TEST_F(RpcProcedures, IncrementOrigTryFailsOnAbsentAndAddsOnExisting) {
  ExpectRpcError(Get("/rpc/increment?key=inc3&num=1&orig=try"), 450, kLogic);
  ExpectRpcError(Get("/rpc/get?key=inc3"), 450, kNoRecord);
  ExpectRpcReply(Get("/rpc/increment?key=inc3&num=7"), 200, kTsv, "num\t7\n");
  ExpectRpcReply(Get("/rpc/increment?key=inc3&num=2&orig=try"), 200, kTsv, "num\t9\n");
}

TEST_F(RpcProcedures, IncrementOrigSetOverwritesEightByteValue) {
  ExpectRpcReply(Get("/rpc/increment?key=inc4&num=3&orig=set"), 200, kTsv, "num\t3\n");
  ExpectRpcReply(Get("/rpc/increment?key=inc4&num=40&orig=set"), 200, kTsv, "num\t40\n");
}

TEST_F(RpcProcedures, IncrementOnNonEightByteValueIs450AndLeavesIt) {
  ExpectRpcReply(Get("/rpc/set?key=inc5&value=abc"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/increment?key=inc5&num=1"), 450, kLogic);
  ExpectRpcError(Get("/rpc/increment?key=inc5&num=1&orig=try"), 450, kLogic);
  ExpectRpcError(Get("/rpc/increment?key=inc5&num=1&orig=set"), 450, kLogic);
  ExpectRpcReply(Get("/rpc/get?key=inc5"), 200, kTsv, "value\tabc\n");
}

TEST_F(RpcProcedures, IncrementByZeroWritesNothingSoTheTtlStays) {
  ExpectRpcReply(Get("/rpc/increment?key=inc6&num=3&xt=1000"), 200, kTsv, "num\t3\n");
  auto db = Rpc();
  ASSERT_TRUE(db->Get("inc6").xt.has_value());
  ExpectRpcReply(Get("/rpc/increment?key=inc6&num=0"), 200, kTsv, "num\t3\n");
  EXPECT_TRUE(db->Get("inc6").xt.has_value()) << "num=0 must not write";
  ExpectRpcReply(Get("/rpc/increment?key=inc6&num=1"), 200, kTsv, "num\t4\n");
  EXPECT_FALSE(db->Get("inc6").xt.has_value()) << "a write without xt clears the TTL";
}

TEST_F(RpcProcedures, IncrementWithoutKeyOrNumIs400) {
  ExpectRpcError(Get("/rpc/increment?key=inc7"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/increment?num=1"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/increment?DB=9&key=inc7&num=1"), 400, "no such database");
}

// ---- increment_double ------------------------------------------------------------------------

TEST_F(RpcProcedures, IncrementDoubleStoresSixteenByteFixedPoint) {
  ExpectRpcReply(Get("/rpc/increment_double?key=dbl1&num=1.5"), 200, kTsv, "num\t1.500000\n");
  // 00..01 | 0001C6BF52634000 in Base64.
  ExpectRpcReply(Get("/rpc/get?key=dbl1"), 200, kTsvB, "dmFsdWU=\tAAAAAAAAAAEAAca/UmNAAA==\n");
  ExpectRpcReply(Get("/rpc/increment_double?key=dbl1&num=-2.75"), 200, kTsv, "num\t-1.250000\n");
  ExpectRpcReply(Get("/rpc/increment_double?key=dbl1&num=0"), 200, kTsv, "num\t-1.250000\n");
}

TEST_F(RpcProcedures, IncrementDoubleOrigForms) {
  ExpectRpcError(Get("/rpc/increment_double?key=dbl2&num=1&orig=try"), 450, kLogic);
  ExpectRpcReply(Get("/rpc/increment_double?key=dbl2&num=0.25&orig=2"), 200, kTsv,
                 "num\t2.250000\n");
  ExpectRpcReply(Get("/rpc/increment_double?key=dbl2&num=0.5&orig=try"), 200, kTsv,
                 "num\t2.750000\n");
  ExpectRpcReply(Get("/rpc/increment_double?key=dbl2&num=3.5&orig=set"), 200, kTsv,
                 "num\t3.500000\n");
}

TEST_F(RpcProcedures, IncrementDoubleOnNonSixteenByteValueIs450) {
  ExpectRpcReply(Get("/rpc/set?key=dbl3&value=12345678"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/increment_double?key=dbl3&num=1"), 450, kLogic);
  ExpectRpcError(Get("/rpc/increment_double?key=dbl3"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/increment_double?num=1"), 400, "invalid parameters");
}

// ---- cas -----------------------------------------------------------------------------------

TEST_F(RpcProcedures, CasWithoutOvalCreatesOnlyWhenAbsent) {
  ExpectRpcReply(Get("/rpc/cas?key=cas1&nval=a"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=cas1"), 200, kTsv, "value\ta\n");
  ExpectRpcError(Get("/rpc/cas?key=cas1&nval=b"), 450, kConflict);
  ExpectRpcReply(Get("/rpc/get?key=cas1"), 200, kTsv, "value\ta\n");
}

TEST_F(RpcProcedures, CasWithNeitherValueSucceedsOnlyWhenAbsent) {
  ExpectRpcReply(Get("/rpc/cas?key=cas2"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/get?key=cas2"), 450, kNoRecord);
  ExpectRpcReply(Get("/rpc/set?key=cas2&value=x"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/cas?key=cas2"), 450, kConflict);
}

TEST_F(RpcProcedures, CasWithBothValuesSwapsOnByteExactMatch) {
  ExpectRpcError(Get("/rpc/cas?key=cas3&oval=a&nval=b"), 450, kConflict);
  ExpectRpcReply(Get("/rpc/set?key=cas3&value=a"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/cas?key=cas3&oval=A&nval=b"), 450, kConflict);
  ExpectRpcError(Get("/rpc/cas?key=cas3&oval=a%20&nval=b"), 450, kConflict);
  ExpectRpcReply(Get("/rpc/cas?key=cas3&oval=a&nval=b&xt=-2000000000"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=cas3"), 200, kTsv, "value\tb\nxt\t2000000000\n");
}

TEST_F(RpcProcedures, CasWithOvalOnlyRemovesOnMatch) {
  ExpectRpcReply(Get("/rpc/set?key=cas4&value=a"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/cas?key=cas4&oval=z"), 450, kConflict);
  ExpectRpcReply(Get("/rpc/cas?key=cas4&oval=a"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/get?key=cas4"), 450, kNoRecord);
}

TEST_F(RpcProcedures, CasWithoutKeyIs400) {
  ExpectRpcError(Get("/rpc/cas?oval=a&nval=b"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/cas?DB=8&key=k"), 400, "no such database");
}

// ---- remove, get, check, seize --------------------------------------------------------------

TEST_F(RpcProcedures, RemoveDeletesAndMissingIs450) {
  ExpectRpcReply(Get("/rpc/set?key=rm1&value=v"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/remove?key=rm1"), 200, kTsv, "");
  ExpectRpcError(Get("/rpc/remove?key=rm1"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/remove"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/remove?DB=nosuch&key=rm1"), 400, "no such database");
}

TEST_F(RpcProcedures, GetWithoutKeyIs400) {
  ExpectRpcError(Get("/rpc/get"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/get?DB=12&key=a"), 400, "no such database");
}

TEST_F(RpcProcedures, CheckAnswersValueSize) {
  ExpectRpcReply(Get("/rpc/set?key=chk1&value=hello"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/check?key=chk1"), 200, kTsv, "vsiz\t5\n");
  ExpectRpcReply(Get("/rpc/set?key=chk1&value=hello&xt=-2000000000"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/check?key=chk1"), 200, kTsv, "vsiz\t5\nxt\t2000000000\n");
  ExpectRpcError(Get("/rpc/check?key=chk_missing"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/check"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/check?DB=xx&key=chk1"), 400, "no such database");
}

TEST_F(RpcProcedures, SeizeReturnsAndRemoves) {
  ExpectRpcReply(Get("/rpc/set?key=sz1&value=v1&xt=-2000000000"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/seize?key=sz1"), 200, kTsv, "value\tv1\nxt\t2000000000\n");
  ExpectRpcError(Get("/rpc/seize?key=sz1"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/get?key=sz1"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/seize"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/seize?DB=9&key=sz1"), 400, "no such database");
}

// ---- bulk ----------------------------------------------------------------------------------

TEST_F(RpcProcedures, SetBulkStoresUnderscoreRecordsAndIgnoresOtherNames) {
  ExpectRpcReply(Get("/rpc/set_bulk?DB=2&_sb1=1&_sb2=2&other=3"), 200, kTsv, "num\t2\n");
  ExpectRpcReply(Get("/rpc/get?DB=2&key=sb2"), 200, kTsv, "value\t2\n");
  ExpectRpcError(Get("/rpc/get?DB=2&key=other"), 450, kNoRecord);
  ExpectRpcReply(Get("/rpc/set_bulk?DB=2&__sb3=x&atomic"), 200, kTsv, "num\t1\n");
  ExpectRpcReply(Get("/rpc/get?DB=2&key=_sb3"), 200, kTsv, "value\tx\n");
}

TEST_F(RpcProcedures, SetBulkOfNothingIsNumZero) {
  ExpectRpcReply(Get("/rpc/set_bulk"), 200, kTsv, "num\t0\n");
  ExpectRpcError(Get("/rpc/set_bulk?DB=6&_a=1"), 400, "no such database");
}

TEST_F(RpcProcedures, SetBulkAppliesXtToEveryRecord) {
  auto db = Rpc("3");
  IntResult r = db->SetBulk({{"sbx1", "a"}, {"sbx2", "b"}}, -2000000000, true);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.value, 2);
  EXPECT_EQ(db->Get("sbx1").xt, 2000000000);
  EXPECT_EQ(db->Get("sbx2").xt, 2000000000);
}

TEST_F(RpcProcedures, GetBulkReturnsFoundRecordsAndNum) {
  ExpectRpcReply(Get("/rpc/set_bulk?DB=1&_gb1=a&_gb2=b&__gb3=c&xt=100"), 200, kTsv, "num\t3\n");
  ExpectRpcReply(Get("/rpc/get_bulk?DB=1&_gb1&_gb2=ignored&_gb_missing&__gb3"), 200, kTsv,
                 "__gb3\tc\n_gb1\ta\n_gb2\tb\nnum\t3\n");
  ExpectRpcReply(Get("/rpc/get_bulk?DB=1&atomic&_gb_none"), 200, kTsv, "num\t0\n");
  ExpectRpcError(Get("/rpc/get_bulk?DB=9&_gb1"), 400, "no such database");
}

TEST_F(RpcProcedures, RemoveBulkCountsOnlyExistingRecords) {
  ExpectRpcReply(Get("/rpc/set_bulk?DB=3&_rb1=a&_rb2=b"), 200, kTsv, "num\t2\n");
  ExpectRpcReply(Get("/rpc/remove_bulk?DB=3&_rb1&_rb2&_rb_missing"), 200, kTsv, "num\t2\n");
  ExpectRpcReply(Get("/rpc/remove_bulk?DB=3&_rb1&atomic"), 200, kTsv, "num\t0\n");
  ExpectRpcError(Get("/rpc/get?DB=3&key=rb2"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/remove_bulk?DB=9&_rb1"), 400, "no such database");
}

// ---- matching ------------------------------------------------------------------------------

class RpcMatching : public SharedServerTest<RpcMatching> {
 protected:
  void SetUp() override {
    SharedServerTest::SetUp();
    for (const char* db : {"0", "1"}) {
      auto c = Rpc(db);
      ASSERT_TRUE(c->Clear().ok());
      for (const char* k :
           {"app", "apple", "apricot", "banana", "abc", "abd", "ab", "xbc", "abcd", "zzz"}) {
        ASSERT_TRUE(c->Set(k, "v").ok());
      }
    }
  }
};

TEST_F(RpcMatching, MatchPrefixOnOrderedDatabaseNumbersKeysInKeyOrder) {
  ExpectRpcReply(Get("/rpc/match_prefix?DB=1&prefix=ap"), 200, kTsv,
                 "_app\t0\n_apple\t1\n_apricot\t2\nnum\t3\n");
  ExpectRpcReply(Get("/rpc/match_prefix?DB=1&prefix=ap&max=2"), 200, kTsv,
                 "_app\t0\n_apple\t1\nnum\t2\n");
  ExpectRpcReply(Get("/rpc/match_prefix?DB=1&prefix=nothing"), 200, kTsv, "num\t0\n");
}

TEST_F(RpcMatching, MatchPrefixOnHashDatabaseFindsTheSameKeys) {
  auto db = Rpc("0");
  KeysResult r = db->MatchPrefix("ap");
  ASSERT_EQ(r.status, 200);
  std::vector<std::string> keys = r.keys;
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"app", "apple", "apricot"}));
  EXPECT_EQ(r.num, 3);
  EXPECT_EQ(db->MatchPrefix("ap", 1).num, 1);
}

TEST_F(RpcMatching, MatchPrefixWithoutPrefixIs400) {
  ExpectRpcError(Get("/rpc/match_prefix?DB=1"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/match_prefix?DB=9&prefix=a"), 400, "no such database");
}

TEST_F(RpcMatching, MatchRegexIsAnUnanchoredExtendedRegex) {
  ExpectRpcReply(Get("/rpc/match_regex?DB=1&regex=p%2Ble%24"), 200, kTsv, "_apple\t0\nnum\t1\n");
  ExpectRpcReply(Get("/rpc/match_regex?DB=1&regex=nan"), 200, kTsv, "_banana\t0\nnum\t1\n");
  ExpectRpcReply(Get("/rpc/match_regex?DB=1&regex=%5Eq"), 200, kTsv, "num\t0\n");
  ExpectRpcReply(Get("/rpc/match_regex?DB=1&regex=b(c%7Cd)&max=2"), 200, kTsv,
                 "_abc\t0\n_abcd\t1\nnum\t2\n");
}

TEST_F(RpcMatching, MatchRegexThatDoesNotCompileIs450CompilationFailed) {
  ExpectRpcError(Get("/rpc/match_regex?DB=1&regex=a(b"), 450,
                 "DB: 8: logical inconsistency: compilation failed");
  ExpectRpcError(Get("/rpc/match_regex?DB=1"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/match_regex?DB=7&regex=a"), 400, "no such database");
}

TEST_F(RpcMatching, MatchSimilarOrdersByDistanceThenKey) {
  ExpectRpcReply(Get("/rpc/match_similar?DB=0&origin=abc&range=1"), 200, kTsv,
                 "_ab\t1\n_abc\t0\n_abcd\t2\n_abd\t3\n_xbc\t4\nnum\t5\n");
  ExpectRpcReply(Get("/rpc/match_similar?DB=1&origin=abc&range=1&max=2"), 200, kTsv,
                 "_ab\t1\n_abc\t0\nnum\t2\n");
  // range absent -> 1.
  ExpectRpcReply(Get("/rpc/match_similar?DB=1&origin=zzy"), 200, kTsv, "_zzz\t0\nnum\t1\n");
}

TEST_F(RpcMatching, MatchSimilarWithUtfMeasuresCodePoints) {
  auto db = Rpc("1");
  ASSERT_TRUE(db->Set("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E", "v").ok());  // 日本語
  KeysResult bytes = db->MatchSimilar("\xE6\x97\xA5\xE6\x9C\xAC", 1, false);
  ASSERT_EQ(bytes.status, 200);
  EXPECT_EQ(bytes.num, 0);
  KeysResult utf = db->MatchSimilar("\xE6\x97\xA5\xE6\x9C\xAC", 1, true);
  ASSERT_EQ(utf.status, 200);
  EXPECT_EQ(utf.keys, (std::vector<std::string>{"\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"}));
}

TEST_F(RpcMatching, MatchSimilarWithoutOriginIs400) {
  ExpectRpcError(Get("/rpc/match_similar?DB=1"), 400, "invalid parameters");
  ExpectRpcError(Get("/rpc/match_similar?DB=9&origin=a"), 400, "no such database");
}

// ---- database selection ----------------------------------------------------------------------

TEST_F(RpcProcedures, DatabaseIsSelectedByIndexOrByName) {
  ExpectRpcReply(Get("/rpc/set?DB=1&key=sel1&value=in_tree"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?DB=%2B&key=sel1"), 200, kTsv, "value\tin_tree\n");
  ExpectRpcReply(Get("/rpc/get?DB=1abc&key=sel1"), 200, kTsv, "value\tin_tree\n");
  ExpectRpcError(Get("/rpc/get?key=sel1"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/get?DB=0&key=sel1"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/get?DB=&key=sel1"), 450, kNoRecord);
  ExpectRpcError(Get("/rpc/get?DB=%25&key=sel1"), 450, kNoRecord);
  ExpectRpcReply(Get("/rpc/set?DB=%25&key=sel1&value=in_grass"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?DB=3&key=sel1"), 200, kTsv, "value\tin_grass\n");
  ExpectRpcReply(Get("/rpc/set?DB=%2A&key=sel2&value=in_cache"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?DB=2&key=sel2"), 200, kTsv, "value\tin_cache\n");
  ExpectRpcReply(Get("/rpc/set?DB=:&key=sel3&value=in_stash"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/get?key=sel3"), 200, kTsv, "value\tin_stash\n");
}

TEST_F(RpcProcedures, PlusInQueryIsASpaceSoDbPlusIsUnknown) {
  ExpectRpcError(Get("/rpc/get?DB=+&key=a"), 400, "no such database");
}

TEST_F(RpcProcedures, ProceduresWithoutDatabaseIgnoreDb) {
  ExpectRpcReply(Get("/rpc/void?DB=nosuch"), 200, kTsv, "");
  ExpectRpcReply(Get("/rpc/echo?DB=nosuch"), 200, kTsv, "DB\tnosuch\n");
  EXPECT_EQ(Get("/rpc/report?DB=nosuch").status, 200);
}

// ---- not available in this server configuration -------------------------------------------

TEST_F(RpcProcedures, PlayScriptWithoutScrIs501ScriptingDisabled) {
  ExpectRpcError(Get("/rpc/play_script?name=hello"), 501, "the scripting extention is disabled");
}

TEST_F(RpcProcedures, TuneReplicationWithoutRtsIs501RtsFileNotSet) {
  // Spec 9.5: without -rts the answer is 501 "the RTS file is not set".
  ExpectRpcError(Get("/rpc/tune_replication?host=localhost"), 501, "the RTS file is not set");
}

TEST_F(RpcProcedures, UlogListAndRemoveWithoutUlogAre400NoUpdateLog) {
  // Spec 9.6/9.7: without -ulog both answer 400 "no update log allows no replication".
  ExpectRpcError(Get("/rpc/ulog_list"), 400, "no update log allows no replication");
  ExpectRpcError(Get("/rpc/ulog_remove?ts=1"), 400, "no update log allows no replication");
}

}  // namespace
}  // namespace ryoan::testing
