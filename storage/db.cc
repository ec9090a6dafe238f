#include "storage/db.h"

#include <algorithm>
#include <ctime>
#include <string>
#include <utility>

#include "storage/file_hash_engine.h"
#include "storage/hash_engine.h"
#include "storage/increment.h"
#include "storage/key_comparator.h"
#include "storage/lmdb_engine.h"
#include "storage/timed_visitor.h"
#include "storage/transaction.h"
#include "storage/tree_engine.h"

namespace ryoan::storage {

using internal::FnVisitor;
using internal::TimedVisitor;

namespace {

// Sweeper scores per operation (spec/databases.md 4.5).
constexpr int64_t kWriteScore = 256;
constexpr int64_t kReadScore = 32;

int64_t Score(bool writable) { return writable ? kWriteScore : kReadScore; }

const char* FileTypeName(DatabaseType type) {
  switch (type) {
    case DatabaseType::kFileHash:
      return "kch";
    case DatabaseType::kFileTree:
      return "kct";
    case DatabaseType::kDirHash:
      return "kcd";
    case DatabaseType::kDirTree:
      return "kcf";
    case DatabaseType::kText:
      return "kcx";
    default:
      return "?";
  }
}

}  // namespace

int64_t ResolveXt(int64_t xt_arg, int64_t now) {
  if (xt_arg == kNoXt) return kXtMax;
  constexpr int64_t kClamp = INT64_MAX / 2;
  xt_arg = std::clamp(xt_arg, -kClamp, kClamp);
  if (xt_arg < 0) return std::min(-xt_arg, kXtMax);
  if (xt_arg >= kXtMax) return kXtMax;  // also keeps now + xt_arg from overflowing
  return std::min(now + xt_arg, kXtMax);
}

Status DB::Open(const DatabaseSpec& spec, const OpenOptions& options, std::unique_ptr<DB>* db) {
  std::unique_ptr<Engine> engine;
  switch (spec.type) {
    case DatabaseType::kStash:
    case DatabaseType::kProtoHash: {
      HashEngine::Options hash_options;
      hash_options.bnum = spec.bnum;
      engine = std::make_unique<HashEngine>(hash_options);
      break;
    }
    case DatabaseType::kCacheHash: {
      HashEngine::Options hash_options;
      hash_options.bnum = spec.bnum;
      hash_options.lru = true;
      hash_options.capcnt = spec.capcnt;
      hash_options.capsiz = spec.capsiz;
      engine = std::make_unique<HashEngine>(hash_options);
      break;
    }
    case DatabaseType::kProtoTree:
      engine = std::make_unique<TreeEngine>(KeyComparator(KeyComparator::kLex), false);
      break;
    case DatabaseType::kCacheTree:
      engine = std::make_unique<TreeEngine>(KeyComparator::FromName(spec.rcomp), true);
      break;
    case DatabaseType::kFileHash: {
      FileHashEngine::Options file_options;
      file_options.bnum = spec.bnum;
      file_options.readonly = options.readonly;
      file_options.autosync = options.autosync;
      file_options.nolock = options.nolock;
      file_options.lock_wait = options.trylock ? 0 : 10;
      file_options.norepair = options.norepair;
      std::unique_ptr<FileHashEngine> file_engine;
      Status status = FileHashEngine::Open(spec.path, file_options, &file_engine);
      if (!status.ok()) return status;
      engine = std::move(file_engine);
      break;
    }
    case DatabaseType::kFileTree:
    case DatabaseType::kDirTree: {
      std::unique_ptr<LmdbEngine> tree;
      Status status = LmdbEngine::Open(
          spec.path, LmdbEngine::OptionsFor(spec, options.readonly, options.autosync), &tree);
      if (!status.ok()) return status;
      // ktopts=p is fixed when the file is created (spec/databases.md 4.7).
      if (tree->persistent() != spec.persistent) {
        DatabaseSpec stored = spec;
        stored.persistent = tree->persistent();
        db->reset(new DB(std::move(stored), options, std::move(tree)));
        return Status::OK();
      }
      engine = std::move(tree);
      break;
    }
    default:
      return Status::Invalid(std::string("unsupported database type: ") + FileTypeName(spec.type));
  }
  db->reset(new DB(spec, options, std::move(engine)));
  return Status::OK();
}

DB::DB(DatabaseSpec spec, OpenOptions options, std::unique_ptr<Engine> engine)
    : spec_(std::move(spec)),
      options_(std::move(options)),
      engine_(std::move(engine)),
      sink_(std::make_unique<internal::ChangeSink>(*engine_)),
      observer_(sink_.get()) {
  // The GC cursor exists only where records can expire and may be deleted.
  if (!options_.readonly && !spec_.persistent) sweep_cursor_ = engine_->NewCursor();
  // A file opened with records may hold expiring ones: the first full pass finds out.
  if (engine_->Count() > 0) NoteExpiringWrite();
}

DB::~DB() = default;

bool DB::ordered() const { return engine_->ordered(); }

void DB::SetUpdateObserver(UpdateObserver* observer) { sink_->set_observer(observer); }

Status DB::BeginTransaction(bool hard) {
  if (readonly()) return Status::NoPerm();
  return sink_->Begin(hard);
}

Status DB::EndTransaction(bool commit) {
  Status status = sink_->End(commit);
  // An abort restores records straight through the engine, expiring ones included.
  if (!commit) NoteExpiringWrite();
  return status;
}

Status DB::Occupy(const std::function<Status()>& proc) { return sink_->Occupy(proc); }

int64_t DB::Now() const {
  return options_.clock ? options_.clock() : static_cast<int64_t>(std::time(nullptr));
}

Status DB::VisitKey(std::string_view key, RecordVisitor& visitor, bool writable, int64_t now) {
  TimedVisitor timed(visitor, now, persistent(), writable, observer_,
                     TimedVisitor::kExpiredAsAbsent);
  Status status = engine_->Accept(key, timed, writable);
  AfterVisit(timed, Score(writable));
  return status;
}

Status DB::VisitKeys(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                     bool writable, int64_t now) {
  TimedVisitor timed(visitor, now, persistent(), writable, observer_,
                     TimedVisitor::kExpiredAsAbsent);
  Status status = engine_->AcceptBulk(keys, timed, writable);
  AfterVisit(timed, Score(writable) * static_cast<int64_t>(keys.size()));
  return status;
}

// ---------------------------------------------------------------------------------------
// Single-record writes

Status DB::Set(std::string_view key, std::string_view value, int64_t xt_arg) {
  if (readonly()) return Status::NoPerm();
  int64_t now = Now();
  int64_t xt = ResolveXt(xt_arg, now);
  auto set = [&](auto&&...) { return Decision::Set(value, xt); };
  FnVisitor visitor(set, set);
  return VisitKey(key, visitor, true, now);
}

Status DB::Add(std::string_view key, std::string_view value, int64_t xt_arg) {
  if (readonly()) return Status::NoPerm();
  int64_t now = Now();
  int64_t xt = ResolveXt(xt_arg, now);
  Status result;
  FnVisitor visitor(
      [&](std::string_view, std::string_view, int64_t) {
        result = Status::DupRec();
        return Decision::Keep();
      },
      [&](std::string_view) { return Decision::Set(value, xt); });
  Status status = VisitKey(key, visitor, true, now);
  return status.ok() ? result : status;
}

Status DB::Replace(std::string_view key, std::string_view value, int64_t xt_arg) {
  if (readonly()) return Status::NoPerm();
  int64_t now = Now();
  int64_t xt = ResolveXt(xt_arg, now);
  Status result;
  FnVisitor visitor(
      [&](std::string_view, std::string_view, int64_t) { return Decision::Set(value, xt); },
      [&](std::string_view) {
        result = Status::NoRec();
        return Decision::Keep();
      });
  Status status = VisitKey(key, visitor, true, now);
  return status.ok() ? result : status;
}

Status DB::Append(std::string_view key, std::string_view value, int64_t xt_arg) {
  if (readonly()) return Status::NoPerm();
  int64_t now = Now();
  int64_t xt = ResolveXt(xt_arg, now);
  std::string joined;
  FnVisitor visitor(
      [&](std::string_view, std::string_view old, int64_t) {
        joined.reserve(old.size() + value.size());
        joined.append(old).append(value);
        return Decision::Set(joined, xt);
      },
      [&](std::string_view) { return Decision::Set(value, xt); });
  return VisitKey(key, visitor, true, now);
}

// Runs one counter update (increment or increment_double) under the record's lock. `step`
// computes the outcome from the current value and writes the new encoding into `buf`.
template <typename T, size_t kSize, typename Step>
Status DB::UpdateCounter(std::string_view key, int64_t xt_arg, T* result, Step step) {
  if (readonly()) return Status::NoPerm();
  int64_t now = Now();
  int64_t xt = ResolveXt(xt_arg, now);
  char buf[kSize];
  T value{};
  IncrementOutcome outcome = IncrementOutcome::kFail;
  auto decide = [&](std::optional<std::string_view> current) {
    outcome = step(current, &value, buf);
    bool write = outcome == IncrementOutcome::kWrite || outcome == IncrementOutcome::kWriteFail;
    return write ? Decision::Set(std::string_view(buf, kSize), xt) : Decision::Keep();
  };
  FnVisitor visitor([&](std::string_view, std::string_view v, int64_t) { return decide(v); },
                    [&](std::string_view) { return decide(std::nullopt); });
  Status status = VisitKey(key, visitor, true, now);
  if (!status.ok()) return status;
  if (outcome == IncrementOutcome::kFail || outcome == IncrementOutcome::kWriteFail) {
    return Status::Logic();
  }
  if (result != nullptr) *result = value;
  return Status::OK();
}

Status DB::Increment(std::string_view key, int64_t num, int64_t orig, int64_t xt_arg,
                     int64_t* result) {
  return UpdateCounter<int64_t, 8>(
      key, xt_arg, result, [&](std::optional<std::string_view> current, int64_t* v, char* buf) {
        return IncrementInt(current, num, orig, v, buf);
      });
}

Status DB::IncrementDouble(std::string_view key, double num, double orig, int64_t xt_arg,
                           double* result) {
  return UpdateCounter<double, 16>(
      key, xt_arg, result, [&](std::optional<std::string_view> current, double* v, char* buf) {
        return storage::IncrementDouble(current, num, orig, v, buf);
      });
}

Status DB::Cas(std::string_view key, std::optional<std::string_view> oval,
               std::optional<std::string_view> nval, int64_t xt_arg) {
  if (readonly()) return Status::NoPerm();
  int64_t now = Now();
  int64_t xt = ResolveXt(xt_arg, now);
  bool matched = false;
  FnVisitor visitor(
      [&](std::string_view, std::string_view value, int64_t) {
        if (!oval.has_value() || *oval != value) return Decision::Keep();
        matched = true;
        return nval.has_value() ? Decision::Set(*nval, xt) : Decision::Remove();
      },
      [&](std::string_view) {
        if (oval.has_value()) return Decision::Keep();
        matched = true;
        return nval.has_value() ? Decision::Set(*nval, xt) : Decision::Keep();
      });
  Status status = VisitKey(key, visitor, true, now);
  if (!status.ok()) return status;
  return matched ? Status::OK() : Status::Logic("status conflict");
}

Status DB::Remove(std::string_view key) {
  if (readonly()) return Status::NoPerm();
  bool removed = false;
  FnVisitor visitor(
      [&](std::string_view, std::string_view, int64_t) {
        removed = true;
        return Decision::Remove();
      },
      // An expired record is deleted too (and the removal logged) but reported as missing.
      [&](std::string_view) { return Decision::Remove(); });
  Status status = VisitKey(key, visitor, true, Now());
  if (!status.ok()) return status;
  return removed ? Status::OK() : Status::NoRec();
}

// ---------------------------------------------------------------------------------------
// Single-record reads

Status DB::Get(std::string_view key, std::string* value, int64_t* xt) {
  bool found = false;
  FnVisitor visitor(
      [&](std::string_view, std::string_view v, int64_t record_xt) {
        found = true;
        if (value != nullptr) value->assign(v);
        if (xt != nullptr) *xt = record_xt;
        return Decision::Keep();
      },
      [](std::string_view) { return Decision::Keep(); });
  Status status = VisitKey(key, visitor, false, Now());
  if (!status.ok()) return status;
  return found ? Status::OK() : Status::NoRec();
}

Status DB::Check(std::string_view key, int64_t* value_size, int64_t* xt) {
  bool found = false;
  FnVisitor visitor(
      [&](std::string_view, std::string_view v, int64_t record_xt) {
        found = true;
        if (value_size != nullptr) *value_size = static_cast<int64_t>(v.size());
        if (xt != nullptr) *xt = record_xt;
        return Decision::Keep();
      },
      [](std::string_view) { return Decision::Keep(); });
  Status status = VisitKey(key, visitor, false, Now());
  if (!status.ok()) return status;
  if (!found && value_size != nullptr) *value_size = -1;
  return found ? Status::OK() : Status::NoRec();
}

Status DB::Seize(std::string_view key, std::string* value, int64_t* xt) {
  if (readonly()) return Status::NoPerm();
  bool found = false;
  FnVisitor visitor(
      [&](std::string_view, std::string_view v, int64_t record_xt) {
        found = true;
        if (value != nullptr) value->assign(v);
        if (xt != nullptr) *xt = record_xt;
        return Decision::Remove();
      },
      [](std::string_view) { return Decision::Keep(); });
  Status status = VisitKey(key, visitor, true, Now());
  if (!status.ok()) return status;
  return found ? Status::OK() : Status::NoRec();
}

// ---------------------------------------------------------------------------------------
// Bulk operations

Status DB::SetBulk(const std::vector<std::pair<std::string, std::string>>& records, int64_t xt_arg,
                   bool atomic, int64_t* count) {
  if (readonly()) return Status::NoPerm();
  int64_t now = Now();
  if (!atomic) {
    for (const auto& [key, value] : records) {
      Status status = Set(key, value, xt_arg);
      if (!status.ok()) return status;
    }
  } else {
    int64_t xt = ResolveXt(xt_arg, now);
    std::vector<std::string_view> keys;
    keys.reserve(records.size());
    for (const auto& record : records) keys.emplace_back(record.first);
    size_t next = 0;  // the engine visits keys in the given order
    auto set = [&](auto&&...) { return Decision::Set(records[next++].second, xt); };
    FnVisitor visitor(set, set);
    Status status = VisitKeys(keys, visitor, true, now);
    if (!status.ok()) return status;
  }
  if (count != nullptr) *count = static_cast<int64_t>(records.size());
  return Status::OK();
}

Status DB::RemoveBulk(const std::vector<std::string>& keys, bool atomic, int64_t* count) {
  if (readonly()) return Status::NoPerm();
  int64_t removed = 0;
  if (!atomic) {
    for (const std::string& key : keys) {
      Status status = Remove(key);
      if (status.ok()) {
        ++removed;
      } else if (status.code() != Code::kNoRec) {
        return status;
      }
    }
  } else {
    std::vector<std::string_view> views(keys.begin(), keys.end());
    FnVisitor visitor(
        [&](std::string_view, std::string_view, int64_t) {
          ++removed;
          return Decision::Remove();
        },
        [](std::string_view) { return Decision::Remove(); });
    Status status = VisitKeys(views, visitor, true, Now());
    if (!status.ok()) return status;
  }
  if (count != nullptr) *count = removed;
  return Status::OK();
}

Status DB::GetEach(std::span<const std::string_view> keys,
                   const std::function<void(size_t, std::string_view, int64_t)>& found) {
  constexpr size_t kGroup = 32;
  // Reused by the thread: a get_bulk allocates nothing here once warmed up.
  thread_local std::vector<std::string_view> group;
  size_t next = 0;  // index of the key the engine visits next: one visit per key, in order
  FnVisitor visitor(
      [&](std::string_view, std::string_view value, int64_t xt) {
        found(next++, value, xt);
        return Decision::Keep();
      },
      [&](std::string_view) {
        next++;
        return Decision::Keep();
      });
  for (size_t base = 0; base < keys.size(); base += kGroup) {
    size_t n = std::min(kGroup, keys.size() - base);
    group.assign(keys.begin() + base, keys.begin() + base + n);
    next = base;
    Status status = VisitKeys(group, visitor, false, Now());
    if (!status.ok()) return status;
  }
  return Status::OK();
}

Status DB::GetBulk(const std::vector<std::string>& keys, bool atomic,
                   std::vector<std::pair<std::string, std::string>>* records) {
  std::vector<std::string_view> views(keys.begin(), keys.end());
  if (!atomic) {
    return GetEach(views, [&](size_t i, std::string_view value, int64_t) {
      records->emplace_back(keys[i], std::string(value));
    });
  }
  FnVisitor visitor(
      [&](std::string_view key, std::string_view value, int64_t) {
        records->emplace_back(std::string(key), std::string(value));
        return Decision::Keep();
      },
      [](std::string_view) { return Decision::Keep(); });
  return VisitKeys(views, visitor, false, Now());
}

// ---------------------------------------------------------------------------------------
// Generic visits

Status DB::Accept(std::string_view key, RecordVisitor& visitor, bool writable) {
  if (writable && readonly()) return Status::NoPerm();
  return VisitKey(key, visitor, writable, Now());
}

Status DB::AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                      bool writable) {
  if (writable && readonly()) return Status::NoPerm();
  return VisitKeys(keys, visitor, writable, Now());
}

