// The LMDB ordered file engine ('.kct'): what the typed suite cannot see. Persistence across
// reopen and SIGKILL, long keys around LMDB's key limit, map growth, group commit, readers
// during writes, comparators, bad files.
#include "storage/lmdb_engine.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "storage/db.h"

namespace ryoan::storage {
namespace {

using Clock = std::chrono::steady_clock;

class LmdbEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ryoan-lmdb-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/casket.kct";
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<DB> OpenDB(const std::string& params = "", bool readonly = false,
                             Status* result = nullptr) {
    DatabaseSpec spec;
    EXPECT_TRUE(ParseDatabaseSpec(path_ + params, &spec).ok());
    OpenOptions options;
    options.readonly = readonly;
    std::unique_ptr<DB> db;
    Status status = DB::Open(spec, options, &db);
    if (result != nullptr) {
      *result = status;
    } else {
      EXPECT_TRUE(status.ok()) << status.ToString();
    }
    return db;
  }

  std::unique_ptr<LmdbEngine> OpenEngine(LmdbEngine::Options options = {}) {
    std::unique_ptr<LmdbEngine> engine;
    Status status = LmdbEngine::Open(path_, options, &engine);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return engine;
  }

  static std::vector<std::string> Keys(DB* db, bool backward = false) {
    std::vector<std::string> keys;
    std::unique_ptr<Cursor> cursor = db->NewCursor();
    Status status = backward ? cursor->JumpBack() : cursor->Jump();
    std::string key;
    while (status.ok() && cursor->GetKey(&key, false).ok()) {
      keys.push_back(key);
      status = backward ? cursor->StepBack() : cursor->Step();
    }
    return keys;
  }

  std::string dir_;
  std::string path_;
};

// Sets every key it visits to `value`.
class SetVisitor : public RecordVisitor {
 public:
  explicit SetVisitor(std::string value, std::function<void()> hook = {})
      : value_(std::move(value)), hook_(std::move(hook)) {}
  Decision VisitFull(std::string_view, std::string_view, int64_t) override { return Visit(); }
  Decision VisitEmpty(std::string_view) override { return Visit(); }
  int visits = 0;

