// Internal to the DB layer: database-wide transactions (spec/databases.md 5.4) and the sink
// through which TimedVisitor reports every applied change.
//
// Design. A striped reader-writer gate orders writes against the transaction boundaries:
// every writing visit holds it shared for the duration of the engine call; Begin, End,
// occupy and a Clear inside a transaction hold it exclusively. While a transaction is
// active, the first change of each key records the key's pre-image (value and raw xt, or
// absence) in an undo log, and observer events are buffered. Commit delivers the buffered
// events in order (then fsyncs when `hard`); abort re-applies the pre-images straight to the
// engine (no observer events) and drops the buffer. The undo log lives in memory: a crash
// during a transaction keeps the changes made so far. Records the engine or the sweeper
// drop on their own during a transaction (expired records, capacity evictions) are not
// restored by an abort.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "storage/engine.h"
#include "storage/status.h"

namespace ryoan::storage {
class UpdateObserver;
}

namespace ryoan::storage::internal {

// The record a change replaced: absent, or value and raw xt.
struct PreImage {
  bool present = false;
  std::string_view value;
  int64_t xt = kXtMax;
};

class ChangeSink {
 public:
  explicit ChangeSink(Engine& engine) : engine_(engine) {}
  ChangeSink(const ChangeSink&) = delete;
  ChangeSink& operator=(const ChangeSink&) = delete;

  void set_observer(UpdateObserver* observer) { observer_ = observer; }

  // Held shared by every writing visit (RAII); a no-op on the thread holding it exclusively.
  class SharedGuard {
   public:
    explicit SharedGuard(ChangeSink* sink);
    ~SharedGuard();
    SharedGuard(const SharedGuard&) = delete;
    SharedGuard& operator=(const SharedGuard&) = delete;

   private:
    std::shared_mutex* stripe_ = nullptr;
  };
  // Held exclusively: no writing visit of another thread runs meanwhile. Reentrant.
  class ExclusiveGuard {
   public:
    explicit ExclusiveGuard(ChangeSink* sink);
    ~ExclusiveGuard();
    ExclusiveGuard(const ExclusiveGuard&) = delete;
    ExclusiveGuard& operator=(const ExclusiveGuard&) = delete;

   private:
    ChangeSink* sink_ = nullptr;  // null when the thread already held the gate
  };

  // Reports of applied changes, called under the record's lock with the gate held.
  void OnSet(std::string_view key, const PreImage& before, std::string_view value, int64_t xt);
  void OnRemove(std::string_view key, const PreImage& before);

  // Clears the engine; inside a transaction, first snapshots every record so that an abort
  // restores them.
  Status Clear();

  // Waits while another transaction is active (Invalid if this thread began it).
  Status Begin(bool hard);
  // Invalid("not in transaction") when none is active.
  Status End(bool commit);
  // Runs `proc` with the gate held exclusively.
  Status Occupy(const std::function<Status()>& proc);

 private:
  static constexpr size_t kStripes = 8;
  struct alignas(64) Stripe {
    std::shared_mutex mutex;
  };
  struct Event {
    enum Op { kSet, kRemove, kClear } op;
    std::string key;
    std::string value;
    int64_t xt;
  };
  using Saved = std::optional<std::pair<std::string, int64_t>>;

  bool held_by_this_thread() const {
    return exclusive_owner_.load(std::memory_order_relaxed) == std::this_thread::get_id();
  }
  // Caller holds undo_mutex_.
  void Remember(std::string_view key, const PreImage& before);
  // To the observer, or into the transaction's buffer; after the engine's commit.
  void Deliver(std::string_view key, const PreImage& before, Event event);
  void Rollback();

  Engine& engine_;
  UpdateObserver* observer_ = nullptr;
  Stripe stripes_[kStripes];
  std::atomic<std::thread::id> exclusive_owner_{};

  // Transaction state: `active_` changes only with the gate held exclusively, so a writer
  // holding it shared reads a stable value.
  std::mutex txn_mutex_;
  std::condition_variable txn_ended_;
  std::atomic<bool> active_{false};
  bool hard_ = false;
  std::thread::id owner_;  // the thread that began it

  std::mutex undo_mutex_;
  std::unordered_map<std::string, Saved> undo_;
  std::vector<Event> events_;
};

}  // namespace ryoan::storage::internal
