// DB: a timed database, the unit ktserver serves. It wraps an Engine and adds what every
// engine shares (spec/databases.md section 4 and 5): expiration times, the exact semantics
// of each operation, cursors that skip expired records, bounded background removal of
// expired records, capacity limits, and the single point where applied changes are reported
// to an UpdateObserver (the future update log).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/database_spec.h"
#include "storage/engine.h"
#include "storage/status.h"

namespace ryoan::storage {

namespace internal {
class ChangeSink;
class TimedVisitor;
}  // namespace internal

// The xt argument value meaning "omitted": the record never expires.
inline constexpr int64_t kNoXt = INT64_MAX;

// Converts an xt argument (omitted, relative >= 0, absolute < 0) to an absolute expiration
// time, capped at kXtMax (spec/databases.md 4.2).
int64_t ResolveXt(int64_t xt_arg, int64_t now);

// Receives every change a client applied, in the order applied, while the record is locked.
// Sweeper deletions and capacity evictions are not reported.
class UpdateObserver {
 public:
  virtual ~UpdateObserver() = default;
  virtual void OnSet(std::string_view key, std::string_view value, int64_t xt) = 0;
  virtual void OnRemove(std::string_view key) = 0;
  virtual void OnClear() = 0;
};

struct OpenOptions {
  bool readonly = false;  // -ord: every update fails with NoPerm("permission denied")
  bool autosync = false;  // -oas: file engines sync the data to the device after every write
  // -oat: accepted; every update of the file engines is already atomic and crash-safe.
  bool autotran = false;
  bool nolock = false;    // -onl: .kch takes no file lock (.kct: LMDB keeps its own lock file)
  bool trylock = false;   // -otl: .kch fails at once when the file is locked (else waits <= 10 s)
  bool norepair = false;  // -onr: .kch refuses to open instead of truncating a torn tail
  // Seconds since the epoch; a seam for tests of expiry.
  std::function<int64_t()> clock;
};

class DB;

// A cursor on a DB, skipping expired records in its direction of travel. Not thread-safe;
// ktserver keeps one per connection and cursor id.
class Cursor {
 public:
  explicit Cursor(DB* db);
  ~Cursor();
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  DB* db() const { return db_; }
  Status Jump();
  Status Jump(std::string_view key);
  Status JumpBack();
  Status JumpBack(std::string_view key);
  Status Step();
  Status StepBack();

  // Reads; `step` moves forward afterwards. Outputs may be null.
  Status Get(std::string* key, std::string* value, int64_t* xt, bool step);
  Status GetKey(std::string* key, bool step);
  Status GetValue(std::string* value, bool step);
  // Replaces the current value and expiration (xt is an argument as in ResolveXt).
  Status SetValue(std::string_view value, int64_t xt_arg, bool step);
  // Removes the current record; the cursor moves to the next one.
  Status Remove();
  // Reads and removes the current record; the cursor moves to the next one.
  Status Seize(std::string* key, std::string* value, int64_t* xt);
  // Generic visit of the current live record (used by Lua's cursor:accept).
  Status Accept(RecordVisitor& visitor, bool writable, bool step);

 private:
  DB* db_;
  std::unique_ptr<EngineCursor> cursor_;
  bool backward_ = false;  // direction of the last move, for skipping expired records
};

class DB {
 public:
  // Opens the database an argument names (in-memory types only for now; others give
  // Invalid("unsupported database type: ...")).
  static Status Open(const DatabaseSpec& spec, const OpenOptions& options, std::unique_ptr<DB>* db);
  ~DB();

  const DatabaseSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  const std::string& path() const { return spec_.path; }
  bool ordered() const;
  bool readonly() const { return options_.readonly; }
  int64_t Now() const;

  void SetUpdateObserver(UpdateObserver* observer);

