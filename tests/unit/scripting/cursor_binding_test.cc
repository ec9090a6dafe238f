// The Cursor class (spec/lua.md 9) on the ordered kt.db and the unordered kt.dbs[2].
#include "tests/unit/scripting/script_test_util.h"

namespace ryoan::scripting {
namespace {

using Strings = std::vector<std::string>;

class CursorBindingTest : public ScriptFixture {
 protected:
  void SetUp() override {
    ScriptFixture::SetUp();
    ASSERT_TRUE(Start());
    for (const char* k : {"a", "b", "c"}) {
      db(0)->Set(k, std::string("v") + k);
      db(1)->Set(k, std::string("v") + k);
    }
  }
};

TEST_F(CursorBindingTest, WalkForwardAndBack) {
  EXPECT_EQ(EvalAll("local c = kt.db:cursor() local r = {tostring(c), c:jump()} "
                    "r[#r + 1] = tostring(c) "
                    "r[#r + 1] = c:get_key() r[#r + 1] = c:get_value(true) r[#r + 1] = c:get_key() "
                    "r[#r + 1] = c:jump_back('bb') r[#r + 1] = c:get_key() "
                    "r[#r + 1] = c:step_back() r[#r + 1] = c:get_key() "
                    "r[#r + 1] = c:step_back() r[#r + 1] = tostring(c:get_key()) "
                    "c:disable() r[#r + 1] = tostring(c) "
                    "r[#r + 1] = pcall(c.jump, c) return unpack(r)"),
            (Strings{"%: (nil)", "boolean:true", "%: a", "a", "va", "b", "boolean:true", "b",
                     "boolean:true", "a", "boolean:false", "nil", "(disabled)", "boolean:false"}));
  EXPECT_EQ(EvalAll("local c = kt.db:cursor() c:jump('bb') local k, v, xt = c:get(true) "
                    "local k2 = c:get() return k, v, xt, k2, c:step(), c:get_key()"),
            (Strings{"c", "vc", "number:1099511627775", "nil:nil", "boolean:false", "nil:nil"}));
  EXPECT_EQ(Eval("local c = kt.db:cursor() return pcall(c.jump, c, nil)"), "boolean:false");
  EXPECT_EQ(EvalAll("local c = kt.db:cursor() return c:jump_back(), c:get_key(), c:db() == kt.db"),
            (Strings{"boolean:true", "c", "boolean:true"}));
}

TEST_F(CursorBindingTest, HashCursorCannotGoBack) {
  EXPECT_EQ(EvalAll("local c = kt.dbs[2]:cursor() return c:jump('b'), c:get_key(), "
                    "c:jump('zz'), c:error():code(), c:jump_back(), c:error():code(), "
                    "c:jump(), c:step_back(), c:error():code()"),
            (Strings{"boolean:true", "b", "boolean:false", "number:7", "boolean:false", "number:1",
                     "boolean:true", "boolean:false", "number:1"}));
}

TEST_F(CursorBindingTest, ModifyThroughTheCursor) {
  EXPECT_EQ(EvalAll("local c = kt.db:cursor() c:jump('a') "
                    "return c:set_value('new', nil, true), c:get_key(), c:remove(), c:get_key(), "
                    "c:seize()"),
            (Strings{"boolean:true", "b", "boolean:true", "c", "c", "vc", "number:1099511627775"}));
  EXPECT_EQ(Eval("return kt.db:get('a')"), "new");
  EXPECT_EQ(Eval("return kt.db:count()"), "number:1");
  EXPECT_EQ(Eval("local c = kt.db:cursor() c:jump() "
                 "c:accept(function(k, v) return v .. '!' end, true, true) return kt.db:get('a')"),
            "new!");
  EXPECT_EQ(Eval("local c = kt.db:cursor() c:jump() return pcall(c.set_value, c, '')"),
            "boolean:true");  // accepted (KT raises); never a crash
}

TEST_F(CursorBindingTest, PairsAndProcess) {
  EXPECT_EQ(Eval("local r = {} for k, v in kt.db:pairs() do r[#r + 1] = k .. '=' .. v end "
                 "return table.concat(r, ' ')"),
            "a=va b=vb c=vc");
  EXPECT_EQ(EvalAll("local saved kt.db:cursor_process(function(c) saved = c c:jump() end) "
                    "return tostring(saved), (pcall(kt.db.cursor_process, kt.db, "
                    "function(c) error('inner') end))"),
            (Strings{"(disabled)", "boolean:false"}));
  EXPECT_EQ(Eval("local c = kt.Cursor:new(kt.db) c:jump('b') return c:get_key()"), "b");
}

}  // namespace
}  // namespace ryoan::scripting
