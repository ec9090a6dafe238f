// ScriptState: one Lua state with the `__kyototycoon__` module, under the limits of its
// runtime: a counting allocator (memory cap) and an instruction-count hook (time budget,
// interrupt). Used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "scripting/lua_binding.h"
#include "scripting/script_runtime.h"

namespace ryoan::scripting {

class ScriptState {
 public:
  // A state with the standard libraries and the module; null if Lua cannot make one.
  static std::unique_ptr<ScriptState> Create(const ScriptEnvironment* env, int thid);
  ~ScriptState();
  ScriptState(const ScriptState&) = delete;
  ScriptState& operator=(const ScriptState&) = delete;

  // Runs `source` as one chunk named by its own text, as Kyoto Tycoon does. False with the
  // Lua message in `error` if loading or running it failed.
  bool Run(std::string_view source, std::string* error);
  // Calls global `name`(inmap, outmap) and returns the code (spec/lua.md 2.1); on a Lua
  // error (code 4 or 5) `error` receives the message.
  int Call(std::string_view name, const ScriptInput& in, ScriptOutput* out, std::string* error);

  lua_State* lua() { return L_; }
  int thid() const { return context_.thid; }
  size_t memory_used() const { return context_.memory_used; }
  uint64_t generation = 0;  // the runtime's load generation this state belongs to

 private:
  ScriptState() = default;
  // Arms the budget of one call or load; Disarm restores the normal hook.
  void Arm();
  void Disarm();
  // Runs `fn` in protected mode with `data` as light userdata; the Lua status.
  int Protected(lua_CFunction fn, void* data, std::string* error);

  StateContext context_;
  lua_State* L_ = nullptr;
  bool counting_allocator_ = false;
};

}  // namespace ryoan::scripting
