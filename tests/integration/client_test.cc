// The client library against the real server: keep-alive, reconnects, typed helpers.
#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

class ClientLibrary : public SharedServerTest<ClientLibrary> {};

TEST_F(ClientLibrary, RpcClientReusesOneConnection) {
  auto db = Rpc();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(db->Set("reuse" + std::to_string(i), "v").ok());
  EXPECT_EQ(db->session().connect_count(), 1);
}

TEST_F(ClientLibrary, ReconnectsAfterTheServerClosedTheConnection) {
  auto db = Rpc();
  ASSERT_TRUE(db->Void().ok());
  HttpResponse r;
  ASSERT_EQ(db->session().Exchange("GET", "/rpc/void", {{"Connection", "close"}}, "", &r),
            ReadResult::kOk);
  EXPECT_EQ(*r.FindHeader("Connection"), "close");
  RpcResult v = db->Void();
  EXPECT_TRUE(v.ok()) << v.error;
  EXPECT_EQ(db->session().connect_count(), 2);
}

TEST_F(ClientLibrary, TransportErrorWhenNothingListens) {
  RpcClient db;
  int dead_port = PickFreePort();
  EXPECT_FALSE(db.Open("127.0.0.1", dead_port, 2));
  RecordMap out;
  EXPECT_EQ(db.Call("void", RecordMap(), &out), client::kTransportError);
  RpcResult r = db.Void();
  EXPECT_EQ(r.status, client::kTransportError);
  EXPECT_FALSE(r.ok());
}

TEST_F(ClientLibrary, TypedHelpersReportStatusAndErrorText) {
  auto db = Rpc("1");
  ASSERT_TRUE(db->Clear().ok());
  EXPECT_TRUE(db->Add("k", "v1").ok());
  RpcResult dup = db->Add("k", "v2");
  EXPECT_EQ(dup.status, 450);
  EXPECT_EQ(dup.error, "DB: 6: record duplication: record duplication");
  EXPECT_EQ(db->Replace("missing", "x").error, "DB: 7: no record: no record");
  EXPECT_TRUE(db->Append("k", "+").ok());
  EXPECT_EQ(db->Get("k").value, "v1+");
  EXPECT_EQ(db->Check("k").value, 3);
  EXPECT_TRUE(db->Cas("k", std::string("v1+"), std::string("v2")).ok());
  RpcResult conflict = db->Cas("k", std::string("v1+"), std::string("v3"));
  EXPECT_EQ(conflict.status, 450);
  EXPECT_EQ(conflict.error, "DB: 8: logical inconsistency: status conflict");
  RecordResult seized = db->Seize("k");
  EXPECT_EQ(seized.value, "v2");
  EXPECT_FALSE(seized.xt.has_value());
  EXPECT_EQ(db->Remove("k").status, 450);
  IntResult inc = db->Increment("n", 5, std::string("10"), 100);
  EXPECT_EQ(inc.value, 15);
  EXPECT_TRUE(db->Get("n").xt.has_value());
  RealResult dbl = db->IncrementDouble("d", 2.5);
  EXPECT_EQ(dbl.text, "2.500000");
  EXPECT_DOUBLE_EQ(dbl.value, 2.5);
  EXPECT_EQ(db->IncrementDouble("d", 1, std::string("set")).text, "1.000000");
  EXPECT_EQ(db->Count().value, 2);
  EXPECT_GT(db->Size().value, 0);
}

TEST_F(ClientLibrary, BulkAndMatchHelpers) {
  auto db = Rpc("3");
  ASSERT_TRUE(db->Clear().ok());
  EXPECT_EQ(db->SetBulk({{"p1", "a"}, {"p2", "b"}, {"q1", "c"}}, std::nullopt, true).value, 3);
  BulkResult got = db->GetBulk({"p1", "q1", "zz"}, true);
  EXPECT_EQ(got.num, 2);
  EXPECT_EQ(got.records, (std::map<std::string, std::string>{{"p1", "a"}, {"q1", "c"}}));
  EXPECT_EQ(db->MatchPrefix("p").keys, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(db->MatchRegex("1$").keys, (std::vector<std::string>{"p1", "q1"}));
  EXPECT_EQ(db->MatchSimilar("p3", 1).keys, (std::vector<std::string>{"p1", "p2"}));
  EXPECT_EQ(db->RemoveBulk({"p1", "p2", "nope"}).value, 2);
  EXPECT_EQ(db->Count().value, 1);
}

TEST_F(ClientLibrary, SynchronizeVacuumAndReportHelpers) {
  auto db = Rpc("2");
  EXPECT_TRUE(db->Synchronize(true).ok());
  RpcResult bad = db->Synchronize(false, "../x");
  EXPECT_EQ(bad.status, 500);
  EXPECT_EQ(bad.error, "DB: 8: logical inconsistency: postprocessing failed");
  EXPECT_TRUE(db->Vacuum().ok());
  EXPECT_TRUE(db->Vacuum(3).ok());
  RpcResult report = db->Report();
  ASSERT_TRUE(report.ok());
  EXPECT_NE(report.Find("db_2"), nullptr);
}

TEST_F(ClientLibrary, UnknownDatabaseIsReportedByEveryHelper) {
  auto db = Rpc("nosuch");
  EXPECT_EQ(db->Set("k", "v").error, "no such database");
  EXPECT_EQ(db->Get("k").status, 400);
  EXPECT_EQ(db->Status().status, 400);
  EXPECT_EQ(db->SetBulk({{"a", "b"}}).status, 400);
  Cursor cur(db.get());
  RpcResult j = cur.Jump();
  EXPECT_EQ(j.status, 400);
  EXPECT_EQ(j.error, "no such cursor");
}

TEST_F(ClientLibrary, RestHelpers) {
  auto rest = Rest();
  EXPECT_EQ(rest->Put("rk", "v", "1", "add", std::string("2000000000")).status, 201);
  HttpResponse head = rest->Head("rk", "+");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(*head.FindHeader("Content-Length"), "1");
  EXPECT_EQ(*head.FindHeader("X-Kt-Xt"), "Wed, 18 May 2033 03:33:20 GMT");
  EXPECT_EQ(rest->Put("rk", "w", "1", "add").status, 450);
  EXPECT_EQ(rest->Delete("rk", "1").status, 204);
  EXPECT_EQ(rest->Delete("rk", "1").status, 404);
  EXPECT_EQ(rest->session().connect_count(), 1);
}

}  // namespace
}  // namespace ryoan::testing
