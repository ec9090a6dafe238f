// ProcedurePlacement: where a Lua procedure runs, decided per procedure name from how its
// calls went. A procedure runs inline on the I/O thread (no hand-off to a worker, no thread
// wake-ups) until one inline call takes longer than kInlineBound, e.g. because it loops or
// sleeps; it then runs on the worker pool, and comes back inline after kPromoteAfter
// consecutive worker calls shorter than the bound. A long inline call holds its I/O thread's
// other connections for at most LoopStandby::kTakeOverAfter (the standby serves them until
// it ends); the 120 s per-call limit of the script runtime stays the last guard.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ryoan::server {

class ProcedurePlacement {
 public:
  static constexpr std::chrono::microseconds kInlineBound{1000};
  static constexpr int kPromoteAfter = 64;
  // Names tracked; further names run on workers (clients choose names freely).
  static constexpr size_t kMaxNames = 1024;

  // True: run this call inline.
  bool Inline(std::string_view name);
  // After a call, inline or on a worker, with its wall-clock time.
  void Record(std::string_view name, bool was_inline, std::chrono::steady_clock::duration took);

 private:
  struct State {
    bool offloaded = false;
    int short_calls = 0;  // consecutive short calls on workers while offloaded
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::mutex mutex_;
  std::unordered_map<std::string, State, Hash, std::equal_to<>> states_;
};

}  // namespace ryoan::server
