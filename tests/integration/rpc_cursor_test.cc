// Cursor procedures (spec/http-rpc.md 7.2, 9.29-9.37; spec/databases.md 7) on ordered and
// unordered databases. Cursors live in the connection, so each test keeps one raw
// keep-alive connection. Databases: 0 ':' (hash) 1 '+' (tree) 2 '*' (hash) 3 '%' (tree).
#include <set>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

constexpr std::string_view kNoImpl = "DB: 1: not implemented: not implemented";

class RpcCursors : public SharedServerTest<RpcCursors> {
 protected:
  void SetUp() override {
    SharedServerTest::SetUp();
    for (const char* db : {"0", "1", "2", "3"}) {
      auto c = Rpc(db);
      ASSERT_TRUE(c->Clear().ok());
      ASSERT_TRUE(c->SetBulk({{"a", "va"}, {"b", "vb"}, {"c", "vc"}}).ok());
    }
    conn_ = Connect();
  }

  // One request on the test's keep-alive connection.
  HttpResponse Do(std::string_view target) {
    HttpResponse r;
    EXPECT_TRUE(conn_.Send(GetRequest(target)));
    EXPECT_EQ(conn_.ReadResponse(&r), ReadResult::kOk) << target;
    return r;
  }

  HttpConnection conn_;
};

TEST_F(RpcCursors, JumpPositionsAtTheFirstRecordAndStepWalksInKeyOrder) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=1"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=1"), 200, kTsv, "key\ta\n");
  ExpectRpcReply(Do("/rpc/cur_step?CUR=1"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get?CUR=1"), 200, kTsv, "key\tb\nvalue\tvb\n");
  ExpectRpcReply(Do("/rpc/cur_get_value?CUR=1&step"), 200, kTsv, "value\tvb\n");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=1"), 200, kTsv, "key\tc\n");
  ExpectRpcError(Do("/rpc/cur_step?CUR=1"), 450, kNoRecord);
  ExpectRpcError(Do("/rpc/cur_get_key?CUR=1"), 450, kNoRecord);
}

TEST_F(RpcCursors, ReadWithStepOnTheLastRecordSucceedsThenCursorIsUnpositioned) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=3&CUR=1&key=c"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=1&step"), 200, kTsv, "key\tc\n");
  ExpectRpcError(Do("/rpc/cur_get_key?CUR=1"), 450, kNoRecord);
}

TEST_F(RpcCursors, JumpWithKeyOnOrderedDatabaseFindsFirstKeyNotLess) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=2&key=bb"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=2"), 200, kTsv, "key\tc\n");
  ExpectRpcError(Do("/rpc/cur_jump?DB=1&CUR=2&key=d"), 450, kNoRecord);
}

