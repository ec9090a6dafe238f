// LuaVisitor: runs a Lua visitor (a function or a table with visit_full / visit_empty,
// spec/lua.md 7) as a storage::RecordVisitor. Every call into Lua is protected, so no Lua
// error ever unwinds through the storage engine's frames (which hold its locks); a visitor
// error is swallowed and the visit is a no-op, as in Kyoto Tycoon.
#pragma once

#include <string>
#include <string_view>

#include "scripting/lua_binding.h"
#include "storage/engine.h"

namespace ryoan::scripting {

// Stores the function every visit runs through; called once per state.
void RegisterVisitorRunner(lua_State* L);

class LuaVisitor : public storage::RecordVisitor {
 public:
  // `index`: stack index of the visitor. `db` supplies the clock for returned xt values.
  // With writable false whatever the visitor returns is ignored.
  LuaVisitor(lua_State* L, int index, storage::DB* db, bool writable);

  storage::Decision VisitFull(std::string_view key, std::string_view value, int64_t xt) override;
  storage::Decision VisitEmpty(std::string_view key) override;
  // visit_before / visit_after of a table visitor, if present (accept_bulk, iterate).
  void Before() { CallHook("visit_before"); }
  void After() { CallHook("visit_after"); }

 private:
  struct Call;
  friend void RegisterVisitorRunner(lua_State* L);
  static int Run(lua_State* L);
  int Protected(Call* call);
  storage::Decision Visit(std::string_view key, const std::string_view* value, int64_t xt);
  void CallHook(const char* name);

  lua_State* L_;
  int index_;
  storage::DB* db_;
  bool writable_;
  std::string value_;  // a decided value, kept alive until the engine has stored it
};

}  // namespace ryoan::scripting