 private:
  Decision Visit() {
    ++visits;
    if (hook_) hook_();
    return Decision::Set(value_, kXtMax);
  }
  std::string value_;
  std::function<void()> hook_;
};

TEST_F(LmdbEngineTest, ReopenKeepsRecordsAndTtls) {
  {
    std::unique_ptr<DB> db = OpenDB();
    ASSERT_TRUE(db->Set("a", "1").ok());
    ASSERT_TRUE(db->Set("b", std::string("\0two\xff", 5), -2000000000).ok());
    ASSERT_TRUE(db->Set("", "empty key").ok());
    ASSERT_TRUE(db->Set("gone", "x").ok());
    ASSERT_TRUE(db->Remove("gone").ok());
    EXPECT_EQ(db->Count(), 3);
  }
  std::unique_ptr<DB> db = OpenDB();
  EXPECT_EQ(db->Count(), 3);
  std::string value;
  int64_t xt = 0;
  ASSERT_TRUE(db->Get("b", &value, &xt).ok());
  EXPECT_EQ(value, std::string("\0two\xff", 5));
  EXPECT_EQ(xt, 2000000000);
  ASSERT_TRUE(db->Get("a", &value, &xt).ok());
  EXPECT_EQ(xt, kXtMax);
  ASSERT_TRUE(db->Get("", &value, nullptr).ok());
  EXPECT_EQ(value, "empty key");
  EXPECT_EQ(db->Get("gone", nullptr, nullptr).code(), Code::kNoRec);
  EXPECT_EQ(Keys(db.get()), (std::vector<std::string>{"", "a", "b"}));
  auto status = db->GetStatus();
  EXPECT_EQ(status.at("type"), "49");
  EXPECT_EQ(status.at("rcomp"), "lex");
  EXPECT_EQ(status.at("realsize"), status.at("size"));
  EXPECT_GT(std::stoll(status.at("psiz")), 0);
}

// Keys of 509, 510 and 511 bytes straddle the direct/group boundary (510 bytes of the key
// fit in an LMDB key after the tag byte).
TEST_F(LmdbEngineTest, LongKeysKeepOrderAndRoundTrip) {
  const std::string p(510, 'p');
  std::vector<std::string> keys = {"",
                                   "p",
                                   std::string(509, 'p'),
                                   p,
                                   p + "a",
                                   p + std::string(1, '\0'),
                                   p + "\xff",
                                   p + "b" + std::string(100000, 'z'),
                                   std::string(509, 'p') + "q",
                                   std::string(511, 'q'),
                                   std::string(600, 'o'),
                                   "q"};
  for (int i = 0; i < 40; ++i) keys.push_back(p + "m" + std::to_string(i * 7919 % 1000));
  {
    std::unique_ptr<DB> db = OpenDB();
    for (const std::string& key : keys) {
      ASSERT_TRUE(db->Set(key, "v" + key.substr(std::min<size_t>(500, key.size()))).ok());
    }
  }
  std::unique_ptr<DB> db = OpenDB();
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(db->Count(), static_cast<int64_t>(sorted.size()));
  EXPECT_EQ(Keys(db.get()), sorted);
  std::vector<std::string> reversed(sorted.rbegin(), sorted.rend());
  EXPECT_EQ(Keys(db.get(), true), reversed);
  for (const std::string& key : keys) {
    std::string value;
    ASSERT_TRUE(db->Get(key, &value, nullptr).ok()) << key.size();
    EXPECT_EQ(value, "v" + key.substr(std::min<size_t>(500, key.size())));
  }
  EXPECT_EQ(db->Get(p + "nope", nullptr, nullptr).code(), Code::kNoRec);
  // Jumps into the middle of a group, and to a missing member.
  std::unique_ptr<Cursor> cursor = db->NewCursor();
  std::string key;
  ASSERT_TRUE(cursor->Jump(p + "a").ok());
  ASSERT_TRUE(cursor->GetKey(&key, false).ok());
  EXPECT_EQ(key, p + "a");
  ASSERT_TRUE(cursor->Jump(p + "c").ok());
  ASSERT_TRUE(cursor->GetKey(&key, false).ok());
  EXPECT_EQ(key, *std::upper_bound(sorted.begin(), sorted.end(), p + "c"));
  ASSERT_TRUE(cursor->JumpBack(p + "c").ok());
  ASSERT_TRUE(cursor->GetKey(&key, false).ok());
  EXPECT_EQ(key, *std::prev(std::upper_bound(sorted.begin(), sorted.end(), p + "c")));
  // Removal through a cursor inside a group moves to the next key.
  ASSERT_TRUE(cursor->Jump(p).ok());
  ASSERT_TRUE(cursor->Remove().ok());
  ASSERT_TRUE(cursor->GetKey(&key, false).ok());
  EXPECT_EQ(key, p + std::string(1, '\0'));
  // Remove every group member: the group disappears.
  for (const std::string& k : sorted) {
    if (k.size() >= 510 && k.compare(0, 510, p) == 0) db->Remove(k).ok();
  }
  std::vector<std::string> left;
  for (const std::string& k : sorted) {
    if (k.size() < 510 || k.compare(0, 510, p) != 0) left.push_back(k);
  }
  EXPECT_EQ(Keys(db.get()), left);
  EXPECT_EQ(db->Count(), static_cast<int64_t>(left.size()));
}

TEST_F(LmdbEngineTest, LongKeysUnderDescendingOrder) {
  const std::string p(510, 'p');
  std::vector<std::string> keys = {std::string(509, 'p'), p, p + "a", p + "b", "q", "o"};
  std::unique_ptr<DB> db = OpenDB("#rcomp=lexdesc");
  for (const std::string& key : keys) ASSERT_TRUE(db->Set(key, "v").ok());
  std::sort(keys.begin(), keys.end(), std::greater<>());
  EXPECT_EQ(Keys(db.get()), keys);
}

TEST_F(LmdbEngineTest, ComparatorsAndTheFileKeepsItsOwn) {
  using V = std::vector<std::string>;
  auto order = [&](const std::string& params) {
    std::filesystem::remove(path_);
    std::filesystem::remove(path_ + "-lock");
    std::unique_ptr<DB> db = OpenDB(params);
    for (const char* key : {"10", "9", "-3", "2.5", "b", "a"}) EXPECT_TRUE(db->Set(key, "v").ok());
    return Keys(db.get());
  };
  EXPECT_EQ(order(""), (V{"-3", "10", "2.5", "9", "a", "b"}));
  EXPECT_EQ(order("#rcomp=lexdesc"), (V{"b", "a", "9", "2.5", "10", "-3"}));
  EXPECT_EQ(order("#rcomp=decdesc"), (V{"10", "9", "2.5", "b", "a", "-3"}));
  EXPECT_EQ(order("#rcomp=dec"), (V{"-3", "a", "b", "2.5", "9", "10"}));
  // Reopened with another rcomp, the file keeps the order it was built with.
  std::unique_ptr<DB> db = OpenDB("#rcomp=lex");
  EXPECT_EQ(db->GetStatus().at("rcomp"), "dec");
  EXPECT_EQ(Keys(db.get()), (V{"-3", "a", "b", "2.5", "9", "10"}));
}

// Without fsync per commit, writes go through the map: the file is as long as the map
// (sparse past the used pages), and disk blocks are reserved for every used page and a
// bounded step ahead, not for the whole map. With fsync per commit (-oas), pwrite as before.
TEST_F(LmdbEngineTest, WritesThroughTheMapReserveDiskBlocksAhead) {
  auto file_stat = [&] {
    struct stat st {};
    EXPECT_EQ(::stat(path_.c_str(), &st), 0);
    return st;
  };
  LmdbEngine::Options options;
  options.map_size = 256 << 20;
  {
    std::unique_ptr<LmdbEngine> engine = OpenEngine(options);
    ASSERT_TRUE(engine->writes_through_map());
    std::string value(1000, 'v');
    for (int i = 0; i < 3000; ++i) {
      SetVisitor visitor(value);
      ASSERT_TRUE(engine->Accept("k" + std::to_string(i), visitor, true).ok());
    }
    const struct stat st = file_stat();
    EXPECT_EQ(static_cast<size_t>(st.st_size), engine->map_size());
    const int64_t used = engine->Size();
    EXPECT_GT(used, 3000 * 1000);
    const int64_t blocks = static_cast<int64_t>(st.st_blocks) * 512;
    // At least the slack reserved past the used pages (64 pages), at most a few steps.
    EXPECT_GE(blocks, used + 64 * sysconf(_SC_PAGESIZE)) << "nothing reserved ahead";
    EXPECT_LE(blocks, used + (4 << 20)) << "reserved far more than a step ahead";
  }
  {
    std::unique_ptr<LmdbEngine> engine = OpenEngine(options);
    ASSERT_TRUE(engine->writes_through_map());
    EXPECT_EQ(engine->Count(), 3000);
  }
  std::filesystem::remove(path_);
  options.autosync = true;
  std::unique_ptr<LmdbEngine> engine = OpenEngine(options);
  EXPECT_FALSE(engine->writes_through_map());
  SetVisitor visitor("v");
  ASSERT_TRUE(engine->Accept("k", visitor, true).ok());
  EXPECT_EQ(file_stat().st_size, engine->Size());
}

TEST_F(LmdbEngineTest, MapGrowsFromTinyStart) {
  LmdbEngine::Options options;
  options.map_size = 64 << 10;
  std::unique_ptr<LmdbEngine> engine = OpenEngine(options);
  // Readers run throughout: growth waits for them to leave, then lets them back in.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0};
  std::thread reader([&] {
    std::unique_ptr<EngineCursor> cursor = engine->NewCursor();
    SetVisitor unused("");
    while (!stop) {
      EXPECT_TRUE(engine->Accept("k1", unused, false).ok());
      if (!cursor->Step().ok()) cursor->Jump().ok();
      ++reads;
    }
  });
  std::string value(4000, 'x');
  for (int i = 0; i < 1000; ++i) {
    SetVisitor visitor(value + std::to_string(i));
    ASSERT_TRUE(engine->Accept("k" + std::to_string(i), visitor, true).ok());
  }
  stop = true;
  reader.join();
  EXPECT_GT(reads.load(), 0);
  // One transaction far bigger than the map: MDB_MAP_FULL mid-way, replayed after growth,
  // and still every visitor runs exactly once.
  std::vector<std::string> keys;
  for (int i = 0; i < 2000; ++i) keys.push_back("bulk" + std::to_string(i));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  SetVisitor bulk(std::string(3000, 'b'));
  ASSERT_TRUE(engine->AcceptBulk(views, bulk, true).ok());
  EXPECT_EQ(bulk.visits, 2000);
  EXPECT_EQ(engine->Count(), 3000);
  EXPECT_GT(engine->map_size(), size_t{8} << 20);
  engine.reset();
  engine = OpenEngine();
  EXPECT_EQ(engine->Count(), 3000);
  std::string seen;
  {
    class Get : public RecordVisitor {
     public:
      explicit Get(std::string* out) : out_(out) {}
      Decision VisitFull(std::string_view, std::string_view v, int64_t) override {
        out_->assign(v);
        return Decision::Keep();
      }

     private:
      std::string* out_;
    } get(&seen);
    ASSERT_TRUE(engine->Accept("k999", get, false).ok());
  }
  EXPECT_EQ(seen, value + "999");
}

TEST_F(LmdbEngineTest, ConcurrentWritersShareTransactions) {
  std::unique_ptr<LmdbEngine> engine = OpenEngine();
  // One writer holds the write transaction while three others queue up behind it: they
  // must then commit together.
  std::atomic<bool> inside{false};
  int64_t before = engine->commits();
  std::thread first([&] {
    SetVisitor slow("v", [&] {
      inside = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    });
    EXPECT_TRUE(engine->Accept("first", slow, true).ok());
  });
  while (!inside) std::this_thread::yield();
  std::vector<std::thread> others;
  for (int t = 0; t < 3; ++t) {
    others.emplace_back([&, t] {
      SetVisitor visitor("v");
      EXPECT_TRUE(engine->Accept("other" + std::to_string(t), visitor, true).ok());
    });
  }
  first.join();
  for (auto& thread : others) thread.join();
  EXPECT_LE(engine->commits() - before, 3);
  EXPECT_EQ(engine->Count(), 4);

  // Four threads hammering: every write present, counts right, fewer commits than writes.
  constexpr int kThreads = 4;
  constexpr int kWrites = 500;
  before = engine->commits();
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        SetVisitor visitor("t" + std::to_string(t) + "-" + std::to_string(i));
        EXPECT_TRUE(engine->Accept(std::to_string(t * kWrites + i), visitor, true).ok());
      }
    });
  }
  for (auto& thread : writers) thread.join();
  EXPECT_EQ(engine->Count(), 4 + kThreads * kWrites);
  EXPECT_LE(engine->commits() - before, kThreads * kWrites);
  engine.reset();
  std::unique_ptr<DB> db = OpenDB();
  EXPECT_EQ(db->Count(), 4 + kThreads * kWrites);
  std::string value;
  ASSERT_TRUE(db->Get(std::to_string(3 * kWrites + 17), &value, nullptr).ok());
  EXPECT_EQ(value, "t3-17");
}

