// crash_harness: kills a writer process at random moments and checks what the reopened
// database holds against an exact model of every acknowledged write.
//
//   crash_harness writer <dbarg> <seed>
//       Opens the database and writes forever: a random mix of set, append, increment,
//       increment_double, remove, set_bulk, remove_bulk (atomic or not), cas and hard
//       synchronize, values of 0..64 KiB of binary bytes, xt never / far future / already
//       expired. Before each op it writes "B <id> <op>" to stdout, after the DB returned the
//       result the model predicts "A <id> <code> <result>", after a synchronize "S <id>".
//       A reply that differs from the model: "E <id> <message>" and exit 3.
//   crash_harness check <dbarg> <seed> <cycles> <engine-name>
//       Runs the writer <cycles> times, SIGKILLs it after 5-200 ms (or, in one cycle in ten,
//       while it is still opening the file), reopens the file in-process and checks it. About
//       a third of the cycles start from a fresh file, the others continue on the file the
//       previous check reopened. <dbarg> ".kch" / ".kct" means a fresh temporary directory.
//   crash_harness faults <dbarg> <seed> <rounds>
//       Truncates and flips bytes of a cleanly closed file and checks what an open then
//       returns (see README: what holds for each engine).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "storage/database_spec.h"
#include "storage/db.h"
#include "tests/crash/crash_model.h"
#include "tests/crash/kct_pages.h"
#include "tests/crash/probe_child.h"

namespace ryoan::crash {
namespace {

using storage::Code;
using storage::DB;
using storage::Status;
using SteadyClock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------
// Common helpers

// 0 = real time; otherwise the clock every DB opened by this process sees.
int64_t g_fake_now = 0;

Status OpenDb(const std::string& dbarg, std::unique_ptr<DB>* db) {
  storage::DatabaseSpec spec;
  Status status = storage::ParseDatabaseSpec(dbarg, &spec);
  if (!status.ok()) return status;
  storage::OpenOptions options;
  options.clock = [] {
    return g_fake_now != 0 ? g_fake_now : static_cast<int64_t>(std::time(nullptr));
  };
  return DB::Open(spec, options, db);
}

void WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(5);  // the checker went away
    done += static_cast<size_t>(n);
  }
}

void Emit(const std::string& line) { WriteAll(1, line + "\n"); }

std::string KeyName(int i) {
  std::string key = "key" + std::to_string(i);
  if (i % 4 == 0) key += std::string("\0\xff\n \x01", 5);  // binary bytes in keys
  if (i % 7 == 0) key += std::string(200, static_cast<char>('a' + i % 26));
  return key;
}

constexpr int kKeys = 48;
constexpr int kIntCounters = 40;     // keys 40..43 take increment
constexpr int kDoubleCounters = 44;  // keys 44..47 take increment_double

std::string DescribeRec(const std::optional<Rec>& rec) {
  if (!rec.has_value()) return "absent";
  std::string head = Hex(std::string_view(rec->value).substr(0, 16));
  return "value(size=" + std::to_string(rec->value.size()) +
         " hash=" + std::to_string(Hash64(rec->value)) + " head=" + head +
         ") xt=" + std::to_string(rec->xt);
}

// ---------------------------------------------------------------------------------------
// Writer

uint64_t RandomLen(std::mt19937_64& rng) {
  uint64_t r = rng() % 100;
  if (r < 50) return rng() % 65;
  if (r < 80) return 65 + rng() % 4032;
  if (r < 95) return 4097 + rng() % 12288;
  return 16385 + rng() % 49152;  // up to 64 KiB
}

int64_t RandomXt(std::mt19937_64& rng) {
  uint64_t r = rng() % 10;
  if (r < 6) return storage::kNoXt;
  if (r < 8) return -kFutureXt;
  if (r < 9) return -kExpiredXt;
  return -(storage::kXtMax + 12345);  // capped to kXtMax
}

