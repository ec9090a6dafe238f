#include "scripting/script_state.h"

#include <luajit.h>

#include <climits>
#include <cstdlib>

#include "scripting/lua_visitor.h"

namespace ryoan::scripting {
namespace {

// Counts the bytes of one state and refuses growth past its cap: Lua then raises "not
// enough memory", which fails the call and leaves the state usable.
void* Allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* context = static_cast<StateContext*>(ud);
  if (ptr == nullptr) osize = 0;
  if (nsize == 0) {
    std::free(ptr);
    context->memory_used -= osize;
    return nullptr;
  }
  if (context->memory_limit > 0 && nsize > osize &&
      context->memory_used - osize + nsize > context->memory_limit) {
    return nullptr;
  }
  void* grown = std::realloc(ptr, nsize);
  if (grown != nullptr) context->memory_used = context->memory_used - osize + nsize;
  return grown;
}

// Every check_interval instructions: the clock, the interrupt flag, and (when Lua would not
// take our allocator) the memory count.
void CountHook(lua_State* L, lua_Debug*) {
  CheckBudget(L);
  StateContext* context = Context(L);
  if (context->memory_limit > 0 && context->memory_used == 0 &&
      static_cast<size_t>(lua_gc(L, LUA_GCCOUNT, 0)) * 1024 > context->memory_limit) {
    luaL_error(L, "not enough memory");
  }
}

// jit.on(): the JIT stays off, since compiled traces would never run the limit hook.
int KeepJitOff(lua_State*) { return 0; }

// debug.sethook(): LuaJIT has one hook per state, and it is the limit's.
int RefuseSetHook(lua_State* L) {
  return luaL_error(L, "debug.sethook is disabled: the server's time limit uses the hook");
}

// Replaces the library functions that would let a script escape the limits (the rest of
// `jit`, e.g. jit.version, which ukt reads, stays). `ffi` can still reach any C function:
// only trusted scripts may be loaded at all.
void KeepLimitsInForce(lua_State* L) {
  const std::pair<const char*, std::pair<const char*, lua_CFunction>> replaced[] = {
      {"jit", {"on", KeepJitOff}},
      {"debug", {"sethook", RefuseSetHook}},
  };
  for (const auto& [library, field] : replaced) {
    lua_getglobal(L, library);
    if (lua_istable(L, -1)) {
      lua_pushcfunction(L, field.second);
      lua_setfield(L, -2, field.first);
    }
    lua_pop(L, 1);
  }
}

void InstallModule(lua_State* L, const ScriptEnvironment* env, int thid) {
  lua_newtable(L);
  int module = lua_gettop(L);
  const std::pair<const char*, int> codes[] = {{"RVSUCCESS", kRvSuccess},
                                               {"RVENOIMPL", kRvNoImpl},
                                               {"RVEINVALID", kRvInvalid},
                                               {"RVELOGIC", kRvLogic},
                                               {"RVEINTERNAL", kRvInternal}};
  for (const auto& [name, code] : codes) {
    lua_pushnumber(L, code);
    lua_setfield(L, module, name);
  }
  lua_pushlstring(L, env->version.data(), env->version.size());
  lua_setfield(L, module, "VERSION");
  lua_pushnumber(L, thid);
  lua_setfield(L, module, "thid");
  lua_pushlightuserdata(L, env->server_handle);
  lua_setfield(L, module, "__serv__");
  RegisterVisitorRunner(L);
  RegisterUtilities(L, module);
  RegisterBasicClasses(L, module);
  RegisterDbClass(L, module);
  RegisterCursorClass(L, module);
  lua_newtable(L);
  int dbs = lua_gettop(L);
  for (size_t i = 0; i < env->dbs.size(); i++) {
    PushServerDb(L, env->dbs[i]);
    lua_pushvalue(L, -1);
    lua_rawseti(L, dbs, static_cast<int>(i + 1));
    const std::string& name = env->dbs[i]->name();
    lua_pushlstring(L, name.data(), name.size());
    lua_insert(L, -2);
    lua_rawset(L, dbs);
  }
  lua_rawgeti(L, dbs, 1);
  lua_setfield(L, module, "db");
  lua_setfield(L, module, "dbs");
  lua_setglobal(L, "__kyototycoon__");
}

struct CallData {
  std::string_view name;
  const ScriptInput* in;
  ScriptOutput* out;
  int code = kRvSuccess;
};

// The return value as lua_tointeger reads it: numbers and numeric strings truncated,
// anything else 0.
int ReturnCode(lua_State* L, int index) {
  if (lua_type(L, index) != LUA_TNUMBER && lua_type(L, index) != LUA_TSTRING) return 0;
  if (!lua_isnumber(L, index)) return 0;
  int64_t code = TruncateToInt64(lua_tonumber(L, index));
  if (code > INT_MAX) return INT_MAX;
  if (code < INT_MIN) return INT_MIN;
  return static_cast<int>(code);
}

// In protected mode: the lookup, both tables, the call and the outmap conversion.
int Dispatch(lua_State* L) {
  auto* call = static_cast<CallData*>(lua_touserdata(L, 1));
  lua_pushlstring(L, call->name.data(), call->name.size());
  lua_rawget(L, LUA_GLOBALSINDEX);
  if (!lua_isfunction(L, -1)) {
    call->code = kRvNoImpl;
    return 0;
  }
  int fn = lua_gettop(L);
  lua_createtable(L, 0, static_cast<int>(call->in->size()));
  for (const auto& [key, value] : *call->in) {
    lua_pushlstring(L, key.data(), key.size());
    lua_pushlstring(L, value.data(), value.size());
    lua_rawset(L, -3);
  }
  int inmap = lua_gettop(L);
  lua_newtable(L);
  int outmap = lua_gettop(L);
  lua_pushvalue(L, fn);
  lua_pushvalue(L, inmap);
  lua_pushvalue(L, outmap);
  lua_call(L, 2, 1);
  call->code = ReturnCode(L, -1);
  lua_pop(L, 1);
  if (call->code != kRvSuccess) return 0;
  std::string key, value;
  lua_pushnil(L);
  while (lua_next(L, outmap) != 0) {
    if (ToBytes(L, -2, true, &key) && ToBytes(L, -1, true, &value)) {
      call->out->emplace_back(key, value);
    }
    lua_pop(L, 1);
  }
  return 0;
}

struct RunData {
  std::string_view source;
};

int RunChunk(lua_State* L) {
  auto* run = static_cast<RunData*>(lua_touserdata(L, 1));
  // The chunk name is the source text itself ("[string "kt = ..."]:3: ..." in messages).
  std::string name(run->source.substr(0, run->source.find('\0')));
  if (luaL_loadbuffer(L, run->source.data(), run->source.size(), name.c_str()) != 0) {
    lua_error(L);
  }
  lua_call(L, 0, 0);
  return 0;
}

}  // namespace

