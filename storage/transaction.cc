#include "storage/transaction.h"

#include "storage/db.h"

namespace ryoan::storage::internal {

namespace {

// Each thread takes one stripe of the gate for shared use, so writers on different threads
// rarely share a cache line.
size_t ThreadStripe() {
  static std::atomic<size_t> next{0};
  thread_local size_t stripe = next.fetch_add(1, std::memory_order_relaxed);
  return stripe;
}

class RestoreVisitor final : public RecordVisitor {
 public:
  explicit RestoreVisitor(const std::optional<std::pair<std::string, int64_t>>& saved)
      : saved_(saved) {}
  Decision VisitFull(std::string_view, std::string_view, int64_t) override { return Restore(); }
  Decision VisitEmpty(std::string_view) override { return Restore(); }

 private:
  Decision Restore() const {
    return saved_ ? Decision::Set(saved_->first, saved_->second) : Decision::Remove();
  }
  const std::optional<std::pair<std::string, int64_t>>& saved_;
};

}  // namespace

ChangeSink::SharedGuard::SharedGuard(ChangeSink* sink) {
  if (sink->held_by_this_thread()) return;
  stripe_ = &sink->stripes_[ThreadStripe() % kStripes].mutex;
  stripe_->lock_shared();
}

ChangeSink::SharedGuard::~SharedGuard() {
  if (stripe_ != nullptr) stripe_->unlock_shared();
}

ChangeSink::ExclusiveGuard::ExclusiveGuard(ChangeSink* sink) {
  if (sink->held_by_this_thread()) return;
  for (Stripe& stripe : sink->stripes_) stripe.mutex.lock();
  sink->exclusive_owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  sink_ = sink;
}

ChangeSink::ExclusiveGuard::~ExclusiveGuard() {
  if (sink_ == nullptr) return;
  sink_->exclusive_owner_.store(std::thread::id(), std::memory_order_relaxed);
  for (size_t i = kStripes; i-- > 0;) sink_->stripes_[i].mutex.unlock();
}

void ChangeSink::Remember(std::string_view key, const PreImage& before) {
  auto [it, inserted] = undo_.try_emplace(std::string(key));
  if (inserted && before.present) it->second.emplace(std::string(before.value), before.xt);
}

// An engine that commits after its visits (CommitScope) gets the event only once the
// write committed, and never for a write that failed.
void ChangeSink::OnSet(std::string_view key, const PreImage& before, std::string_view value,
                       int64_t xt) {
  if (!active_.load(std::memory_order_relaxed) && !CommitScope::Deferring()) {
    if (observer_ != nullptr) observer_->OnSet(key, value, xt);  // no copies needed
    return;
  }
  Deliver(key, before, Event{Event::kSet, std::string(key), std::string(value), xt});
}

void ChangeSink::OnRemove(std::string_view key, const PreImage& before) {
  if (!active_.load(std::memory_order_relaxed) && !CommitScope::Deferring()) {
    if (observer_ != nullptr) observer_->OnRemove(key);
    return;
  }
  Deliver(key, before, Event{Event::kRemove, std::string(key), {}, 0});
}

void ChangeSink::Deliver(std::string_view key, const PreImage& before, Event event) {
  if (!active_.load(std::memory_order_relaxed)) {
    if (observer_ == nullptr) return;
    CommitScope::AfterCommit([observer = observer_, event = std::move(event)] {
      if (event.op == Event::kSet) {
        observer->OnSet(event.key, event.value, event.xt);
      } else {
        observer->OnRemove(event.key);
      }
    });
    return;
  }
  {
    std::lock_guard lock(undo_mutex_);
    Remember(key, before);  // now: `before` points into the engine's pages
  }
  CommitScope::AfterCommit([this, event = std::move(event)]() mutable {
    std::lock_guard lock(undo_mutex_);
    events_.push_back(std::move(event));
  });
}

Status ChangeSink::Clear() {
  {
    SharedGuard gate(this);
    if (!active_.load(std::memory_order_relaxed)) {
      return engine_.ClearWith([this] {
        if (observer_ != nullptr) observer_->OnClear();
      });
    }
  }
  // Inside a transaction: no writer may slip in between the snapshot and the clear.
  ExclusiveGuard gate(this);
  if (!active_.load(std::memory_order_relaxed)) {
    return engine_.ClearWith([this] {
      if (observer_ != nullptr) observer_->OnClear();
    });
  }
  std::lock_guard lock(undo_mutex_);
  struct Snapshot final : RecordVisitor {
    ChangeSink* sink;
    Decision VisitFull(std::string_view key, std::string_view value, int64_t xt) override {
      sink->Remember(key, PreImage{true, value, xt});
      return Decision::Keep();
    }
  } snapshot;
  snapshot.sink = this;
  Status status = engine_.Iterate(snapshot, /*writable=*/false);
  if (!status.ok()) return status;
  status = engine_.Clear();
  if (status.ok()) events_.push_back({Event::kClear, {}, {}, 0});
  return status;
}

Status ChangeSink::Begin(bool hard) {
  std::unique_lock lock(txn_mutex_);
  if (active_.load(std::memory_order_relaxed) && owner_ == std::this_thread::get_id()) {
    // Kyoto Tycoon would wait for itself forever.
    return Status::Invalid("already in transaction");
  }
  txn_ended_.wait(lock, [this] { return !active_.load(std::memory_order_relaxed); });
  ExclusiveGuard gate(this);
  active_.store(true, std::memory_order_relaxed);
  hard_ = hard;
  owner_ = std::this_thread::get_id();
  return Status::OK();
}

void ChangeSink::Rollback() {
  for (const auto& [key, saved] : undo_) {
    RestoreVisitor visitor(saved);
    (void)engine_.Accept(key, visitor, /*writable=*/true);
  }
}

Status ChangeSink::End(bool commit) {
  Status status;
  {
    std::lock_guard lock(txn_mutex_);
    if (!active_.load(std::memory_order_relaxed)) return Status::Invalid("not in transaction");
    ExclusiveGuard gate(this);
    std::lock_guard undo_lock(undo_mutex_);
    if (commit) {
      if (observer_ != nullptr) {
        for (const Event& event : events_) {
          switch (event.op) {
            case Event::kSet:
              observer_->OnSet(event.key, event.value, event.xt);
              break;
            case Event::kRemove:
              observer_->OnRemove(event.key);
              break;
            case Event::kClear:
              observer_->OnClear();
              break;
          }
        }
      }
      if (hard_) status = engine_.Synchronize(true);
    } else {
      Rollback();
    }
    undo_.clear();
    events_.clear();
    events_.shrink_to_fit();
    active_.store(false, std::memory_order_relaxed);
    owner_ = std::thread::id();
  }
  txn_ended_.notify_all();
  return status;
}

Status ChangeSink::Occupy(const std::function<Status()>& proc) {
  ExclusiveGuard gate(this);
  return proc ? proc() : Status::OK();
}

}  // namespace ryoan::storage::internal