TEST_F(LmdbEngineTest, ReadersNeverWaitForTheWriter) {
  // Persistent: no sweeper, whose writes from this thread would queue behind the writer.
  std::unique_ptr<DB> db = OpenDB("#ktopts=p");
  ASSERT_TRUE(db->Set("r", "1").ok());
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  std::thread writer([&] {
    class Blocking : public RecordVisitor {
     public:
      Blocking(std::atomic<bool>* inside, std::atomic<bool>* release)
          : inside_(inside), release_(release) {}
      Decision VisitEmpty(std::string_view) override {
        *inside_ = true;
        while (!*release_) std::this_thread::yield();
        return Decision::Set("w", kXtMax);
      }
      Decision VisitFull(std::string_view k, std::string_view, int64_t) override {
        return VisitEmpty(k);
      }

     private:
      std::atomic<bool>* inside_;
      std::atomic<bool>* release_;
    } blocking(&inside, &release);
    EXPECT_TRUE(db->Accept("w", blocking, true).ok());
  });
  while (!inside) std::this_thread::yield();
  // The write transaction is open: reads, scans and cursors still proceed.
  for (int i = 0; i < 100; ++i) {
    std::string value;
    ASSERT_TRUE(db->Get("r", &value, nullptr).ok());
    EXPECT_EQ(value, "1");
  }
  EXPECT_EQ(Keys(db.get()), (std::vector<std::string>{"r"}));
  release = true;
  writer.join();
  EXPECT_EQ(Keys(db.get()), (std::vector<std::string>{"r", "w"}));
}