Status DB::Iterate(RecordVisitor& visitor, bool writable) {
  if (writable && readonly()) return Status::NoPerm();
  TimedVisitor timed(visitor, Now(), persistent(), writable, observer_, TimedVisitor::kSkipExpired);
  Status status = engine_->Iterate(timed, writable);
  AfterVisit(timed, Score(writable) * (engine_->Count() / 4));
  return status;
}

// ---------------------------------------------------------------------------------------
// Whole-database operations

Status DB::Clear() {
  if (readonly()) return Status::NoPerm();
  return sink_->Clear();
}

Status DB::Synchronize(bool hard, const std::function<Status(const std::string& path)>& proc) {
  if (!proc) return engine_->Synchronize(hard);
  // `proc` is a hot-backup hook (ktserver -cmd) that copies the files: writers, and the
  // sweeper's deletions, wait until it returns so that the copy is one consistent state.
  // Memory engines have nothing to flush; `proc` still runs so that hot-backup commands
  // behave the same for every type.
  return Occupy([&] {
    std::lock_guard<std::mutex> sweeping(sweep_mutex_);
    Status status = engine_->Synchronize(hard);
    return status.ok() ? proc(spec_.path) : status;
  });
}

int64_t DB::Count() const { return engine_->Count(); }

int64_t DB::Size() const { return engine_->Size(); }

std::map<std::string, std::string> DB::GetStatus() const {
  std::map<std::string, std::string> status;
  engine_->AddStatus(&status);
  std::string type = std::to_string(static_cast<int>(spec_.type));
  status["count"] = std::to_string(Count());
  status["size"] = std::to_string(Size());
  status["path"] = spec_.path;
  status["type"] = type;
  status["realtype"] = type;
  // std::string(): assigning the char* directly trips a GCC 12 -Wrestrict false positive.
  status["ktopts"] = std::string(spec_.persistent ? "2" : "0");
  status["ktcapcnt"] = std::to_string(spec_.ktcapcnt);
  status["ktcapsiz"] = std::to_string(spec_.ktcapsiz);
  return status;
}

}  // namespace ryoan::storage