Op Generate(std::mt19937_64& rng, const Model& model, uint64_t id) {
  Op op;
  op.id = id;
  auto any_key = [&] { return KeyName(static_cast<int>(rng() % kKeys)); };
  uint64_t r = rng() % 100;
  if (r < 25) {
    op.kind = "set";
  } else if (r < 37) {
    op.kind = "append";
  } else if (r < 47) {
    op.kind = "incr";
  } else if (r < 52) {
    op.kind = "incrd";
  } else if (r < 62) {
    op.kind = "remove";
  } else if (r < 71) {
    op.kind = "setbulk";
  } else if (r < 77) {
    op.kind = "removebulk";
  } else if (r < 97) {
    op.kind = "cas";
  } else {
    op.kind = "sync";
  }
  op.xt_arg = RandomXt(rng);
  if (op.kind == "set" || op.kind == "append") {
    op.keys.push_back(any_key());
    uint64_t len = RandomLen(rng);
    auto it = model.find(op.keys[0]);
    if (op.kind == "append" && it != model.end() && it->second.value.size() > 256 * 1024) {
      op.kind = "set";  // keep values bounded
    }
    op.lens.push_back(len);
  } else if (op.kind == "incr") {
    op.keys.push_back(KeyName(kIntCounters + static_cast<int>(rng() % 4)));
    if (rng() % 20 == 0) op.keys[0] = any_key();  // usually fails: not a counter
    op.inum = static_cast<int64_t>(rng() % 2001) - 1000;
    const int64_t origs[] = {0, 7, INT64_MAX, INT64_MIN};
    op.iorig = origs[rng() % 4];
  } else if (op.kind == "incrd") {
    op.keys.push_back(KeyName(kDoubleCounters + static_cast<int>(rng() % 4)));
    op.dnum = static_cast<double>(static_cast<int64_t>(rng() % 20001) - 10000) / 64.0;
    const double inf = std::numeric_limits<double>::infinity();
    const double origs[] = {0.0, 1.25, inf, -inf};
    op.dorig = origs[rng() % 4];
  } else if (op.kind == "remove") {
    op.keys.push_back(any_key());
  } else if (op.kind == "setbulk" || op.kind == "removebulk") {
    op.atomic = rng() % 2 == 0;
    size_t n = 1 + rng() % 8;
    std::set<std::string> seen;
    while (op.keys.size() < n) {
      std::string key = any_key();
      if (!seen.insert(key).second) continue;  // no duplicates: per-key states stay simple
      op.keys.push_back(key);
      if (op.kind == "setbulk") op.lens.push_back(RandomLen(rng) / 4);
    }
  } else if (op.kind == "cas") {
    op.keys.push_back(any_key());
    auto it = model.find(op.keys[0]);
    bool live = it != model.end() && Live(it->second);
    uint64_t c = rng() % 4;
    if (c < 2) {
      op.cas_old = live ? "c:" + std::to_string(Hash64(it->second.value)) : "-";
    } else if (c < 3) {
      op.cas_old = "w" + std::to_string(rng() % 64);
    } else {
      op.cas_old = "-";
    }
    op.cas_new = rng() % 5 == 0 ? "-" : std::to_string(RandomLen(rng));
  }
  return op;
}

