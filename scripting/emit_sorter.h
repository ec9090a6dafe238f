// EmitSorter: the intermediate pairs of db:mapreduce (spec/lua.md 8.3), handed back grouped
// by key in a comparator's order with bounded memory.
//
// Pairs collect in memory until they take more than `cache_limit` bytes (clim); then they
// are sorted (stably, so one key's values keep their emit order) and written out as one
// sorted run: to an unlinked temporary file in `tmpdir`, or in memory (a compact serialized
// block) when there is no tmpdir or no file can be made there. At most `max_runs` runs
// (dbnum) exist at once: one more is first merged with the others into one. Reading merges
// every run, taking equal keys from the older run first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/key_comparator.h"
#include "storage/status.h"

namespace ryoan::scripting {

class EmitSorter {
 public:
  EmitSorter(storage::KeyComparator comparator, std::string tmpdir, size_t cache_limit,
             size_t max_runs);
  ~EmitSorter();
  EmitSorter(const EmitSorter&) = delete;
  EmitSorter& operator=(const EmitSorter&) = delete;

  // Queues a pair; may write a run. Fails (System) when a run cannot be written.
  storage::Status Add(std::string_view key, std::string_view value);

  // Ends adding and starts reading.
  storage::Status Finish();
  // Moves to the next distinct key (dropping what is left of the current one); false at the
  // end or on a read failure (see status()).
  bool NextKey(std::string* key);
  // The next value of the current key; false when it has no more.
  bool NextValue(std::string* value);
  const storage::Status& status() const { return status_; }

  // For tests: runs written so far, how many of them went to files, runs alive now, and
  // the bytes of pairs held in memory.
  size_t runs_written() const { return runs_written_; }
  size_t file_runs_written() const { return file_runs_written_; }
  size_t live_runs() const { return runs_.size(); }
  size_t cached_bytes() const { return cached_bytes_; }

  class Run;

 private:
  storage::Status Spill();
  storage::Status MergeRuns();
  // A new empty run: a temporary file when possible, else memory.
  std::unique_ptr<Run> NewRun();
  // The smallest current key among the runs (older first on ties); -1 when all are done.
  int Smallest() const;
  bool Advance(size_t run);

  storage::KeyComparator comparator_;
  std::string tmpdir_;
  size_t cache_limit_;
  size_t max_runs_;
  std::vector<std::pair<std::string, std::string>> cache_;
  size_t cached_bytes_ = 0;
  std::vector<std::unique_ptr<Run>> runs_;
  size_t runs_written_ = 0;
  size_t file_runs_written_ = 0;
  storage::Status status_;
  // Reading: each run's current pair.
  struct Head {
    bool valid = false;
    std::string key, value;
  };
  std::vector<Head> heads_;
  bool reading_ = false;
  bool have_key_ = false;
  std::string key_;
};

}  // namespace ryoan::scripting
