// The Cursor class (spec/lua.md 9).
#include <string>

#include "scripting/lua_handles.h"
#include "scripting/lua_visitor.h"

namespace ryoan::scripting {
namespace {

CursorHandle* ToCursorHandle(lua_State* L, int index) {
  if (!lua_istable(L, index)) return nullptr;
  PushHandleKey(L);
  lua_rawget(L, index);
  CursorHandle* handle = nullptr;
  if (lua_type(L, -1) == LUA_TUSERDATA && lua_getmetatable(L, -1)) {
    PushRegistry(L, RegistryTag::kCursorHandleMeta);
    if (lua_rawequal(L, -1, -2)) handle = static_cast<CursorHandle*>(lua_touserdata(L, -3));
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return handle;
}

// The DB object the cursor at index 1 belongs to.
DbHandle* OwnerOf(lua_State* L) {
  lua_getfield(L, 1, "db_");
  DbHandle* h = ToDbObject(L, -1);
  lua_pop(L, 1);
  return h;
}

struct Self {
  storage::Cursor* cursor;
  DbHandle* owner;
};

// Start of every method: a live cursor whose database no visitor holds.
Self CheckCursor(lua_State* L, const char* name) {
  CursorHandle* handle = ToCursorHandle(L, 1);
  if (handle == nullptr) InvalidArguments(L, name);
  if (handle->cursor == nullptr) luaL_error(L, "%s: the cursor is disabled", name);
  CheckNotVisiting(L, handle->db.get());
  DbHandle* owner = OwnerOf(L);
  if (owner == nullptr) InvalidArguments(L, name);
  return {handle->cursor.get(), owner};
}

int PushResult(lua_State* L, const Self& self, const storage::Status& s) {
  if (!s.ok()) self.owner->last_error = s;
  lua_pushboolean(L, s.ok());
  return 1;
}

std::string CheckString(lua_State* L, int index, const char* name) {
  std::string s;
  if (!ToLuaString(L, index, &s)) InvalidArguments(L, name);
  return s;
}

int CurJump(lua_State* L) {
  Self self = CheckCursor(L, "jump");
  if (lua_gettop(L) < 2) return PushResult(L, self, self.cursor->Jump());
  return PushResult(L, self, self.cursor->Jump(CheckString(L, 2, "jump")));
}

int CurJumpBack(lua_State* L) {
  Self self = CheckCursor(L, "jump_back");
  if (lua_gettop(L) < 2) return PushResult(L, self, self.cursor->JumpBack());
  return PushResult(L, self, self.cursor->JumpBack(CheckString(L, 2, "jump_back")));
}

int CurStep(lua_State* L) {
  Self self = CheckCursor(L, "step");
  return PushResult(L, self, self.cursor->Step());
}

int CurStepBack(lua_State* L) {
  Self self = CheckCursor(L, "step_back");
  return PushResult(L, self, self.cursor->StepBack());
}

int CurGetKey(lua_State* L) {
  Self self = CheckCursor(L, "get_key");
  std::string key;
  storage::Status s = self.cursor->GetKey(&key, OptBool(L, 2, false));
  if (!s.ok()) {
    self.owner->last_error = s;
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, key.data(), key.size());
  return 1;
}

int CurGetValue(lua_State* L) {
  Self self = CheckCursor(L, "get_value");
  std::string value;
  storage::Status s = self.cursor->GetValue(&value, OptBool(L, 2, false));
  if (!s.ok()) {
    self.owner->last_error = s;
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, value.data(), value.size());
  return 1;
}

int PushRecord(lua_State* L, const Self& self, const storage::Status& s, const std::string& key,
               const std::string& value, int64_t xt) {
  if (!s.ok()) {
    self.owner->last_error = s;
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, key.data(), key.size());
  lua_pushlstring(L, value.data(), value.size());
  lua_pushnumber(L, static_cast<double>(xt));
  return 3;
}

int CurGet(lua_State* L) {
  Self self = CheckCursor(L, "get");
  std::string key, value;
  int64_t xt = 0;
  storage::Status s = self.cursor->Get(&key, &value, &xt, OptBool(L, 2, false));
  return PushRecord(L, self, s, key, value, xt);
}

int CurSetValue(lua_State* L) {
  Self self = CheckCursor(L, "set_value");
  std::string value = CheckString(L, 2, "set_value");
  int64_t xt = ToXt(L, 3);
  return PushResult(L, self, self.cursor->SetValue(value, xt, OptBool(L, 4, false)));
}

int CurRemove(lua_State* L) {
  Self self = CheckCursor(L, "remove");
  return PushResult(L, self, self.cursor->Remove());
}

int CurSeize(lua_State* L) {
  Self self = CheckCursor(L, "seize");
  std::string key, value;
  int64_t xt = 0;
  storage::Status s = self.cursor->Seize(&key, &value, &xt);
  return PushRecord(L, self, s, key, value, xt);
}

int CurAccept(lua_State* L) {
  Self self = CheckCursor(L, "accept");
  if (!lua_isfunction(L, 2) && !lua_istable(L, 2)) InvalidArguments(L, "accept");
  bool writable = OptBool(L, 3, true);
  bool step = OptBool(L, 4, false);
  storage::DB* db = self.cursor->db();
  storage::Status s;
  {
    LuaVisitor visitor(L, 2, db, writable);
    VisitingGuard guard(L, db);
    s = self.cursor->Accept(visitor, writable, step);
  }
  CheckBudget(L);
  return PushResult(L, self, s);
}

int CurDb(lua_State* L) {
  if (ToCursorHandle(L, 1) == nullptr) InvalidArguments(L, "db");
  lua_getfield(L, 1, "db_");
  return 1;
}

int CurError(lua_State* L) {
  if (ToCursorHandle(L, 1) == nullptr) InvalidArguments(L, "error");
  DbHandle* owner = OwnerOf(L);
  if (owner == nullptr) InvalidArguments(L, "error");
  PushErrorObject(L, static_cast<int>(owner->last_error.code()), owner->last_error.message());
  return 1;
}

int CurDisable(lua_State* L) {
  CursorHandle* handle = ToCursorHandle(L, 1);
  if (handle == nullptr) InvalidArguments(L, "disable");
  handle->cursor.reset();
  return 0;
}

int CurToString(lua_State* L) {
  CursorHandle* handle = ToCursorHandle(L, 1);
  if (handle == nullptr) InvalidArguments(L, "__tostring");
  if (handle->cursor == nullptr) {
    lua_pushliteral(L, "(disabled)");
    return 1;
  }
  std::string text = handle->db->path() + ": ";
  std::string key;
  bool visiting = false;
  for (const storage::DB* held : Context(L)->visiting) visiting |= held == handle->db.get();
  if (!visiting && handle->cursor->GetKey(&key, false).ok()) {
    text += key;
  } else {
    text += "(nil)";
  }
  lua_pushlstring(L, text.data(), text.size());
  return 1;
}

// __call: the iterator of `for k, v in db:pairs()`, i.e. get(true) without the xt.
int CurCall(lua_State* L) {
  Self self = CheckCursor(L, "__call");
  std::string key, value;
  int64_t xt = 0;
  if (!self.cursor->Get(&key, &value, &xt, true).ok()) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, key.data(), key.size());
  lua_pushlstring(L, value.data(), value.size());
  return 2;
}

int CursorHandleGc(lua_State* L) {
  static_cast<CursorHandle*>(lua_touserdata(L, 1))->~CursorHandle();
  return 0;
}

int CursorNew(lua_State* L) {
  DbHandle* h = CheckDbObject(L, 2, "new");
  if (ReadyDb(L, h) == nullptr) InvalidArguments(L, "new");
  PushCursorObject(L, 2);
  return 1;
}

}  // namespace

void PushCursorObject(lua_State* L, int db_index) {
  db_index = AbsIndex(L, db_index);
  DbHandle* owner = CheckDbObject(L, db_index, "cursor");
  std::shared_ptr<storage::DB> db = owner->slot->db;
  if (db == nullptr) InvalidArguments(L, "cursor");
  NewInstance(L, RegistryTag::kCursorClass, RegistryTag::kCursorMeta);
  lua_pushvalue(L, db_index);
  lua_setfield(L, -2, "db_");
  PushHandleKey(L);
  void* memory = lua_newuserdata(L, sizeof(CursorHandle));
  auto* handle = new (memory) CursorHandle();
  handle->db = db;
  handle->cursor = db->NewCursor();
  PushRegistry(L, RegistryTag::kCursorHandleMeta);
  lua_setmetatable(L, -2);
  lua_rawset(L, -3);
}

void RegisterCursorClass(lua_State* L, int module) {
  lua_newtable(L);
  const luaL_Reg methods[] = {
      {"new", CursorNew},
      {"jump", CurJump},
      {"jump_back", CurJumpBack},
      {"step", CurStep},
      {"step_back", CurStepBack},
      {"get_key", CurGetKey},
      {"get_value", CurGetValue},
      {"get", CurGet},
      {"set_value", CurSetValue},
      {"remove", CurRemove},
      {"seize", CurSeize},
      {"accept", CurAccept},
      {"db", CurDb},
      {"error", CurError},
      {"disable", CurDisable},
  };
  for (const luaL_Reg& m : methods) {
    lua_pushcfunction(L, m.func);
    lua_setfield(L, -2, m.name);
  }
  lua_pushvalue(L, -1);
  SetRegistry(L, RegistryTag::kCursorClass);
  lua_setfield(L, module, "Cursor");

  lua_newtable(L);
  lua_pushcfunction(L, CurToString);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, CurCall);
  lua_setfield(L, -2, "__call");
  SetRegistry(L, RegistryTag::kCursorMeta);

  lua_newtable(L);
  lua_pushcfunction(L, CursorHandleGc);
  lua_setfield(L, -2, "__gc");
  SetRegistry(L, RegistryTag::kCursorHandleMeta);
}

}  // namespace ryoan::scripting
