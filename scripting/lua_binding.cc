#include "scripting/lua_binding.h"

#include <cmath>
#include <cstdio>

namespace ryoan::scripting {
namespace {

char registry_tags[static_cast<int>(RegistryTag::kCount)];
char handle_key;

// After the budget ran out, the hook raises on every instruction: an error caught by a
// pcall in the script is raised again at the next instruction of the frame that caught it,
// so the whole Lua stack unwinds.
void ExhaustedHook(lua_State* L, lua_Debug*) { luaL_error(L, "%s", kTimeoutMessage); }

}  // namespace

StateContext* Context(lua_State* L) {
  PushRegistry(L, RegistryTag::kContext);
  auto* context = static_cast<StateContext*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return context;
}

void SetContext(lua_State* L, StateContext* context) {
  lua_pushlightuserdata(L, context);
  SetRegistry(L, RegistryTag::kContext);
}

bool OverBudget(lua_State* L) {
  StateContext* context = Context(L);
  if (context == nullptr) return false;
  if (context->timed_out) return true;
  bool over = context->env->interrupted.load(std::memory_order_relaxed) ||
              (context->has_deadline && std::chrono::steady_clock::now() >= context->deadline);
  if (over) {
    context->timed_out = true;
    lua_sethook(L, ExhaustedHook, LUA_MASKCOUNT, 1);
  }
  return over;
}

void CheckBudget(lua_State* L) {
  if (OverBudget(L)) luaL_error(L, "%s", kTimeoutMessage);
}

void PushRegistry(lua_State* L, RegistryTag tag) {
  lua_pushlightuserdata(L, &registry_tags[static_cast<int>(tag)]);
  lua_rawget(L, LUA_REGISTRYINDEX);
}

void SetRegistry(lua_State* L, RegistryTag tag) {
  lua_pushlightuserdata(L, &registry_tags[static_cast<int>(tag)]);
  lua_insert(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
}

void PushHandleKey(lua_State* L) { lua_pushlightuserdata(L, &handle_key); }

void NewInstance(lua_State* L, RegistryTag methods, RegistryTag meta) {
  lua_newtable(L);
  int instance = lua_gettop(L);
  PushRegistry(L, methods);
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    if (lua_type(L, -1) == LUA_TFUNCTION) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, instance);
    } else {
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 1);
  PushRegistry(L, meta);
  lua_setmetatable(L, instance);
}

std::string FormatNumber(double value) {
  char buf[64];
  // Integral values in the int64 range print as integers; others (fractions, huge values,
  // inf, nan) with six decimals.
  if (std::isfinite(value) && value == std::floor(value) && value >= -9.2233720368547758e18 &&
      value < 9.2233720368547758e18) {
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(value));
    return buf;
  }
  int n = std::snprintf(buf, sizeof(buf), "%f", value);
  if (n < 0 || static_cast<size_t>(n) >= sizeof(buf)) {
    std::string big(static_cast<size_t>(n > 0 ? n : 0) + 1, '\0');
    std::snprintf(big.data(), big.size(), "%f", value);
    big.pop_back();
    return big;
  }
  return std::string(buf, static_cast<size_t>(n));
}

bool ToBytes(lua_State* L, int index, bool allow_bool, std::string* out) {
  switch (lua_type(L, index)) {
    case LUA_TSTRING: {
      size_t size = 0;
      const char* data = lua_tolstring(L, index, &size);
      out->assign(data, size);
      return true;
    }
    case LUA_TNUMBER:
      *out = FormatNumber(lua_tonumber(L, index));
      return true;
    case LUA_TBOOLEAN:
      if (!allow_bool) return false;
      *out = lua_toboolean(L, index) ? "true" : "false";
      return true;
    default:
      return false;
  }
}

bool ToLuaString(lua_State* L, int index, std::string* out) {
  int type = lua_type(L, index);
  if (type != LUA_TSTRING && type != LUA_TNUMBER) return false;
  // Convert a copy: lua_tolstring changes a number in place, which would confuse lua_next.
  lua_pushvalue(L, index);
  size_t size = 0;
  const char* data = lua_tolstring(L, -1, &size);
  out->assign(data, size);
  lua_pop(L, 1);
  return true;
}

int64_t TruncateToInt64(double value) {
  if (std::isnan(value)) return 0;
  if (value >= 9.2233720368547758e18) return INT64_MAX;
  if (value <= -9.2233720368547758e18) return INT64_MIN;
  return static_cast<int64_t>(value);
}

int64_t ToXt(lua_State* L, int index) {
  if (lua_isnoneornil(L, index)) return storage::kNoXt;
  int64_t xt = TruncateToInt64(lua_tonumber(L, index));
  // kNoXt itself means "omitted"; a huge explicit value means the same in effect.
  return xt == storage::kNoXt ? storage::kNoXt - 1 : xt;
}

bool OptBool(lua_State* L, int index, bool dflt) {
  if (lua_isnoneornil(L, index)) return dflt;
  return lua_toboolean(L, index) != 0;
}

void InvalidArguments(lua_State* L, const char* name) {
  luaL_error(L, "%s: invalid arguments", name);
  __builtin_unreachable();
}

}  // namespace ryoan::scripting