TEST_F(RpcCursors, JumpBackAndStepBackOnOrderedDatabase) {
  ExpectRpcReply(Do("/rpc/cur_jump_back?DB=%25&CUR=3"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=3"), 200, kTsv, "key\tc\n");
  ExpectRpcReply(Do("/rpc/cur_jump_back?CUR=3&key=bb"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=3"), 200, kTsv, "key\tb\n");
  ExpectRpcReply(Do("/rpc/cur_step_back?CUR=3"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=3"), 200, kTsv, "key\ta\n");
  ExpectRpcError(Do("/rpc/cur_step_back?CUR=3"), 450, kNoRecord);
  ExpectRpcError(Do("/rpc/cur_jump_back?CUR=3&key=0"), 450, kNoRecord);
}

TEST_F(RpcCursors, SetValueReplacesValueAndExpiration) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=1&key=b"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_set_value?CUR=1&value=new&xt=-2000000000"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get?CUR=1"), 200, kTsv, "key\tb\nvalue\tnew\nxt\t2000000000\n");
  ExpectRpcReply(Do("/rpc/cur_set_value?CUR=1&value=newer&step"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=1"), 200, kTsv, "key\tc\n");
  ExpectRpcReply(Do("/rpc/get?DB=1&key=b"), 200, kTsv, "value\tnewer\n");
}

TEST_F(RpcCursors, SetValueWithoutValueIs400AndUnpositionedIs450) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=1"), 200, kTsv, "");
  ExpectRpcError(Do("/rpc/cur_set_value?CUR=1"), 400, "invalid parameters");
  ExpectRpcError(Do("/rpc/cur_set_value?DB=1&CUR=2&value=x"), 450, kNoRecord);
}

TEST_F(RpcCursors, RemoveDeletesTheRecordAndMovesToTheNext) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=1"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_remove?CUR=1"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=1"), 200, kTsv, "key\tb\n");
  ExpectRpcError(Do("/rpc/get?DB=1&key=a"), 450, kNoRecord);
  ExpectRpcError(Do("/rpc/cur_remove?DB=1&CUR=2"), 450, kNoRecord);
}

TEST_F(RpcCursors, SeizeReturnsRemovesAndMovesOn) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=1"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_seize?CUR=1"), 200, kTsv, "key\ta\nvalue\tva\n");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=1"), 200, kTsv, "key\tb\n");
  ExpectRpcError(Do("/rpc/get?DB=1&key=a"), 450, kNoRecord);
  ExpectRpcError(Do("/rpc/cur_seize?DB=1&CUR=2"), 450, kNoRecord);
}

TEST_F(RpcCursors, ReadsOnAnUnpositionedCursorAre450) {
  for (const char* proc : {"cur_get_key", "cur_get_value", "cur_get", "cur_step"}) {
    ExpectRpcError(Do(std::string("/rpc/") + proc + "?DB=1&CUR=7"), 450, kNoRecord);
  }
}

TEST_F(RpcCursors, JumpOnEmptyDatabaseIs450) {
  auto db = Rpc("3");
  ASSERT_TRUE(db->Clear().ok());
  ExpectRpcError(Do("/rpc/cur_jump?DB=3&CUR=1"), 450, kNoRecord);
  ExpectRpcError(Do("/rpc/cur_jump_back?DB=3&CUR=2"), 450, kNoRecord);
}

TEST_F(RpcCursors, NoCursorIs400NoSuchCursor) {
  ExpectRpcError(Do("/rpc/cur_get_key"), 400, "no such cursor");
  ExpectRpcError(Do("/rpc/cur_jump?DB=9&CUR=1"), 400, "no such cursor");
  ExpectRpcError(Do("/rpc/cur_step?DB=nosuch&CUR=1"), 400, "no such cursor");
  ExpectRpcError(Do("/rpc/cur_jump?DB=1&CUR=x1"), 400, "no such cursor");
}

TEST_F(RpcCursors, CurDeleteFreesAKnownCursorAndUnknownIs501) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=5"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_delete?CUR=5"), 200, kTsv, "");
  // Same id again: a new, unpositioned cursor.
  ExpectRpcError(Do("/rpc/cur_get_key?DB=1&CUR=5"), 450, kNoRecord);
  ExpectRpcError(Do("/rpc/cur_delete?CUR=4242"), 501, "not implemented: cur_delete");
}

