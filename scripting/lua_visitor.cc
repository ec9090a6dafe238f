#include "scripting/lua_visitor.h"

namespace ryoan::scripting {

struct LuaVisitor::Call {
  LuaVisitor* self;
  std::string_view key;
  const std::string_view* value;  // null: visit_empty
  int64_t xt;
  const char* hook;  // non-null: call this method with no arguments instead
  storage::Decision result;
};

LuaVisitor::LuaVisitor(lua_State* L, int index, storage::DB* db, bool writable)
    : L_(L), index_(AbsIndex(L, index)), db_(db), writable_(writable) {}

storage::Decision LuaVisitor::VisitFull(std::string_view key, std::string_view value, int64_t xt) {
  return Visit(key, &value, xt);
}

storage::Decision LuaVisitor::VisitEmpty(std::string_view key) {
  return Visit(key, nullptr, storage::kXtMax);
}

void LuaVisitor::CallHook(const char* name) {
  if (!lua_istable(L_, index_) || OverBudget(L_)) return;
  Call call{this, {}, nullptr, 0, name, {}};
  if (Protected(&call) != 0) lua_pop(L_, 1);
}

storage::Decision LuaVisitor::Visit(std::string_view key, const std::string_view* value,
                                    int64_t xt) {
  // Out of budget: the call is being unwound; show nothing more to Lua.
  if (OverBudget(L_)) return storage::Decision::Keep();
  Call call{this, key, value, xt, nullptr, storage::Decision::Keep()};
  if (Protected(&call) != 0) {
    const char* message = lua_tostring(L_, -1);
    Context(L_)->env->Log(ScriptLogKind::kDebug, std::string("[SCRIPT]: visitor error: ") +
                                                     (message ? message : "(unknown)"));
    lua_pop(L_, 1);
    return storage::Decision::Keep();
  }
  return call.result;
}

// Calls Run in protected mode with the Call and the visitor as arguments. The function comes
// from the registry, so nothing here allocates before the protection is in place.
int LuaVisitor::Protected(Call* call) {
  PushRegistry(L_, RegistryTag::kVisitorRunner);
  lua_pushlightuserdata(L_, call);
  lua_pushvalue(L_, index_);
  return lua_pcall(L_, 2, 0, 0);
}

int LuaVisitor::Run(lua_State* L) {
  auto* call = static_cast<Call*>(lua_touserdata(L, 1));
  LuaVisitor* self = call->self;
  const int visitor = 2;
  bool table = lua_istable(L, visitor);
  if (call->hook != nullptr) {
    lua_getfield(L, visitor, call->hook);
    if (!lua_isfunction(L, -1)) return 0;
    lua_pushvalue(L, visitor);
    lua_call(L, 1, 0);
    return 0;
  }
  int nargs = 0;
  if (table) {
    lua_getfield(L, visitor, call->value != nullptr ? "visit_full" : "visit_empty");
    if (!lua_isfunction(L, -1)) return 0;
    lua_pushvalue(L, visitor);
    nargs = 1;
  } else {
    lua_pushvalue(L, visitor);
  }
  lua_pushlstring(L, call->key.data(), call->key.size());
  nargs++;
  if (call->value != nullptr) {
    lua_pushlstring(L, call->value->data(), call->value->size());
    lua_pushnumber(L, static_cast<double>(call->xt));
    nargs += 2;
  } else if (!table) {
    lua_pushnil(L);
    nargs++;
  }
  lua_call(L, nargs, 2);
  if (!self->writable_) return 0;
  int first = lua_gettop(L) - 1, second = lua_gettop(L);
  switch (lua_type(L, first)) {
    case LUA_TLIGHTUSERDATA:
      if (call->value != nullptr && lua_touserdata(L, first) == reinterpret_cast<void*>(1)) {
        call->result = storage::Decision::Remove();
      }
      return 0;
    case LUA_TSTRING:
    case LUA_TNUMBER: {
      ToLuaString(L, first, &self->value_);
      int64_t xt = call->value != nullptr ? call->xt : storage::kXtMax;
      if (lua_isnumber(L, second)) {
        xt = storage::ResolveXt(TruncateToInt64(lua_tonumber(L, second)), self->db_->Now());
      }
      call->result = storage::Decision::Set(self->value_, xt);
      return 0;
    }
    default:
      return 0;
  }
}

void RegisterVisitorRunner(lua_State* L) {
  lua_pushcfunction(L, LuaVisitor::Run);
  SetRegistry(L, RegistryTag::kVisitorRunner);
}

}  // namespace ryoan::scripting