int RunWriter(const std::string& dbarg, uint64_t seed) {
  std::unique_ptr<DB> db;
  Status status = OpenDb(dbarg, &db);
  if (!status.ok()) {
    Emit("E 0 open failed: " + status.ToString());
    return 2;
  }
  // The live records are the starting state (the checker verified them); an expired record
  // behaves as absent for every operation, so the writer need not know it.
  Model model;
  {
    std::unique_ptr<storage::Cursor> cursor = db->NewCursor();
    std::string key, value;
    int64_t xt;
    Status s = cursor->Jump();
    while (s.ok()) {
      s = cursor->Get(&key, &value, &xt, true);
      if (s.ok()) model[key] = Rec{value, xt};
    }
  }
  Emit("ready");
  // Self-test of the checker: acknowledge some sets without performing them.
  const char* sabotage = std::getenv("RYOAN_CRASH_SABOTAGE");
  bool lose_writes = sabotage != nullptr && std::string(sabotage) == "lose";
  std::mt19937_64 rng(seed);
  for (uint64_t id = 1;; ++id) {
    Op op = Generate(rng, model, id);
    std::optional<std::string> oval;
    if (op.kind == "cas" && !ResolveCasOld(op, seed, model, &oval)) {
      Emit("E " + std::to_string(id) + " internal: cas old value");
      return 3;
    }
    Emit(FormatOp(op));
    Expect expect;
    std::string error;
    if (!Apply(op, seed, &model, &expect, &error)) {
      Emit("E " + std::to_string(id) + " " + error);
      return 3;
    }
    int64_t count = 0, iresult = 0;
    double dresult = 0;
    if (op.kind == "set" && lose_writes && id % 5 == 0) {
      status = Status::OK();
    } else if (op.kind == "set") {
      status = db->Set(op.keys[0], GenValue(seed, id, 0, op.lens[0]), op.xt_arg);
    } else if (op.kind == "append") {
      status = db->Append(op.keys[0], GenValue(seed, id, 0, op.lens[0]), op.xt_arg);
    } else if (op.kind == "incr") {
      status = db->Increment(op.keys[0], op.inum, op.iorig, op.xt_arg, &iresult);
    } else if (op.kind == "incrd") {
      status = db->IncrementDouble(op.keys[0], op.dnum, op.dorig, op.xt_arg, &dresult);
    } else if (op.kind == "remove") {
      status = db->Remove(op.keys[0]);
    } else if (op.kind == "setbulk") {
      std::vector<std::pair<std::string, std::string>> records;
      for (size_t i = 0; i < op.keys.size(); ++i) {
        records.emplace_back(op.keys[i], GenValue(seed, id, i, op.lens[i]));
      }
      status = db->SetBulk(records, op.xt_arg, op.atomic, &count);
      count = 0;  // setbulk reports the records given, the model does not track it
    } else if (op.kind == "removebulk") {
      status = db->RemoveBulk(op.keys, op.atomic, &count);
    } else if (op.kind == "cas") {
      std::optional<std::string> nval;
      if (op.cas_new != "-") nval = GenValue(seed, id, 0, std::stoull(op.cas_new));
      std::optional<std::string_view> ov, nv;
      if (oval) ov = *oval;
      if (nval) nv = *nval;
      status = db->Cas(op.keys[0], ov, nv, op.xt_arg);
    } else if (op.kind == "sync") {
      status = db->Synchronize(true);
    }
    bool same = status.code() == expect.code;
    if (same && status.ok()) {
      if (op.kind == "incr") same = iresult == expect.iresult;
      if (op.kind == "incrd") {
        same = std::isnan(expect.dresult) ? std::isnan(dresult) : dresult == expect.dresult;
      }
      if (op.kind == "removebulk") same = count == expect.count;
    }
    if (lose_writes) {
      status = Status(expect.code, "");  // leave the finding to the checker's reopen
    } else if (!same) {
      Emit("E " + std::to_string(id) + " " + op.kind + " returned " + status.ToString() +
           " (count " + std::to_string(count) + ", result " + std::to_string(iresult) +
           "), the model expects code " + std::to_string(static_cast<int>(expect.code)) +
           " (count " + std::to_string(expect.count) + ", result " +
           std::to_string(expect.iresult) + ")");
      return 3;
    }
    Emit("A " + std::to_string(id) + " " + std::to_string(static_cast<int>(status.code())));
    if (op.kind == "sync") Emit("S " + std::to_string(id));
  }
}

// ---------------------------------------------------------------------------------------
// Checker

struct Stats {
  int cycles = 0;
  int ok = 0;
  int fresh = 0;
  int killed_opening = 0;
  int64_t acked = 0;
  int64_t syncs = 0;
  int in_flight = 0;
  int in_flight_applied = 0;  // the in-flight op's effect was found on disk
  int64_t max_records = 0;
};

std::string SelfPath() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

void RemoveDbFiles(const std::string& path) {
  std::filesystem::path p(path);
  std::string base = p.filename().string();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(p.parent_path(), ec)) {
    if (entry.path().filename().string().rfind(base, 0) == 0) {
      std::filesystem::remove_all(entry.path(), ec);
    }
  }
}

// Whether what is stored (`seen`) may be the model state `want` of a key.
bool Consistent(const std::optional<Rec>& seen, const std::optional<Rec>& want) {
  if (!want.has_value()) return !seen.has_value();
  if (!seen.has_value()) return !Live(*want);  // expired records may have been swept
  return seen->value == want->value && seen->xt == want->xt;
}

class Checker {
 public:
  Checker(std::string dbarg, uint64_t seed, std::string engine)
      : dbarg_(std::move(dbarg)), seed_(seed), engine_(std::move(engine)), rng_(seed) {}

