// The module's constants and utility functions (spec/lua.md 3, 4), through real Lua code.
#include "tests/unit/scripting/script_test_util.h"

namespace ryoan::scripting {
namespace {

using Strings = std::vector<std::string>;

class UtilityTest : public ScriptFixture {
 protected:
  void SetUp() override {
    ScriptFixture::SetUp();
    ASSERT_TRUE(Start());
  }
};

TEST_F(UtilityTest, Constants) {
  EXPECT_EQ(EvalAll("return kt.RVSUCCESS, kt.RVENOIMPL, kt.RVEINVALID, kt.RVELOGIC, "
                    "kt.RVEINTERNAL, kt.VERSION, kt.thid, kt.NOP, type(kt.__serv__)"),
            (Strings{"number:0", "number:1", "number:2", "number:3", "number:5", "0.9.56",
                     "number:0", "nil:nil", "userdata"}));
  EXPECT_EQ(EvalAll("return #kt.dbs, kt.db == kt.dbs[1], kt.dbs['%'] == kt.dbs[1], "
                    "kt.dbs['*'] == kt.dbs[2], kt.db:path()"),
            (Strings{"number:2", "boolean:true", "boolean:true", "boolean:true", "%"}));
  EXPECT_EQ(EvalAll("local E = kt.Error return E.SUCCESS, E.NOIMPL, E.INVALID, E.NOREPOS, "
                    "E.NOPERM, E.BROKEN, E.DUPREC, E.NOREC, E.LOGIC, E.SYSTEM, E.MISC"),
            (Strings{"number:0", "number:1", "number:2", "number:3", "number:4", "number:5",
                     "number:6", "number:7", "number:8", "number:9", "number:15"}));
  EXPECT_EQ(EvalAll("return type(jit.version), (jit.status())"),
            (Strings{"string", "boolean:false"}));
}

TEST_F(UtilityTest, TimeAndSleep) {
  EXPECT_EQ(Eval("local t = kt.time() return t > 1.7e9 and t < 5e9"), "boolean:true");
  EXPECT_EQ(Eval("local t = kt.time() kt.sleep(0.05) return kt.time() - t >= 0.04"),
            "boolean:true");
  EXPECT_EQ(Eval("kt.sleep() kt.sleep(-1) return 1"), "number:1");
  EXPECT_EQ(Eval("kt.time(1)"), "ERROR 5");
  EXPECT_EQ(Eval("kt.sleep(1, 2)"), "ERROR 5");
}

TEST_F(UtilityTest, NumberParsing) {
  EXPECT_EQ(EvalAll("return kt.atoi('  -12x'), kt.atoi(''), kt.atoi(7.9), kt.atoi({})"),
            (Strings{"number:-12", "number:0", "number:7"}));
  EXPECT_EQ(EvalAll("return kt.atoix('1.5k'), string.format('%.0f', kt.atoix('1e3')), "
                    "kt.atoix('2M'), kt.atoix('x')"),
            (Strings{"number:1536", "1152921504606846976", "number:2097152", "number:0"}));
  EXPECT_EQ(EvalAll("return kt.atof('1.25e2'), kt.atof('-inf'), kt.atof('abc')"),
            (Strings{"number:125", "number:-inf", "number:0"}));
}

TEST_F(UtilityTest, Hashes) {
  auto f = [](const char* e) { return std::string("return string.format('%.0f', ") + e + ")"; };
  EXPECT_EQ(Eval(f("kt.hash_murmur('')")), "33346480082061");
  EXPECT_EQ(Eval(f("kt.hash_murmur('hello')")), "254910939360214");
  EXPECT_EQ(Eval(f("kt.hash_murmur('abcdefghijklmnopqrstuvwxyz')")), "261920343064416");
  EXPECT_EQ(Eval(f("kt.hash_fnv('')")), "172505283306277");
  EXPECT_EQ(Eval(f("kt.hash_fnv('hello')")), "117791150636571");
}

TEST_F(UtilityTest, LevdistAndBit) {
  EXPECT_EQ(EvalAll("return kt.levdist('kitten', 'sitting'), kt.levdist('', 'abc'), "
                    "kt.levdist('\\xe3\\x81\\x82', '\\xe3\\x81\\x84'), "
                    "kt.levdist('\\xe3\\x81\\x82', '\\xe3\\x81\\x84', true)"),
            (Strings{"number:3", "number:3", "number:1", "number:1"}));
  EXPECT_EQ(Eval("return kt.levdist('\\xe3\\x81\\x82x', 'x', true)"), "number:1");
  EXPECT_EQ(EvalAll("return kt.bit('and', 12, 10), kt.bit('OR', 12, 10), kt.bit('xor', 12, 10), "
                    "kt.bit('not', 0), kt.bit('left', 1, 33), kt.bit('right', 256, 4), "
                    "kt.bit('what', 5, 1), kt.bit('and', -1, 255)"),
            (Strings{"number:8", "number:14", "number:6", "number:4294967295", "number:2",
                     "number:16", "number:5", "number:255"}));
}

TEST_F(UtilityTest, Strings) {
  EXPECT_EQ(Eval("return table.concat(kt.split('a,b,,c', ','), '|')"), "a|b||c");
  EXPECT_EQ(Eval("return #kt.split('', ',')"), "number:1");
  EXPECT_EQ(Eval("return table.concat(kt.split('a\\0b'), '|')"), "a|b");
  EXPECT_EQ(Eval("return table.concat(kt.split('a;b c', '; '), '|')"), "a|b|c");
  EXPECT_EQ(
      EvalAll("return kt.strstr('hello', 'll'), kt.strstr('hello', 'x'), "
              "kt.strstr('hello', ''), kt.strstr('a-b-c', '-', '+'), kt.strstr('ab', '', 'x')"),
      (Strings{"number:3", "number:0", "number:1", "a+b+c", "ab"}));
  EXPECT_EQ(EvalAll("return kt.strfwm('hello', 'he'), kt.strfwm('hello', 'lo'), "
                    "kt.strbwm('hello', 'lo'), kt.strbwm('lo', 'hello')"),
            (Strings{"boolean:true", "boolean:false", "boolean:true", "boolean:false"}));
  EXPECT_EQ(EvalAll("return kt.regex('hello world', 'o w'), kt.regex('hello', '^x'), "
                    "kt.regex('abc', '('), kt.regex('hello world', 'o', '[$&]'), "
                    "kt.regex('john smith', '([a-z]+) ([a-z]+)', '$2 $1 $$ $x'), "
                    "kt.regex('abc', '(', 'x'), kt.regex('abc', 'x*', '-')"),
            (Strings{"boolean:true", "boolean:false", "boolean:false", "hell[o] w[o]rld",
                     "smith john $ x", "abc", "-abc"}));
}

TEST_F(UtilityTest, Codec) {
  EXPECT_EQ(
      EvalAll("return kt.codec('url', 'a b/~'), kt.codec('~url', 'a%2fb+c'), "
              "kt.codec('BASE', 'hello'), kt.codec('~base', 'aGVsbG8='), "
              "kt.codec('quote', 'a=\\n'), kt.codec('~quote', 'a=3D'), "
              "kt.codec('hex', '\\1\\171'), kt.codec('~hex', '01 ab'), kt.codec('nope', 'x')"),
      (Strings{"a%20b%2f~", "a/b c", "aGVsbG8=", "hello", "a=3D=0A", "a=", "01ab", "\x01\xab",
               "nil:nil"}));
  EXPECT_EQ(EvalAll("local s = string.rep('abc', 100) "
                    "return kt.codec('~zlib', kt.codec('zlib', s)) == s, "
                    "kt.codec('~deflate', kt.codec('deflate', s)) == s, "
                    "kt.codec('~gzip', kt.codec('gzip', s)) == s, "
                    "kt.codec('gzip', s):byte(1), kt.codec('deflate', s):byte(1), "
                    "kt.codec('~zlib', 'garbage')"),
            (Strings{"boolean:true", "boolean:true", "boolean:true", "number:31", "number:120",
                     "nil:nil"}));
}

TEST_F(UtilityTest, ArrayAndMapSerialization) {
  EXPECT_EQ(Eval("return kt.arraydump({'x', 1, 2.5, true, 'yz'})"), std::string("\x01x\x01"
                                                                                "1\x08"
                                                                                "2.500000\x02yz",
                                                                                16));
  EXPECT_EQ(Eval("return table.concat(kt.arrayload(kt.arraydump({'a', '', 'b'})), '|')"), "a||b");
  EXPECT_EQ(Eval("return #kt.arraydump({string.rep('x', 200)})"), "number:202");
  EXPECT_EQ(Eval("return kt.arraydump({string.rep('x', 200)}):sub(1, 2)"), "\x81\x48");
  EXPECT_EQ(Eval("return #kt.arrayload('\\128')"), "number:0");      // KT loops forever
  EXPECT_EQ(Eval("return #kt.arrayload('\\1a\\5ab')"), "number:1");  // truncated element
  EXPECT_EQ(Eval("return kt.mapdump({a = 'bc'})"), std::string("\x01\x02"
                                                               "abc",
                                                               5));
  EXPECT_EQ(Eval("local m = kt.mapload(kt.mapdump({a = 'bc', [3] = 4.5, t = {}})) "
                 "return m.a .. '|' .. m['3'] .. '|' .. tostring(m.t)"),
            "bc|4.500000|nil");
  EXPECT_EQ(Eval("local n = 0 for k in pairs(kt.mapload('\\255\\255')) do n = n + 1 end return n"),
            "number:0");
  EXPECT_EQ(Eval("kt.mapdump('x')"), "ERROR 5");
}

TEST_F(UtilityTest, PackAndUnpack) {
  EXPECT_EQ(Eval("return kt.pack('ciw*', {-1, 258}, 300, 16384)"),
            std::string("\xff\x02\x01\x00\x00\x82\x2c\x81\x80\x00", 10));
  EXPECT_EQ(Eval("return kt.pack('nNM', 1, 2, 3)"),
            std::string("\x00\x01\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x03", 14));
  EXPECT_EQ(Eval("return #kt.pack('d2f', 1.5, 2, 3)"), "number:20");
  EXPECT_EQ(Eval("return kt.pack('c3', 65, 66)"), "AB");  // stops when the elements run out
  EXPECT_EQ(Eval("return kt.pack('xc', 1, 66)"), "B");    // unknown letters consume one
  EXPECT_EQ(
      Eval("return table.concat(kt.unpack('ciw*', kt.pack('ciw*', -1, 258, 300, 16384)), ',')"),
      "-1,258,300,16384");
  EXPECT_EQ(Eval("return table.concat(kt.unpack('CsSnNM', kt.pack('CsSnNM', 255, -2, 65535, 1, 2, "
                 "3)), ',')"),
            "255,-2,65535,1,2,3");
  EXPECT_EQ(Eval("return table.concat(kt.unpack('dfI', kt.pack('dfI', 1.5, 0.25, 7)), ',')"),
            "1.5,0.25,7");
  EXPECT_EQ(Eval("return #kt.unpack('i*', 'abcdefg')"), "number:1");  // capped by the bytes
}

}  // namespace
}  // namespace ryoan::scripting

