// The native side of DB and Cursor objects: full userdata kept in a private field of the
// instance table, freed by the garbage collector.
#pragma once

#include <memory>

#include "scripting/lua_binding.h"
#include "storage/db.h"

namespace ryoan::scripting {

// What a DB object refers to: shared between objects made from one DB:new_ptr() handle.
struct DbSlot {
  std::shared_ptr<storage::DB> db;  // null while not open
};

struct DbHandle {
  std::shared_ptr<DbSlot> slot;
  bool server = false;  // a database the server owns: close() and open() refuse
  // The last failure of an operation through this object; this state is one thread's, so
  // this is Kyoto Tycoon's per-thread error.
  storage::Status last_error{storage::Code::kSuccess, "no error"};
};

struct CursorHandle {
  std::shared_ptr<storage::DB> db;          // keeps the database alive for the cursor
  std::unique_ptr<storage::Cursor> cursor;  // null after disable()
};

// The DB object at `index`; raises "<name>: invalid arguments" if it is none.
DbHandle* CheckDbObject(lua_State* L, int index, const char* name);
// The DB object's handle, or null if the value is not a DB object.
DbHandle* ToDbObject(lua_State* L, int index);
// The open database, after checking that no running visitor holds it; null (with
// last_error INVALID) when the object is not open.
storage::DB* ReadyDb(lua_State* L, DbHandle* handle);
// Raises when a visitor of this state holds `db` locked.
void CheckNotVisiting(lua_State* L, const storage::DB* db);

// Marks a database as held by a running visitor for the guard's lifetime.
class VisitingGuard {
 public:
  VisitingGuard(lua_State* L, const storage::DB* db);
  ~VisitingGuard();
  VisitingGuard(const VisitingGuard&) = delete;
  VisitingGuard& operator=(const VisitingGuard&) = delete;

 private:
  StateContext* context_;
};

}  // namespace ryoan::scripting