TEST_F(RpcCursors, CursorKeepsTheDatabaseItWasCreatedFor) {
  ASSERT_TRUE(Rpc("0")->Set("only_in_0", "x").ok());
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=1"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?DB=0&CUR=1"), 200, kTsv, "key\ta\n");
  ExpectRpcReply(Do("/rpc/cur_jump?DB=0&CUR=1&key=a"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=1"), 200, kTsv, "key\ta\n");
}

TEST_F(RpcCursors, CursorSkipsExpiredRecords) {
  ASSERT_TRUE(Rpc("1")->Set("b", "gone", -1).ok());
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=1"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_step?CUR=1"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=1"), 200, kTsv, "key\tc\n");
}

TEST_F(RpcCursors, BackwardMovesOnHashDatabasesAre501NotImplemented) {
  for (const char* db : {"0", "2"}) {
    std::string d = db;
    ExpectRpcError(Do("/rpc/cur_jump_back?DB=" + d + "&CUR=11"), 501, kNoImpl);
    ExpectRpcError(Do("/rpc/cur_jump_back?DB=" + d + "&CUR=12&key=b"), 501, kNoImpl);
    ExpectRpcReply(Do("/rpc/cur_jump?DB=" + d + "&CUR=13"), 200, kTsv, "");
    ExpectRpcError(Do("/rpc/cur_step_back?CUR=13"), 501, kNoImpl);
    ExpectRpcReply(Do("/rpc/cur_delete?CUR=11"), 200, kTsv, "");
    ExpectRpcReply(Do("/rpc/cur_delete?CUR=12"), 200, kTsv, "");
    ExpectRpcReply(Do("/rpc/cur_delete?CUR=13"), 200, kTsv, "");
  }
}

TEST_F(RpcCursors, JumpWithKeyOnHashDatabaseFindsExactlyThatKey) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=0&CUR=1&key=b"), 200, kTsv, "");
  ExpectRpcReply(Do("/rpc/cur_get?CUR=1"), 200, kTsv, "key\tb\nvalue\tvb\n");
  ExpectRpcError(Do("/rpc/cur_jump?DB=0&CUR=1&key=bb"), 450, kNoRecord);
}

TEST_F(RpcCursors, ForwardScanOfHashDatabaseVisitsEveryRecordOnce) {
  for (const char* db : {"0", "2"}) {
    auto c = std::make_unique<RpcClient>();
    ASSERT_TRUE(c->Open("127.0.0.1", port(), 10));
    c->set_database(db);
    Cursor cur(c.get());
    ASSERT_TRUE(cur.Jump().ok());
    std::multiset<std::string> seen;
    for (int i = 0; i < 10; ++i) {
      client::RecordResult r = cur.Get(true);
      if (r.status == 450) break;
      ASSERT_EQ(r.status, 200) << r.error;
      EXPECT_EQ(r.value, "v" + r.key);
      seen.insert(r.key);
    }
    EXPECT_EQ(seen, (std::multiset<std::string>{"a", "b", "c"})) << "db " << db;
  }
}

TEST_F(RpcCursors, CursorsBelongToTheirConnectionAndDieWithIt) {
  ExpectRpcReply(Do("/rpc/cur_jump?DB=1&CUR=1"), 200, kTsv, "");
  {
    HttpConnection other = Connect();
    ASSERT_TRUE(other.Send(GetRequest("/rpc/cur_get_key?DB=1&CUR=1")));
    HttpResponse r;
    ASSERT_EQ(other.ReadResponse(&r), ReadResult::kOk);
    ExpectRpcError(r, 450, kNoRecord);
    ASSERT_TRUE(other.Send(GetRequest("/rpc/cur_jump?DB=1&CUR=1&key=c")));
    ASSERT_EQ(other.ReadResponse(&r), ReadResult::kOk);
    EXPECT_EQ(r.status, 200);
  }
  ExpectRpcReply(Do("/rpc/cur_get_key?CUR=1"), 200, kTsv, "key\ta\n");
  conn_.Close();
  conn_ = Connect();
  ExpectRpcError(Do("/rpc/cur_get_key?DB=1&CUR=1"), 450, kNoRecord);
}

TEST_F(RpcCursors, ClientCursorHelpersWalkBackwardOnATree) {
  auto c = Rpc("1");
  Cursor cur(c.get());
  ASSERT_TRUE(cur.JumpBack().ok());
  std::vector<std::string> keys;
  for (;;) {
    client::RecordResult r = cur.GetKey();
    if (!r.ok()) break;
    keys.push_back(r.key);
    if (!cur.StepBack().ok()) break;
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_TRUE(cur.Delete().ok());
}

}  // namespace
}  // namespace ryoan::testing
