// The DB class (spec/lua.md 8): a Lua object per database, its methods stored on the instance.
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "scripting/lua_handles.h"
#include "scripting/lua_visitor.h"
#include "storage/database_spec.h"
#include "storage/db_copy.h"
#include "storage/pseudo_snapshot.h"

namespace ryoan::scripting {
namespace {

constexpr int kOReader = 1, kOWriter = 2, kOCreate = 4;
constexpr int kMSet = 0, kMAdd = 1, kMReplace = 2, kMAppend = 3;

// DB:new_ptr() handles, so that DB:new(ptr) and DB:delete_ptr(ptr) accept only those.
std::mutex raw_mutex;
std::set<void*> raw_handles;

int PushNil(lua_State* L) {
  lua_pushnil(L);
  return 1;
}

void SetError(DbHandle* h, const storage::Status& status) { h->last_error = status; }

// Records the failure (if any) and pushes the boolean result.
int PushResult(lua_State* L, DbHandle* h, const storage::Status& status) {
  if (!status.ok()) SetError(h, status);
  lua_pushboolean(L, status.ok());
  return 1;
}

std::string CheckString(lua_State* L, int index, const char* name) {
  std::string s;
  if (!ToLuaString(L, index, &s)) InvalidArguments(L, name);
  return s;
}

void CheckVisitor(lua_State* L, int index, const char* name) {
  if (!lua_isfunction(L, index) && !lua_istable(L, index)) InvalidArguments(L, name);
}

// The string (or number) elements of the array part of the table at `index`.
std::vector<std::string> KeyList(lua_State* L, int index, const char* name) {
  if (!lua_istable(L, index)) InvalidArguments(L, name);
  std::vector<std::string> keys;
  size_t n = lua_objlen(L, index);
  std::string key;
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, index, static_cast<int>(i));
    if (ToLuaString(L, -1, &key)) keys.push_back(key);
    lua_pop(L, 1);
  }
  return keys;
}

