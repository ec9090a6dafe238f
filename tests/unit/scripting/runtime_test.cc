// ScriptRuntime: loading, calling, return codes, outmap conversion, errors, limits, reload.
#include <chrono>
#include <thread>

#include "tests/unit/scripting/script_test_util.h"

namespace ryoan::scripting {
namespace {

using Map = std::map<std::string, std::string>;

TEST_F(ScriptFixture, LoadsAndRunsInEveryState) {
  ASSERT_TRUE(Start(kProcedures, {}, 3));
  Map out;
  EXPECT_EQ(Call("count", {}, &out), kRvSuccess);
  EXPECT_EQ(out["calls"], "1");
  EXPECT_EQ(out["loads"], "1");  // globals are per state: each state ran the script once
  EXPECT_EQ(out["thid"], "0");
  EXPECT_EQ(Call("count", {}, &out), kRvSuccess);
  EXPECT_EQ(out["calls"], "2");  // a quiet runtime lends the same state again
}

TEST_F(ScriptFixture, InputsAreBinarySafe) {
  ASSERT_TRUE(Start());
  Map out;
  std::string binary("a\0b", 3);
  EXPECT_EQ(Call("echo", {{"k", binary}, {"", "empty"}}, &out), kRvSuccess);
  EXPECT_EQ(out, (Map{{"k", binary}, {"", "empty"}}));
}

TEST_F(ScriptFixture, ReturnValueToCode) {
  ASSERT_TRUE(Start());
  Map out;
  auto code = [&](const std::string& rv, const std::string& num = "") {
    return Call("ret", {{"rv", rv}, {"num", num}}, &out);
  };
  EXPECT_EQ(code("nil"), 0);
  EXPECT_EQ(out["touched"], "yes");
  EXPECT_EQ(code("true"), 0);
  EXPECT_EQ(code("table"), 0);
  EXPECT_EQ(code("abc"), 0);
  EXPECT_EQ(code("3"), 3);  // a numeric string
  EXPECT_EQ(code("number", "2.7"), 2);
  EXPECT_EQ(code("number", "-1.9"), -1);
  EXPECT_EQ(code("number", "99"), 99);
  EXPECT_EQ(out.size(), 0u);  // outmap only on success
  EXPECT_EQ(code("number", "0"), 0);
  EXPECT_EQ(out["touched"], "yes");
  EXPECT_EQ(Call("no_such_procedure", {}, &out), kRvNoImpl);
  EXPECT_EQ(Call("kt", {}, &out), kRvNoImpl);  // a global that is not a function
}

TEST_F(ScriptFixture, OutmapConversion) {
  ASSERT_TRUE(Start());
  Map out;
  ASSERT_EQ(Call("types", {}, &out), kRvSuccess);
  EXPECT_EQ(out, (Map{{"0", "zero"},
                      {"int", "7"},
                      {"big", "1000"},
                      {"frac", "2.500000"},
                      {"yes", "true"},
                      {"no", "false"},
                      {"1.500000", "onehalf"}}));
}

TEST_F(ScriptFixture, ErrorIsLoggedAndStateStaysUsable) {
  ASSERT_TRUE(Start(kProcedures, {}, 1));
  Map out;
  EXPECT_EQ(Call("fail", {}, &out), kRvInternal);
  EXPECT_TRUE(out.empty());
  bool found = false;
  for (const std::string& line : Logs()) {
    found |= line.rfind("ERROR: [SCRIPT]: fail: [string \"-- Procedures used by", 0) == 0 &&
             line.find("broken on purpose") != std::string::npos;
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(Call("count", {}, &out), kRvSuccess);
  EXPECT_EQ(out["loads"], "1");
}

TEST_F(ScriptFixture, LoadErrorKeepsEarlierDefinitions) {
  EXPECT_FALSE(
      StartText("kt = __kyototycoon__\nfunction early() return 7 end\nerror('boom')\n"
                "function late() end\n"));
  bool init = false;
  for (const std::string& line : Logs()) {
    init |= line == "ERROR: [SCRIPT]: (init): [string \"kt = __kyototycoon__...\"]:3: boom";
  }
  EXPECT_TRUE(init);
  EXPECT_TRUE(Logged("ERROR: could not load a script file: " + temp_path_));
  EXPECT_EQ(Call("early", {}), 7);
  EXPECT_EQ(Call("late", {}), kRvNoImpl);
}

TEST_F(ScriptFixture, SyntaxErrorAndMissingFile) {
  EXPECT_FALSE(StartText("function broken(\n"));
  EXPECT_EQ(Call("broken", {}), kRvNoImpl);
  logs_.clear();
  EXPECT_FALSE(Start("/nonexistent/script.lua"));
  EXPECT_TRUE(Logged("ERROR: could not load a script file: /nonexistent/script.lua"));
  EXPECT_EQ(Call("eval", {}), kRvNoImpl);
}

TEST_F(ScriptFixture, OnlyTheModuleIsAddedToGlobals) {
  ASSERT_TRUE(StartText(R"(
    local std = {}
    for _, k in ipairs({"_G", "_VERSION", "assert", "bit", "collectgarbage", "coroutine",
        "debug", "dofile", "error", "gcinfo", "getfenv", "getmetatable", "io", "ipairs", "jit",
        "load", "loadfile", "loadstring", "math", "module", "newproxy", "next", "os", "package",
        "pairs", "pcall", "print", "rawequal", "rawget", "rawset", "require", "select",
        "setfenv", "setmetatable", "string", "table", "tonumber", "tostring", "type",
        "unpack", "xpcall", "__kyototycoon__", "ffi"}) do std[k] = true end
    function extras(inmap, outmap)
      for k in pairs(_G) do if not std[k] and k ~= "extras" then outmap[k] = "extra" end end
      local keys = {}
      for k in pairs(__kyototycoon__) do keys[#keys + 1] = k end
      table.sort(keys)
      outmap.keys = table.concat(keys, " ")
    end)"));
  Map out;
  ASSERT_EQ(Call("extras", {}, &out), kRvSuccess);
  EXPECT_EQ(out, (Map{{"keys",
                       "Cursor DB Error FileProcessor RVEINTERNAL RVEINVALID RVELOGIC RVENOIMPL "
                       "RVSUCCESS VERSION Visitor __serv__ arraydump arrayload atof atoi atoix "
                       "bit codec db dbs hash_fnv hash_murmur levdist log mapdump mapload pack "
                       "regex sleep split strbwm strfwm strstr thid time unpack"}}));
}

TEST_F(ScriptFixture, RunawayLoopTimesOut) {
  ScriptLimits limits;
  limits.seconds = 0.3;
  ASSERT_TRUE(Start(kProcedures, limits, 1));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Call("spin", {}), kRvTimeout);
  EXPECT_EQ(Call("spin_pcall", {}), kRvTimeout);  // pcall cannot hold on to the budget
  EXPECT_EQ(Call("nap", {{"sec", "100"}}), kRvTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(Logged("ERROR: [SCRIPT]: spin: procedure timed out"));
  Map out;
  EXPECT_EQ(Call("count", {}, &out), kRvSuccess);  // the state is usable again
  EXPECT_EQ(Eval("local n = 0 for i = 1, 1e5 do n = n + i end return n"), "number:5000050000");
}

// jit.on() and debug.sethook() cannot lift the limit; jit.version and the rest stay.
TEST_F(ScriptFixture, JitAndHooksCannotEscapeTheLimit) {
  ScriptLimits limits;
  limits.seconds = 0.3;
  ASSERT_TRUE(Start(kProcedures, limits, 1));
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Call("spin_jit", {}), kRvTimeout);
  EXPECT_EQ(Call("spin_nohook", {}), kRvTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(EvalAll("jit.on() return jit.status(), type(jit.version), jit.version_num > 0, "
                    "pcall(debug.sethook), type(debug.gethook)"),
            (std::vector<std::string>{"boolean:false", "string", "boolean:true", "boolean:false",
                                      "function"}));
  EXPECT_EQ(Eval("local ok, e = pcall(debug.sethook, print, 'l') return e"),
            "debug.sethook is disabled: the server's time limit uses the hook");
}

TEST_F(ScriptFixture, TimeoutInsideVisitorUnwinds) {
  ScriptLimits limits;
  limits.seconds = 0.3;
  ASSERT_TRUE(Start(kProcedures, limits, 1));
  for (int i = 0; i < 100; i++) db(0)->Set("k" + std::to_string(i), "v");
  EXPECT_EQ(Eval("kt.db:iterate(function() while true do end end) return 1"), "ERROR 4");
  EXPECT_EQ(Eval("return kt.db:count()"), "number:100");
}

TEST_F(ScriptFixture, MemoryCapFailsTheCall) {
  ScriptLimits limits;
  limits.memory_bytes = 32 << 20;
  ASSERT_TRUE(Start(kProcedures, limits, 1));
  EXPECT_EQ(Call("hog", {}), kRvInternal);
  EXPECT_TRUE(Logged("ERROR: [SCRIPT]: hog: not enough memory"));
  EXPECT_EQ(Eval("return string.rep('x', 1e8)"), "ERROR 5");
  EXPECT_EQ(Eval("return #string.rep('x', 1e6)"), "number:1000000");
}

TEST_F(ScriptFixture, InterruptAndReload) {
  ASSERT_TRUE(Start(kProcedures, {}, 2));
  Map out;
  ASSERT_EQ(Call("count", {}, &out), kRvSuccess);
  std::thread napper([&] { EXPECT_EQ(Call("nap", {{"sec", "100"}}), kRvTimeout); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  runtime_->Interrupt();
  napper.join();
  EXPECT_EQ(Call("count", {}), kRvTimeout);  // still interrupted until the reload
  EXPECT_TRUE(runtime_->Reload());
  ASSERT_EQ(Call("count", {}, &out), kRvSuccess);
  EXPECT_EQ(out["calls"], "1");  // fresh states
}

TEST_F(ScriptFixture, ConcurrentCallsUseSeparateStates) {
  ASSERT_TRUE(Start(kProcedures, {}, 4));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; i++) {
        std::string key = "t" + std::to_string(t) + "_" + std::to_string(i);
        if (Call("set", {{"key", key}, {"value", "v"}}) == kRvSuccess) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 400);
  EXPECT_EQ(db(0)->Count(), 400);
}

TEST_F(ScriptFixture, LogFunction) {
  ASSERT_TRUE(Start());
  EXPECT_EQ(Eval("kt.log('info', 'hello') kt.log('SYSTEM', 5) kt.log('error', 'e') "
                 "kt.log('debug', 'd') kt.log('other', 'o') kt.log('info', {}) return 1"),
            "number:1");
  EXPECT_TRUE(Logged("INFO: [SCRIPT]: hello"));
  EXPECT_TRUE(Logged("SYSTEM: [SCRIPT]: 5"));
  EXPECT_TRUE(Logged("ERROR: [SCRIPT]: e"));
  EXPECT_TRUE(Logged("DEBUG: [SCRIPT]: d"));
  EXPECT_TRUE(Logged("DEBUG: [SCRIPT]: o"));
  EXPECT_EQ(Eval("kt.log('info')"), "ERROR 5");
  EXPECT_EQ(Eval("kt.log({}, 'x')"), "ERROR 5");
}

}  // namespace
}  // namespace ryoan::scripting
