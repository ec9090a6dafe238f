#include "server/procedure_placement.h"

namespace ryoan::server {

bool ProcedurePlacement::Inline(std::string_view name) {
  std::lock_guard lock(mutex_);
  auto it = states_.find(name);
  if (it != states_.end()) return !it->second.offloaded;
  return states_.size() < kMaxNames;  // an untracked name is not trusted inline
}

void ProcedurePlacement::Record(std::string_view name, bool was_inline,
                                std::chrono::steady_clock::duration took) {
  const bool slow = took > kInlineBound;
  std::lock_guard lock(mutex_);
  auto it = states_.find(name);
  if (it == states_.end()) {
    if (states_.size() >= kMaxNames) return;
    it = states_.emplace(std::string(name), State{}).first;
  }
  State& state = it->second;
  if (slow) {
    state.offloaded = true;
    state.short_calls = 0;
  } else if (state.offloaded && !was_inline && ++state.short_calls >= kPromoteAfter) {
    state.offloaded = false;
    state.short_calls = 0;
  }
}

}  // namespace ryoan::server