void PushStrings(lua_State* L, const std::vector<std::string>& items) {
  lua_createtable(L, static_cast<int>(items.size()), 0);
  for (size_t i = 0; i < items.size(); i++) {
    lua_pushlstring(L, items[i].data(), items[i].size());
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
}

// Start of every method: self, and the open database (null: pushed nothing, error set).
#define DB_METHOD(name)                    \
  DbHandle* h = CheckDbObject(L, 1, name); \
  storage::DB* db = ReadyDb(L, h);

int DbError(lua_State* L) {
  DbHandle* h = CheckDbObject(L, 1, "error");
  PushErrorObject(L, static_cast<int>(h->last_error.code()), h->last_error.message());
  return 1;
}

storage::Status OpenInto(DbHandle* h, const std::string& path, int mode) {
  if (h->server || h->slot->db != nullptr) return storage::Status::Invalid("already opened");
  storage::DatabaseSpec spec;
  storage::Status s = storage::ParseDatabaseSpec(path, &spec);
  if (!s.ok()) return s;
  storage::OpenOptions options;
  options.readonly = (mode & kOWriter) == 0;
  std::unique_ptr<storage::DB> opened;
  s = storage::DB::Open(spec, options, &opened);
  if (s.ok()) h->slot->db = std::move(opened);
  return s;
}

int DbOpen(lua_State* L) {
  DbHandle* h = CheckDbObject(L, 1, "open");
  std::string path = lua_isnoneornil(L, 2) ? ":" : CheckString(L, 2, "open");
  int mode = lua_isnoneornil(L, 3) ? kOWriter | kOCreate
                                   : static_cast<int>(TruncateToInt64(lua_tonumber(L, 3)));
  return PushResult(L, h, OpenInto(h, path, mode));
}

int DbClose(lua_State* L) {
  DbHandle* h = CheckDbObject(L, 1, "close");
  if (h->server) return PushResult(L, h, storage::Status::Invalid("the database is the server's"));
  storage::DB* db = ReadyDb(L, h);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  storage::Status s = db->Synchronize(false);
  h->slot->db.reset();
  return PushResult(L, h, s);
}

int DbAccept(lua_State* L) {
  DB_METHOD("accept");
  std::string key = CheckString(L, 2, "accept");
  CheckVisitor(L, 3, "accept");
  bool writable = OptBool(L, 4, true);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  storage::Status s;
  {
    LuaVisitor visitor(L, 3, db, writable);
    VisitingGuard guard(L, db);
    s = db->Accept(key, visitor, writable);
  }
  CheckBudget(L);
  return PushResult(L, h, s);
}

int DbAcceptBulk(lua_State* L) {
  DB_METHOD("accept_bulk");
  std::vector<std::string> keys = KeyList(L, 2, "accept_bulk");
  CheckVisitor(L, 3, "accept_bulk");
  bool writable = OptBool(L, 4, true);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  LuaVisitor visitor(L, 3, db, writable);
  visitor.Before();
  storage::Status s;
  {
    VisitingGuard guard(L, db);
    s = db->AcceptBulk(views, visitor, writable);
  }
  visitor.After();
  CheckBudget(L);
  return PushResult(L, h, s);
}

int DbIterate(lua_State* L) {
  DB_METHOD("iterate");
  CheckVisitor(L, 2, "iterate");
  bool writable = OptBool(L, 3, true);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  LuaVisitor visitor(L, 2, db, writable);
  visitor.Before();
  storage::Status s;
  {
    VisitingGuard guard(L, db);
    s = db->Iterate(visitor, writable);
  }
  visitor.After();
  CheckBudget(L);
  return PushResult(L, h, s);
}

template <storage::Status (storage::DB::*Op)(std::string_view, std::string_view, int64_t)>
int DbWrite(lua_State* L) {
  DB_METHOD("set");
  std::string key = CheckString(L, 2, "set");
  std::string value = CheckString(L, 3, "set");
  int64_t xt = ToXt(L, 4);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  return PushResult(L, h, (db->*Op)(key, value, xt));
}

int DbIncrement(lua_State* L) {
  DB_METHOD("increment");
  std::string key = CheckString(L, 2, "increment");
  int64_t num = lua_isnoneornil(L, 3) ? 0 : TruncateToInt64(lua_tonumber(L, 3));
  double orig_d = lua_isnoneornil(L, 4) ? 0 : lua_tonumber(L, 4);
  int64_t orig =
      std::isinf(orig_d) ? (orig_d < 0 ? INT64_MIN : INT64_MAX) : TruncateToInt64(orig_d);
  int64_t xt = ToXt(L, 5);
  if (db == nullptr) return PushNil(L);
  int64_t result = 0;
  storage::Status s = db->Increment(key, num, orig, xt, &result);
  if (!s.ok()) {
    SetError(h, s);
    lua_pushnil(L);
  } else {
    lua_pushnumber(L, static_cast<double>(result));
  }
  return 1;
}

int DbIncrementDouble(lua_State* L) {
  DB_METHOD("increment_double");
  std::string key = CheckString(L, 2, "increment_double");
  double num = lua_isnoneornil(L, 3) ? 0 : lua_tonumber(L, 3);
  double orig = lua_isnoneornil(L, 4) ? 0 : lua_tonumber(L, 4);
  int64_t xt = ToXt(L, 5);
  if (db == nullptr) return PushNil(L);
  double result = 0;
  storage::Status s = db->IncrementDouble(key, num, orig, xt, &result);
  if (!s.ok()) SetError(h, s);
  if (!s.ok() || std::isnan(result)) {
    lua_pushnil(L);
  } else {
    lua_pushnumber(L, result);
  }
  return 1;
}

int DbCas(lua_State* L) {
  if (lua_gettop(L) < 4) InvalidArguments(L, "cas");
  DB_METHOD("cas");
  std::string key = CheckString(L, 2, "cas");
  std::string oval, nval;
  bool has_oval = !lua_isnil(L, 3), has_nval = !lua_isnil(L, 4);
  if (has_oval) oval = CheckString(L, 3, "cas");
  if (has_nval) nval = CheckString(L, 4, "cas");
  int64_t xt = ToXt(L, 5);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  std::optional<std::string_view> o, n;
  if (has_oval) o = oval;
  if (has_nval) n = nval;
  return PushResult(L, h, db->Cas(key, o, n, xt));
}

int DbRemove(lua_State* L) {
  DB_METHOD("remove");
  std::string key = CheckString(L, 2, "remove");
  if (db == nullptr) return PushResult(L, h, h->last_error);
  return PushResult(L, h, db->Remove(key));
}

// The (value, xt) results of get and seize, or nil with the error recorded.
int PushRecord(lua_State* L, DbHandle* h, const storage::Status& s, const std::string& value,
               int64_t xt) {
  if (!s.ok()) {
    SetError(h, s);
    lua_pushnil(L);
    return 1;
  }
  lua_pushlstring(L, value.data(), value.size());
  lua_pushnumber(L, static_cast<double>(xt));
  return 2;
}

int DbGet(lua_State* L) {
  if (lua_gettop(L) != 2) InvalidArguments(L, "get");
  DB_METHOD("get");
  std::string key = CheckString(L, 2, "get");
  if (db == nullptr) return PushNil(L);
  std::string value;
  int64_t xt = 0;
  storage::Status s = db->Get(key, &value, &xt);
  return PushRecord(L, h, s, value, xt);
}

int DbCheck(lua_State* L) {
  DB_METHOD("check");
  std::string key = CheckString(L, 2, "check");
  if (db == nullptr) {
    lua_pushnumber(L, -1);
    return 1;
  }
  int64_t size = -1, xt = 0;
  storage::Status s = db->Check(key, &size, &xt);
  if (!s.ok()) SetError(h, s);
  lua_pushnumber(L, s.ok() ? static_cast<double>(size) : -1);
  return 1;
}

int DbSeize(lua_State* L) {
  DB_METHOD("seize");
  std::string key = CheckString(L, 2, "seize");
  if (db == nullptr) return PushNil(L);
  std::string value;
  int64_t xt = 0;
  storage::Status s = db->Seize(key, &value, &xt);
  return PushRecord(L, h, s, value, xt);
}

int DbSetBulk(lua_State* L) {
  DB_METHOD("set_bulk");
  if (!lua_istable(L, 2)) InvalidArguments(L, "set_bulk");
  std::vector<std::pair<std::string, std::string>> records;
  lua_pushnil(L);
  std::string key, value;
  while (lua_next(L, 2) != 0) {
    if (ToBytes(L, -2, false, &key) && ToBytes(L, -1, false, &value)) {
      records.emplace_back(key, value);
    }
    lua_pop(L, 1);
  }
  int64_t xt = ToXt(L, 3);
  bool atomic = OptBool(L, 4, true);
  if (db == nullptr) {
    lua_pushnumber(L, -1);
    return 1;
  }
  int64_t count = 0;
  storage::Status s = db->SetBulk(records, xt, atomic, &count);
  if (!s.ok()) SetError(h, s);
  lua_pushnumber(L, s.ok() ? static_cast<double>(records.size()) : -1);
  return 1;
}

int DbRemoveBulk(lua_State* L) {
  DB_METHOD("remove_bulk");
  std::vector<std::string> keys = KeyList(L, 2, "remove_bulk");
  bool atomic = OptBool(L, 3, true);
  if (db == nullptr) {
    lua_pushnumber(L, -1);
    return 1;
  }
  int64_t count = 0;
  storage::Status s = db->RemoveBulk(keys, atomic, &count);
  if (!s.ok()) SetError(h, s);
  lua_pushnumber(L, s.ok() ? static_cast<double>(count) : -1);
  return 1;
}

int DbGetBulk(lua_State* L) {
  DB_METHOD("get_bulk");
  std::vector<std::string> keys = KeyList(L, 2, "get_bulk");
  bool atomic = OptBool(L, 3, true);
  if (db == nullptr) return PushNil(L);
  std::vector<std::pair<std::string, std::string>> records;
  storage::Status s = db->GetBulk(keys, atomic, &records);
  if (!s.ok()) {
    SetError(h, s);
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, static_cast<int>(records.size()));
  for (const auto& [k, v] : records) {
    lua_pushlstring(L, k.data(), k.size());
    lua_pushlstring(L, v.data(), v.size());
    lua_rawset(L, -3);
  }
  return 1;
}

int DbClear(lua_State* L) {
  DB_METHOD("clear");
  if (db == nullptr) return PushResult(L, h, h->last_error);
  return PushResult(L, h, db->Clear());
}

// Calls a FileProcessor (function, or table with process) as proc(path, count, size);
// returns its truthiness. Errors propagate to the script.
bool RunFileProcessor(lua_State* L, int proc, storage::DB* db) {
  int base = lua_gettop(L);
  if (lua_istable(L, proc)) {
    lua_getfield(L, proc, "process");
    lua_pushvalue(L, proc);
  } else {
    lua_pushvalue(L, proc);
  }
  int nself = lua_gettop(L) - base - 1;
  lua_pushlstring(L, db->path().data(), db->path().size());
  lua_pushnumber(L, static_cast<double>(db->Count()));
  lua_pushnumber(L, static_cast<double>(db->Size()));
  lua_call(L, 3 + nself, 1);
  bool ok = lua_toboolean(L, -1) != 0;
  lua_settop(L, base);
  return ok;
}

int DbSynchronize(lua_State* L) {
  DB_METHOD("synchronize");
  bool hard = OptBool(L, 2, false);
  bool has_proc = !lua_isnoneornil(L, 3);
  if (has_proc) CheckVisitor(L, 3, "synchronize");
  if (db == nullptr) return PushResult(L, h, h->last_error);
  storage::Status s = db->Synchronize(hard);
  if (s.ok() && has_proc && !RunFileProcessor(L, 3, db)) {
    s = storage::Status::Logic("postprocessing failed");
  }
  return PushResult(L, h, s);
}

// Calls the FileProcessor at `proc` in protected mode; the Lua status, with the error value
// (if any) on top of the stack and *ok the processor's truthiness.
int CallFileProcessor(lua_State* L, int proc, storage::DB* db, bool* ok) {
  int base = lua_gettop(L);
  if (lua_istable(L, proc)) {
    lua_getfield(L, proc, "process");
    lua_pushvalue(L, proc);
  } else {
    lua_pushvalue(L, proc);
  }
  int nself = lua_gettop(L) - base - 1;
  lua_pushlstring(L, db->path().data(), db->path().size());
  lua_pushnumber(L, static_cast<double>(db->Count()));
  lua_pushnumber(L, static_cast<double>(db->Size()));
  int rv = lua_pcall(L, 3 + nself, 1, 0);
  *ok = rv == 0 && lua_toboolean(L, -1) != 0;
  if (rv == 0) lua_settop(L, base);
  return rv;
}

// While `proc` runs no other thread can change the database (reads proceed), whatever
// `writable` says; the procedure itself may change it. Errors in `proc` are re-raised once
// the lock is released.
int DbOccupy(lua_State* L) {
  DB_METHOD("occupy");
  bool has_proc = !lua_isnoneornil(L, 3);
  if (has_proc) CheckVisitor(L, 3, "occupy");
  if (db == nullptr) return PushResult(L, h, h->last_error);
  int rv = 0;
  storage::Status s = db->Occupy([&] {
    bool ok = true;
    if (has_proc) rv = CallFileProcessor(L, 3, db, &ok);
    return ok ? storage::Status::OK() : storage::Status::Logic("processing failed");
  });
  if (rv != 0) lua_error(L);
  return PushResult(L, h, s);
}

void ForgetTransaction(lua_State* L, storage::DB* db) {
  auto& open = Context(L)->transactions;
  for (auto it = open.begin(); it != open.end(); ++it) {
    if (it->get() == db) {
      open.erase(it);
      return;
    }
  }
}

int DbBeginTransaction(lua_State* L) {
  DB_METHOD("begin_transaction");
  bool hard = OptBool(L, 2, false);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  storage::Status s = db->BeginTransaction(hard);
  if (s.ok()) Context(L)->transactions.push_back(h->slot->db);
  return PushResult(L, h, s);
}

int DbEndTransaction(lua_State* L) {
  DB_METHOD("end_transaction");
  bool commit = OptBool(L, 2, true);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  storage::Status s = db->EndTransaction(commit);
  if (s.ok()) ForgetTransaction(L, db);
  return PushResult(L, h, s);
}

// begin; ok = fn(); commit if ok is truthy, else abort. An error in fn aborts and is
// re-raised.
int DbTransaction(lua_State* L) {
  DB_METHOD("transaction");
  if (!lua_isfunction(L, 2)) InvalidArguments(L, "transaction");
  bool hard = OptBool(L, 3, false);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  storage::Status s = db->BeginTransaction(hard);
  if (!s.ok()) return PushResult(L, h, s);
  std::shared_ptr<storage::DB> keep = h->slot->db;
  Context(L)->transactions.push_back(keep);
  lua_pushvalue(L, 2);
  int rv = lua_pcall(L, 0, 1, 0);
  bool commit = rv == 0 && lua_toboolean(L, -1) != 0;
  s = db->EndTransaction(commit);
  ForgetTransaction(L, db);
  if (rv != 0) lua_error(L);
  lua_pop(L, 1);
  return PushResult(L, h, s);
}

// copy(dest), dump_snapshot(dest), load_snapshot(src): a file path in, a bool out.
int RunFileOperation(lua_State* L, const char* name,
                     storage::Status (*op)(storage::DB*, const std::string&)) {
  DB_METHOD(name);
  std::string path = CheckString(L, 2, name);
  if (db == nullptr) return PushResult(L, h, h->last_error);
  return PushResult(L, h, op(db, path));
}

int DbCopy(lua_State* L) { return RunFileOperation(L, "copy", storage::CopyDatabase); }

int DbDumpSnapshot(lua_State* L) {
  return RunFileOperation(L, "dump_snapshot", [](storage::DB* db, const std::string& path) {
    return storage::DumpPseudoSnapshot(db, path);
  });
}

int DbLoadSnapshot(lua_State* L) {
  return RunFileOperation(L, "load_snapshot", [](storage::DB* db, const std::string& path) {
    return storage::LoadPseudoSnapshot(db, path);
  });
}

int DbCount(lua_State* L) {
  DB_METHOD("count");
  lua_pushnumber(L, db == nullptr ? -1 : static_cast<double>(db->Count()));
  return 1;
}

int DbSize(lua_State* L) {
  DB_METHOD("size");
  lua_pushnumber(L, db == nullptr ? -1 : static_cast<double>(db->Size()));
  return 1;
}

int DbPath(lua_State* L) {
  DB_METHOD("path");
  if (db == nullptr) return PushNil(L);
  lua_pushlstring(L, db->path().data(), db->path().size());
  return 1;
}

int DbStatus(lua_State* L) {
  DB_METHOD("status");
  if (db == nullptr) return PushNil(L);
  std::map<std::string, std::string> status = db->GetStatus();
  lua_createtable(L, 0, static_cast<int>(status.size()));
  for (const auto& [k, v] : status) {
    lua_pushlstring(L, k.data(), k.size());
    lua_pushlstring(L, v.data(), v.size());
    lua_rawset(L, -3);
  }
  return 1;
}

// max: omitted -> no limit; given (nil counts as 0) -> that number, negative = no limit.
int64_t MaxArg(lua_State* L, int index) {
  if (lua_gettop(L) < index) return -1;
  return TruncateToInt64(lua_tonumber(L, index));
}

int PushKeys(lua_State* L, DbHandle* h, const storage::Status& s,
             const std::vector<std::string>& keys) {
  if (!s.ok()) {
    SetError(h, s);
    lua_pushnil(L);
    return 1;
  }
  PushStrings(L, keys);
  return 1;
}

int DbMatchPrefix(lua_State* L) {
  DB_METHOD("match_prefix");
  std::string prefix = CheckString(L, 2, "match_prefix");
  int64_t max = MaxArg(L, 3);
  if (db == nullptr) return PushNil(L);
  std::vector<std::string> keys;
  return PushKeys(L, h, db->MatchPrefix(prefix, max, &keys), keys);
}

int DbMatchRegex(lua_State* L) {
  DB_METHOD("match_regex");
  std::string regex = CheckString(L, 2, "match_regex");
  int64_t max = MaxArg(L, 3);
  if (db == nullptr) return PushNil(L);
  std::vector<std::string> keys;
  return PushKeys(L, h, db->MatchRegex(regex, max, &keys), keys);
}

int DbMatchSimilar(lua_State* L) {
  DB_METHOD("match_similar");
  std::string origin = CheckString(L, 2, "match_similar");
  // An omitted range matches every key (the binding passes -1, "no limit").
  int64_t range = lua_isnoneornil(L, 3) ? INT64_MAX / 4 : TruncateToInt64(lua_tonumber(L, 3));
  if (range < 0) range = INT64_MAX / 4;
  bool utf = OptBool(L, 4, false);
  int64_t max = MaxArg(L, 5);
  if (db == nullptr) return PushNil(L);
  std::vector<std::string> keys;
  return PushKeys(L, h, db->MatchSimilar(origin, range, utf, max, &keys), keys);
}

// Collects the live records of a database with their absolute xt.
class Collector : public storage::RecordVisitor {
 public:
  struct Record {
    std::string key, value;
    int64_t xt;
  };
  storage::Decision VisitFull(std::string_view key, std::string_view value, int64_t xt) override {
    records.push_back({std::string(key), std::string(value), xt});
    return storage::Decision::Keep();
  }
  std::vector<Record> records;
};

int DbMerge(lua_State* L) {
  DB_METHOD("merge");
  if (!lua_istable(L, 2)) InvalidArguments(L, "merge");
  int mode = lua_isnoneornil(L, 3) ? kMSet : static_cast<int>(TruncateToInt64(lua_tonumber(L, 3)));
  if (db == nullptr) return PushResult(L, h, h->last_error);
  Collector all;
  size_t n = lua_objlen(L, 2);
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, 2, static_cast<int>(i));
    DbHandle* src = ToDbObject(L, -1);
    storage::DB* src_db = src != nullptr ? ReadyDb(L, src) : nullptr;
    lua_pop(L, 1);
    if (src_db == nullptr) continue;
    storage::Status s = src_db->Iterate(all, false);
    if (!s.ok()) return PushResult(L, h, s);
  }
  std::stable_sort(all.records.begin(), all.records.end(),
                   [](const auto& a, const auto& b) { return a.key < b.key; });
  for (const Collector::Record& r : all.records) {
    int64_t xt = r.xt >= storage::kXtMax ? storage::kNoXt : -r.xt;
    storage::Status s;
    switch (mode) {
      case kMAdd:
        s = db->Add(r.key, r.value, xt);
        break;
      case kMReplace:
        s = db->Replace(r.key, r.value, xt);
        break;
      case kMAppend:
        s = db->Append(r.key, r.value, xt);
        break;
      default:
        s = db->Set(r.key, r.value, xt);
        break;
    }
    if (!s.ok() && s.code() != storage::Code::kDupRec && s.code() != storage::Code::kNoRec) {
      return PushResult(L, h, s);
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

int DbCursor(lua_State* L) {
  DB_METHOD("cursor");
  if (db == nullptr) InvalidArguments(L, "cursor");
  PushCursorObject(L, 1);
  return 1;
}

int DbCursorProcess(lua_State* L) {
  DB_METHOD("cursor_process");
  if (!lua_isfunction(L, 2)) InvalidArguments(L, "cursor_process");
  if (db == nullptr) InvalidArguments(L, "cursor_process");
  PushCursorObject(L, 1);
  int cursor = lua_gettop(L);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, cursor);
  int rv = lua_pcall(L, 1, 0, 0);
  lua_getfield(L, cursor, "disable");
  lua_pushvalue(L, cursor);
  lua_call(L, 1, 0);
  if (rv != 0) lua_error(L);
  return 0;
}

int DbPairs(lua_State* L) {
  DB_METHOD("pairs");
  if (db == nullptr) InvalidArguments(L, "pairs");
  PushCursorObject(L, 1);
  lua_getfield(L, -1, "jump");
  lua_pushvalue(L, -2);
  lua_call(L, 1, 0);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// __index: a missing field reads the record of that name.
int DbIndex(lua_State* L) {
  DbHandle* h = ToDbObject(L, 1);
  std::string key;
  if (h == nullptr || h->slot->db == nullptr || !ToLuaString(L, 2, &key)) return 0;
  storage::DB* db = ReadyDb(L, h);
  std::string value;
  int64_t xt = 0;
  storage::Status s = db->Get(key, &value, &xt);
  if (!s.ok()) {
    SetError(h, s);
    return 0;
  }
  lua_pushlstring(L, value.data(), value.size());
  return 1;
}

// __newindex: assigning a field stores the record (nil removes it).
int DbNewIndex(lua_State* L) {
  DbHandle* h = CheckDbObject(L, 1, "__newindex");
  std::string key = CheckString(L, 2, "__newindex");
  storage::DB* db = ReadyDb(L, h);
  if (db == nullptr) return PushNil(L);
  storage::Status s;
  if (lua_isnil(L, 3)) {
    s = db->Remove(key);
  } else {
    s = db->Set(key, CheckString(L, 3, "__newindex"));
  }
  if (!s.ok()) SetError(h, s);
  return 0;
}

int DbToString(lua_State* L) {
  DbHandle* h = CheckDbObject(L, 1, "__tostring");
  storage::DB* db = h->slot->db.get();
  std::string text = db == nullptr || db->path().empty() ? "(nil)" : db->path();
  text += ": " + std::to_string(db == nullptr ? -1 : db->Count());
  text += ": " + std::to_string(db == nullptr ? -1 : db->Size());
  lua_pushlstring(L, text.data(), text.size());
  return 1;
}

int DbHandleGc(lua_State* L) {
  static_cast<DbHandle*>(lua_touserdata(L, 1))->~DbHandle();
  return 0;
}

// Pushes a DB object on `slot`.
void PushDbObject(lua_State* L, std::shared_ptr<DbSlot> slot, bool server) {
  NewInstance(L, RegistryTag::kDbClass, RegistryTag::kDbMeta);
  PushHandleKey(L);
  void* memory = lua_newuserdata(L, sizeof(DbHandle));
  auto* handle = new (memory) DbHandle();
  handle->slot = std::move(slot);
  handle->server = server;
  PushRegistry(L, RegistryTag::kDbHandleMeta);
  lua_setmetatable(L, -2);
  lua_rawset(L, -3);
}

int DbNew(lua_State* L) {
  if (lua_type(L, 2) == LUA_TLIGHTUSERDATA) {
    void* ptr = lua_touserdata(L, 2);
    std::shared_ptr<DbSlot> slot;
    {
      std::lock_guard lock(raw_mutex);
      if (raw_handles.count(ptr) == 0) InvalidArguments(L, "new");
      slot = *static_cast<std::shared_ptr<DbSlot>*>(ptr);
    }
    PushDbObject(L, std::move(slot), false);
    return 1;
  }
  PushDbObject(L, std::make_shared<DbSlot>(), false);
  return 1;
}

int DbNewPtr(lua_State* L) {
  auto* ptr = new std::shared_ptr<DbSlot>(std::make_shared<DbSlot>());
  {
    std::lock_guard lock(raw_mutex);
    raw_handles.insert(ptr);
  }
  lua_pushlightuserdata(L, ptr);
  return 1;
}

int DbDeletePtr(lua_State* L) {
  void* ptr = lua_touserdata(L, 2);
  std::lock_guard lock(raw_mutex);
  if (raw_handles.erase(ptr) > 0) delete static_cast<std::shared_ptr<DbSlot>*>(ptr);
  return 0;
}

// DB:process(fn, path, mode): open, fn(db), close; an Error object if open or close failed.
int DbProcess(lua_State* L) {
  if (!lua_isfunction(L, 2)) InvalidArguments(L, "process");
  std::string path = lua_isnoneornil(L, 3) ? ":" : CheckString(L, 3, "process");
  int mode = lua_isnoneornil(L, 4) ? kOWriter | kOCreate
                                   : static_cast<int>(TruncateToInt64(lua_tonumber(L, 4)));
  PushDbObject(L, std::make_shared<DbSlot>(), false);
  int object = lua_gettop(L);
  DbHandle* h = ToDbObject(L, object);
  storage::Status s = OpenInto(h, path, mode);
  if (!s.ok()) {
    PushErrorObject(L, static_cast<int>(s.code()), s.message());
    return 1;
  }
  lua_pushvalue(L, 2);
  lua_pushvalue(L, object);
  int rv = lua_pcall(L, 1, 0, 0);
  h->slot->db.reset();
  if (rv != 0) lua_error(L);
  return 0;
}

}  // namespace

DbHandle* ToDbObject(lua_State* L, int index) {
  if (!lua_istable(L, index)) return nullptr;
  index = AbsIndex(L, index);
  PushHandleKey(L);
  lua_rawget(L, index);
  DbHandle* handle = nullptr;
  if (lua_type(L, -1) == LUA_TUSERDATA && lua_getmetatable(L, -1)) {
    PushRegistry(L, RegistryTag::kDbHandleMeta);
    if (lua_rawequal(L, -1, -2)) handle = static_cast<DbHandle*>(lua_touserdata(L, -3));
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return handle;
}

DbHandle* CheckDbObject(lua_State* L, int index, const char* name) {
  DbHandle* handle = ToDbObject(L, index);
  if (handle == nullptr) InvalidArguments(L, name);
  return handle;
}

void CheckNotVisiting(lua_State* L, const storage::DB* db) {
  StateContext* context = Context(L);
  for (const storage::DB* held : context->visiting) {
    if (held == db) luaL_error(L, "the database is locked by a running visitor");
  }
}

storage::DB* ReadyDb(lua_State* L, DbHandle* handle) {
  storage::DB* db = handle->slot->db.get();
  if (db == nullptr) {
    handle->last_error = storage::Status::Invalid("not opened");
    return nullptr;
  }
  CheckNotVisiting(L, db);
  return db;
}

VisitingGuard::VisitingGuard(lua_State* L, const storage::DB* db) : context_(Context(L)) {
  context_->visiting.push_back(db);
}

VisitingGuard::~VisitingGuard() { context_->visiting.pop_back(); }

void PushServerDb(lua_State* L, storage::DB* db) {
  auto slot = std::make_shared<DbSlot>();
  slot->db = std::shared_ptr<storage::DB>(db, [](storage::DB*) {});
  PushDbObject(L, std::move(slot), true);
}

void AbortOpenTransactions(StateContext* context) {
  std::vector<std::shared_ptr<storage::DB>> open;
  open.swap(context->transactions);
  for (auto& db : open) (void)db->EndTransaction(false);
}

int DbMapReduce(lua_State* L);

void RegisterDbClass(lua_State* L, int module) {
  lua_newtable(L);
  const std::pair<const char*, int> constants[] = {
      {"OREADER", 1},    {"OWRITER", 2},  {"OCREATE", 4},    {"OTRUNCATE", 8},   {"OAUTOTRAN", 16},
      {"OAUTOSYNC", 32}, {"ONOLOCK", 64}, {"OTRYLOCK", 128}, {"ONOREPAIR", 256}, {"MSET", 0},
      {"MADD", 1},       {"MREPLACE", 2}, {"MAPPEND", 3},    {"XNOLOCK", 1},     {"XNOCOMP", 256},
  };
  for (const auto& [name, value] : constants) {
    lua_pushnumber(L, value);
    lua_setfield(L, -2, name);
  }
  const luaL_Reg methods[] = {
      {"new", DbNew},
      {"new_ptr", DbNewPtr},
      {"delete_ptr", DbDeletePtr},
      {"process", DbProcess},
      {"error", DbError},
      {"open", DbOpen},
      {"close", DbClose},
      {"accept", DbAccept},
      {"accept_bulk", DbAcceptBulk},
      {"iterate", DbIterate},
      {"set", DbWrite<&storage::DB::Set>},
      {"add", DbWrite<&storage::DB::Add>},
      {"replace", DbWrite<&storage::DB::Replace>},
      {"append", DbWrite<&storage::DB::Append>},
      {"increment", DbIncrement},
      {"increment_double", DbIncrementDouble},
      {"cas", DbCas},
      {"remove", DbRemove},
      {"get", DbGet},
      {"check", DbCheck},
      {"seize", DbSeize},
      {"set_bulk", DbSetBulk},
      {"remove_bulk", DbRemoveBulk},
      {"get_bulk", DbGetBulk},
      {"clear", DbClear},
      {"synchronize", DbSynchronize},
      {"occupy", DbOccupy},
      {"copy", DbCopy},
      {"begin_transaction", DbBeginTransaction},
      {"end_transaction", DbEndTransaction},
      {"transaction", DbTransaction},
      {"dump_snapshot", DbDumpSnapshot},
      {"load_snapshot", DbLoadSnapshot},
      {"count", DbCount},
      {"size", DbSize},
      {"path", DbPath},
      {"status", DbStatus},
      {"match_prefix", DbMatchPrefix},
      {"match_regex", DbMatchRegex},
      {"match_similar", DbMatchSimilar},
      {"merge", DbMerge},
      {"mapreduce", DbMapReduce},
      {"cursor", DbCursor},
      {"cursor_process", DbCursorProcess},
      {"pairs", DbPairs},
  };
  for (const luaL_Reg& m : methods) {
    lua_pushcfunction(L, m.func);
    lua_setfield(L, -2, m.name);
  }
  lua_pushvalue(L, -1);
  SetRegistry(L, RegistryTag::kDbClass);
  lua_setfield(L, module, "DB");

  lua_newtable(L);
  lua_pushcfunction(L, DbIndex);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, DbNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, DbToString);
  lua_setfield(L, -2, "__tostring");
  SetRegistry(L, RegistryTag::kDbMeta);

  lua_newtable(L);
  lua_pushcfunction(L, DbHandleGc);
  lua_setfield(L, -2, "__gc");
  SetRegistry(L, RegistryTag::kDbHandleMeta);
}

}  // namespace ryoan::scripting
