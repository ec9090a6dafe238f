// The background removal of expired records and the kt* capacity caps (spec/databases.md
// 4.5, 4.6). Every operation adds to a score; once it reaches a threshold, the thread that
// wins a try-lock examines score/256 records at the GC cursor. No request ever pays for more
// than its share, except an explicit Vacuum(<= 1). While no record can expire and no kt* cap
// is set, there is nothing to remove and the whole mechanism stands still (see
// DB::expiry_state_).
#include <algorithm>
#include <mutex>

#include "storage/db.h"
#include "storage/timed_visitor.h"

namespace ryoan::storage {
namespace {

constexpr int64_t kSweepThreshold = 2048;
constexpr int64_t kScorePerRecord = 256;
constexpr int64_t kIdleRecords = 32;  // four vacuum(2)-sized rounds of 8 records
constexpr int64_t kMaxStepsPerSweep = 4096;

// Removes what the sweeper may remove: records over a kt* cap, then expired ones.
class SweepVisitor final : public RecordVisitor {
 public:
  SweepVisitor(const Engine& engine, const DatabaseSpec& spec, int64_t now)
      : engine_(engine), spec_(spec), now_(now) {}

  Decision VisitFull(std::string_view, std::string_view, int64_t xt) override {
    if (spec_.ktcapcnt >= 0 && engine_.Count() > spec_.ktcapcnt) return Decision::Remove();
    if (spec_.ktcapsiz >= 0 && engine_.Size() > spec_.ktcapsiz) return Decision::Remove();
    if (now_ > xt) return Decision::Remove();
    if (xt < kXtMax) kept_expiring_ = true;
    return Decision::Keep();
  }

  // Whether a record that will expire later was left in place.
  bool kept_expiring() const { return kept_expiring_; }

 private:
  const Engine& engine_;
  const DatabaseSpec& spec_;
  const int64_t now_;
  bool kept_expiring_ = false;
};

}  // namespace

// Each thread adds to its own stripe of the score: one shared counter bumped by every
// request of every core would cost more than the sweeping itself. The threshold applies per
// stripe, so the sweep rate (one record per 256 points) is unchanged.
static size_t ThreadStripe() {
  static std::atomic<size_t> next{0};
  thread_local const size_t stripe = next.fetch_add(1, std::memory_order_relaxed);
  return stripe;
}

void DB::NoteExpiringWrite() {
  constexpr uint32_t kBoth = kMayExpire | kDirty;
  if (expiry_state_.load(std::memory_order_acquire) != kBoth) {
    expiry_state_.fetch_or(kBoth, std::memory_order_acq_rel);
  }
}

bool DB::SweepNeeded() const {
  return (expiry_state_.load(std::memory_order_acquire) & kMayExpire) != 0 || spec_.ktcapcnt >= 0 ||
         spec_.ktcapsiz >= 0;
}

void DB::BeginPass() {
  // Writes completed before this point are behind no cursor: the pass will see them.
  expiry_state_.fetch_and(~kDirty, std::memory_order_acq_rel);
  pass_clean_ = true;
}

void DB::EndPass(bool clean) {
  uint32_t expected = kMayExpire;  // and no expiring write during the pass
  if (clean) expiry_state_.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
}

void DB::AfterVisit(const internal::TimedVisitor& timed, int64_t score) {
  if (timed.wrote_expiring()) NoteExpiringWrite();
  AddSweepScore(score);
}

void DB::AddSweepScore(int64_t score) {
  if (!sweep_cursor_ || score <= 0 || !SweepNeeded()) return;
  std::atomic<int64_t>& stripe = sweep_scores_[ThreadStripe() % kScoreStripes].score;
  int64_t total = stripe.fetch_add(score, std::memory_order_relaxed) + score;
  if (total < kSweepThreshold) return;
  std::unique_lock<std::mutex> lock(sweep_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another thread is sweeping; the score waits for later
  int64_t steps = stripe.load(std::memory_order_relaxed) / kScorePerRecord;
  if (steps <= 0) return;
  stripe.fetch_sub(steps * kScorePerRecord, std::memory_order_relaxed);
  // A huge score (an iterate over millions of records adds count/4 x 256) must not make one
  // request sweep the whole database: the excess is dropped.
  SweepSteps(std::min(steps, kMaxStepsPerSweep));
}

// Caller holds sweep_mutex_.
void DB::SweepSteps(int64_t steps) {
  SweepVisitor visitor(*engine_, spec_, Now());
  // Records over ktcapcnt are removed even beyond the step budget; each such visit removes
  // one record, so the extra work is bounded by the excess.
  if (spec_.ktcapcnt >= 0) steps += std::max<int64_t>(0, engine_->Count() - spec_.ktcapcnt);
  bool wrapped = false;
  for (int64_t i = 0; i < steps;) {
    Status status = sweep_cursor_->Accept(visitor, /*writable=*/true, /*step=*/true);
    if (status.ok()) {
      swept_records_.fetch_add(1, std::memory_order_relaxed);
      if (visitor.kept_expiring()) pass_clean_ = false;
      ++i;
      continue;
    }
    // Unpositioned: at the end (or never started). A pass that ran to the end without an
    // error and kept nothing that expires leaves the sweeper idle.
    EndPass(pass_clean_ && status.code() == Code::kNoRec);
    pass_clean_ = false;
    // Wrap to the first record, once per call so that a small database is not swept
    // repeatedly.
    if (wrapped) break;
    BeginPass();
    if (!sweep_cursor_->Jump().ok()) {
      EndPass(pass_clean_);  // empty: nothing can expire
      break;
    }
    wrapped = true;
  }
}

void DB::SweepAll() {
  std::lock_guard<std::mutex> lock(sweep_mutex_);
  SweepVisitor visitor(*engine_, spec_, Now());
  std::unique_ptr<EngineCursor> cursor = engine_->NewCursor();
  // A full pass of its own; the GC cursor's pass goes on, but may no longer end clean.
  BeginPass();
  pass_clean_ = false;
  Status status = cursor->Jump();
  while (status.ok()) {
    status = cursor->Accept(visitor, /*writable=*/true, /*step=*/true);
    if (status.ok()) swept_records_.fetch_add(1, std::memory_order_relaxed);
  }
  EndPass(status.code() == Code::kNoRec && !visitor.kept_expiring());
}

Status DB::Vacuum(int64_t step) {
  if (readonly()) return Status::NoPerm();
  // Persistent: nothing ever expires, but a full vacuum still compacts the engine.
  if (!sweep_cursor_) return step <= 1 ? engine_->Compact() : Status::OK();
  if (step <= 1) {
    SweepAll();
    return engine_->Compact();
  } else {
    AddSweepScore(step * kScorePerRecord);
  }
  return Status::OK();
}

void DB::SweepIdle() {
  if (!sweep_cursor_ || !SweepNeeded()) return;
  std::unique_lock<std::mutex> lock(sweep_mutex_, std::try_to_lock);
  if (lock.owns_lock()) SweepSteps(kIdleRecords);
}

}  // namespace ryoan::storage
