// Engine: the raw record store under a database. Engines know nothing of expiry rules, the
// update log or RPC; they store key -> (value, xt) and offer one atomic primitive, Accept,
// on which every operation is built (the TimedDB in db.h adds the rules).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace ryoan::storage {

// Absolute expiration time meaning "never" (2^40 - 1), as Kyoto Tycoon defines it.
inline constexpr int64_t kXtMax = (int64_t{1} << 40) - 1;

// Work that must wait until the engine's write is durable: an update-log event must only
// describe a write that committed. An engine that commits after running visits (LMDB: a
// leader runs a group of writers in one transaction) keeps a CommitScope open on its thread
// around them; AfterCommit() then queues the work until Committed() runs it, in order, or the
// scope ends without a commit (the work is dropped). Outside a scope the work runs at once.
class CommitScope {
 public:
  CommitScope() : outer_(current_) { current_ = this; }
  ~CommitScope() { current_ = outer_; }
  CommitScope(const CommitScope&) = delete;
  CommitScope& operator=(const CommitScope&) = delete;

  // Whether work asked for on this thread now would wait for a commit.
  static bool Deferring() { return current_ != nullptr; }
  static void AfterCommit(std::function<void()> fn) {
    if (current_ != nullptr) {
      current_->pending_.push_back(std::move(fn));
    } else {
      fn();
    }
  }
  // The writes so far committed: runs their work (outside this scope).
  void Committed() {
    std::vector<std::function<void()>> pending;
    pending.swap(pending_);
    CommitScope* self = current_;
    current_ = outer_;
    for (auto& fn : pending) fn();
    current_ = self;
  }
  // The writes so far failed: their work never runs.
  void Abandon() { pending_.clear(); }

 private:
  CommitScope* const outer_;
  std::vector<std::function<void()>> pending_;
  static inline thread_local CommitScope* current_ = nullptr;
};

// What a visitor wants done with the record it was shown.
struct Decision {
  enum Op { kKeep, kSet, kRemove };
  Op op = kKeep;
  std::string_view value;  // for kSet; must stay valid until the visit returns to the engine
  int64_t xt = kXtMax;     // for kSet: absolute expiration time

  static Decision Keep() { return {}; }
  static Decision Set(std::string_view v, int64_t xt) { return {kSet, v, xt}; }
  static Decision Remove() { return {kRemove, {}, kXtMax}; }
};

// Sees one record (VisitFull) or its absence (VisitEmpty) while the engine holds the
// record's lock. A visitor must not call back into the same database.
class RecordVisitor {
 public:
  virtual ~RecordVisitor() = default;
  virtual Decision VisitFull(std::string_view key, std::string_view value, int64_t xt) = 0;
  virtual Decision VisitEmpty(std::string_view /*key*/) { return Decision::Keep(); }
};

// A position in an engine. Cursors are not snapshots: every record that exists and stays
// unmodified for a whole scan is visited exactly once; removed records are never visited.
// A cursor is used by one thread at a time. After Clear() on the engine every cursor is
// unpositioned.
class EngineCursor {
 public:
  virtual ~EngineCursor() = default;
  // First record; NoRec if the engine is empty.
  virtual Status Jump() = 0;
  // Ordered engines: first record with key >= `key`. Unordered: exactly `key`. NoRec if none.
  virtual Status Jump(std::string_view key) = 0;
  // Last record / last record with key <= `key`. NoImpl on unordered engines.
  virtual Status JumpBack() = 0;
  virtual Status JumpBack(std::string_view key) = 0;
  // Next / previous record. Past either end: NoRec and the cursor becomes unpositioned.
  // StepBack is NoImpl on unordered engines.
  virtual Status Step() = 0;
  virtual Status StepBack() = 0;
  // Shows the current record to `visitor` (VisitFull only). If the visitor removes it, the
  // cursor moves to the next record; otherwise, with `step`, it moves forward after the
  // visit (becoming unpositioned past the last record, which is not an error here).
  // NoRec when unpositioned.
  virtual Status Accept(RecordVisitor& visitor, bool writable, bool step) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // Visits `key` atomically. With writable=false any decision other than kKeep is ignored.
  virtual Status Accept(std::string_view key, RecordVisitor& visitor, bool writable) = 0;
  // Locks every key of the batch, then visits them in the given order (a duplicate key is
  // visited again and sees the earlier change).
  virtual Status AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                            bool writable) = 0;
  // Visits every record once with the whole engine locked (key order for ordered engines).
  virtual Status Iterate(RecordVisitor& visitor, bool writable) = 0;
  virtual std::unique_ptr<EngineCursor> NewCursor() = 0;
  // Removes every record and unpositions every cursor.
  virtual Status Clear() = 0;
  // Clear(), then runs `while_locked` before any other operation can see the engine, so that
  // an observer logs the clear in order with concurrent changes.
  virtual Status ClearWith(const std::function<void()>& while_locked) {
    Status status = Clear();
    if (status.ok() && while_locked) while_locked();
    return status;
  }
  virtual Status Synchronize(bool hard) = 0;
  // Reclaims dead space (file engines); a no-op for engines that have none.
  virtual Status Compact() { return Status::OK(); }
  virtual int64_t Count() const = 0;
  // Bytes used (memory engines: an estimate; file engines: the file size).
  virtual int64_t Size() const = 0;
  virtual bool ordered() const = 0;
  // Adds engine-specific fields (bnum, capcnt, ...) to a status map.
  virtual void AddStatus(std::map<std::string, std::string>* status) const = 0;
};

}  // namespace ryoan::storage
