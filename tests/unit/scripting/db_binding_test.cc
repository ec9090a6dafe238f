// The DB class (spec/lua.md 5, 7, 8) on kt.db ("%" cache tree) and kt.dbs[2] ("*" cache hash).
#include "tests/unit/scripting/script_test_util.h"

namespace ryoan::scripting {
namespace {

using Strings = std::vector<std::string>;

class DbBindingTest : public ScriptFixture {
 protected:
  void SetUp() override {
    ScriptFixture::SetUp();
    ASSERT_TRUE(Start());
  }
  std::string Stored(const std::string& key, size_t index = 0) {
    std::string value;
    int64_t xt = 0;
    return db(index)->Get(key, &value, &xt).ok() ? value : "(absent)";
  }
  int64_t StoredXt(const std::string& key) {
    std::string value;
    int64_t xt = 0;
    db(0)->Get(key, &value, &xt);
    return xt;
  }
};

TEST_F(DbBindingTest, SingleRecordOperations) {
  EXPECT_EQ(EvalAll("local db = kt.db return db:set('a', '1'), db:set('n', 1.5), db:get('a')"),
            (Strings{"boolean:true", "boolean:true", "1", "number:1099511627775"}));
  EXPECT_EQ(Stored("n"), "1.5");
  EXPECT_EQ(EvalAll("local db = kt.db return db:add('a', 'x'), db:error():code(), "
                    "db:error():name(), db:error():message(), tostring(db:error())"),
            (Strings{"boolean:false", "number:6", "record duplication", "record duplication",
                     "record duplication: record duplication"}));
  EXPECT_EQ(EvalAll("local db = kt.db return db:replace('zz', 'x'), db:error():code(), "
                    "db:replace('a', '2'), db:append('a', '3'), db:append('b', 'x'), "
                    "db:check('a'), db:check('zz'), db:remove('zz'), db:remove('b')"),
            (Strings{"boolean:false", "number:7", "boolean:true", "boolean:true", "boolean:true",
                     "number:2", "number:-1", "boolean:false", "boolean:true"}));
  EXPECT_EQ(Stored("a"), "23");
  EXPECT_EQ(EvalAll("return kt.db:seize('a')"), (Strings{"23", "number:1099511627775"}));
  EXPECT_EQ(EvalAll("return kt.db:seize('a')"), (Strings{"nil:nil"}));
  EXPECT_EQ(Eval("return kt.db:get('a', 'b')"), "ERROR 5");  // exactly one argument
  EXPECT_EQ(Eval("return kt.db:set({}, 'x')"), "ERROR 5");   // bad argument type
}

TEST_F(DbBindingTest, ExpirationArguments) {
  int64_t now = db(0)->Now();
  EXPECT_EQ(Eval("return kt.db:set('t', 'v', 100)"), "boolean:true");
  EXPECT_NEAR(static_cast<double>(StoredXt("t")), static_cast<double>(now + 100), 2);
  EXPECT_EQ(Eval("return kt.db:set('t', 'v', -2000000000)"), "boolean:true");
  EXPECT_EQ(StoredXt("t"), 2000000000);
  EXPECT_EQ(Eval("return kt.db:set('t', 'v')"), "boolean:true");  // clears the TTL
  EXPECT_EQ(StoredXt("t"), storage::kXtMax);
}

TEST_F(DbBindingTest, CountersAndCas) {
  EXPECT_EQ(EvalAll("local db = kt.db return db:increment('i', 5), db:increment('i', 2.9), "
                    "db:increment('none', 1, -math.huge), db:error():code(), "
                    "db:increment('i', 7, math.huge)"),
            (Strings{"number:5", "number:7", "nil:nil", "number:8", "number:7"}));
  EXPECT_EQ(EvalAll("local db = kt.db return db:increment_double('d', 1), "
                    "db:increment_double('d', 0.5), db:set('s', 'abc'), db:increment('s', 1), "
                    "db:error():code()"),
            (Strings{"number:1", "number:1.5", "boolean:true", "nil:nil", "number:8"}));
  EXPECT_EQ(
      EvalAll("local db = kt.db return db:cas('c', nil, 'x'), db:cas('c', 'y', 'z'), "
              "db:error():message(), db:cas('c', 'x', nil), db:check('c')"),
      (Strings{"boolean:true", "boolean:false", "status conflict", "boolean:true", "number:-1"}));
  EXPECT_EQ(Eval("return kt.db:cas('c', nil)"), "ERROR 5");
}

TEST_F(DbBindingTest, BulkOperations) {
  EXPECT_EQ(Eval("return kt.db:set_bulk({a = '1', b = 2, c = 2.5, d = true, [7] = 'x'})"),
            "number:4");
  EXPECT_EQ(Stored("b"), "2");
  EXPECT_EQ(Stored("c"), "2.500000");
  EXPECT_EQ(Stored("7"), "x");
  EXPECT_EQ(Stored("d"), "(absent)");
  EXPECT_EQ(Eval("local t = kt.db:get_bulk({'a', 'b', 'zz', {}}) "
                 "local n = 0 for k in pairs(t) do n = n + 1 end return n, t.a, t.b"),
            "number:2");
  EXPECT_EQ(EvalAll("return kt.db:remove_bulk({'a', 'zz', 'b'}), kt.db:count(), "
                    "kt.db:size() > 0"),
            (Strings{"number:2", "number:2", "boolean:true"}));
}

TEST_F(DbBindingTest, FunctionVisitors) {
  EXPECT_EQ(
      Eval("local seen = {} "
           "kt.db:accept('k', function(k, v) seen[#seen + 1] = k .. '=' .. tostring(v) "
           "  return 'new' end) "
           "kt.db:accept('k', function(k, v, xt) seen[#seen + 1] = k .. '=' .. v .. '@' .. xt "
           "  return v .. '2', 100 end) "
           "return table.concat(seen, ' ')"),
      "k=nil k=new@1099511627775");
  EXPECT_EQ(Stored("k"), "new2");
  EXPECT_NEAR(static_cast<double>(StoredXt("k")), static_cast<double>(db(0)->Now() + 100), 2);
  // Returning the xt given treats it as relative: pushed far into the future, and clamped to
  // XTMAX when it was XTMAX.
  int64_t old_xt = StoredXt("k");
  EXPECT_EQ(Eval("return kt.db:accept('k', function(k, v, xt) return v, xt end)"), "boolean:true");
  EXPECT_NEAR(static_cast<double>(StoredXt("k")), static_cast<double>(db(0)->Now() + old_xt), 2);
  EXPECT_EQ(Eval("kt.db:set('k', 'v') "
                 "return kt.db:accept('k', function(k, v, xt) return 'new2', xt end)"),
            "boolean:true");
  EXPECT_EQ(StoredXt("k"), storage::kXtMax);
  EXPECT_EQ(Eval("return kt.db:accept('k', function(k, v, xt) return 1.5, -2000000000 end)"),
            "boolean:true");
  EXPECT_EQ(Stored("k"), "1.5");
  EXPECT_EQ(StoredXt("k"), 2000000000);
  EXPECT_EQ(Eval("kt.db:accept('k', function() return kt.Visitor.NOP end) return kt.db:get('k')"),
            "1.5");
  EXPECT_EQ(Eval("kt.db:accept('k', function() return 'ro' end, false) return kt.db:get('k')"),
            "1.5");  // read-only visits ignore the return
  EXPECT_EQ(Eval("kt.db:accept('k', function() error('x') end) return kt.db:get('k')"), "1.5");
  EXPECT_EQ(Eval("return kt.db:accept('k', function() return kt.Visitor.REMOVE end)"),
            "boolean:true");
  EXPECT_EQ(Stored("k"), "(absent)");
  EXPECT_EQ(
      Eval("kt.db:accept('k', function() return kt.Visitor.REMOVE end) return kt.db:check('k')"),
      "number:-1");  // REMOVE on an absent record is a no-op
  // Using the visited database inside the visitor raises (swallowed), instead of deadlocking.
  EXPECT_EQ(Eval("local r kt.db:accept('k', function() r = pcall(kt.db.get, kt.db, 'x') end) "
                 "return r"),
            "boolean:false");
  EXPECT_EQ(Eval("local r kt.db:accept('k', function() r = kt.dbs[2]:set('o', 'x') end) return r"),
            "boolean:true");
}

TEST_F(DbBindingTest, TableVisitorsBulkAndIterate) {
  db(0)->Set("a", "1");
  db(0)->Set("b", "2");
  EXPECT_EQ(Eval("local log = {} local v = kt.Visitor:new() "
                 "function v:visit_before() log[#log + 1] = 'before' end "
                 "function v:visit_after() log[#log + 1] = 'after' end "
                 "function v:visit_full(k, val) log[#log + 1] = k .. val return val .. '!' end "
                 "function v:visit_empty(k) log[#log + 1] = k .. '?' return 'made' end "
                 "kt.db:accept_bulk({'b', 'x', 'b', 5}, v) return table.concat(log, ' ')"),
            "before b2 x? b2! 5? after");
  EXPECT_EQ(Stored("b"), "2!!");
  EXPECT_EQ(Stored("x"), "made");
  EXPECT_EQ(Stored("5"), "made");
  EXPECT_EQ(Eval("local keys = {} kt.db:iterate(function(k, v) keys[#keys + 1] = k end, false) "
                 "return table.concat(keys, ',')"),
            "5,a,b,x");
  EXPECT_EQ(Eval("kt.db:iterate(function(k, v) if k == 'a' then return kt.Visitor.REMOVE end "
                 "return v .. '+' end) return kt.db:count()"),
            "number:3");
  EXPECT_EQ(Stored("x"), "made+");
  EXPECT_EQ(Eval("local v = kt.Visitor:new() return v:visit_full('a', 'b'), v:visit_empty('a')"),
            "nil:nil");
}

TEST_F(DbBindingTest, MatchAndStatus) {
  for (const char* k : {"apple", "apricot", "banana", "band"}) db(0)->Set(k, "v");
  EXPECT_EQ(Eval("return table.concat(kt.db:match_prefix('ap'), ',')"), "apple,apricot");
  EXPECT_EQ(Eval("return #kt.db:match_prefix('ap', 1)"), "number:1");
  EXPECT_EQ(Eval("return #kt.db:match_prefix('ap', nil)"), "number:0");
  EXPECT_EQ(Eval("return table.concat(kt.db:match_regex('^ban'), ',')"), "banana,band");
  EXPECT_EQ(Eval("return kt.db:match_regex('(')"), "nil:nil");
  EXPECT_EQ(Eval("return table.concat(kt.db:match_similar('bend', 1), ',')"), "band");
  EXPECT_EQ(Eval("return #kt.db:match_similar('bend')"), "number:4");  // no range: every key
  EXPECT_EQ(EvalAll("local s = kt.db:status() return s.count, s.path, kt.db:path()"),
            (Strings{"4", "%", "%"}));
  EXPECT_EQ(Eval("return tostring(kt.db):match('^%%: 4: %d+$') ~= nil"), "boolean:true");
}

TEST_F(DbBindingTest, IndexSyntaxAndClear) {
  EXPECT_EQ(Eval("kt.db.fruit = 'apple' return kt.db.fruit"), "apple");
  EXPECT_EQ(Eval("kt.db.fruit = nil return kt.db.fruit"), "nil:nil");
  EXPECT_EQ(Eval("return kt.db.no_such_method"), "nil:nil");
  db(0)->Set("a", "1");
  EXPECT_EQ(EvalAll("return kt.db:clear(), kt.db:count()"), (Strings{"boolean:true", "number:0"}));
}

TEST_F(DbBindingTest, OwnDatabasesAndUnsupported) {
  EXPECT_EQ(EvalAll("local d = kt.DB:new() local r1 = d:set('a', 'b') "
                    "local r2 = d:open('*') local r3 = d:set('a', 'b') "
                    "return r1, r2, r3, d:get('a'), d:open(), d:close(), d:close()"),
            (Strings{"boolean:false", "boolean:true", "boolean:true", "b", "boolean:false",
                     "boolean:true", "boolean:false"}));
  EXPECT_EQ(EvalAll("return kt.db:close(), kt.db:error():code(), kt.db:open(':')"),
            (Strings{"boolean:false", "number:2", "boolean:false"}));
  EXPECT_EQ(EvalAll("local got return kt.DB:process(function(d) d:set('x', 'y') got = d:get('x') "
                    "end, '%'), got"),
            (Strings{"nil:nil", "y"}));
  EXPECT_EQ(Eval("return tostring(kt.DB:process(function() end, 'bad.type'))"),
            "invalid operation: unknown database type");
  EXPECT_EQ(EvalAll("local p = kt.DB:new_ptr() local a = kt.DB:new(p) a:open('%') "
                    "local b = kt.DB:new(p) b:set('k', 'shared') local v = a:get('k') "
                    "a:close() kt.DB:delete_ptr(p) return v"),
            (Strings{"shared"}));
}

TEST_F(DbBindingTest, SynchronizeOccupyMerge) {
  db(0)->Set("a", "1");
  EXPECT_EQ(Eval("local got return kt.db:synchronize(false, function(p, c, s) got = p .. ':' .. c "
                 "return true end) and got"),
            "%:1");
  EXPECT_EQ(Eval("local fp = kt.FileProcessor:new() return kt.db:synchronize(true, fp)"),
            "boolean:true");
  EXPECT_EQ(Eval("return kt.db:occupy(false, function() return false end)"), "boolean:false");
  db(1)->Set("a", "other");
  db(1)->Set("m", "merged", 100);
  EXPECT_EQ(Eval("return kt.db:merge({kt.dbs[2]}, kt.DB.MADD)"), "boolean:true");
  EXPECT_EQ(Stored("a"), "1");
  EXPECT_EQ(Stored("m"), "merged");
  EXPECT_NEAR(static_cast<double>(StoredXt("m")), static_cast<double>(db(0)->Now() + 100), 2);
  EXPECT_EQ(Eval("return kt.db:merge({kt.dbs[2]}, kt.DB.MAPPEND)"), "boolean:true");
  EXPECT_EQ(Stored("a"), "1other");
}

TEST_F(DbBindingTest, MapReduce) {
  for (const char* k : {"a1", "a2", "b1"}) db(0)->Set(k, k);
  EXPECT_EQ(Eval("local out = {} "
                 "local function map(k, v, emit) return emit(k:sub(1, 1), v) end "
                 "local function reduce(k, iter) local vs = {} "
                 "  for v in iter do vs[#vs + 1] = v end "
                 "  out[#out + 1] = k .. '=' .. table.concat(vs, '+') return true end "
                 "local ok = kt.db:mapreduce(map, reduce) return ok and table.concat(out, ' ')"),
            "a=a1+a2 b=b1");
  EXPECT_EQ(Eval("return kt.db:mapreduce(function() return false end, function() return true end)"),
            "boolean:false");
  EXPECT_EQ(EvalAll("return kt.db:mapreduce(function() return true end, function() return true "
                    "end, '/no/such/dir'), kt.db:error():code()"),
            (Strings{"boolean:false", "number:3"}));
}

}  // namespace
}  // namespace ryoan::scripting
