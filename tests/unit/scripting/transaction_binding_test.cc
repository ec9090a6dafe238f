// DB:begin_transaction, end_transaction, transaction and occupy (spec/lua.md 8), and the
// abort of a transaction a procedure leaves open (spec/databases.md 5.4).
#include <atomic>
#include <chrono>
#include <thread>

#include "tests/unit/scripting/script_test_util.h"

namespace ryoan::scripting {
namespace {

using Strings = std::vector<std::string>;

class TransactionBindingTest : public ScriptFixture {
 protected:
  void SetUp() override {
    ScriptFixture::SetUp();
    ASSERT_TRUE(Start());
    ASSERT_TRUE(db(0)->Set("a", "1").ok());
  }
  std::string Stored(const std::string& key) {
    std::string value;
    return db(0)->Get(key, &value, nullptr).ok() ? value : "(absent)";
  }
};

TEST_F(TransactionBindingTest, BeginAndEnd) {
  EXPECT_EQ(
      EvalAll("local db = kt.db return db:begin_transaction(), db:set('a', '2'), "
              "db:set('b', 'x'), db:end_transaction(false), db:get('a'), db:get('b')"),
      (Strings{"boolean:true", "boolean:true", "boolean:true", "boolean:true", "1", "nil:nil"}));
  EXPECT_EQ(EvalAll("local db = kt.db return db:begin_transaction(true), db:set('a', '3'), "
                    "db:end_transaction(), (db:get('a'))"),
            (Strings{"boolean:true", "boolean:true", "boolean:true", "3"}));
  EXPECT_EQ(EvalAll("local db = kt.db return db:end_transaction(), db:error():code(), "
                    "db:error():message()"),
            (Strings{"boolean:false", "number:2", "not in transaction"}));
}

TEST_F(TransactionBindingTest, TransactionFunction) {
  EXPECT_EQ(EvalAll("return kt.db:transaction(function() kt.db:set('a', 'commit') return true "
                    "end), (kt.db:get('a'))"),
            (Strings{"boolean:true", "commit"}));
  EXPECT_EQ(EvalAll("return kt.db:transaction(function() kt.db:set('a', 'abort') return false "
                    "end), (kt.db:get('a'))"),
            (Strings{"boolean:true", "commit"}));
  // An error aborts and is re-raised.
  EXPECT_EQ(Eval("return kt.db:transaction(function() kt.db:set('a', 'err') error('boom') end)"),
            "ERROR 5");
  EXPECT_EQ(Stored("a"), "commit");
  EXPECT_EQ(Eval("local ok, msg = pcall(kt.db.transaction, kt.db, function() error('boom') end) "
                 "return tostring(msg):match('boom') ~= nil"),
            "boolean:true");
  EXPECT_EQ(Eval("return kt.db:transaction('not a function')"), "ERROR 5");
  // Nothing is left open: a new transaction begins at once.
  EXPECT_TRUE(db(0)->BeginTransaction(false).ok());
  EXPECT_TRUE(db(0)->EndTransaction(true).ok());
}

TEST_F(TransactionBindingTest, OpenTransactionAbortedWhenProcedureReturns) {
  EXPECT_EQ(Eval("kt.db:begin_transaction() kt.db:set('a', 'left open') return true"),
            "boolean:true");
  EXPECT_EQ(Stored("a"), "1");
  EXPECT_EQ(db(0)->EndTransaction(true).code(), storage::Code::kInvalid);
  // Also when the procedure fails between begin and end.
  EXPECT_EQ(Eval("kt.dbs[2]:begin_transaction() kt.dbs[2]:set('z', '1') error('fail')"), "ERROR 5");
  std::string value;
  EXPECT_EQ(db(1)->Get("z", &value, nullptr).code(), storage::Code::kNoRec);
  EXPECT_TRUE(db(1)->BeginTransaction(false).ok());
  EXPECT_TRUE(db(1)->EndTransaction(false).ok());
}

TEST_F(TransactionBindingTest, OccupyHoldsTheDatabase) {
  EXPECT_EQ(Eval("return kt.db:occupy(true, function(path, count, size) "
                 "return path == '%' and count == 1 and kt.db:set('own', 'x') end)"),
            "boolean:true");
  EXPECT_EQ(Stored("own"), "x");
  EXPECT_EQ(Eval("return kt.db:occupy(false, function() return false end)"), "boolean:false");
  EXPECT_EQ(Eval("return kt.db:occupy(false, function() error('inner') end)"), "ERROR 5");
  // Released after the error: writes from other threads go through.
  std::atomic<bool> done{false};
  std::thread writer([&] {
    EXPECT_TRUE(db(0)->Set("after", "y").ok());
    done.store(true);
  });
  writer.join();
  EXPECT_TRUE(done.load());
}

}  // namespace
}  // namespace ryoan::scripting
