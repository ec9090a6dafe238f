// Cursor: a DB cursor that skips expired records in its direction of travel
// (spec/databases.md 4.4, 7.2). Movement lands only on live records, except Jump(key),
// which may land on an expired record that the next access then skips, as the original
// does. Accesses that find their record expired move on in the direction of the last move.
#include <string>

#include "storage/db.h"
#include "storage/timed_visitor.h"

namespace ryoan::storage {

using internal::FnVisitor;
using internal::TimedVisitor;

namespace {

// Reports whether the current record has expired, without changing anything.
class ExpiryProbe final : public RecordVisitor {
 public:
  explicit ExpiryProbe(int64_t now) : now_(now) {}
  Decision VisitFull(std::string_view, std::string_view, int64_t xt) override {
    expired_ = now_ > xt;
    return Decision::Keep();
  }
  bool expired() const { return expired_; }

 private:
  const int64_t now_;
  bool expired_ = false;
};

}  // namespace

Cursor::Cursor(DB* db) : db_(db), cursor_(db->engine_->NewCursor()) {}

Cursor::~Cursor() = default;

// After a successful move: moves on past expired records in the current direction.
static Status SkipExpired(EngineCursor& cursor, bool backward, bool persistent, int64_t now) {
  if (persistent) return Status::OK();
  for (;;) {
    ExpiryProbe probe(now);
    Status status = cursor.Accept(probe, /*writable=*/false, /*step=*/false);
    if (!status.ok() || !probe.expired()) return status;
    status = backward ? cursor.StepBack() : cursor.Step();
    if (!status.ok()) return status;
  }
}

Status Cursor::Jump() {
  backward_ = false;
  Status status = cursor_->Jump();
  if (!status.ok()) return status;
  return SkipExpired(*cursor_, false, db_->persistent(), db_->Now());
}

Status Cursor::Jump(std::string_view key) {
  backward_ = false;
  return cursor_->Jump(key);
}

Status Cursor::JumpBack() {
  Status status = cursor_->JumpBack();
  if (!status.ok()) return status;
  backward_ = true;
  return SkipExpired(*cursor_, true, db_->persistent(), db_->Now());
}

Status Cursor::JumpBack(std::string_view key) {
  Status status = cursor_->JumpBack(key);
  if (!status.ok()) return status;
  backward_ = true;
  return SkipExpired(*cursor_, true, db_->persistent(), db_->Now());
}

Status Cursor::Step() {
  backward_ = false;
  Status status = cursor_->Step();
  if (!status.ok()) return status;
  return SkipExpired(*cursor_, false, db_->persistent(), db_->Now());
}

Status Cursor::StepBack() {
  Status status = cursor_->StepBack();
  if (!status.ok()) return status;
  backward_ = true;
  return SkipExpired(*cursor_, true, db_->persistent(), db_->Now());
}

Status Cursor::Accept(RecordVisitor& visitor, bool writable, bool step) {
  if (writable && db_->readonly()) return Status::NoPerm();
  int64_t now = db_->Now();
  // Moving forward, the engine's own step doubles as the skip past an expired record.
  bool engine_step = step && !backward_;
  for (;;) {
    TimedVisitor timed(visitor, now, db_->persistent(), writable, db_->observer_,
                       TimedVisitor::kSkipExpired);
    Status status = cursor_->Accept(timed, writable, engine_step);
    if (timed.wrote_expiring()) db_->NoteExpiringWrite();
    if (!status.ok()) return status;
    if (!timed.expired()) break;
    if (!engine_step) {
      status = backward_ ? cursor_->StepBack() : cursor_->Step();
      if (!status.ok()) return status;
    }
  }
  // `step` always moves forward; running off the end unpositions but is not an error.
  if (step && !engine_step) (void)cursor_->Step();
  db_->AddSweepScore(writable ? 256 : 32);
  return Status::OK();
}

Status Cursor::Get(std::string* key, std::string* value, int64_t* xt, bool step) {
  FnVisitor visitor(
      [&](std::string_view k, std::string_view v, int64_t record_xt) {
        if (key != nullptr) key->assign(k);
        if (value != nullptr) value->assign(v);
        if (xt != nullptr) *xt = record_xt;
        return Decision::Keep();
      },
      [](std::string_view) { return Decision::Keep(); });
  return Accept(visitor, /*writable=*/false, step);
}

Status Cursor::GetKey(std::string* key, bool step) { return Get(key, nullptr, nullptr, step); }

Status Cursor::GetValue(std::string* value, bool step) {
  return Get(nullptr, value, nullptr, step);
}

Status Cursor::SetValue(std::string_view value, int64_t xt_arg, bool step) {
  int64_t xt = ResolveXt(xt_arg, db_->Now());
  auto set = [&](auto&&...) { return Decision::Set(value, xt); };
  FnVisitor visitor(set, set);
  return Accept(visitor, /*writable=*/true, step);
}

Status Cursor::Remove() {
  auto remove = [](auto&&...) { return Decision::Remove(); };
  FnVisitor visitor(remove, remove);
  return Accept(visitor, /*writable=*/true, /*step=*/false);
}

Status Cursor::Seize(std::string* key, std::string* value, int64_t* xt) {
  FnVisitor visitor(
      [&](std::string_view k, std::string_view v, int64_t record_xt) {
        if (key != nullptr) key->assign(k);
        if (value != nullptr) value->assign(v);
        if (xt != nullptr) *xt = record_xt;
        return Decision::Remove();
      },
      [](std::string_view) { return Decision::Keep(); });
  return Accept(visitor, /*writable=*/true, /*step=*/false);
}

Status DB::ForEachLiveRecord(
    const std::function<Status(std::string_view key, std::string_view value, int64_t xt)>& fn) {
  std::unique_ptr<Cursor> cursor = NewCursor();
  Status s = cursor->Jump();
  std::string key, value;
  int64_t xt = kXtMax;
  while (s.ok()) {
    s = cursor->Get(&key, &value, &xt, /*step=*/true);
    if (s.ok()) s = fn(key, value, xt);
  }
  return s.code() == Code::kNoRec ? Status::OK() : s;
}

}  // namespace ryoan::storage