  int Run(int cycles) {
    std::string self = SelfPath();
    for (int cycle = 0; cycle < cycles; ++cycle) {
      ++stats_.cycles;
      std::string error;
      if (!RunCycle(self, cycle, &error)) {
        std::fprintf(stderr, "crash: %s: cycle %d (seed %" PRIu64 ") FAILED: %s\n", engine_.c_str(),
                     cycle, seed_, error.c_str());
        std::fprintf(stderr, "crash: the database is left at %s\n", dbarg_.c_str());
        PrintSummary(1);
        return 1;
      }
      ++stats_.ok;
    }
    PrintSummary(0);
    return 0;
  }

 private:
  void PrintSummary(int failures) {
    std::printf(
        "crash: %s cycles=%d ok=%d failures=%d (fresh=%d killed_while_opening=%d acked_ops=%" PRId64
        " hard_syncs=%" PRId64 " in_flight=%d in_flight_applied=%d max_records=%" PRId64 ")\n",
        engine_.c_str(), stats_.cycles, stats_.ok, failures, stats_.fresh, stats_.killed_opening,
        stats_.acked, stats_.syncs, stats_.in_flight, stats_.in_flight_applied, stats_.max_records);
    std::fflush(stdout);
  }

  bool RunCycle(const std::string& self, int cycle, std::string* error) {
    uint64_t writer_seed = seed_ * 1000003 + static_cast<uint64_t>(cycle);
    if (cycle == 0 || rng_() % 3 == 0) {
      RemoveDbFiles(dbarg_);
      model_.clear();
      ++stats_.fresh;
    }
    int fds[2];
    if (pipe(fds) != 0) return Fail(error, "pipe failed");
    pid_t pid = fork();
    if (pid < 0) return Fail(error, "fork failed");
    if (pid == 0) {
      dup2(fds[1], 1);
      close(fds[0]);
      close(fds[1]);
      std::string seed_text = std::to_string(writer_seed);
      execl(self.c_str(), self.c_str(), "writer", dbarg_.c_str(), seed_text.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    bool kill_while_opening = rng_() % 10 == 0;
    auto start = SteadyClock::now();
    auto deadline = start + std::chrono::milliseconds(kill_while_opening ? rng_() % 30 : 60000);
    uint64_t delay_ms = 5 + rng_() % 196;
    std::optional<Op> pending;
    bool ready = false;
    bool eof = false;
    std::string buffer;
    // Reads until the deadline, then kills, then reads what is left in the pipe.
    for (bool killed = false; !eof;) {
      if (!killed && SteadyClock::now() >= deadline) {
        kill(pid, SIGKILL);
        killed = true;
      }
      int timeout = -1;
      if (!killed) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
        timeout = static_cast<int>(std::max<int64_t>(0, left.count())) + 1;
      }
      pollfd pfd{fds[0], POLLIN, 0};
      int n = poll(&pfd, 1, timeout);
      if (n < 0 && errno != EINTR) return Fail(error, "poll failed");
      if (n <= 0) continue;
      char chunk[65536];
      ssize_t got = read(fds[0], chunk, sizeof(chunk));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        eof = true;
        break;
      }
      buffer.append(chunk, static_cast<size_t>(got));
      size_t pos;
      while ((pos = buffer.find('\n')) != std::string::npos) {
        std::string line = buffer.substr(0, pos);
        buffer.erase(0, pos + 1);
        if (line == "ready") {
          ready = true;
          if (!kill_while_opening)
            deadline = SteadyClock::now() + std::chrono::milliseconds(delay_ms);
        } else if (!HandleLine(line, &pending, error)) {
          kill(pid, SIGKILL);
          waitpid(pid, nullptr, 0);
          close(fds[0]);
          return false;
        }
      }
    }
    close(fds[0]);
    int wstatus = 0;
    waitpid(pid, &wstatus, 0);
    if (!WIFSIGNALED(wstatus) || WTERMSIG(wstatus) != SIGKILL) {
      return Fail(error, "the writer ended by itself (status " + std::to_string(wstatus) +
                             ") before it was killed");
    }
    if (!ready) ++stats_.killed_opening;
    return Verify(pending, error);
  }

  static bool Fail(std::string* error, std::string message) {
    *error = std::move(message);
    return false;
  }

