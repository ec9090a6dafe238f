#include "scripting/emit_sorter.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "storage/varnum.h"

namespace ryoan::scripting {

using storage::Status;

namespace {

// What a queued pair costs besides its bytes (the pair and two string headers).
constexpr size_t kPairOverhead = sizeof(std::pair<std::string, std::string>);
constexpr size_t kIoBlock = size_t{1} << 20;

Status SystemError(const std::string& what) {
  return Status::System("mapreduce: " + what + ": " + std::strerror(errno));
}

}  // namespace

// One sorted run: written once front to back, then read once front to back. Its records
// are varnum(klen) varnum(vlen) key value, in a file (fd >= 0) or in `data_`; a run made
// from the last cache holds the sorted pairs themselves.
class EmitSorter::Run {
 public:
  explicit Run(int fd) : fd_(fd) {}
  explicit Run(std::vector<std::pair<std::string, std::string>> pairs) : pairs_(std::move(pairs)) {}
  ~Run() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool in_file() const { return fd_ >= 0; }

  Status Append(std::string_view key, std::string_view value) {
    storage::AppendVarNum(key.size(), &data_);
    storage::AppendVarNum(value.size(), &data_);
    data_.append(key);
    data_.append(value);
    return data_.size() >= kIoBlock ? Flush() : Status::OK();
  }

  // Ends writing: the rest goes to the file, which is rewound for reading.
  Status Seal() {
    if (fd_ < 0) return Status::OK();
    Status s = Flush();
    if (s.ok() && ::lseek(fd_, 0, SEEK_SET) != 0) s = SystemError("lseek failed");
    return s;
  }

  // The next pair; false at the end or on a failure (`status`).
  bool Next(std::string* key, std::string* value, Status* status) {
    if (!pairs_.empty() || fd_ < 0) {
      if (pos_ < pairs_.size()) {
        *key = std::move(pairs_[pos_].first);
        *value = std::move(pairs_[pos_].second);
        pos_++;
        return true;
      }
      if (!pairs_.empty()) return false;
    }
    uint64_t klen, vlen;
    size_t pos = pos_;
    while (true) {
      pos = pos_;
      if (storage::ReadVarNum(data_, &pos, &klen) && storage::ReadVarNum(data_, &pos, &vlen) &&
          klen <= data_.size() - pos && vlen <= data_.size() - pos - klen) {
        break;
      }
      // Not all of the record is buffered: read more (memory runs have it all).
      if (fd_ < 0 || eof_) {
        if (pos_ < data_.size()) *status = Status(storage::Code::kBroken, "mapreduce: torn run");
        return false;
      }
      data_.erase(0, pos_);
      pos_ = 0;
      size_t old = data_.size();
      data_.resize(old + kIoBlock);
      ssize_t n;
      do {
        n = ::read(fd_, data_.data() + old, kIoBlock);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        *status = SystemError("read failed");
        return false;
      }
      data_.resize(old + static_cast<size_t>(n));
      if (n == 0) eof_ = true;
    }
    key->assign(data_, pos, klen);
    value->assign(data_, pos + klen, vlen);
    pos_ = pos + klen + vlen;
    return true;
  }

 private:
  Status Flush() {
    if (fd_ < 0) return Status::OK();
    std::string_view rest = data_;
    while (!rest.empty()) {
      ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return SystemError("write failed");
      rest.remove_prefix(static_cast<size_t>(n));
    }
    data_.clear();
    return Status::OK();
  }

  int fd_ = -1;
  std::string data_;
  size_t pos_ = 0;
  bool eof_ = false;
  std::vector<std::pair<std::string, std::string>> pairs_;
};

EmitSorter::EmitSorter(storage::KeyComparator comparator, std::string tmpdir, size_t cache_limit,
                       size_t max_runs)
    : comparator_(comparator),
      tmpdir_(std::move(tmpdir)),
      cache_limit_(cache_limit),
      max_runs_(std::max<size_t>(max_runs, 1)) {}

EmitSorter::~EmitSorter() = default;

std::unique_ptr<EmitSorter::Run> EmitSorter::NewRun() {
  if (!tmpdir_.empty()) {
    std::string name = tmpdir_ + "/ryoan-mapreduce-XXXXXX";
    int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) {
      // Unlinked at once: the space comes back when the run is dropped, whatever happens.
      ::unlink(name.c_str());
      file_runs_written_++;
      return std::make_unique<Run>(fd);
    }
  }
  return std::make_unique<Run>(-1);
}

