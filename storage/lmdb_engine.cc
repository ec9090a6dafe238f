#include "storage/lmdb_engine.h"

#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include "common/numbers.h"
#include "storage/lmdb_verify.h"

namespace ryoan::storage {

using lmdb::Record;
using lmdb::RecordTable;

namespace {

// Version 2 added the record checksums; version 1 files are refused (see Setup).
constexpr const char* kFormat = "ryoan-kct 2";
// Writers taken into one transaction at most, and the size past which a transaction is
// committed early (LMDB keeps every dirty page in memory until the commit).
constexpr size_t kMaxBatch = 256;
constexpr size_t kEarlyCommitBytes = 64 << 20;
// The next writer in line waits for the running batch by spinning up to twice the recent
// batch time, but no longer than this: a batch (a commit without system calls) takes a few
// microseconds, less than putting a thread to sleep and waking it costs.
constexpr int64_t kMaxSpinNs = 20'000;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// LMDB must not open one file twice in a process (closing either breaks the other's locks).
std::mutex registry_mu;
std::set<std::string>& OpenFiles() {
  static auto* files = new std::set<std::string>;
  return *files;
}

std::string Fixed64(int64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v = static_cast<int64_t>(static_cast<uint64_t>(v) >> 8);
  }
  return out;
}

int64_t ReadFixed64(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return static_cast<int64_t>(v);
}

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

