// The small classes of the module (spec/lua.md 6, 7): Error, Visitor and FileProcessor.
#include <string>

#include "scripting/lua_binding.h"

namespace ryoan::scripting {
namespace {

const char* ErrorName(int code) {
  switch (code) {
    case 0:
      return "success";
    case 1:
      return "not implemented";
    case 2:
      return "invalid operation";
    case 3:
      return "no repository";
    case 4:
      return "no permission";
    case 5:
      return "broken file";
    case 6:
      return "record duplication";
    case 7:
      return "no record";
    case 8:
      return "logical inconsistency";
    case 9:
      return "system error";
    default:
      return "miscellaneous error";
  }
}

int ErrorCodeOf(lua_State* L, int index) {
  lua_getfield(L, index, "code_");
  int code = static_cast<int>(TruncateToInt64(lua_tonumber(L, -1)));
  lua_pop(L, 1);
  return code;
}

void CheckSelf(lua_State* L, const char* name) {
  if (!lua_istable(L, 1)) InvalidArguments(L, name);
}

int ErrorNew(lua_State* L) {
  int code = 0;
  std::string message = "error";
  if (lua_type(L, 2) == LUA_TNUMBER && lua_type(L, 3) == LUA_TSTRING) {
    code = static_cast<int>(TruncateToInt64(lua_tonumber(L, 2)));
    message = lua_tostring(L, 3);
  }
  PushErrorObject(L, code, message);
  return 1;
}

int ErrorSet(lua_State* L) {
  if (lua_gettop(L) != 3) InvalidArguments(L, "set");
  CheckSelf(L, "set");
  if (lua_type(L, 2) == LUA_TNUMBER && lua_type(L, 3) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    lua_setfield(L, 1, "code_");
    lua_pushvalue(L, 3);
    lua_setfield(L, 1, "message_");
  }
  return 0;
}

int ErrorCode(lua_State* L) {
  CheckSelf(L, "code");
  lua_pushnumber(L, ErrorCodeOf(L, 1));
  return 1;
}

int ErrorName(lua_State* L) {
  CheckSelf(L, "name");
  lua_pushstring(L, ErrorName(ErrorCodeOf(L, 1)));
  return 1;
}

int ErrorMessage(lua_State* L) {
  CheckSelf(L, "message");
  lua_getfield(L, 1, "message_");
  return 1;
}

int ErrorToString(lua_State* L) {
  CheckSelf(L, "__tostring");
  lua_pushstring(L, ErrorName(ErrorCodeOf(L, 1)));
  lua_pushliteral(L, ": ");
  lua_getfield(L, 1, "message_");
  if (!lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "");
  }
  lua_concat(L, 3);
  return 1;
}

int ReturnNothing(lua_State*) { return 0; }

int ReturnTrue(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

int VisitorNew(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, ReturnNothing);
  lua_setfield(L, -2, "visit_full");
  lua_pushcfunction(L, ReturnNothing);
  lua_setfield(L, -2, "visit_empty");
  return 1;
}

int FileProcessorNew(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, ReturnTrue);
  lua_setfield(L, -2, "process");
  return 1;
}

}  // namespace

void PushErrorObject(lua_State* L, int code, std::string_view message) {
  NewInstance(L, RegistryTag::kErrorClass, RegistryTag::kErrorMeta);
  lua_pushnumber(L, code);
  lua_setfield(L, -2, "code_");
  lua_pushlstring(L, message.data(), message.size());
  lua_setfield(L, -2, "message_");
}

void RegisterBasicClasses(lua_State* L, int module) {
  // Error
  lua_newtable(L);
  const std::pair<const char*, int> codes[] = {
      {"SUCCESS", 0}, {"NOIMPL", 1}, {"INVALID", 2}, {"NOREPOS", 3}, {"NOPERM", 4}, {"BROKEN", 5},
      {"DUPREC", 6},  {"NOREC", 7},  {"LOGIC", 8},   {"SYSTEM", 9},  {"MISC", 15},
  };
  for (const auto& [name, code] : codes) {
    lua_pushnumber(L, code);
    lua_setfield(L, -2, name);
  }
  const luaL_Reg methods[] = {{"new", ErrorNew},
                              {"set", ErrorSet},
                              {"code", ErrorCode},
                              {"name", ErrorName},
                              {"message", ErrorMessage}};
  for (const luaL_Reg& m : methods) {
    lua_pushcfunction(L, m.func);
    lua_setfield(L, -2, m.name);
  }
  lua_pushvalue(L, -1);
  SetRegistry(L, RegistryTag::kErrorClass);
  lua_setfield(L, module, "Error");
  lua_newtable(L);
  lua_pushcfunction(L, ErrorToString);
  lua_setfield(L, -2, "__tostring");
  SetRegistry(L, RegistryTag::kErrorMeta);

  // Visitor: NOP and REMOVE are the light userdata 0 and 1.
  lua_newtable(L);
  lua_pushlightuserdata(L, nullptr);
  lua_setfield(L, -2, "NOP");
  lua_pushlightuserdata(L, reinterpret_cast<void*>(1));
  lua_setfield(L, -2, "REMOVE");
  lua_pushcfunction(L, VisitorNew);
  lua_setfield(L, -2, "new");
  lua_setfield(L, module, "Visitor");

  lua_newtable(L);
  lua_pushcfunction(L, FileProcessorNew);
  lua_setfield(L, -2, "new");
  lua_setfield(L, module, "FileProcessor");
}

}  // namespace ryoan::scripting
