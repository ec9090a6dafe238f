// db:mapreduce (spec/lua.md 8.3) through the binding, and the EmitSorter under it.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "scripting/emit_sorter.h"
#include "tests/unit/scripting/script_test_util.h"

namespace ryoan::scripting {
namespace {

using Strings = std::vector<std::string>;

// A Lua chunk that runs mapreduce on `db` with the arguments after map and reduce given as
// `extra`; map emits (first letter of the key, key) and every record's value under "all",
// reduce writes "key=v1+v2..." per key. Returns the result and the reduce lines.
std::string MapReduceCode(const std::string& db, const std::string& extra) {
  return "local out = {} "
         "local function map(k, v, emit) return emit(k:sub(1, 1), k) and emit('all', v) end "
         "local function reduce(k, iter) local vs = {} for v in iter do vs[#vs + 1] = v end "
         "  out[#out + 1] = k .. '=' .. table.concat(vs, '+') return true end "
         "local ok = " +
         db + ":mapreduce(map, reduce" + extra +
         ") "
         "return ok, table.concat(out, ' ')";
}

class MapReduceTest : public ScriptFixture {
 protected:
  void SetUp() override {
    ScriptFixture::SetUp();
    ASSERT_TRUE(Start());
    char name[] = "/tmp/ryoan_mapreduce_XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override {
    ScriptFixture::TearDown();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(MapReduceTest, ReducesEachKeyOnceInKeyOrder) {
  for (const char* k : {"b1", "a2", "a1", "c1"}) db(0)->Set(k, std::string("v") + k);
  const Strings expected{"boolean:true", "a=a1+a2 all=va1+va2+vb1+vc1 b=b1 c=c1"};
  EXPECT_EQ(EvalAll(MapReduceCode("kt.db", "")), expected);
  // Whatever the limits, temporary stores and options: the same result. clim 1 writes a
  // run per pair, dbnum 2 merges runs as they pile up; -1, 0 and non-numbers are defaults.
  const std::string tmp = "'" + dir_ + "'";
  for (const std::string& extra :
       Strings{", nil, kt.DB.XNOLOCK", ", '', kt.DB.XNOCOMP, -1, -1, -1",
               ", " + tmp + ", 0, 2, 1, 1", ", nil, 0, 2, 1, 1", ", " + tmp + ", 257, 1000, 100, 0",
               ", " + tmp + ", 1 + 2 + 4 + 8, 'x', 'y', 'z'"}) {
    EXPECT_EQ(EvalAll(MapReduceCode("kt.db", extra)), expected) << extra;
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 0);  // nothing left
  // A hash database reduces in lexical order too.
  for (const char* k : {"b1", "a2", "a1", "c1"}) db(1)->Set(k, std::string("v") + k);
  EXPECT_EQ(EvalAll(MapReduceCode("kt.dbs[2]", ", nil, 0, 2, 1"))[1].substr(0, 8), "a=a1+a2 ");
}

TEST_F(MapReduceTest, ReducesInTheDatabaseComparatorsOrder) {
  const std::pair<const char*, const char*> cases[] = {
      {"%#rcomp=dec", "10 100 2 9 |2 9 10 100"},
      {"%#rcomp=decdesc", "10 100 2 9 |100 10 9 2"},
      {"%#rcomp=lexdesc", "10 100 2 9 |9 2 100 10"},
      {"+", "10 100 2 9 |10 100 2 9"},
  };
  for (const auto& [name, expected] : cases) {
    for (const std::string& extra : Strings{"", ", '" + dir_ + "', 0, 2, 1"}) {
      EXPECT_EQ(Eval("local d = kt.DB:new() d:open('" + std::string(name) +
                     "') "
                     "for _, k in ipairs({'9', '100', '2', '10'}) do d:set(k, k) end "
                     "local sorted, out = {}, {} "
                     "d:mapreduce(function(k, v, emit) return emit(v, k) end, "
                     "  function(k, iter) out[#out + 1] = k return true end" +
                     extra +
                     ") "
                     "for _, k in ipairs({'9', '100', '2', '10'}) do sorted[#sorted + 1] = k end "
                     "table.sort(sorted) "
                     "return table.concat(sorted, ' ') .. ' |' .. table.concat(out, ' ')"),
                expected)
          << name << extra;
    }
  }
}

TEST_F(MapReduceTest, CallbacksAndFailures) {
  db(0)->Set("k", "v");
  // proc(emit) before map and between map and reduce, proc() after; log sees each phase.
  EXPECT_EQ(
      EvalAll("local seq = {} "
              "local function map(k, v, emit) seq[#seq + 1] = 'map:' .. k "
              "  return emit(k, v) end "
              "local function reduce(k, iter) local vs = {} for v in iter do "
              "  vs[#vs + 1] = v end seq[#seq + 1] = 'reduce:' .. k .. '=' .. "
              "  table.concat(vs, ',') return true end "
              "local n = 0 "
              "local function proc(emit) n = n + 1 seq[#seq + 1] = 'proc' .. n "
              "  if emit then return emit('k', 'p' .. n) end return true end "
              "local function log(name, msg) seq[#seq + 1] = name end "
              "local ok = kt.db:mapreduce(map, reduce, nil, 0, -1, -1, -1, log, proc) "
              "return ok, table.concat(seq, ' ')"),
      (Strings{"boolean:true", "proc1 map map:k map proc2 reduce reduce:k=p1,v,p2 reduce proc3"}));
  const std::string map = "function(k, v, emit) return emit(k, v) end";
  const std::string reduce = "function(k, iter) return true end";
  const std::pair<std::string, std::string> failing[] = {
      {"function(k, v, emit) return nil end", reduce},
      {"function(k, v, emit) error('x') end", reduce},
      {map, "function(k, iter) return false end"},
      {map, "function(k, iter) error('x') end"},
      {map, reduce + ", nil, 0, -1, -1, -1, nil, function() return false end"},
      {map, reduce + ", nil, 0, -1, -1, -1, function() return false end"},
      {map, reduce + ", nil, 0, -1, -1, -1, function() error('x') end"},
  };
  for (const auto& [m, r] : failing) {
    EXPECT_EQ(EvalAll("return kt.db:mapreduce(" + m + ", " + r + "), kt.db:error():code()"),
              (Strings{"boolean:false", "number:8"}))
        << m << " / " << r;
  }
  // emit outside map and proc, and iter outside its reduce, do nothing.
  EXPECT_EQ(EvalAll("local saved_emit, saved_iter, r = nil, nil, {} "
                    "kt.db:mapreduce(function(k, v, emit) saved_emit = emit return emit(k, v) end, "
                    "  function(k, iter) saved_iter = iter "
                    "  r[#r + 1] = tostring(saved_emit('late', 'x')) return true end) "
                    "return r[1], saved_iter(), saved_emit('later', 'y')"),
            (Strings{"false", "nil:nil", "boolean:false"}));
  EXPECT_EQ(Eval("return pcall(kt.db.mapreduce, kt.db, 'x', 'y')"), "boolean:false");
}

// Without XNOLOCK map runs with the database locked, so it cannot use it; with XNOLOCK it
// can, and other threads' writes go on while map runs.
TEST_F(MapReduceTest, NoLockLetsWritesProceed) {
  db(0)->Set("a", "1");
  const std::string uses_db =
      "function(k, v, emit) kt.db:set('seen', v) return emit(k, v) end, "
      "function(k, iter) return true end";
  EXPECT_EQ(Eval("return kt.db:mapreduce(" + uses_db + ")"), "boolean:false");
  EXPECT_EQ(
      EvalAll("return kt.db:mapreduce(" + uses_db + ", nil, kt.DB.XNOLOCK), (kt.db:get('seen'))"),
      (Strings{"boolean:true", "1"}));
  db(0)->Remove("seen");
  // map waits (at most 10 s) for a record that another thread writes once map has started.
  std::thread writer([this] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string value;
    while (!db(1)->Get("started", &value, nullptr).ok() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    db(0)->Set("flag", "written");
  });
  EXPECT_EQ(Eval("return kt.db:mapreduce(function(k, v, emit) "
                 "  kt.dbs[2]:set('started', '1') local t = kt.time() "
                 "  while not kt.db:get('flag') and kt.time() < t + 10 do kt.sleep(0.005) end "
                 "  return kt.db:get('flag') == 'written' end, "
                 "function() return true end, nil, kt.DB.XNOLOCK)"),
            "boolean:true");
  writer.join();
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

// Reads every group as "key=v1,v2".
Strings Drain(EmitSorter& sorter) {
  EXPECT_TRUE(sorter.Finish().ok());
  Strings groups;
  std::string key, value;
  while (sorter.NextKey(&key)) {
    std::string line = key + "=";
    for (int i = 0; sorter.NextValue(&value); i++) line += (i ? "," : "") + value;
    groups.push_back(line);
  }
  EXPECT_TRUE(sorter.status().ok()) << sorter.status().message();
  return groups;
}

TEST_F(MapReduceTest, SorterSpillsToFilesWithinTheLimits) {
  const Strings expected{"1=a,d", "2=b", "10=c,e"};
  const Pairs input{{"1", "a"}, {"2", "b"}, {"10", "c"}, {"1", "d"}, {"10", "e"}};
  storage::KeyComparator dec(storage::KeyComparator::kDec);
  {
    EmitSorter sorter(dec, "", 1 << 20, 8);  // all in memory
    for (const auto& [k, v] : input) ASSERT_TRUE(sorter.Add(k, v).ok());
    EXPECT_EQ(sorter.runs_written(), 0u);
    EXPECT_EQ(Drain(sorter), expected);
  }
  {
    EmitSorter sorter(dec, dir_, 1, 2);  // a run per pair, in files, at most 2 at once
    for (const auto& [k, v] : input) {
      ASSERT_TRUE(sorter.Add(k, v).ok());
      EXPECT_LE(sorter.live_runs(), 2u);
      EXPECT_EQ(sorter.cached_bytes(), 0u);
    }
    EXPECT_EQ(sorter.runs_written(), 7u);  // 5 spills and 2 merges
    EXPECT_EQ(sorter.file_runs_written(), 7u);
    EXPECT_EQ(Drain(sorter), expected);
  }
  {
    EmitSorter sorter(dec, "", 1, 3);  // no directory: runs in memory
    for (const auto& [k, v] : input) ASSERT_TRUE(sorter.Add(k, v).ok());
    EXPECT_EQ(sorter.file_runs_written(), 0u);
    EXPECT_EQ(Drain(sorter), expected);
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 0);
}

TEST_F(MapReduceTest, SorterKeepsMemoryBoundedOnManyPairs) {
  EmitSorter sorter(storage::KeyComparator(), dir_, 64 << 10, 4);
  const int n = 200000;
  size_t peak = 0;
  for (int i = 0; i < n; i++) {
    // Keys 0000..0999, each with 200 values in emit order.
    char key[8];
    snprintf(key, sizeof(key), "%04d", (i * 7919) % 1000);
    ASSERT_TRUE(sorter.Add(key, std::to_string(i)).ok());
    peak = std::max(peak, sorter.cached_bytes());
  }
  EXPECT_LE(peak, size_t{64 << 10} + 128);
  EXPECT_LE(sorter.live_runs(), 4u);
  ASSERT_TRUE(sorter.Finish().ok());
  std::string key, value, previous_key;
  int keys = 0, values = 0;
  while (sorter.NextKey(&key)) {
    EXPECT_LT(previous_key, key);
    previous_key = key;
    keys++;
    long last = -1;
    while (sorter.NextValue(&value)) {
      EXPECT_LT(last, std::stol(value));  // emit order within a key
      last = std::stol(value);
      values++;
    }
  }
  EXPECT_EQ(keys, 1000);
  EXPECT_EQ(values, n);
}

}  // namespace
}  // namespace ryoan::scripting