namespace ryoan::scripting {
namespace {

// Error objects (spec/lua.md 6).
TEST_F(UtilityTest, ErrorObjects) {
  EXPECT_EQ(EvalAll("local e = kt.Error:new(7, 'gone') return e:code(), e:name(), e:message(), "
                    "tostring(e)"),
            (Strings{"number:7", "no record", "gone", "no record: gone"}));
  EXPECT_EQ(EvalAll("local e = kt.Error:new() local f = kt.Error:new('7', 'x') "
                    "return e:code(), e:message(), f:code(), f:message()"),
            (Strings{"number:0", "error", "number:0", "error"}));
  EXPECT_EQ(EvalAll("local e = kt.Error:new() local r = e:set(8, 'conflict') "
                    "local a = e:code() .. ' ' .. e:message() e:set('x', 'y') e:set(9, {}) "
                    "return r, a, e:code(), e:message(), (pcall(e.set, e, 1))"),
            (Strings{"nil:nil", "8 conflict", "number:8", "conflict", "boolean:false"}));
  EXPECT_EQ(Eval("local names = {} for code = 0, 16 do "
                 "names[#names + 1] = kt.Error:new(code, ''):name() end "
                 "return table.concat(names, ',')"),
            "success,not implemented,invalid operation,no repository,no permission,broken file,"
            "record duplication,no record,logical inconsistency,system error,miscellaneous error,"
            "miscellaneous error,miscellaneous error,miscellaneous error,miscellaneous error,"
            "miscellaneous error,miscellaneous error");
}

}  // namespace
}  // namespace ryoan::scripting