  // Database-wide transaction (spec/databases.md 5.4): changes by every thread between
  // begin and end belong to it. Begin waits while another transaction is active (Invalid
  // "already in transaction" when the calling thread began it, which would wait forever).
  // End: commit delivers the buffered observer events (and fsyncs when `hard`); abort
  // restores every record changed since begin, with no observer events. Invalid("not in
  // transaction") without a begin. Clear() inside a transaction is undoable: it snapshots
  // the records first. Records dropped by the sweeper or by capacity limits meanwhile are
  // not restored, and the undo log is not crash-safe.
  Status BeginTransaction(bool hard = false);
  Status EndTransaction(bool commit = true);
  // Runs `proc` while no other thread can change the database (reads still proceed); the
  // calling thread may change it from inside `proc`.
  Status Occupy(const std::function<Status()>& proc);

  // Single-record operations (spec/databases.md 5). xt_arg as in ResolveXt.
  Status Set(std::string_view key, std::string_view value, int64_t xt_arg = kNoXt);
  Status Add(std::string_view key, std::string_view value, int64_t xt_arg = kNoXt);
  Status Replace(std::string_view key, std::string_view value, int64_t xt_arg = kNoXt);
  Status Append(std::string_view key, std::string_view value, int64_t xt_arg = kNoXt);
  // orig: INT64_MIN = "try" (must exist), INT64_MAX = "set" (overwrite).
  Status Increment(std::string_view key, int64_t num, int64_t orig, int64_t xt_arg,
                   int64_t* result);
  // orig: -inf = "try", +inf = "set".
  Status IncrementDouble(std::string_view key, double num, double orig, int64_t xt_arg,
                         double* result);
  // oval/nval absent = nullopt (spec/http-rpc.md 9.17).
  Status Cas(std::string_view key, std::optional<std::string_view> oval,
             std::optional<std::string_view> nval, int64_t xt_arg = kNoXt);
  Status Remove(std::string_view key);
  // xt out: absolute expiration, kXtMax when none.
  Status Get(std::string_view key, std::string* value, int64_t* xt);
  Status Check(std::string_view key, int64_t* value_size, int64_t* xt);
  Status Seize(std::string_view key, std::string* value, int64_t* xt);

  // Bulk operations; `atomic` locks the whole batch together.
  Status SetBulk(const std::vector<std::pair<std::string, std::string>>& records, int64_t xt_arg,
                 bool atomic, int64_t* count);
  Status RemoveBulk(const std::vector<std::string>& keys, bool atomic, int64_t* count);
  // Get for each of `keys` in order: found(i, value, xt) for each key i with a live record.
  // The engine looks keys up in groups (AcceptBulk), which lets it overlap their memory
  // stalls; a group is seen at one instant, the whole is not (as Get one by one). `found`
  // must not call GetEach.
  Status GetEach(std::span<const std::string_view> keys,
                 const std::function<void(size_t, std::string_view, int64_t)>& found);
  // Appends (key, value) for each live record found, in the order of `keys`.
  Status GetBulk(const std::vector<std::string>& keys, bool atomic,
                 std::vector<std::pair<std::string, std::string>>* records);

  // Generic visits for scripting: expired records are shown as absent (Accept) or skipped
  // (Iterate). Changes are reported to the observer.
  Status Accept(std::string_view key, RecordVisitor& visitor, bool writable);
  Status AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                    bool writable);
  Status Iterate(RecordVisitor& visitor, bool writable);

  // Key searches; max < 0 means no limit. Keys come in key order on ordered databases.
  Status MatchPrefix(std::string_view prefix, int64_t max, std::vector<std::string>* keys);
  // POSIX-extended-compatible regex through RE2: LOGIC "compilation failed" if invalid.
  Status MatchRegex(std::string_view regex, int64_t max, std::vector<std::string>* keys);
  // Levenshtein distance <= range (bytes, or code points with utf); best `max` first.
  Status MatchSimilar(std::string_view origin, int64_t range, bool utf, int64_t max,
                      std::vector<std::string>* keys);

  Status Clear();
  // step <= 1: remove every expired record now; step > 1: that many bounded sweep steps.
  Status Vacuum(int64_t step);
  // Flushes; with `proc`, flushes and calls it while other threads' updates and the sweeper
  // wait (a hot backup's copy sees one state).
  Status Synchronize(bool hard, const std::function<Status(const std::string& path)>& proc = {});