  bool HandleLine(const std::string& line, std::optional<Op>* pending, std::string* error) {
    if (line.rfind("B ", 0) == 0) {
      Op op;
      if (!ParseOp(line, &op, error)) return false;
      if (pending->has_value()) {
        return Fail(error, "op " + std::to_string(op.id) + " began before op " +
                               std::to_string((*pending)->id) + " was acknowledged");
      }
      *pending = std::move(op);
    } else if (line.rfind("A ", 0) == 0) {
      uint64_t id = 0;
      int code = -1;
      if (std::sscanf(line.c_str(), "A %" SCNu64 " %d", &id, &code) != 2 || !pending->has_value() ||
          (*pending)->id != id) {
        return Fail(error, "unexpected acknowledgement '" + line + "'");
      }
      Expect expect;
      if (!Apply(**pending, writer_seed(), &model_, &expect, error)) return false;
      if (static_cast<int>(expect.code) != code) {
        return Fail(error, "op " + std::to_string(id) + " acknowledged with code " +
                               std::to_string(code) + ", the checker's model expects " +
                               std::to_string(static_cast<int>(expect.code)));
      }
      ++stats_.acked;
      pending->reset();
    } else if (line.rfind("S ", 0) == 0) {
      ++stats_.syncs;
    } else if (line.rfind("E ", 0) == 0) {
      return Fail(error, "the writer reports: " + line.substr(2));
    } else {
      return Fail(error, "unexpected line from the writer: '" + line.substr(0, 200) + "'");
    }
    return true;
  }

  uint64_t writer_seed() const {
    return seed_ * 1000003 + static_cast<uint64_t>(stats_.cycles - 1);
  }

  static std::optional<Rec> Lookup(const Model& model, const std::string& key) {
    auto it = model.find(key);
    if (it == model.end()) return std::nullopt;
    return it->second;
  }

  bool Verify(const std::optional<Op>& pending, std::string* error) {
    // The state after the op in flight, for the keys it touches: each may show either.
    Model after;
    std::set<std::string> in_flight_keys;
    if (pending.has_value()) {
      ++stats_.in_flight;
      for (const std::string& key : AffectedKeys(*pending)) {
        in_flight_keys.insert(key);
        if (auto rec = Lookup(model_, key)) after[key] = *rec;
      }
      Expect expect;
      if (!Apply(*pending, writer_seed(), &after, &expect, error)) return false;
    }
    auto where = [&](const std::string& key) {
      return "key " + Hex(key) + (in_flight_keys.count(key) ? " (in flight)" : "");
    };

    // Phase 1, clock at 1970-01-01T00:00:01: nothing is expired, so the cursor shows every
    // stored record and Count() must equal the records it sees.
    g_fake_now = 1;
    std::unique_ptr<DB> db;
    Status status = OpenDb(dbarg_, &db);
    if (!status.ok()) return Fail(error, "reopen failed: " + status.ToString());
    Model seen;
    {
      std::unique_ptr<storage::Cursor> cursor = db->NewCursor();
      std::string key, value;
      int64_t xt;
      status = cursor->Jump();
      while (status.ok()) {
        status = cursor->Get(&key, &value, &xt, true);
        if (!status.ok()) break;
        if (!seen.emplace(key, Rec{value, xt}).second) {
          return Fail(error, "the cursor visited " + where(key) + " twice");
        }
      }
      if (status.code() != Code::kNoRec) {
        return Fail(error, "cursor scan failed: " + status.ToString());
      }
    }
    if (db->Count() != static_cast<int64_t>(seen.size())) {
      return Fail(error, "Count() = " + std::to_string(db->Count()) + " but a cursor scan with " +
                             "nothing expired sees " + std::to_string(seen.size()) + " records");
    }
    bool applied = false;
    std::set<std::string> keys;
    for (const auto& [key, rec] : model_) keys.insert(key);
    for (const auto& [key, rec] : seen) keys.insert(key);
    for (const std::string& key : keys) {
      std::optional<Rec> got = Lookup(seen, key);
      std::optional<Rec> want = Lookup(model_, key);
      if (Consistent(got, want)) continue;
      if (in_flight_keys.count(key) && Consistent(got, Lookup(after, key))) {
        applied = true;
        continue;
      }
      std::string message =
          where(key) + ": stored " + DescribeRec(got) + ", acknowledged " + DescribeRec(want);
      if (in_flight_keys.count(key)) message += " or in flight " + DescribeRec(Lookup(after, key));
      if (got.has_value() && !want.has_value()) message += " (a record that was never written)";
      return Fail(error, message);
    }
    if (applied) ++stats_.in_flight_applied;
    model_ = seen;  // verified; the next cycle may continue from it
    stats_.max_records = std::max<int64_t>(stats_.max_records, static_cast<int64_t>(seen.size()));

    // Phase 2, real clock: expired records read as absent, live ones exactly.
    g_fake_now = 0;
    for (int i = 0; i < kKeys; ++i) keys.insert(KeyName(i));
    for (const std::string& key : keys) {
      std::string value;
      int64_t xt = 0;
      status = db->Get(key, &value, &xt);
      std::optional<Rec> rec = Lookup(model_, key);
      if (rec.has_value() && Live(*rec)) {
        if (!status.ok()) return Fail(error, where(key) + ": Get failed: " + status.ToString());
        if (value != rec->value || xt != rec->xt) {
          return Fail(error, where(key) + ": Get returned " + DescribeRec(Rec{value, xt}) +
                                 ", the scan saw " + DescribeRec(rec));
        }
      } else if (status.code() != Code::kNoRec) {
        return Fail(error, where(key) + ": expected no record (" + DescribeRec(rec) +
                               "), Get gave " + status.ToString());
      }
    }
    return true;
  }

