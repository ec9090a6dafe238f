// Service: what every request handler shares — the databases, the options, the operation
// counters of `report`, and the named conditions of WAIT/SIGNAL. Owned by main, outlives
// every connection.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scripting/script_runtime.h"
#include "server/condition_hub.h"
#include "server/options.h"
#include "server/procedure_placement.h"
#include "storage/db.h"

namespace ryoan::server {

// The `report` counters (spec/http-rpc.md 9.3). Relaxed atomics: they are statistics.
struct Counters {
  std::atomic<int64_t> set{0}, set_misses{0}, remove{0}, remove_misses{0}, get{0}, get_misses{0},
      script{0}, misc{0};
};

class Service {
 public:
  Service(ServerOptions options, std::vector<std::unique_ptr<storage::DB>> dbs);

  const ServerOptions& options() const { return options_; }
  size_t db_count() const { return dbs_.size(); }
  storage::DB* db(size_t index) const { return index < dbs_.size() ? dbs_[index].get() : nullptr; }
  // Resolves an RPC `DB` parameter or a REST database expression (already decoded):
  // empty -> 0, leading digit -> index, else the last database with that name; null if none.
  storage::DB* ResolveDb(std::string_view expression) const;

  // The Lua procedures of -scr; null without it. Owned by main.
  scripting::ScriptRuntime* script() const { return script_; }
  void set_script(scripting::ScriptRuntime* script) { script_ = script; }

  Counters& counters() { return counters_; }
  ConditionHub& conditions() { return conditions_; }
  // Whether a Lua procedure runs inline on the I/O thread or on a worker.
  ProcedurePlacement& placement() { return placement_; }

  std::atomic<int64_t>& connection_count() { return connection_count_; }
  double running_seconds() const;
  int port() const { return port_; }
  void set_port(int port) { port_ = port; }

 private:
  ServerOptions options_;
  std::vector<std::unique_ptr<storage::DB>> dbs_;
  Counters counters_;
  scripting::ScriptRuntime* script_ = nullptr;
  ConditionHub conditions_;
  ProcedurePlacement placement_;
  std::atomic<int64_t> connection_count_{0};
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int port_ = 0;
};

}  // namespace ryoan::server
