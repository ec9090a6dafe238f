// db:dump_snapshot, db:load_snapshot (the KC pseudo-snapshot, spec/databases.md 8) and
// db:copy (spec/lua.md 8.2) through the Lua binding, on real files in a temporary directory.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/unit/scripting/script_test_util.h"

namespace ryoan::scripting {
namespace {

using Strings = std::vector<std::string>;

class FileOperationsTest : public ScriptFixture {
 protected:
  void SetUp() override {
    ScriptFixture::SetUp();
    ASSERT_TRUE(Start());
    char name[] = "/tmp/ryoan_fileops_XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    dir_ = name;
  }
  void TearDown() override {
    ScriptFixture::TearDown();
    std::filesystem::remove_all(dir_);
  }
  std::string Path(const std::string& name) { return dir_ + "/" + name; }
  std::string Read(const std::string& name) {
    std::ifstream in(Path(name), std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void Write(const std::string& name, const std::string& bytes) {
    std::ofstream(Path(name), std::ios::binary) << bytes;
  }
  // Lua source of a string literal with the path of `name`.
  std::string Quoted(const std::string& name) { return "'" + Path(name) + "'"; }
  std::string Stored(size_t index, const std::string& key, int64_t* xt = nullptr) {
    std::string value;
    int64_t ignored;
    return db(index)->Get(key, &value, xt ? xt : &ignored).ok() ? value : "(absent)";
  }

  std::string dir_;
};

const std::string kMagic("KCSS\n\0", 6);

TEST_F(FileOperationsTest, DumpWritesThePseudoSnapshotFormat) {
  ASSERT_TRUE(db(0)->Set("a", "1").ok());
  ASSERT_TRUE(db(0)->Set("b", "22", -2000000000).ok());  // absolute xt 0x0077359400
  EXPECT_EQ(Eval("return kt.db:dump_snapshot(" + Quoted("snap") + ")"), "boolean:true");
  EXPECT_EQ(Read("snap"), kMagic +
                              std::string("\x00\x01\x06"
                                          "a"
                                          "\xff\xff\xff\xff\xff"
                                          "1",
                                          10) +
                              std::string("\x00\x01\x07"
                                          "b"
                                          "\x00\x77\x35\x94\x00"
                                          "22",
                                          11) +
                              "\xff");
  // An empty database: magic and end mark only.
  EXPECT_EQ(Eval("return kt.dbs[2]:dump_snapshot(" + Quoted("empty") + ")"), "boolean:true");
  EXPECT_EQ(Read("empty"), kMagic + "\xff");
  EXPECT_EQ(EvalAll("return kt.db:dump_snapshot('/no/such/dir/x'), kt.db:error():code()"),
            (Strings{"boolean:false", "number:3"}));
}

TEST_F(FileOperationsTest, LoadSetsRecordsAndKeepsOthers) {
  ASSERT_TRUE(db(0)->Set("a", "1").ok());
  ASSERT_TRUE(db(0)->Set("b", "22", -2000000000).ok());
  ASSERT_TRUE(db(0)->Set("long", std::string(300, 'x')).ok());  // two-byte varnum
  ASSERT_EQ(Eval("return kt.db:dump_snapshot(" + Quoted("snap") + ")"), "boolean:true");
  ASSERT_TRUE(db(1)->Set("a", "old", 100).ok());
  ASSERT_TRUE(db(1)->Set("z", "kept").ok());
  EXPECT_EQ(EvalAll("return kt.dbs[2]:load_snapshot(" + Quoted("snap") + "), kt.dbs[2]:count()"),
            (Strings{"boolean:true", "number:4"}));
  int64_t xt = 0;
  EXPECT_EQ(Stored(1, "a", &xt), "1");
  EXPECT_EQ(xt, storage::kXtMax);  // the loaded record replaced the TTL too
  EXPECT_EQ(Stored(1, "b", &xt), "22");
  EXPECT_EQ(xt, 2000000000);
  EXPECT_EQ(Stored(1, "long"), std::string(300, 'x'));
  EXPECT_EQ(Stored(1, "z"), "kept");
}

TEST_F(FileOperationsTest, LoadRemovesWhatTheFileHoldsAsInvisible) {
  ASSERT_TRUE(db(0)->Set("gone", "live").ok());
  ASSERT_TRUE(db(0)->Set("short", "live").ok());
  // "gone" expired at epoch 1; "short" has an engine value too short for an xt.
  Write("snap", kMagic +
                    std::string("\x00\x04\x06"
                                "gone"
                                "\x00\x00\x00\x00\x01"
                                "v",
                                13) +
                    std::string("\x00\x05\x02"
                                "short"
                                "ab",
                                10) +
                    std::string("\x00\x03\x05"
                                "new"
                                "\xff\xff\xff\xff\xff",
                                11) +
                    "\xff");
  EXPECT_EQ(Eval("return kt.db:load_snapshot(" + Quoted("snap") + ")"), "boolean:true");
  EXPECT_EQ(Stored(0, "gone"), "(absent)");
  EXPECT_EQ(Stored(0, "short"), "(absent)");
  EXPECT_EQ(Stored(0, "new"), "");
}

TEST_F(FileOperationsTest, DamagedFilesFailAndChangeNothing) {
  ASSERT_TRUE(db(0)->Set("a", "1").ok());
  ASSERT_TRUE(db(0)->Set("b", "2").ok());
  ASSERT_EQ(Eval("return kt.db:dump_snapshot(" + Quoted("snap") + ")"), "boolean:true");
  std::string good = Read("snap");
  ASSERT_TRUE(db(1)->Set("a", "untouched").ok());
  const std::pair<const char*, std::string> damaged[] = {
      {"no end mark", good.substr(0, good.size() - 1)},
      {"cut in a record", good.substr(0, good.size() - 4)},
      {"magic only", kMagic},
      {"empty file", ""},
      {"foreign", "KTSS\n\0 something else entirely"},
      {"text", "a\t1\nb\t2\n"},
      {"bad record mark", kMagic +
                              std::string("\x07\x01\x01"
                                          "ab",
                                          5) +
                              "\xff"},
      {"huge length",
       kMagic + std::string("\x00\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x01", 11) + "k\xff"},
      {"varnum too long", kMagic + std::string("\x00", 1) + std::string(12, '\x81')},
  };
  for (const auto& [what, bytes] : damaged) {
    Write("bad", bytes);
    EXPECT_EQ(EvalAll("return kt.dbs[2]:load_snapshot(" + Quoted("bad") +
                      "), kt.dbs[2]:error():code(), kt.dbs[2]:count()"),
              (Strings{"boolean:false", "number:5", "number:1"}))
        << what;
    EXPECT_EQ(Stored(1, "a"), "untouched") << what;
  }
  EXPECT_EQ(EvalAll("return kt.db:load_snapshot(" + Quoted("missing") + "), kt.db:error():code()"),
            (Strings{"boolean:false", "number:3"}));
  EXPECT_EQ(EvalAll("return kt.db:load_snapshot(" + Quoted("") + "), kt.db:error():code()"),
            (Strings{"boolean:false", "number:5"}));  // a directory is no snapshot
}

TEST_F(FileOperationsTest, PersistentDatabasesDumpBareValues) {
  EXPECT_EQ(Eval("local d = kt.DB:new() d:open('%#ktopts=p') d:set('k', 'v') "
                 "local ok = d:dump_snapshot(" +
                 Quoted("snap") + ") d:close() return ok"),
            "boolean:true");
  EXPECT_EQ(Read("snap"), kMagic + std::string("\x00\x01\x01kv\xff", 6));
  EXPECT_EQ(Eval("local d = kt.DB:new() d:open('+#ktopts=p') "
                 "local ok = d:load_snapshot(" +
                 Quoted("snap") + ") return ok and d:get('k')"),
            "v");
}

// copy(dest) of file databases: the copy opens with the same records and expiration times.
TEST_F(FileOperationsTest, CopyFileDatabases) {
  for (const char* name : {"src.kch", "src.kct#rcomp=dec"}) {
    std::string src = Path(name), dest = Path(std::string("copy-") + name).substr(0);
    dest = dest.substr(0, dest.find('#'));
    EXPECT_EQ(
        EvalAll("local d = kt.DB:new() assert(d:open('" + src +
                "')) "
                "d:set('10', 'ten') d:set('9', 'nine', -2000000000) d:set('x', 'y') "
                "local ok = d:copy('" +
                dest +
                "') d:set('after', 'copy') d:close() "
                "local c = kt.DB:new() assert(c:open('" +
                dest +
                "', kt.DB.OREADER)) "
                "local keys = {} for k, v in c:pairs() do keys[#keys + 1] = k .. '=' .. v end "
                "table.sort(keys) local v, xt = c:get('9') "
                "return ok, table.concat(keys, ' '), xt, c:count()"),
        (Strings{"boolean:true", "10=ten 9=nine x=y", "number:2000000000", "number:3"}))
        << name;
  }
  // Over an existing file, which is replaced; never over the database itself.
  Write("old.kch", "not a database at all");
  EXPECT_EQ(EvalAll("local d = kt.DB:new() d:open(" + Quoted("a.kch") +
                    ") d:set('k', 'v') "
                    "local r1 = d:copy(" +
                    Quoted("old.kch") +
                    ") "
                    "local r2 = d:copy(" +
                    Quoted("a.kch") +
                    ") local code = d:error():code() "
                    "d:close() local c = kt.DB:new() c:open(" +
                    Quoted("old.kch") +
                    ") "
                    "return r1, r2, code, (c:get('k'))"),
            (Strings{"boolean:true", "boolean:false", "number:2", "v"}));
  // Memory databases have no file.
  EXPECT_EQ(EvalAll("return kt.db:copy(" + Quoted("mem") + "), kt.db:error():code()"),
            (Strings{"boolean:false", "number:3"}));
  struct stat st;
  EXPECT_NE(stat(Path("mem").c_str(), &st), 0);
}

}  // namespace
}  // namespace ryoan::scripting