  std::string dbarg_;
  uint64_t seed_;
  std::string engine_;
  std::mt19937_64 rng_;
  Model model_;
  Stats stats_;
};

// ---------------------------------------------------------------------------------------
// Fault injection

struct FileImage {
  std::string path;
  std::string bytes;
};

// Bytes of `bytes` up to its last non-zero byte, rounded up to a 4 KiB page (at least 1).
size_t ContentEnd(const std::string& bytes) {
  size_t end = bytes.size();
  while (end > 0 && bytes[end - 1] == 0) --end;
  end = (end + 4095) / 4096 * 4096;
  return std::max<size_t>(1, std::min(end, bytes.size()));
}

std::vector<FileImage> Snapshot(const std::string& path) {
  std::vector<FileImage> images;
  std::filesystem::path p(path);
  for (const auto& entry : std::filesystem::directory_iterator(p.parent_path())) {
    if (!entry.is_regular_file()) continue;
    if (entry.path().filename().string().rfind(p.filename().string(), 0) != 0) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    images.push_back({entry.path().string(), std::string(std::istreambuf_iterator<char>(in), {})});
  }
  return images;
}

void Restore(const std::string& path, const std::vector<FileImage>& images) {
  RemoveDbFiles(path);
  for (const FileImage& image : images) {
    std::ofstream out(image.path, std::ios::binary | std::ios::trunc);
    out.write(image.bytes.data(), static_cast<std::streamsize>(image.bytes.size()));
  }
}

// Opens the damaged file in a child (a crash there is counted, not fatal) and reports on
// `fd`: "refused <message>", "wrong <details>", or "read lost=<n> older=<n> errors=<n>":
// records missing, holding an earlier value of their key, or failing to read (BROKEN).
// `history` holds every value each key ever had; anything else is a wrong value.
using History = std::map<std::string, std::vector<Rec>>;

void Probe(const std::string& dbarg, const Model& model, const History& history, int fd) {
  std::unique_ptr<DB> db;
  Status status = OpenDb(dbarg, &db);
  if (!status.ok()) {
    WriteAll(fd, "refused " + status.ToString());
    return;
  }
  int lost = 0, older = 0, errors = 0;
  std::string wrong;
  // Classifies one value read for `key`; false if it was never written.
  auto judge = [&](const std::string& key, const Rec& got) {
    auto it = model.find(key);
    if (it != model.end() && it->second.value == got.value && it->second.xt == got.xt) return true;
    auto h = history.find(key);
    if (h != history.end()) {
      for (const Rec& rec : h->second) {
        if (rec.value == got.value && rec.xt == got.xt) {
          ++older;
          return true;
        }
      }
    }
    wrong = "key " + Hex(key).substr(0, 80) + " holds " + DescribeRec(got) +
            ", which was never written (current: " +
            (it == model.end() ? std::string("absent") : DescribeRec(it->second)) + ")";
    return false;
  };
  for (const auto& [key, rec] : model) {
    std::string value;
    int64_t xt;
    status = db->Get(key, &value, &xt);
    if (status.ok()) {
      if (!judge(key, Rec{value, xt})) break;
    } else if (status.code() == Code::kNoRec) {
      ++lost;
    } else {
      ++errors;
    }
  }
  if (wrong.empty()) {
    std::unique_ptr<storage::Cursor> cursor = db->NewCursor();
    std::string key, value;
    int64_t xt;
    status = cursor->Jump();
    for (int guard = 0; status.ok() && guard < 1000000; ++guard) {
      status = cursor->Get(&key, &value, &xt, true);
      if (!status.ok() || !judge(key, Rec{value, xt})) break;
    }
    if (!status.ok() && status.code() != Code::kNoRec) ++errors;
  }
  if (!wrong.empty()) {
    WriteAll(fd, "wrong " + wrong);
  } else {
    WriteAll(fd, "read lost=" + std::to_string(lost) + " older=" + std::to_string(older) +
                     " errors=" + std::to_string(errors));
  }
}

