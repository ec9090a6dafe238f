#include "storage/tree_engine.h"

#include <mutex>
#include <utility>

namespace ryoan::storage {

// ---------------------------------------------------------------------------------------
// Cursor

class TreeEngine::CursorImpl : public EngineCursor {
 public:
  explicit CursorImpl(TreeEngine* engine) : engine_(engine) {}

  Status Jump() override {
    std::lock_guard lock(engine_->mu_);
    return PositionAt(engine_->map_.begin());
  }

  Status Jump(std::string_view key) override {
    std::lock_guard lock(engine_->mu_);
    return PositionAt(engine_->map_.lower_bound(key));
  }

  Status JumpBack() override {
    std::lock_guard lock(engine_->mu_);
    return PositionBefore(engine_->map_.end());
  }

  Status JumpBack(std::string_view key) override {
    std::lock_guard lock(engine_->mu_);
    return PositionBefore(engine_->map_.upper_bound(key));
  }

  Status Step() override {
    std::lock_guard lock(engine_->mu_);
    if (!Valid()) return Unposition();
    return PositionAt(engine_->map_.upper_bound(key_));
  }

  Status StepBack() override {
    std::lock_guard lock(engine_->mu_);
    if (!Valid()) return Unposition();
    return PositionBefore(engine_->map_.lower_bound(key_));
  }

  Status Accept(RecordVisitor& visitor, bool writable, bool step) override {
    std::lock_guard lock(engine_->mu_);
    return AcceptLocked(visitor, writable, step);
  }

 private:
  bool Valid() const {
    return positioned_ && generation_ == engine_->generation_.load(std::memory_order_relaxed);
  }

  Status Unposition() {
    positioned_ = false;
    return Status::NoRec();
  }

  Status PositionAt(Map::iterator it) {
    if (it == engine_->map_.end()) return Unposition();
    positioned_ = true;
    generation_ = engine_->generation_.load(std::memory_order_relaxed);
    key_.assign(it->first);
    return Status::OK();
  }

  // Positions on the record before `it`.
  Status PositionBefore(Map::iterator it) {
    if (it == engine_->map_.begin()) return Unposition();
    return PositionAt(std::prev(it));
  }

  Status AcceptLocked(RecordVisitor& visitor, bool writable, bool step) {
    if (!Valid()) return Unposition();
    // lower_bound: if our record was removed meanwhile, the next greater key is current.
    auto it = engine_->map_.lower_bound(key_);
    if (PositionAt(it).code() == Code::kNoRec) return Status::NoRec();
    Decision decision = visitor.VisitFull(it->first, it->second.value, it->second.xt);
    if (writable && decision.op == Decision::kRemove) {
      // Moving to the next record is not an error even past the end.
      (void)PositionAt(engine_->ApplyFound(it, decision));
      return Status::OK();
    }
    if (writable && decision.op == Decision::kSet) engine_->ApplyFound(it, decision);
    if (step) (void)PositionAt(std::next(it));  // past the end: unpositioned, still OK
    return Status::OK();
  }

  TreeEngine* engine_;
  bool positioned_ = false;
  uint64_t generation_ = 0;
  std::string key_;
};

// ---------------------------------------------------------------------------------------
// Engine

TreeEngine::TreeEngine(KeyComparator comparator, bool report_rcomp)
    : comparator_(comparator), report_rcomp_(report_rcomp), map_(comparator) {}

int64_t TreeEngine::Footprint(size_t ksiz, size_t vsiz) {
  // Map node plus the two strings' contents: an estimate, as spec/databases.md 4.9 allows.
  return static_cast<int64_t>(sizeof(Map::value_type) + 32 + ksiz + vsiz);
}

TreeEngine::Map::iterator TreeEngine::ApplyFound(Map::iterator it, const Decision& decision) {
  if (decision.op == Decision::kRemove) {
    AddBytes(-Footprint(it->first.size(), it->second.value.size()));
    count_.fetch_sub(1, std::memory_order_relaxed);
    return map_.erase(it);
  }
  if (decision.op == Decision::kSet) {
    AddBytes(static_cast<int64_t>(decision.value.size()) -
             static_cast<int64_t>(it->second.value.size()));
    it->second.value.assign(decision.value);  // safe even if the value is part of the old one
    it->second.xt = decision.xt;
  }
  return it;
}

void TreeEngine::VisitLocked(std::string_view key, RecordVisitor& visitor, bool writable) {
  auto it = map_.lower_bound(key);
  bool found = it != map_.end() && !comparator_(key, it->first);
  if (found) {
    Decision decision = visitor.VisitFull(key, it->second.value, it->second.xt);
    if (writable) ApplyFound(it, decision);
    return;
  }
  Decision decision = visitor.VisitEmpty(key);
  if (writable && decision.op == Decision::kSet) {
    map_.emplace_hint(it, std::string(key), Entry{std::string(decision.value), decision.xt});
    count_.fetch_add(1, std::memory_order_relaxed);
    AddBytes(Footprint(key.size(), decision.value.size()));
  }
}

Status TreeEngine::Accept(std::string_view key, RecordVisitor& visitor, bool writable) {
  std::lock_guard lock(mu_);
  VisitLocked(key, visitor, writable);
  return Status::OK();
}

Status TreeEngine::AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                              bool writable) {
  std::lock_guard lock(mu_);
  for (std::string_view key : keys) VisitLocked(key, visitor, writable);
  return Status::OK();
}

Status TreeEngine::Iterate(RecordVisitor& visitor, bool writable) {
  std::lock_guard lock(mu_);
  for (auto it = map_.begin(); it != map_.end();) {
    Decision decision = visitor.VisitFull(it->first, it->second.value, it->second.xt);
    if (writable && decision.op == Decision::kRemove) {
      it = ApplyFound(it, decision);
      continue;
    }
    if (writable) ApplyFound(it, decision);
    ++it;
  }
  return Status::OK();
}

std::unique_ptr<EngineCursor> TreeEngine::NewCursor() { return std::make_unique<CursorImpl>(this); }

Status TreeEngine::Clear() { return ClearWith({}); }

Status TreeEngine::ClearWith(const std::function<void()>& while_locked) {
  std::lock_guard lock(mu_);
  map_.clear();
  count_.store(0, std::memory_order_relaxed);
  bytes_.store(0, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_relaxed);
  if (while_locked) while_locked();
  return Status::OK();
}

void TreeEngine::AddStatus(std::map<std::string, std::string>* status) const {
  if (report_rcomp_) (*status)["rcomp"] = comparator_.name();
}

}  // namespace ryoan::storage
