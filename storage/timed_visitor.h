// Internal to the DB layer: the adapters through which every DB operation reaches the
// engine. They apply the expiry rules of spec/databases.md 4.4 and report each applied
// change, with the record it replaced, to the DB's ChangeSink (which keeps the transaction's
// undo log and delivers to the UpdateObserver) while the engine still holds the record's
// lock. A writing TimedVisitor holds the sink's gate shared for its lifetime, so it must be
// constructed before, and destroyed after, the engine call it serves.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "storage/db.h"
#include "storage/engine.h"
#include "storage/transaction.h"

namespace ryoan::storage::internal {

// Wraps a visitor that should see only live records. An expired record is shown to the
// inner visitor as absent (single-key mode) or not at all (skip mode, for cursors and
// iteration). In persistent mode nothing expires, every record reports kXtMax and writes
// store kXtMax.
class TimedVisitor final : public RecordVisitor {
 public:
  enum Mode { kExpiredAsAbsent, kSkipExpired };

  TimedVisitor(RecordVisitor& inner, int64_t now, bool persistent, bool writable, ChangeSink* sink,
               Mode mode)
      : inner_(inner),
        now_(now),
        persistent_(persistent),
        writable_(writable),
        mode_(mode),
        sink_(sink) {
    if (writable_ && sink_ != nullptr) gate_.emplace(sink_);
  }

  Decision VisitFull(std::string_view key, std::string_view value, int64_t xt) override {
    before_ = PreImage{true, value, xt};
    if (!persistent_ && now_ > xt) {
      expired_ = true;
      if (mode_ == kSkipExpired) return Decision::Keep();
      return Report(key, inner_.VisitEmpty(key));
    }
    return Report(key, inner_.VisitFull(key, value, persistent_ ? kXtMax : xt));
  }

  Decision VisitEmpty(std::string_view key) override {
    before_ = PreImage{};
    return Report(key, inner_.VisitEmpty(key));
  }

  // Whether a decision stored a record that can expire (the sweeper then has work).
  bool wrote_expiring() const { return wrote_expiring_; }
  // Whether the last record shown to this adapter had expired.
  bool expired() const { return expired_; }
  void reset_expired() { expired_ = false; }

 private:
  Decision Report(std::string_view key, Decision decision) {
    if (!writable_) return Decision::Keep();
    if (decision.op == Decision::kSet) {
      if (persistent_) decision.xt = kXtMax;
      if (decision.xt < kXtMax) wrote_expiring_ = true;
      if (sink_ != nullptr) sink_->OnSet(key, before_, decision.value, decision.xt);
    } else if (decision.op == Decision::kRemove) {
      // Also for absent keys: spec/replication.md 4.1 logs removals of missing keys.
      if (sink_ != nullptr) sink_->OnRemove(key, before_);
    }
    return decision;
  }

  RecordVisitor& inner_;
  const int64_t now_;
  const bool persistent_;
  const bool writable_;
  const Mode mode_;
  ChangeSink* const sink_;
  std::optional<ChangeSink::SharedGuard> gate_;
  PreImage before_;  // the record of the current visit
  bool expired_ = false;
  bool wrote_expiring_ = false;
};

// A visitor made of two callables, so that each operation reads as a few lines.
template <typename OnFull, typename OnEmpty>
class FnVisitor final : public RecordVisitor {
 public:
  FnVisitor(OnFull on_full, OnEmpty on_empty)
      : on_full_(std::move(on_full)), on_empty_(std::move(on_empty)) {}
  Decision VisitFull(std::string_view key, std::string_view value, int64_t xt) override {
    return on_full_(key, value, xt);
  }
  Decision VisitEmpty(std::string_view key) override { return on_empty_(key); }

 private:
  OnFull on_full_;
  OnEmpty on_empty_;
};

}  // namespace ryoan::storage::internal