int RunFaults(const std::string& dbarg, uint64_t seed, int rounds) {
  std::string engine = std::filesystem::path(dbarg).extension().string().substr(1);
  std::mt19937_64 rng(seed);
  Model model;
  History history;
  RemoveDbFiles(dbarg);
  {
    std::unique_ptr<DB> db;
    Status status = OpenDb(dbarg, &db);
    if (!status.ok()) {
      std::fprintf(stderr, "faults: open failed: %s\n", status.ToString().c_str());
      return 1;
    }
    for (int i = 0; i < 1500; ++i) {
      std::string key = "f" + std::to_string(i) + (i % 3 == 0 ? std::string(1, '\0') : "");
      uint64_t len = i % 50 == 0 ? 20000 + rng() % 20000 : rng() % 600;
      Rec rec{GenValue(seed, static_cast<uint64_t>(i), 0, len),
              i % 5 == 0 ? kFutureXt : storage::kXtMax};
      status = db->Set(key, rec.value, -rec.xt);
      if (!status.ok()) {
        std::fprintf(stderr, "faults: set failed: %s\n", status.ToString().c_str());
        return 1;
      }
      model[key] = rec;
      history[key].push_back(rec);
    }
    for (int i = 0; i < 200; ++i) {  // overwrites: truncation may bring older values back
      std::string key = "f" + std::to_string(i * 7) + (i * 7 % 3 == 0 ? std::string(1, '\0') : "");
      Rec rec{GenValue(seed, 100000 + static_cast<uint64_t>(i), 0, rng() % 600), storage::kXtMax};
      if (!db->Set(key, rec.value).ok()) return 1;
      model[key] = rec;
      history[key].push_back(rec);
    }
    for (int i = 0; i < 300; ++i) {  // some removals, so that pages/records are garbage
      std::string key = "f" + std::to_string(i * 5 + 1);
      db->Remove(key);
      model.erase(key);
    }
    db->Synchronize(true);
  }
  std::vector<FileImage> images = Snapshot(dbarg);
  size_t main_file = 0;
  for (size_t i = 0; i < images.size(); ++i) {
    if (images[i].path == dbarg) main_file = i;
  }
  struct Tally {
    int refused = 0, ok = 0, rolled_back = 0, errors = 0, wrong = 0, crashed = 0;
    int older = 0;  // rolled back with at least one earlier value of a key
  } trunc, flip;
  std::string first_wrong, first_crash, sample_refusal;
  for (int round = 0; round < rounds; ++round) {
    bool truncate = round % 2 == 0;
    size_t file = rng() % 4 == 0 ? rng() % images.size() : main_file;
    const std::string& bytes = images[file].bytes;
    if (bytes.empty()) continue;
    // Mostly the last 8 pages (4 KiB each) of the content, where the last writes landed.
    // Past the content both engines' files end in zeros (a .kct file is as long as its map,
    // a .kch file keeps room for its mapping): damage there would test nothing.
    const size_t content = ContentEnd(bytes);
    size_t tail = std::min<size_t>(content, 8 * 4096);
    size_t offset = rng() % 3 == 0 ? rng() % content : content - 1 - rng() % tail;
    std::vector<FileImage> damaged = images;
    std::string what;
    if (truncate) {
      damaged[file].bytes.resize(offset);
      what = "truncate " + images[file].path + " to " + std::to_string(offset);
    } else {
      uint8_t mask = static_cast<uint8_t>(1 + rng() % 255);
      damaged[file].bytes[offset] = static_cast<char>(damaged[file].bytes[offset] ^ mask);
      what = "flip byte " + std::to_string(offset) + " of " + images[file].path;
    }
    Restore(dbarg, damaged);
    std::string result;
    ProbeOutcome outcome =
        RunProbeInChild([&](int fd) { Probe(dbarg, model, history, fd); }, &result);
    if (outcome == ProbeOutcome::kNotStarted) return 1;
    Tally& tally = truncate ? trunc : flip;
    if (outcome == ProbeOutcome::kCrashed) {
      ++tally.crashed;
      if (first_crash.empty()) first_crash = what;
    } else if (result.rfind("refused", 0) == 0) {
      ++tally.refused;
      if (sample_refusal.empty()) sample_refusal = result.substr(8);
    } else if (result.rfind("wrong", 0) == 0) {
      ++tally.wrong;
      if (first_wrong.empty()) first_wrong = what + ": " + result.substr(6);
    } else if (result.find(" errors=0") == std::string::npos) {
      ++tally.errors;
    } else if (result != "read lost=0 older=0 errors=0") {
      ++tally.rolled_back;
      if (result.find(" older=0 ") == std::string::npos) ++tally.older;
    } else {
      ++tally.ok;
    }
  }
  Restore(dbarg, images);
  auto print = [&](const char* name, const Tally& t) {
    std::printf(
        "faults: %s %s: refused=%d intact=%d rolled_back=%d (older_values=%d) read_errors=%d "
        "wrong_values=%d crashed=%d\n",
        engine.c_str(), name, t.refused, t.ok, t.rolled_back, t.older, t.errors, t.wrong,
        t.crashed);
  };
  print("truncations", trunc);
  print("byte flips", flip);
  if (!sample_refusal.empty()) std::printf("faults: sample refusal: %s\n", sample_refusal.c_str());
  if (!first_wrong.empty()) std::printf("faults: first wrong value: %s\n", first_wrong.c_str());
  if (!first_crash.empty()) std::printf("faults: first crash: %s\n", first_crash.c_str());
  // What must hold: truncation never yields a wrong value or a crash on either engine, nor
  // does a flipped byte yield a wrong value (both engines keep a CRC-32C on every record:
  // a damaged one reads as BROKEN). On .kch (also header and index checksums) a flip never
  // crashes either. On .kct LMDB checks none of its own pages: a flip in a page header or
  // node offset can still crash LMDB's tree walk or make records vanish (lost), and a flip
  // in a page pointer could even lead to an older, intact page; those are reported, not
  // asserted (FORMAT-kct.md, "Damaged files").
  bool failed = trunc.wrong > 0 || trunc.crashed > 0 || flip.wrong > 0;
  if (engine == "kch") failed = failed || flip.crashed > 0;
  std::printf("faults: %s %s\n", engine.c_str(), failed ? "FAILED" : "ok");
  return failed ? 1 : 0;
}