std::unique_ptr<ScriptState> ScriptState::Create(const ScriptEnvironment* env, int thid) {
  std::unique_ptr<ScriptState> state(new ScriptState());
  StateContext& context = state->context_;
  context.env = env;
  context.thid = thid;
  // LuaJIT 2.1 in GC64 mode (x86-64 builds since 2.1) accepts a custom allocator; older
  // non-GC64 builds return null here, and the hook then watches the GC's count instead.
  lua_State* L = lua_newstate(Allocate, &context);
  state->counting_allocator_ = L != nullptr;
  if (L == nullptr) L = luaL_newstate();
  if (L == nullptr) return nullptr;
  state->L_ = L;
  SetContext(L, &context);
  luaL_openlibs(L);
  // Compiled traces never run hooks, so the time budget needs the interpreter: the JIT is off
  // in every state, and scripts can turn neither it on nor the hook off.
  luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
  KeepLimitsInForce(L);
  InstallModule(L, env, thid);
  context.memory_limit = env->limits.memory_bytes;
  state->Disarm();
  return state;
}

ScriptState::~ScriptState() {
  if (L_ != nullptr) lua_close(L_);
}

void ScriptState::Arm() {
  context_.timed_out = false;
  context_.visiting.clear();
  context_.has_deadline = context_.env->limits.seconds > 0;
  if (context_.has_deadline) {
    context_.deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(context_.env->limits.seconds));
  }
  Disarm();
}

void ScriptState::Disarm() {
  int interval =
      context_.env->limits.check_interval > 0 ? context_.env->limits.check_interval : 1000;
  lua_sethook(L_, CountHook, LUA_MASKCOUNT, interval);
}

int ScriptState::Protected(lua_CFunction fn, void* data, std::string* error) {
  lua_settop(L_, 0);
  Arm();
  int status = lua_cpcall(L_, fn, data);
  if (status != 0) {
    const char* message = lua_tostring(L_, -1);
    *error = message != nullptr ? message : "(error object is not a string)";
    if (status == LUA_ERRMEM) *error = "not enough memory";
  }
  lua_settop(L_, 0);
  context_.has_deadline = false;
  bool timed_out = context_.timed_out;
  context_.timed_out = false;
  Disarm();
  // Give back what a failed call left behind, so the next call starts under the cap.
  if (status != 0) lua_gc(L_, LUA_GCCOLLECT, 0);
  if (timed_out && status != 0) return -1;
  return status;
}

bool ScriptState::Run(std::string_view source, std::string* error) {
  RunData run{source};
  bool ok = Protected(RunChunk, &run, error) == 0;
  AbortOpenTransactions(&context_);
  return ok;
}

int ScriptState::Call(std::string_view name, const ScriptInput& in, ScriptOutput* out,
                      std::string* error) {
  if (context_.env->interrupted.load(std::memory_order_relaxed)) {
    *error = kTimeoutMessage;
    return kRvTimeout;
  }
  ScriptOutput converted;
  CallData call{name, &in, &converted};
  int status = Protected(Dispatch, &call, error);
  // A transaction the procedure left open would block every later begin (spec 5.4).
  AbortOpenTransactions(&context_);
  if (status == -1) return kRvTimeout;
  if (status != 0) return kRvInternal;
  if (call.code == kRvSuccess && out != nullptr) *out = std::move(converted);
  return call.code;
}

}  // namespace ryoan::scripting
