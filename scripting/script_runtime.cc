#include "scripting/script_runtime.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "scripting/lua_binding.h"
#include "scripting/script_state.h"

namespace ryoan::scripting {

ScriptRuntime::ScriptRuntime(ScriptOptions options)
    : options_(std::move(options)), env_(std::make_unique<ScriptEnvironment>()) {
  env_->dbs = options_.dbs;
  env_->version = options_.version;
  // The environment can lower the time limit of a whole server (tests of the limit must
  // not wait 120 s); see ScriptLimits.
  if (const char* seconds = std::getenv(kTimeoutVariable)) {
    char* end = nullptr;
    double value = std::strtod(seconds, &end);
    if (end != seconds && value > 0) options_.limits.seconds = value;
  }
  env_->limits = options_.limits;
  env_->log = options_.log;
  env_->server_handle = this;
  if (options_.thread_count < 1) options_.thread_count = 1;
}

ScriptRuntime::~ScriptRuntime() = default;

std::unique_ptr<ScriptState> ScriptRuntime::NewState(int thid, bool log_failure, bool* loaded) {
  std::unique_ptr<ScriptState> state = ScriptState::Create(env_.get(), thid);
  *loaded = false;
  if (state == nullptr) {
    if (log_failure)
      env_->Log(ScriptLogKind::kError, "could not initialize the scripting processor");
    return nullptr;
  }
  std::string error;
  if (!have_source_) {
    if (log_failure)
      env_->Log(ScriptLogKind::kError, "could not load a script file: " + options_.path);
  } else if (!state->Run(source_, &error)) {
    if (log_failure) {
      env_->Log(ScriptLogKind::kError, "[SCRIPT]: (init): " + error);
      env_->Log(ScriptLogKind::kError, "could not load a script file: " + options_.path);
    }
  } else {
    *loaded = true;
  }
  return state;
}

bool ScriptRuntime::BuildStates() {
  std::ifstream file(options_.path, std::ios::binary);
  std::ostringstream text;
  have_source_ = false;
  if (file) {
    text << file.rdbuf();
    have_source_ = !file.bad();
  }
  source_ = text.str();
  uint64_t generation;
  {
    std::lock_guard lock(mutex_);
    generation = ++generation_;
    idle_.clear();
    created_ = 0;
  }
  // Every state runs the script, as every worker thread does in Kyoto Tycoon; a failure is
  // logged once, not once per state.
  bool all_loaded = true;
  std::vector<std::unique_ptr<ScriptState>> states;
  for (int thid = 0; thid < options_.thread_count; thid++) {
    bool loaded = false;
    std::unique_ptr<ScriptState> state = NewState(thid, all_loaded, &loaded);
    all_loaded = all_loaded && loaded;
    if (state == nullptr) break;
    state->generation = generation;
    states.push_back(std::move(state));
  }
  std::lock_guard lock(mutex_);
  if (generation == generation_) {
    created_ = static_cast<int>(states.size());
    // Reversed so that a quiet server keeps lending thid 0 first.
    for (auto it = states.rbegin(); it != states.rend(); ++it) idle_.push_back(std::move(*it));
  }
  return all_loaded;
}

bool ScriptRuntime::Load() { return BuildStates(); }

bool ScriptRuntime::Reload() {
  env_->interrupted.store(false);
  return BuildStates();
}

void ScriptRuntime::Interrupt() { env_->interrupted.store(true); }

int ScriptRuntime::Call(std::string_view name, const ScriptInput& in, ScriptOutput* out) {
  std::unique_ptr<ScriptState> state;
  uint64_t generation;
  int thid = 0;
  {
    std::lock_guard lock(mutex_);
    generation = generation_;
    if (!idle_.empty()) {
      state = std::move(idle_.back());
      idle_.pop_back();
    } else {
      thid = created_++ % options_.thread_count;
    }
  }
  if (state == nullptr) {
    // More concurrent callers than states (binary requests on I/O threads): one more state.
    bool loaded = false;
    state = NewState(thid, false, &loaded);
    if (state == nullptr) return kRvInternal;
    state->generation = generation;
  }
  std::string error;
  int code = state->Call(name, in, out, &error);
  if (code == kRvTimeout || (code == kRvInternal && !error.empty())) {
    env_->Log(ScriptLogKind::kError, "[SCRIPT]: " + std::string(name) + ": " + error);
  }
  std::lock_guard lock(mutex_);
  if (state->generation == generation_) idle_.push_back(std::move(state));
  return code;
}

}  // namespace ryoan::scripting