// A fresh temporary directory for ".kch" / ".kct" arguments.
std::string ResolveDbArg(const std::string& arg, std::string* temp_dir) {
  if (arg.empty() || arg[0] != '.') return arg;
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/ryoan-crash-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) return "";
  *temp_dir = pattern;
  return pattern + "/casket" + arg;
}

int Usage() {
  std::fprintf(stderr,
               "usage: crash_harness writer <dbarg> <seed>\n"
               "       crash_harness check <dbarg> <seed> <cycles> <engine-name>\n"
               "       crash_harness faults <dbarg> <seed> <rounds>\n"
               "       crash_harness pageflips <dbarg.kct> <seed> <flips-per-kind>\n");
  return 2;
}

}  // namespace
}  // namespace ryoan::crash

int main(int argc, char** argv) {
  using namespace ryoan::crash;
  if (argc < 2) return Usage();
  std::string mode = argv[1];
  if (mode == "writer" && argc == 4) {
    return RunWriter(argv[2], std::strtoull(argv[3], nullptr, 10));
  }
  if ((mode == "check" && argc == 6) || ((mode == "faults" || mode == "pageflips") && argc == 5)) {
    std::string temp_dir;
    std::string dbarg = ResolveDbArg(argv[2], &temp_dir);
    if (dbarg.empty()) return Usage();
    signal(SIGPIPE, SIG_IGN);
    uint64_t seed = std::strtoull(argv[3], nullptr, 10);
    int rc = mode == "check"       ? Checker(dbarg, seed, argv[5]).Run(std::atoi(argv[4]))
             : mode == "pageflips" ? RunPageFlips(dbarg, seed, std::atoi(argv[4]))
                                   : RunFaults(dbarg, seed, std::atoi(argv[4]));
    if (rc == 0 && !temp_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(temp_dir, ec);
    }
    return rc;
  }
  return Usage();
}