TEST_F(LmdbEngineTest, BadFilesFailCleanly) {
  Status status;
  // Not an LMDB file.
  { std::ofstream(path_) << "hello, I am a text file and certainly no database\n"; }
  EXPECT_EQ(OpenDB("", false, &status), nullptr);
  EXPECT_EQ(status.code(), Code::kInvalid);
  EXPECT_NE(status.message().find("not a database file"), std::string::npos) << status.message();
  // Random bytes.
  {
    std::mt19937 rng(7);
    std::ofstream out(path_, std::ios::trunc | std::ios::binary);
    for (int i = 0; i < 65536; ++i) out.put(static_cast<char>(rng()));
  }
  EXPECT_EQ(OpenDB("", false, &status), nullptr);
  EXPECT_NE(status.message().find("not a database file"), std::string::npos) << status.message();
  // A real database cut short (in its data: past it, the file is as long as the map).
  std::filesystem::remove(path_);
  int64_t data_size = 0;
  {
    std::unique_ptr<DB> db = OpenDB();
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(db->Set("k" + std::to_string(i), "value").ok());
    data_size = db->Size();
  }
  std::filesystem::resize_file(path_, static_cast<uintmax_t>(data_size / 2));
  EXPECT_EQ(OpenDB("", false, &status), nullptr);
  EXPECT_EQ(status.code(), Code::kBroken) << status.message();
  EXPECT_NE(status.message().find("truncated"), std::string::npos) << status.message();
  // A reader needs an existing file.
  path_ = dir_ + "/missing.kct";
  EXPECT_EQ(OpenDB("", true, &status), nullptr);
  EXPECT_EQ(status.code(), Code::kNoRepos) << status.message();
}