  int64_t Count() const;
  int64_t Size() const;
  // count, size, path, type, realtype, ktopts, ktcapcnt, ktcapsiz and engine fields.
  std::map<std::string, std::string> GetStatus() const;

  std::unique_ptr<Cursor> NewCursor() { return std::make_unique<Cursor>(this); }
  // Calls `fn(key, value, absolute xt or kXtMax)` for every live record, in cursor order,
  // until it returns an error (returned). Writers are not held off: wrap it in Occupy for
  // one consistent state.
  Status ForEachLiveRecord(
      const std::function<Status(std::string_view key, std::string_view value, int64_t xt)>& fn);

  // Runs a bounded number of sweeper steps; called when the server is idle.
  void SweepIdle();
  // Records the sweeper has examined since open (for tests and diagnostics).
  int64_t swept_records() const { return swept_records_.load(std::memory_order_relaxed); }

 private:
  friend class Cursor;
  DB(DatabaseSpec spec, OpenOptions options, std::unique_ptr<Engine> engine);

  bool persistent() const { return spec_.persistent; }
  bool expired(int64_t xt, int64_t now) const { return !spec_.persistent && now > xt; }
  // After an engine call made through `timed`: notes an expiring write and adds `score`.
  void AfterVisit(const internal::TimedVisitor& timed, int64_t score);
  // Visits one key through the timed rules and adds the sweeper score.
  Status VisitKey(std::string_view key, RecordVisitor& visitor, bool writable, int64_t now);
  Status VisitKeys(const std::vector<std::string_view>& keys, RecordVisitor& visitor, bool writable,
                   int64_t now);
  // Calls fn(key, xt) for each record in cursor order starting at the first record (or at
  // `start` on ordered databases when given) until fn returns false.
  void ScanKeys(const std::string_view* start,
                const std::function<bool(std::string_view key, int64_t xt)>& fn);
  // Full sweep for Vacuum(<= 1): removes every expired record.
  void SweepAll();

  DatabaseSpec spec_;
  OpenOptions options_;
  std::unique_ptr<Engine> engine_;
  // Receives every change from TimedVisitor (named observer_ for cursor.cc); owns the
  // transaction state and forwards to the UpdateObserver.
  std::unique_ptr<internal::ChangeSink> sink_;
  internal::ChangeSink* observer_ = nullptr;
  // Background removal of expired records (spec/databases.md 4.5): each operation adds to
  // the score (striped by thread); at 2048 one thread examines score/256 records at the GC
  // cursor.
  static constexpr size_t kScoreStripes = 8;
  struct alignas(64) ScoreStripe {
    std::atomic<int64_t> score{0};
  };
  ScoreStripe sweep_scores_[kScoreStripes];
  std::mutex sweep_mutex_;
  std::unique_ptr<EngineCursor> sweep_cursor_;
  // Whether the sweeper has work (spec/databases.md 4.5): most databases hold no record
  // with an expiration time, and then examining records is pure cost. Two bits in one word:
  // kMayExpire says a record with xt < kXtMax may exist; kDirty says one was written since
  // the current sweep pass began. A pass that ends having kept no expiring record clears
  // both with one compare-and-swap, which fails if a writer set kDirty meanwhile (its record
  // may lie behind the cursor). Writers only load the word once both bits are set, so the
  // common case costs no shared write.
  static constexpr uint32_t kMayExpire = 1;
  static constexpr uint32_t kDirty = 2;
  std::atomic<uint32_t> expiry_state_{0};
  bool pass_clean_ = false;  // guarded by sweep_mutex_: the GC cursor's pass has kept none
  std::atomic<int64_t> swept_records_{0};
  void NoteExpiringWrite();
  bool SweepNeeded() const;
  // Caller holds sweep_mutex_. A pass of the GC cursor (or a full sweep) begins / ends.
  void BeginPass();
  void EndPass(bool clean);
  template <typename T, size_t kSize, typename Step>
  Status UpdateCounter(std::string_view key, int64_t xt_arg, T* result, Step step);
  void AddSweepScore(int64_t score);
  void SweepSteps(int64_t steps);
};

}  // namespace ryoan::storage