bool Descending(const KeyComparator& comparator) {
  return comparator.kind() == KeyComparator::kLexDesc ||
         comparator.kind() == KeyComparator::kDecDesc;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Group commit

// The state one leader's transaction shares with the writes it runs. The LMDB write
// transaction is begun only when a visit first changes something: until then the batch
// reads a snapshot of the last commit, which is the state the write transaction would see
// (the leader is the only writer). Visits that change nothing (most sweeper steps, failed
// adds and cas) thus cost a pooled read transaction instead of LMDB's writer lock and a
// commit.
class LmdbEngine::Batch {
 public:
  explicit Batch(LmdbEngine* engine) : txn_(engine->env_.get()), engine_(engine) {}

  // `eager`: some visit of the batch will most likely write; its first read then needs no
  // snapshot of its own.
  Status Begin(bool eager) {
    count = engine_->count_.load(std::memory_order_relaxed);
    start_count_ = count;
    writing_ = false;
    begin_status_ = Status::OK();
    if (eager) Writer();
    return begin_status_;
  }

  // The transaction to read in; null (and the batch failed) when none can be had.
  MDB_txn* Reader() {
    if (writing_) return txn_.ok() ? txn_.get() : nullptr;
    if (!read_) {
      read_.emplace(engine_->env_.get());
      if (read_->rc() != 0) Fail(read_->rc());
    }
    return txn_.ok() ? read_->get() : nullptr;
  }
  // The write transaction, begun on first use. Values read so far stay valid: the pages of
  // the last commit are not reused before this transaction commits, and the map does not
  // move before what the visits decided is copied into the transaction's log.
  lmdb::WriteTxn& Writer() {
    if (!writing_) {
      writing_ = true;
      read_.reset();  // map growth waits for every read transaction to end
      begin_status_ = txn_.Begin();
      if (!begin_status_.ok()) txn_.Fail(MDB_BAD_TXN);
    }
    return txn_;
  }
  bool ok() const { return txn_.ok(); }
  void Fail(int rc) { txn_.Fail(rc); }
  size_t log_bytes() const { return txn_.log_bytes(); }

  // The record count travels in the same transaction as the records. The work the visits
  // deferred (update-log events) runs once they committed, before the next batch starts.
  Status Commit() {
    Status status = begin_status_;
    if (!writing_) {
      read_.reset();
      if (!txn_.ok()) status = engine_->ReadStatus(txn_.rc());
    } else if (status.ok()) {
      if (count != start_count_) txn_.Put(engine_->meta_dbi_, "count", Fixed64(count));
      status = txn_.Commit();
    } else {
      txn_.Abort();
    }
    writing_ = false;
    if (status.ok()) {
      engine_->count_.store(count, std::memory_order_relaxed);
      engine_->commits_.fetch_add(1, std::memory_order_relaxed);
      scope_.Committed();
    } else {
      scope_.Abandon();
    }
    return status;
  }

  int64_t count = 0;

 private:
  lmdb::WriteTxn txn_;
  std::optional<lmdb::ReadTxn> read_;
  bool writing_ = false;
  Status begin_status_;
  CommitScope scope_;  // on the leader's thread, which runs the visits
  LmdbEngine* engine_;
  int64_t start_count_ = 0;
};

struct LmdbEngine::Writer {
  const WriteFn* fn;
  WriteMode mode;
  Status status;
  std::exception_ptr exception;
  bool done = false;
  std::condition_variable cv;
  // Set (besides `done` or becoming the leader) before `cv` is notified, for a spinning wait.
  std::atomic<bool> signaled{false};
};

Status LmdbEngine::Write(const WriteFn& fn, WriteMode mode) {
  if (env_->readonly()) return Status::NoPerm();
  Writer self{&fn, mode, {}, {}, false, {}, {}};
  std::unique_lock lock(write_mu_);
  writers_.push_back(&self);
  if (writers_.size() == 2) {
    // Next in line: the batch ahead is usually over before a sleep would have begun.
    const int64_t limit = std::min(2 * batch_ns_.load(std::memory_order_relaxed), kMaxSpinNs);
    lock.unlock();
    const int64_t until = NowNs() + limit;
    for (int i = 1; !self.signaled.load(std::memory_order_acquire); ++i) {
      CpuRelax();
      if (i % 64 == 0 && NowNs() > until) break;
    }
    lock.lock();
  }
  while (!self.done && writers_.front() != &self) self.cv.wait(lock);
  if (!self.done) {
    // The leader: take the writers queued so far, run them in one transaction.
    std::vector<Writer*> batch;
    for (Writer* writer : writers_) {
      bool alone = writer->mode == kAlone || writer->mode == kNoTxn;
      if (!batch.empty() && (alone || batch.size() >= kMaxBatch)) break;
      batch.push_back(writer);
      if (alone) break;
    }
    lock.unlock();
    const int64_t start = NowNs();
    RunBatch(batch);
    const int64_t took = NowNs() - start;
    batch_ns_.store((batch_ns_.load(std::memory_order_relaxed) * 7 + took) / 8,
                    std::memory_order_relaxed);
    lock.lock();
    for (Writer* writer : batch) {
      writers_.pop_front();
      writer->done = true;
      if (writer != &self) {
        writer->signaled.store(true, std::memory_order_release);
        writer->cv.notify_one();
      }
    }
    if (!writers_.empty()) {  // the next leader
      writers_.front()->signaled.store(true, std::memory_order_release);
      writers_.front()->cv.notify_one();
    }
  }
  lock.unlock();
  if (self.exception) std::rethrow_exception(self.exception);
  return self.status;
}

void LmdbEngine::RunBatch(const std::vector<Writer*>& writers) {
  Batch batch(this);
  if (writers.front()->mode == kNoTxn) {
    writers.front()->status = (*writers.front()->fn)(batch);
    return;
  }
  (void)env_->GrowIfNearlyFull();  // if this fails, MDB_MAP_FULL handling tries again
  bool eager = false;
  for (const Writer* writer : writers) eager = eager || writer->mode != kSharedReading;
  Status status = batch.Begin(eager);
  size_t ended = 0;  // writers whose transaction has ended
  for (size_t i = 0; status.ok() && i < writers.size(); ++i) {
    try {
      writers[i]->status = (*writers[i]->fn)(batch);
    } catch (...) {
      writers[i]->exception = std::current_exception();
    }
    if (i + 1 < writers.size() && batch.log_bytes() > kEarlyCommitBytes) {
      status = batch.Commit();
      for (; ended <= i; ++ended) {
        if (!status.ok()) writers[ended]->status = status;
      }
      if (status.ok()) status = batch.Begin(eager);
    }
  }
  if (status.ok()) status = batch.Commit();
  for (; ended < writers.size(); ++ended) {
    if (!status.ok()) writers[ended]->status = status;
  }
}

void LmdbEngine::VisitInBatch(Batch& batch, std::string_view key, RecordVisitor& visitor) {
  if (!batch.ok()) return;  // the commit reports the error
  int64_t xt = 0;
  std::string_view value;
  MDB_txn* txn = batch.Reader();
  if (txn == nullptr) return;  // the commit reports the error
  int rc = table_.Get(txn, key, &xt, &value);
  if (rc != 0 && rc != MDB_NOTFOUND) return batch.Fail(rc);
  bool found = rc == 0;
  Decision decision = found ? visitor.VisitFull(key, value, xt) : visitor.VisitEmpty(key);
  int64_t delta = 0;
  if (decision.op == Decision::kSet) {
    // `found` holds for the write transaction too: the batch's writes all go through it,
    // and a snapshot read before its first write is of the last commit, which only this
    // batch's leader can follow.
    table_.Set(batch.Writer(), key, decision.value, decision.xt, &delta, &found);
  } else if (decision.op == Decision::kRemove && found) {
    table_.Remove(batch.Writer(), key, &delta);
  }
  batch.count += delta;
}

// Walks LMDB records by key rather than with one LMDB cursor: the writes in between may
// rebuild the transaction (map growth) or commit it early (a big database).
Status LmdbEngine::IterateInBatch(Batch& batch, RecordVisitor& visitor) {
  std::string last;
  bool started = false;
  std::vector<RecordTable::Entry> entries;
  std::vector<RecordTable::Entry> kept;
  std::vector<std::string> values;
  while (batch.ok()) {
    std::string lmdb_key, data;  // copies: the writes below change LMDB's pages
    {
      MDB_txn* txn = batch.Reader();
      if (txn == nullptr) break;
      lmdb::CursorHandle cursor(txn, table_.dbi());
      MDB_val k = Val(last);
      MDB_val d{0, nullptr};
      int rc = started ? cursor.Get(&k, &d, MDB_SET_RANGE) : cursor.Get(&k, &d, MDB_FIRST);
      rc = table_.Checked(rc, k, d);
      if (rc == 0 && started && lmdb::View(k) == last) {
        rc = table_.Checked(cursor.Get(&k, &d, MDB_NEXT), k, d);
      }
      if (rc == MDB_NOTFOUND) break;
      if (rc != 0) {
        batch.Fail(rc);
        break;
      }
      lmdb_key.assign(lmdb::View(k));
      data.assign(lmdb::View(d));
    }
    started = true;
    last = lmdb_key;
    int64_t delta = 0;
    if (!table_.IsGroup(lmdb_key)) {
      int64_t xt = 0;
      std::string_view value;
      if (!RecordTable::DecodeDirect(lmdb_key, data, &xt, &value)) {
        batch.Fail(lmdb::kBadRecord);
        break;
      }
      std::string key = lmdb_key.substr(1);
      Decision decision = visitor.VisitFull(key, value, xt);
      if (decision.op == Decision::kSet) {
        table_.Set(batch.Writer(), key, decision.value, decision.xt, &delta);
      } else if (decision.op == Decision::kRemove) {
        table_.Remove(batch.Writer(), key, &delta);
      }
    } else {
      if (!RecordTable::DecodeGroup(lmdb_key, data, &entries)) {
        batch.Fail(lmdb::kBadRecord);
        break;
      }
      kept.clear();
      values.clear();
      values.reserve(entries.size());  // no reallocation: `kept` points into these strings
      bool changed = false;
      std::string key;
      for (const RecordTable::Entry& entry : entries) {
        key.assign(lmdb_key, 1).append(entry.suffix);
        Decision decision = visitor.VisitFull(key, entry.value, entry.xt);
        if (decision.op == Decision::kRemove) {
          changed = true;
          --delta;
        } else if (decision.op == Decision::kSet) {
          changed = true;
          values.emplace_back(decision.value);
          kept.push_back({entry.suffix, decision.xt, values.back(), {}, 0});
        } else {
          kept.push_back(entry);
        }
      }
      if (changed) table_.PutGroup(batch.Writer(), lmdb_key, kept);
    }
    batch.count += delta;
    if (batch.log_bytes() > kEarlyCommitBytes) {
      Status status = batch.Commit();
      if (status.ok()) status = batch.Begin(true);
      if (!status.ok()) return status;
    }
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------
// Cursor

class LmdbEngine::CursorImpl : public EngineCursor {
 public:
  explicit CursorImpl(LmdbEngine* engine) : engine_(engine) {}

  Status Jump() override { return Move(RecordTable::kFirst, {}); }
  Status Jump(std::string_view key) override { return Move(RecordTable::kAtOrAfter, key); }
  Status JumpBack() override { return Move(RecordTable::kLast, {}); }
  Status JumpBack(std::string_view key) override { return Move(RecordTable::kAtOrBefore, key); }
  Status Step() override {
    if (!Valid()) return Unposition();
    return Move(RecordTable::kAfter, key_);
  }
  Status StepBack() override {
    if (!Valid()) return Unposition();
    return Move(RecordTable::kBefore, key_);
  }

  Status Accept(RecordVisitor& visitor, bool writable, bool step) override {
    if (!Valid()) return Unposition();
    if (writable) {
      return engine_->Write([&](Batch& batch) { return AcceptInBatch(batch, visitor, step); },
                            kSharedReading);
    }
    lmdb::ReadTxn txn(engine_->env_.get());
    if (!txn.status().ok()) return txn.status();
    // At-or-after: if our record was removed meanwhile, the next one is current.
    Record record, next;
    int next_rc = MDB_NOTFOUND;
    int rc = engine_->table_.FindWithNext(txn.get(), key_, &record, &next, &next_rc);
    if (rc == MDB_NOTFOUND) return Unposition();
    if (rc != 0) return engine_->ReadStatus(rc);
    key_ = record.key;
    visitor.VisitFull(record.key, record.value, record.xt);
    if (step) MoveTo(next_rc, &next);
    return Status::OK();
  }

 private:
  bool Valid() const {
    return positioned_ && generation_ == engine_->generation_.load(std::memory_order_acquire);
  }

  Status Unposition() {
    positioned_ = false;
    return Status::NoRec();
  }

  Status Move(RecordTable::Where where, std::string_view key) {
    uint64_t generation = engine_->generation_.load(std::memory_order_acquire);
    lmdb::ReadTxn txn(engine_->env_.get());
    if (!txn.status().ok()) return txn.status();
    Record record;
    int rc = engine_->table_.Find(txn.get(), where, key, &record);
    if (rc == MDB_NOTFOUND) return Unposition();
    if (rc != 0) return engine_->ReadStatus(rc);
    key_ = std::move(record.key);
    positioned_ = true;
    generation_ = generation;
    return Status::OK();
  }

  // Moves to the record found after the current one (FindWithNext); past the last one the
  // cursor is unpositioned.
  void MoveTo(int next_rc, Record* next) {
    if (next_rc == 0) {
      key_ = std::move(next->key);
    } else {
      positioned_ = false;
    }
  }

  // Runs in the leader's write transaction.
  Status AcceptInBatch(Batch& batch, RecordVisitor& visitor, bool step) {
    if (!batch.ok()) return Status::OK();  // the commit reports the error
    const RecordTable& table = engine_->table_;
    // The record after this one, found before the visit: the visit changes only this one.
    Record record, next;
    int next_rc = MDB_NOTFOUND;
    MDB_txn* txn = batch.Reader();
    if (txn == nullptr) return Status::OK();  // the commit reports the error
    int rc = table.FindWithNext(txn, key_, &record, &next, &next_rc);
    if (rc == MDB_NOTFOUND) return Unposition();
    if (rc != 0) {
      batch.Fail(rc);
      return Status::OK();
    }
    key_ = record.key;
    Decision decision = visitor.VisitFull(record.key, record.value, record.xt);
    int64_t delta = 0;
    if (decision.op == Decision::kRemove) {
      table.Remove(batch.Writer(), key_, &delta);
      batch.count += delta;
      MoveTo(next_rc, &next);  // removal moves the cursor on
      return Status::OK();
    }
    if (decision.op == Decision::kSet) {
      table.Set(batch.Writer(), key_, decision.value, decision.xt, &delta);
      batch.count += delta;
    }
    if (step) MoveTo(next_rc, &next);
    return Status::OK();
  }

  LmdbEngine* engine_;
  bool positioned_ = false;
  uint64_t generation_ = 0;
  std::string key_;
};

// ---------------------------------------------------------------------------------------
// Engine

LmdbEngine::Options LmdbEngine::OptionsFor(const DatabaseSpec& spec, bool readonly, bool autosync) {
  Options options;
  options.comparator = KeyComparator::FromName(spec.rcomp);
  options.readonly = readonly;
  options.autosync = autosync;
  options.directory = spec.type == DatabaseType::kDirTree;
  options.persistent = spec.persistent;
  auto verify = spec.params.find("verify");
  if (verify != spec.params.end()) {
    const std::string& v = verify->second;
    options.verify = !(v == "off" || v == "0" || v == "no" || v == "false");
  }
  auto msiz = spec.params.find("msiz");
  if (msiz != spec.params.end()) {
    int64_t size = ParseIntWithUnit(msiz->second);
    if (size > 0) options.map_size = size;
  }
  return options;
}

Status LmdbEngine::Open(const std::string& path, const Options& options,
                        std::unique_ptr<LmdbEngine>* out) {
  std::error_code ec;
  if (options.directory && !options.readonly) {
    std::filesystem::create_directories(path, ec);
    if (ec) return Status::System(path + ": " + ec.message());
  }
  std::string registry_key = std::filesystem::weakly_canonical(path, ec).string();
  if (ec) registry_key = path;
  {
    std::lock_guard lock(registry_mu);
    if (!OpenFiles().insert(registry_key).second) {
      return Status::Invalid(path + ": already opened in this process");
    }
  }
  lmdb::Env::Options env_options;
  env_options.readonly = options.readonly;
  env_options.sync_each_commit = options.autosync;
  env_options.subdir = options.directory;
  env_options.map_size = static_cast<size_t>(options.map_size > 0 ? options.map_size : 64 << 20);
  env_options.before_compact_copy = options.before_compact_copy;
  std::unique_ptr<lmdb::Env> env;
  // Before this process maps the file: LMDB must not be used in a child of its opener.
  Status status = options.verify ? lmdb::VerifyFile(path, options.directory) : Status::OK();
  if (status.ok()) status = lmdb::Env::Open(path, env_options, &env);
  if (!status.ok()) {
    std::lock_guard lock(registry_mu);
    OpenFiles().erase(registry_key);
    return status;
  }
  std::unique_ptr<LmdbEngine> engine(new LmdbEngine(path, registry_key, std::move(env)));
  status = engine->Setup(options);
  if (!status.ok()) return status;  // the destructor forgets the file again
  *out = std::move(engine);
  return Status::OK();
}

LmdbEngine::LmdbEngine(std::string path, std::string registry_key, std::unique_ptr<lmdb::Env> env)
    : path_(std::move(path)), registry_key_(std::move(registry_key)), env_(std::move(env)) {}

LmdbEngine::~LmdbEngine() {
  env_.reset();
  std::lock_guard lock(registry_mu);
  OpenFiles().erase(registry_key_);
}

// Reads (or, for a new file, writes) the metadata and opens the records database.
Status LmdbEngine::Setup(const Options& options) {
  const bool readonly = env_->readonly();
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env_->get(), nullptr, readonly ? MDB_RDONLY : 0, &txn);
  if (rc != 0) return lmdb::Error(path_, "open", rc);
  auto fail = [&](Status status) {
    mdb_txn_abort(txn);
    return status;
  };
  auto not_ours = [&](const std::string& why) {
    return fail(Status::Invalid(path_ + ": not a database file (" + why + ")"));
  };
  auto get = [&](const char* name, std::string* value) {
    MDB_val k = Val(name);
    MDB_val d;
    if (mdb_get(txn, meta_dbi_, &k, &d) != 0) return false;
    value->assign(lmdb::View(d));
    return true;
  };
  auto put = [&](const char* name, const std::string& value) {
    MDB_val k = Val(name);
    MDB_val d = Val(value);
    return mdb_put(txn, meta_dbi_, &k, &d, 0);
  };

  bool fresh = false;
  rc = mdb_dbi_open(txn, "meta", 0, &meta_dbi_);
  if (rc == MDB_NOTFOUND) {
    // Only an LMDB file nobody has written to may become ours.
    MDB_dbi main_dbi;
    MDB_stat stat;
    if (mdb_dbi_open(txn, nullptr, 0, &main_dbi) != 0 || mdb_stat(txn, main_dbi, &stat) != 0 ||
        stat.ms_entries > 0) {
      return not_ours("an LMDB file of another program");
    }
    if (readonly) return not_ours("empty LMDB file");
    fresh = true;
    rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &meta_dbi_);
  }
  if (rc != 0) return fail(lmdb::Error(path_, "open", rc));

  size_t prefix = 0;
  int64_t count = 0;
  std::string value;
  if (fresh) {
    comparator_ = options.comparator;
    prefix = static_cast<size_t>(mdb_env_get_maxkeysize(env_->get())) - 1;
    rc = put("format", kFormat);
    if (rc == 0) rc = put("rcomp", comparator_.name());
    if (rc == 0) rc = put("prefix", std::to_string(prefix));
    if (rc == 0) rc = put("count", Fixed64(0));
    if (rc != 0) return fail(lmdb::Error(path_, "create", rc));
  } else {
    if (!get("format", &value)) return not_ours("no format");
    if (value == "ryoan-kct 1") {
      return fail(Status::Invalid(path_ +
                                  ": format ryoan-kct 1 (records without checksums) is no longer "
                                  "read; rebuild the database (format ryoan-kct 2)"));
    }
    if (value != kFormat) return not_ours("unknown format " + value.substr(0, 40));
    if (!get("rcomp", &value)) return not_ours("no comparator");
    comparator_ = KeyComparator::FromName(value);
    if (!get("prefix", &value)) return not_ours("no key prefix size");
    prefix = static_cast<size_t>(ParseInt(value));
    if (prefix == 0 || prefix + 1 > static_cast<size_t>(mdb_env_get_maxkeysize(env_->get()))) {
      return not_ours("written with longer LMDB keys than this build allows");
    }
    if (!get("count", &value) || value.size() != 8) return not_ours("no record count");
    count = ReadFixed64(value);
  }

  MDB_dbi records;
  rc = mdb_dbi_open(txn, "records", fresh ? MDB_CREATE : 0, &records);
  if (rc == MDB_NOTFOUND) return fail(Status(Code::kBroken, path_ + ": no records table"));
  if (rc != 0) return fail(lmdb::Error(path_, "open", rc));
  // Before any access to the records, in every process, every time.
  if (MDB_cmp_func* compare = lmdb::CompareFunction(comparator_.kind())) {
    mdb_set_compare(txn, records, compare);
  }
  table_ = RecordTable(env_.get(), records, prefix, Descending(comparator_));

  // ktopts=p is fixed while the database is empty, as KT does with its file header.
  if (!readonly && count == 0) {
    persistent_ = options.persistent;
    rc = put("ktopts", persistent_ ? "p" : "");
    if (rc != 0) return fail(lmdb::Error(path_, "create", rc));
  } else {
    persistent_ = get("ktopts", &value) && value == "p";
  }
  rc = mdb_txn_commit(txn);  // also for a reader: keeps the database handles open
  if (rc != 0) return lmdb::Error(path_, "open", rc);
  if (fresh) env_->LocateMap();  // the main database was empty until now
  count_.store(count);
  return Status::OK();
}

Status LmdbEngine::ReadStatus(int rc) const { return lmdb::Error(path_, "read", rc); }

Status LmdbEngine::VisitReadOnly(MDB_txn* txn, std::string_view key, RecordVisitor& visitor) {
  int64_t xt = 0;
  std::string_view value;
  int rc = table_.Get(txn, key, &xt, &value);
  if (rc == 0) {
    visitor.VisitFull(key, value, xt);
  } else if (rc == MDB_NOTFOUND) {
    visitor.VisitEmpty(key);
  } else {
    return ReadStatus(rc);
  }
  return Status::OK();
}

Status LmdbEngine::Accept(std::string_view key, RecordVisitor& visitor, bool writable) {
  if (writable) {
    return Write(
        [&](Batch& batch) {
          VisitInBatch(batch, key, visitor);
          return Status::OK();
        },
        kShared);
  }
  lmdb::ReadTxn txn(env_.get());
  if (!txn.status().ok()) return txn.status();
  return VisitReadOnly(txn.get(), key, visitor);
}

Status LmdbEngine::AcceptBulk(const std::vector<std::string_view>& keys, RecordVisitor& visitor,
                              bool writable) {
  if (writable) {
    return Write(
        [&](Batch& batch) {
          for (std::string_view key : keys) VisitInBatch(batch, key, visitor);
          return Status::OK();
        },
        kShared);
  }
  // One snapshot: the batch is seen as of one instant, as if locked.
  lmdb::ReadTxn txn(env_.get());
  if (!txn.status().ok()) return txn.status();
  for (std::string_view key : keys) {
    Status status = VisitReadOnly(txn.get(), key, visitor);
    if (!status.ok()) return status;
  }
  return Status::OK();
}

Status LmdbEngine::Iterate(RecordVisitor& visitor, bool writable) {
  if (writable) {
    return Write([&](Batch& batch) { return IterateInBatch(batch, visitor); }, kAlone);
  }
  // A snapshot gives the consistent view of a locked database without stopping writers.
  lmdb::ReadTxn txn(env_.get());
  if (!txn.status().ok()) return txn.status();
  int rc = table_.ForEach(txn.get(), [&](const Record& record) {
    visitor.VisitFull(record.key, record.value, record.xt);
    return true;
  });
  return rc == 0 ? Status::OK() : ReadStatus(rc);
}

std::unique_ptr<EngineCursor> LmdbEngine::NewCursor() { return std::make_unique<CursorImpl>(this); }

Status LmdbEngine::ClearWith(const std::function<void()>& while_locked) {
  return Write(
      [&](Batch& batch) {
        batch.Writer().Drop(table_.dbi());
        batch.count = 0;
        generation_.fetch_add(1, std::memory_order_acq_rel);
        if (while_locked) CommitScope::AfterCommit(while_locked);
        return Status::OK();
      },
      kShared);
}

Status LmdbEngine::Compact() {
  if (env_->readonly()) return Status::OK();
  return Write(
      [&](Batch&) {
        int64_t size = env_->DataSize();
        int64_t free = size - env_->UsedBytes({meta_dbi_, table_.dbi()});
        if (free <= size / 64 || free < 16 * static_cast<int64_t>(env_->page_size())) {
          return Status::OK();
        }
        Options stored;
        stored.comparator = comparator_;
        stored.persistent = persistent_;
        return env_->Compact([&] { return Setup(stored); });
      },
      kNoTxn);
}

void LmdbEngine::AddStatus(std::map<std::string, std::string>* status) const {
  (*status)["rcomp"] = comparator_.name();
  (*status)["psiz"] = std::to_string(env_->page_size());
  (*status)["msiz"] = std::to_string(env_->map_size());
  // The pages LMDB has used: past them the file is sparse up to the map size.
  (*status)["realsize"] = std::to_string(env_->DataSize());
}

}  // namespace ryoan::storage