// Flips the first byte of every copy of `marker` in the file (LMDB's free pages may hold
// older copies of its page); returns how many copies there were.
static int FlipEvery(const std::string& path, const std::string& marker) {
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  int copies = 0;
  for (size_t pos = bytes.find(marker); pos != std::string::npos;
       pos = bytes.find(marker, pos + 1)) {
    bytes[pos] = static_cast<char>(bytes[pos] ^ 0x20);
    ++copies;
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return copies;
}

// Every visited record, for Iterate.
class CollectVisitor : public RecordVisitor {
 public:
  Decision VisitFull(std::string_view key, std::string_view value, int64_t) override {
    seen.emplace(key, value);
    return Decision::Keep();
  }
  std::map<std::string, std::string> seen;
};

TEST_F(LmdbEngineTest, DamagedRecordsReadAsBrokenNeverAsData) {
  const std::string group(600, 'g');  // long keys: one group record, an entry per key
  std::map<std::string, std::string> written;
  {
    std::unique_ptr<DB> db = OpenDB();
    for (int i = 0; i < 100; ++i) written["k" + std::to_string(i)] = "v" + std::to_string(i);
    written["victim"] = "value MARKER-VALUE of the victim";
    written["key MARKER-KEY"] = "its value";
    written[group + "a"] = "entry MARKER-ENTRY";
    written[group + "b"] = "the other entry";
    for (const auto& [key, value] : written) ASSERT_TRUE(db->Set(key, value).ok());
  }
  ASSERT_GE(FlipEvery(path_, "MARKER-VALUE"), 1);
  ASSERT_GE(FlipEvery(path_, "MARKER-KEY"), 1);
  ASSERT_GE(FlipEvery(path_, "MARKER-ENTRY"), 1);

  // The check at open walks every record: it refuses the file, naming it.
  Status refused;
  EXPECT_EQ(OpenDB("", false, &refused), nullptr);
  EXPECT_EQ(refused.code(), Code::kBroken) << refused.ToString();
  EXPECT_NE(refused.message().find(path_ + ": broken database file (check at open: "),
            std::string::npos)
      << refused.message();
  EXPECT_EQ(OpenDB("", true, &refused), nullptr);  // a reader too
  EXPECT_EQ(refused.code(), Code::kBroken) << refused.ToString();

  // Opened unchecked (#verify=off), every read still checks the record it hands out.
  std::unique_ptr<DB> db = OpenDB("#verify=off");
  std::string value;
  int64_t xt;
  Status status = db->Get("victim", &value, &xt);
  EXPECT_EQ(status.code(), Code::kBroken) << status.ToString() << " " << value;
  EXPECT_NE(status.message().find("checksum"), std::string::npos) << status.message();
  EXPECT_FALSE(db->Get("key MARKER-KEY", &value, &xt).ok());  // its LMDB key changed
  status = db->Get(group + "a", &value, &xt);
  EXPECT_EQ(status.code(), Code::kBroken) << status.ToString() << " " << value;
  // Each record (group entry) has its own checksum: the others read fine.
  ASSERT_TRUE(db->Get(group + "b", &value, &xt).ok());
  EXPECT_EQ(value, "the other entry");
  ASSERT_TRUE(db->Get("k42", &value, &xt).ok());
  EXPECT_EQ(value, "v42");
  std::vector<std::pair<std::string, std::string>> bulk;
  EXPECT_EQ(db->GetBulk({"k1", "victim"}, false, &bulk).code(), Code::kBroken);

  // Cursors: every record they give back is one that was written, and the scan stops
  // with BROKEN at a damaged one.
  for (bool backward : {false, true}) {
    std::unique_ptr<Cursor> cursor = db->NewCursor();
    status = backward ? cursor->JumpBack() : cursor->Jump();
    std::string key;
    int records = 0;
    while (status.ok()) {
      status = cursor->Get(&key, &value, &xt, false);
      if (!status.ok()) break;
      ++records;
      auto it = written.find(key);
      ASSERT_TRUE(it != written.end()) << "unknown key " << key;
      EXPECT_EQ(it->second, value) << key;
      status = backward ? cursor->StepBack() : cursor->Step();
    }
    EXPECT_EQ(status.code(), Code::kBroken) << status.ToString() << " after " << records;
  }
  CollectVisitor visitor;
  EXPECT_EQ(db->Iterate(visitor, false).code(), Code::kBroken);
  for (const auto& [key, seen] : visitor.seen) EXPECT_EQ(written[key], seen) << key;
  SetVisitor setter("x");
  EXPECT_EQ(db->Iterate(setter, true).code(), Code::kBroken);

  // Writes visit the old record too, so they fail as well rather than show it; a damaged
  // group is never rewritten (which would give its damage a fresh checksum).
  EXPECT_EQ(db->Set("victim", "new").code(), Code::kBroken);
  EXPECT_EQ(db->Set(group + "b", "new").code(), Code::kBroken);
  EXPECT_EQ(db->Remove(group + "a").code(), Code::kBroken);
  ASSERT_TRUE(db->Set("k42", "still writable").ok());
  ASSERT_TRUE(db->Get("k42", &value, &xt).ok());
  EXPECT_EQ(value, "still writable");
}

// LMDB's own pages carry no checksums; the check at open catches what damage to them does.
TEST_F(LmdbEngineTest, DamagedPagesAreRefusedAtOpen) {
  int64_t data_size = 0;
  {
    std::unique_ptr<DB> db = OpenDB();
    for (int i = 0; i < 6000; ++i) {
      ASSERT_TRUE(db->Set("k" + std::to_string(i), std::string(i % 50, 'v')).ok());
    }
    for (int i = 3000; i < 6000; ++i) ASSERT_TRUE(db->Remove("k" + std::to_string(i)).ok());
    const int64_t size = db->Size();
    ASSERT_TRUE(db->Vacuum(0).ok());  // no free pages left: every leaf page is in use
    data_size = db->Size();
    ASSERT_LT(data_size, size);
  }
  std::string original;
  {
    std::ifstream in(path_, std::ios::binary);
    original.assign(std::istreambuf_iterator<char>(in), {});
  }
  // Past its pages the file is as long as the map (sparse, zeros): leave that out.
  ASSERT_GE(original.size(), static_cast<size_t>(data_size));
  original.resize(static_cast<size_t>(data_size));
  const size_t psize = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  auto damaged_open = [&](size_t offset, uint8_t mask) {
    std::string bytes = original;
    bytes[offset] = static_cast<char>(bytes[offset] ^ mask);
    { std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes; }
    Status status;
    std::unique_ptr<DB> db = OpenDB("", false, &status);
    EXPECT_EQ(db, nullptr) << "offset " << offset;
    EXPECT_EQ(status.message().rfind(path_ + ": ", 0), 0u) << status.message();
    return status.message();
  };
  // The page number in the header of the first leaf page (the compacted file starts with
  // the pages of the named databases).
  size_t leaf = 0;
  for (size_t page = original.size() / psize - 1; page >= 2; --page) {
    uint64_t pgno;
    uint16_t flags;
    std::memcpy(&pgno, original.data() + page * psize, 8);
    std::memcpy(&flags, original.data() + page * psize + 10, 2);
    if (pgno == page && flags == 0x02) leaf = page;
  }
  ASSERT_GT(leaf, 0u);
  EXPECT_NE(damaged_open(leaf * psize, 0x01)
                .find("check at open: page " + std::to_string(leaf) + " has a bad header"),
            std::string::npos);
  // The transaction id of the newer meta page, made older than the other one: LMDB would
  // pick the previous state.
  uint64_t t0, t1;
  std::memcpy(&t0, original.data() + 144, 8);
  std::memcpy(&t1, original.data() + psize + 144, 8);
  const size_t newer = t0 > t1 ? 0 : psize;
  EXPECT_NE(damaged_open(newer + 144 + 2, 0xff).find("meta pages disagree"), std::string::npos);
  // The node offsets of a leaf page: entries vanish from lookups or the walk.
  damaged_open(leaf * psize + 16, 0x10);
  // The first node offset of the last page (the main database's root) pointed past the end
  // of the file: LMDB itself reads the node and faults. Only the checking child dies.
  const size_t last = original.size() / psize - 1;
  uint16_t lower;
  std::memcpy(&lower, original.data() + last * psize + 12, 2);
  ASSERT_GT(lower, 16);
  const uint8_t high = static_cast<uint8_t>(original[last * psize + 17]);
  EXPECT_NE(damaged_open(last * psize + 17, high ^ 0xff).find("crashed on a damaged page"),
            std::string::npos);
  // Undamaged, it opens with every record.
  { std::ofstream(path_, std::ios::binary | std::ios::trunc) << original; }
  EXPECT_EQ(OpenDB()->Count(), 3000);
}

// Update-log events describe committed writes only: the observer runs after the commit
// (a read from inside it sees the write) and never for a write whose commit failed.
TEST_F(LmdbEngineTest, UpdateEventsFollowTheCommit) {
  {
    std::unique_ptr<DB> db = OpenDB("#ktopts=p");
    ASSERT_TRUE(db->Set("victim", "value MARKER-VALUE of the victim").ok());
    ASSERT_TRUE(db->Set("other", "1").ok());
  }
  ASSERT_GE(FlipEvery(path_, "MARKER-VALUE"), 1);
  // Persistent: no sweeper, whose writes from inside the observer would wait for themselves.
  std::unique_ptr<DB> db = OpenDB("#ktopts=p#verify=off");
  struct Observer : UpdateObserver {
    DB* db = nullptr;
    std::vector<std::string> events;
    void OnSet(std::string_view key, std::string_view value, int64_t) override {
      std::string stored;
      Status status = db->Get(key, &stored, nullptr);
      events.push_back("set " + std::string(key) + "=" + std::string(value) + " stored " +
                       (status.ok() ? stored : status.ToString()));
    }
    void OnRemove(std::string_view key) override {
      std::string stored;
      events.push_back("remove " + std::string(key) +
                       (db->Get(key, &stored, nullptr).code() == Code::kNoRec ? " gone" : " kept"));
    }
    void OnClear() override { events.push_back("clear count " + std::to_string(db->Count())); }
  } observer;
  observer.db = db.get();
  db->SetUpdateObserver(&observer);

  ASSERT_TRUE(db->Set("a", "1").ok());
  ASSERT_TRUE(db->Remove("other").ok());
  // One atomic batch: "good" is set, then the damaged record fails the whole transaction.
  int64_t count = 0;
  EXPECT_EQ(db->SetBulk({{"good", "g"}, {"victim", "v"}}, kNoXt, true, &count).code(),
            Code::kBroken);
  std::string value;
  EXPECT_EQ(db->Get("good", &value, nullptr).code(), Code::kNoRec);  // not committed
  ASSERT_TRUE(db->Set("b", "2").ok());
  ASSERT_TRUE(db->Clear().ok());
  db->SetUpdateObserver(nullptr);
  EXPECT_EQ(observer.events, (std::vector<std::string>{"set a=1 stored 1", "remove other gone",
                                                       "set b=2 stored 2", "clear count 0"}));
}

TEST_F(LmdbEngineTest, FilesOfTheFormatWithoutChecksumsAreRefused) {
  { ASSERT_TRUE(OpenDB()->Set("k", "v").ok()); }
  {  // what a build before record checksums wrote
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 4);
    ASSERT_EQ(mdb_env_open(env, path_.c_str(), MDB_NOSUBDIR, 0644), 0);
    MDB_txn* txn = nullptr;
    MDB_dbi meta;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    ASSERT_EQ(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    std::string name = "format", old = "ryoan-kct 1";
    MDB_val k{name.size(), name.data()}, d{old.size(), old.data()};
    ASSERT_EQ(mdb_put(txn, meta, &k, &d, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
  }
  Status status;
  EXPECT_EQ(OpenDB("", false, &status), nullptr);
  EXPECT_EQ(status.code(), Code::kInvalid);
  EXPECT_NE(status.message().find("ryoan-kct 1"), std::string::npos) << status.message();
}

TEST_F(LmdbEngineTest, SecondOpenInOneProcessIsRefused) {
  std::unique_ptr<DB> db = OpenDB();
  Status status;
  EXPECT_EQ(OpenDB("", false, &status), nullptr);
  EXPECT_EQ(status.code(), Code::kInvalid);
  db.reset();
  EXPECT_NE(OpenDB(), nullptr);
}

TEST_F(LmdbEngineTest, ReaderOpensExistingFileReadOnly) {
  { ASSERT_TRUE(OpenDB()->Set("k", "v").ok()); }
  std::unique_ptr<DB> db = OpenDB("", true);
  std::string value;
  ASSERT_TRUE(db->Get("k", &value, nullptr).ok());
  EXPECT_EQ(value, "v");
  EXPECT_EQ(db->Set("k", "w").code(), Code::kNoPerm);
  EXPECT_TRUE(db->Synchronize(true).ok());
}

TEST_F(LmdbEngineTest, ClearUnpositionsCursorsAndPersists) {
  {
    std::unique_ptr<DB> db = OpenDB();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(db->Set("k" + std::to_string(i), "v").ok());
    ASSERT_TRUE(db->Set(std::string(2000, 'L'), "long").ok());
    std::unique_ptr<Cursor> cursor = db->NewCursor();
    ASSERT_TRUE(cursor->Jump().ok());
    ASSERT_TRUE(db->Clear().ok());
    EXPECT_EQ(cursor->Step().code(), Code::kNoRec);
    EXPECT_EQ(db->Count(), 0);
    ASSERT_TRUE(db->Set("after", "v").ok());
  }
  std::unique_ptr<DB> db = OpenDB();
  EXPECT_EQ(db->Count(), 1);
  EXPECT_EQ(Keys(db.get()), (std::vector<std::string>{"after"}));
}

TEST_F(LmdbEngineTest, PersistentFlagIsFixedAtCreation) {
  { ASSERT_TRUE(OpenDB("#ktopts=p")->Set("k", "v", 10).ok()); }
  std::unique_ptr<DB> db = OpenDB();
  EXPECT_EQ(db->GetStatus().at("ktopts"), "2");
  int64_t xt = 0;
  ASSERT_TRUE(db->Get("k", nullptr, &xt).ok());
  EXPECT_EQ(xt, kXtMax);
}

TEST_F(LmdbEngineTest, ForestNameUsesADirectory) {
  path_ = dir_ + "/forest.kcf";
  {
    std::unique_ptr<DB> db = OpenDB();
    ASSERT_TRUE(db->Set("k", "v").ok());
    EXPECT_EQ(db->GetStatus().at("type"), "65");
  }
  EXPECT_TRUE(std::filesystem::exists(path_ + "/data.mdb"));
  EXPECT_EQ(OpenDB()->Count(), 1);
}

TEST_F(LmdbEngineTest, FullVacuumShrinksTheFile) {
  std::unique_ptr<DB> db = OpenDB();
  std::string value(10000, 'v');
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(db->Set("k" + std::to_string(i), value).ok());
  for (int i = 0; i < 490; ++i) ASSERT_TRUE(db->Remove("k" + std::to_string(i)).ok());
  int64_t before = db->Size();
  ASSERT_TRUE(db->Vacuum(0).ok());
  EXPECT_LT(db->Size(), before / 4);
  EXPECT_EQ(db->Count(), 10);
  std::string got;
  ASSERT_TRUE(db->Get("k495", &got, nullptr).ok());
  EXPECT_EQ(got, value);
  ASSERT_TRUE(db->Set("new", "v").ok());
  EXPECT_EQ(Keys(db.get()).size(), 11u);
}

// A full vacuum copies the file while readers go on: gets on other threads complete (with
// the right values) while the vacuum is in its copy step (the seam runs there, holding
// whatever the copy holds); writers wait for it.
TEST_F(LmdbEngineTest, ReadersAreServedDuringAFullVacuum) {
  std::atomic<bool> copying{false};
  std::atomic<bool> copy_started{false};
  std::atomic<int64_t> gets_while_copying{0};
  std::atomic<bool> late_write_done{false};
  bool late_write_done_during_copy = true;
  LmdbEngine::Options options;
  options.before_compact_copy = [&] {
    copying = true;
    copy_started = true;
    // The copy does not start until readers were served meanwhile (or the deadline passed).
    auto deadline = Clock::now() + std::chrono::seconds(60);
    while (gets_while_copying < 300 && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    late_write_done_during_copy = late_write_done;
    copying = false;  // counted: gets that started and ended inside this step
  };
  std::unique_ptr<LmdbEngine> engine = OpenEngine(options);
  auto value_of = [](int i) { return std::to_string(i) + std::string(1000 + i % 3000, 'v'); };
  for (int i = 0; i < 2000; ++i) {
    SetVisitor set(value_of(i));
    ASSERT_TRUE(engine->Accept("k" + std::to_string(i), set, true).ok());
  }
  struct Remove : RecordVisitor {
    Decision VisitFull(std::string_view, std::string_view, int64_t) override {
      return Decision::Remove();
    }
  } remove;
  for (int i = 0; i < 2000; ++i) {
    if (i % 4 != 0) {
      ASSERT_TRUE(engine->Accept("k" + std::to_string(i), remove, true).ok());
    }
  }
  const int64_t before = engine->Size();

  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      struct Get : RecordVisitor {
        std::string value;
        bool found = false;
        Decision VisitFull(std::string_view, std::string_view v, int64_t) override {
          value.assign(v);
          found = true;
          return Decision::Keep();
        }
      };
      for (int n = t; !stop; n += 7) {
        const int i = n % 500 * 4;  // a kept record
        const bool during = copying;
        Get get;
        if (!engine->Accept("k" + std::to_string(i), get, false).ok() || !get.found ||
            get.value != value_of(i)) {
          ++wrong;
        }
        if (during && copying) ++gets_while_copying;
      }
    });
  }
  std::thread late_writer([&] {
    while (!copy_started) std::this_thread::yield();
    SetVisitor set("late");
    EXPECT_TRUE(engine->Accept("late", set, true).ok());
    late_write_done = true;
  });
  ASSERT_TRUE(engine->Compact().ok());
  late_writer.join();
  stop = true;
  for (std::thread& reader : readers) reader.join();

  EXPECT_GE(gets_while_copying, 300);
  EXPECT_EQ(wrong, 0);
  EXPECT_FALSE(late_write_done_during_copy);  // the writer waited for the vacuum
  EXPECT_LT(engine->Size(), before / 2);
  EXPECT_EQ(engine->Count(), 501);
  engine.reset();
  engine = OpenEngine();
  EXPECT_EQ(engine->Count(), 501);
  CollectVisitor all;
  ASSERT_TRUE(engine->Iterate(all, false).ok());
  ASSERT_EQ(all.seen.size(), 501u);
  EXPECT_EQ(all.seen["late"], "late");
  for (int i = 0; i < 2000; i += 4) EXPECT_EQ(all.seen["k" + std::to_string(i)], value_of(i));
}

// A writer killed with SIGKILL loses nothing it acknowledged: each Set that returned was
// committed to the OS page cache, which outlives the process.
TEST_F(LmdbEngineTest, AcknowledgedWritesSurviveSigkill) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    DatabaseSpec spec;
    ParseDatabaseSpec(path_, &spec).ok();
    std::unique_ptr<DB> db;
    if (!DB::Open(spec, OpenOptions(), &db).ok()) _exit(2);
    for (uint32_t i = 0;; ++i) {
      std::string key = "k" + std::to_string(i);
      if (!db->Set(key, "value-" + std::to_string(i) + std::string(i % 300, 'x')).ok()) _exit(3);
      if (write(fds[1], &i, sizeof(i)) != sizeof(i)) _exit(4);
    }
  }
  close(fds[1]);
  std::vector<uint32_t> acknowledged;
  uint32_t i;
  while (acknowledged.size() < 3000 && read(fds[0], &i, sizeof(i)) == sizeof(i)) {
    acknowledged.push_back(i);
  }
  kill(child, SIGKILL);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  EXPECT_TRUE(WIFSIGNALED(wstatus));
  while (read(fds[0], &i, sizeof(i)) == sizeof(i)) acknowledged.push_back(i);  // in flight
  close(fds[0]);
  ASSERT_GE(acknowledged.size(), 3000u);
  std::unique_ptr<DB> db = OpenDB();
  ASSERT_NE(db, nullptr);
  EXPECT_GE(db->Count(), static_cast<int64_t>(acknowledged.size()));
  for (uint32_t n : acknowledged) {
    std::string value;
    ASSERT_TRUE(db->Get("k" + std::to_string(n), &value, nullptr).ok()) << n;
    ASSERT_EQ(value, "value-" + std::to_string(n) + std::string(n % 300, 'x'));
  }
}

}  // namespace
}  // namespace ryoan::storage
