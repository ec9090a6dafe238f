// ScriptRuntime: the Lua procedures of `-scr` (spec/lua.md). It owns a pool of Lua states,
// each of which has run the script once, and lends one to each call. Kyoto Tycoon keeps one
// state per worker thread; a pool of the same size is observably the same (globals persist
// per state, a call lands on whichever is free) and needs no thread-local lifetimes.
//
// Unlike Kyoto Tycoon, every call runs under limits (ScriptLimits): a runaway procedure fails
// with code 4 (timeout) instead of holding its thread for good.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/db.h"

namespace ryoan::scripting {

// Return codes of a procedure (spec/lua.md 2.1). 4 is Kyoto Tycoon's unexported timeout.
inline constexpr int kRvSuccess = 0;
inline constexpr int kRvNoImpl = 1;
inline constexpr int kRvInvalid = 2;
inline constexpr int kRvLogic = 3;
inline constexpr int kRvTimeout = 4;
inline constexpr int kRvInternal = 5;

enum class ScriptLogKind { kDebug, kInfo, kSystem, kError };
// Receives a log line body such as "[SCRIPT]: hello"; must be thread-safe.
using ScriptLogger = std::function<void(ScriptLogKind kind, std::string_view message)>;

// Overrides ScriptLimits::seconds when set to a positive number of seconds, e.g.
// RYOAN_SCRIPT_TIMEOUT=2 ktserver -scr ... (the tests of the limit use it).
inline constexpr const char* kTimeoutVariable = "RYOAN_SCRIPT_TIMEOUT";

struct ScriptLimits {
  // Wall-clock budget of one call (and of the script's top level); <= 0: none.
  double seconds = 120;
  // Bytes one Lua state may allocate; 0: none.
  size_t memory_bytes = size_t{256} << 20;
  // VM instructions between two checks of the clock.
  int check_interval = 1000;
};

struct ScriptOptions {
  std::string path;               // the script file
  std::vector<storage::DB*> dbs;  // kt.dbs in command-line order; must outlive the runtime
  int thread_count = 16;          // states built by Load; kt.thid is 0 .. thread_count-1
  std::string version;            // kt.VERSION
  ScriptLimits limits;
  ScriptLogger log;  // may be empty
};

using ScriptInput = std::vector<std::pair<std::string_view, std::string_view>>;
using ScriptOutput = std::vector<std::pair<std::string, std::string>>;

class ScriptState;
struct ScriptEnvironment;

class ScriptRuntime {
 public:
  explicit ScriptRuntime(ScriptOptions options);
  ~ScriptRuntime();
  ScriptRuntime(const ScriptRuntime&) = delete;
  ScriptRuntime& operator=(const ScriptRuntime&) = delete;

  // Builds thread_count states, running the script in each. Returns false if the script
  // failed to load: the error is logged ("[SCRIPT]: (init): ..." then "could not load a
  // script file: <path>"), and calls find whatever was defined before the failure.
  bool Load();
  // Drops every state and loads again (SIGUSR1). States lent out when this runs are closed
  // when they come back. Also ends an Interrupt().
  bool Reload();

  // Runs the global function `name` as fn(inmap, outmap) and returns its code
  // (spec/lua.md 2.1). `out` receives the converted outmap only when the code is kRvSuccess.
  // Thread-safe; blocks only while the procedure runs.
  int Call(std::string_view name, const ScriptInput& in, ScriptOutput* out);

  // Makes running calls fail fast with kRvTimeout, and later ones too until Reload: for a
  // shutdown or restart that must not wait for a long procedure.
  void Interrupt();

  const ScriptOptions& options() const { return options_; }

 private:
  std::unique_ptr<ScriptState> NewState(int thid, bool log_failure, bool* loaded);
  bool BuildStates();

  ScriptOptions options_;
  std::unique_ptr<ScriptEnvironment> env_;
  std::string source_;  // the script text of this generation
  bool have_source_ = false;
  std::mutex mutex_;
  std::vector<std::unique_ptr<ScriptState>> idle_;
  uint64_t generation_ = 0;
  int created_ = 0;  // states made in this generation, for thid of extra states
};

}  // namespace ryoan::scripting