Status EmitSorter::Add(std::string_view key, std::string_view value) {
  if (!status_.ok()) return status_;
  if (reading_) return Status::Invalid("mapreduce: emit after the map phase");
  cache_.emplace_back(key, value);
  cached_bytes_ += key.size() + value.size() + kPairOverhead;
  if (cached_bytes_ > cache_limit_) status_ = Spill();
  return status_;
}

Status EmitSorter::Spill() {
  auto less = [this](const auto& a, const auto& b) { return comparator_(a.first, b.first); };
  std::stable_sort(cache_.begin(), cache_.end(), less);
  std::unique_ptr<Run> run = NewRun();
  Status s;
  for (const auto& [key, value] : cache_) {
    s = run->Append(key, value);
    if (!s.ok()) return s;
  }
  s = run->Seal();
  if (!s.ok()) return s;
  std::vector<std::pair<std::string, std::string>>().swap(cache_);
  cached_bytes_ = 0;
  runs_.push_back(std::move(run));
  runs_written_++;
  return runs_.size() > max_runs_ ? MergeRuns() : Status::OK();
}

Status EmitSorter::MergeRuns() {
  heads_.assign(runs_.size(), Head{});
  for (size_t i = 0; i < runs_.size(); i++) Advance(i);
  std::unique_ptr<Run> merged = NewRun();
  for (int i = Smallest(); i >= 0 && status_.ok(); i = Smallest()) {
    Status s = merged->Append(heads_[i].key, heads_[i].value);
    if (!s.ok()) return s;
    Advance(static_cast<size_t>(i));
  }
  if (!status_.ok()) return status_;
  Status s = merged->Seal();
  if (!s.ok()) return s;
  runs_.clear();
  heads_.clear();
  runs_.push_back(std::move(merged));
  runs_written_++;
  return Status::OK();
}

bool EmitSorter::Advance(size_t run) {
  Head& head = heads_[run];
  head.valid = runs_[run]->Next(&head.key, &head.value, &status_);
  return head.valid;
}

int EmitSorter::Smallest() const {
  int best = -1;
  for (size_t i = 0; i < heads_.size(); i++) {
    if (!heads_[i].valid) continue;
    if (best < 0 || comparator_(heads_[i].key, heads_[best].key)) best = static_cast<int>(i);
  }
  return best;
}

Status EmitSorter::Finish() {
  if (!status_.ok() || reading_) return status_;
  reading_ = true;
  if (!cache_.empty()) {
    auto less = [this](const auto& a, const auto& b) { return comparator_(a.first, b.first); };
    std::stable_sort(cache_.begin(), cache_.end(), less);
    runs_.push_back(std::make_unique<Run>(std::move(cache_)));
    cache_.clear();
    cached_bytes_ = 0;
  }
  heads_.assign(runs_.size(), Head{});
  for (size_t i = 0; i < runs_.size(); i++) Advance(i);
  return status_;
}

bool EmitSorter::NextKey(std::string* key) {
  if (!reading_ || !status_.ok()) return false;
  std::string ignored;
  if (have_key_) {
    while (NextValue(&ignored)) {
    }
  }
  int i = Smallest();
  if (i < 0 || !status_.ok()) {
    have_key_ = false;
    return false;
  }
  key_ = heads_[i].key;
  have_key_ = true;
  *key = key_;
  return true;
}

bool EmitSorter::NextValue(std::string* value) {
  if (!have_key_ || !status_.ok()) return false;
  int i = Smallest();
  if (i < 0 || heads_[i].key != key_) return false;
  *value = std::move(heads_[i].value);
  Advance(static_cast<size_t>(i));
  return true;
}

}  // namespace ryoan::scripting
