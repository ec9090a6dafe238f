// Internals shared by the files that bind the `__kyototycoon__` module (spec/lua.md 3-9) to a
// Lua state. Not for use outside scripting/.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <lua.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "scripting/script_runtime.h"
#include "storage/db.h"
#include "storage/status.h"

namespace ryoan::scripting {

// What every state of one runtime shares; read-only while calls run, except `interrupted`.
struct ScriptEnvironment {
  std::vector<storage::DB*> dbs;
  std::string version;
  ScriptLimits limits;
  ScriptLogger log;
  std::atomic<bool> interrupted{false};
  void* server_handle = nullptr;  // kt.__serv__

  void Log(ScriptLogKind kind, std::string_view message) const {
    if (log) log(kind, message);
  }
};

// One state's data, reachable from every binding through the registry (Context).
struct StateContext {
  const ScriptEnvironment* env = nullptr;
  int thid = 0;
  size_t memory_used = 0;
  size_t memory_limit = 0;  // 0: none
  bool has_deadline = false;
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;  // the running call passed its budget: everything now fails fast
  // Databases whose record or whole content a running visitor holds locked: using them
  // from inside the visitor would deadlock, so the bindings raise instead (spec/lua.md 7).
  std::vector<const storage::DB*> visiting;
  // Databases with a transaction begun by the running call and not yet ended; aborted when
  // the call returns (spec/databases.md 5.4).
  std::vector<std::shared_ptr<storage::DB>> transactions;
};

// Aborts the transactions the last call or load left open (kt_db.cc).
void AbortOpenTransactions(StateContext* context);

StateContext* Context(lua_State* L);
void SetContext(lua_State* L, StateContext* context);
// True when the running call is out of time or the runtime was interrupted; the first time,
// it also makes the instruction hook fire on every instruction, so no pcall can hold on.
bool OverBudget(lua_State* L);
// Raises "procedure timed out" when OverBudget.
void CheckBudget(lua_State* L);
inline constexpr const char* kTimeoutMessage = "procedure timed out";

// Building the module table, one file each.
void RegisterUtilities(lua_State* L, int module);
void RegisterBasicClasses(lua_State* L, int module);  // Error, Visitor, FileProcessor
void RegisterDbClass(lua_State* L, int module);
void RegisterCursorClass(lua_State* L, int module);
// Pushes a DB object wrapping a database the server owns (kt.db, kt.dbs).
void PushServerDb(lua_State* L, storage::DB* db);
// Pushes a new Error object.
void PushErrorObject(lua_State* L, int code, std::string_view message);
// Pushes a new Cursor object on the DB object at `db_index`.
void PushCursorObject(lua_State* L, int db_index);

// Registry keys: addresses of these tags, as light userdata.
enum class RegistryTag {
  kContext,
  kErrorClass,
  kErrorMeta,
  kDbClass,
  kDbMeta,
  kCursorClass,
  kCursorMeta,
  kDbHandleMeta,
  kCursorHandleMeta,
  kVisitorRunner,
  kCount,
};
void PushRegistry(lua_State* L, RegistryTag tag);
void SetRegistry(lua_State* L, RegistryTag tag);  // pops the value
// The key under which DB and Cursor objects keep their native handle (a light userdata, so
// no string field can collide with it).
void PushHandleKey(lua_State* L);

// Makes a new instance table: every function field of the class table (registry `methods`)
// copied into it, and the metatable (registry `meta`) set. Leaves it on the stack.
void NewInstance(lua_State* L, RegistryTag methods, RegistryTag meta);

// A stack index that stays valid when more values are pushed.
inline int AbsIndex(lua_State* L, int index) {
  return index > 0 || index <= LUA_REGISTRYINDEX ? index : lua_gettop(L) + index + 1;
}

// Value conversions shared by the bindings.
// Integral -> "%lld", else "%.6f" (outmap, set_bulk, arraydump, mapdump).
std::string FormatNumber(double value);
// A string, or a number through FormatNumber, or (with allow_bool) "true"/"false"; false
// for any other type. Does not change the stack.
bool ToBytes(lua_State* L, int index, bool allow_bool, std::string* out);
// A string, or a number through Lua's own "%.14g" (as tostring); false for other types.
bool ToLuaString(lua_State* L, int index, std::string* out);
// The xt argument rule (spec/lua.md 8.2): none/nil -> storage::kNoXt, else the number
// (non-numeric -> 0) truncated.
int64_t ToXt(lua_State* L, int index);
// Truncates toward zero, clamped to int64 (NaN -> 0).
int64_t TruncateToInt64(double value);
// An optional boolean argument: none/nil -> dflt, else Lua truthiness.
bool OptBool(lua_State* L, int index, bool dflt);
// Raises "<name>: invalid arguments".
[[noreturn]] void InvalidArguments(lua_State* L, const char* name);

}  // namespace ryoan::scripting
