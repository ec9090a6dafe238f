// db:mapreduce (spec/lua.md 8.3).
//
// Map: without XNOLOCK the records are visited with the database locked (DB::Iterate), as
// Kyoto Tycoon does, so map cannot use that database (the binding raises instead of
// deadlocking); with XNOLOCK a cursor walks the database and other writers proceed.
// Emitted pairs go to an EmitSorter: memory up to clim bytes, then sorted runs in files
// under tmppath (or in memory without one), at most dbnum runs at once. Reduce sees each
// distinct key once, in the database comparator's order, its values in emit order. XNOCOMP
// and the parallel flags are accepted; runs are never compressed, and cbnum (Kyoto
// Cabinet's cache buckets) has nothing to size here.
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <string>

#include "scripting/emit_sorter.h"
#include "scripting/lua_handles.h"

namespace ryoan::scripting {
namespace {

constexpr int kXNoLock = 1;
constexpr int64_t kDefaultDbNum = 8, kMaxDbNum = 256;
constexpr int64_t kDefaultCacheLimit = int64_t{512} << 20;

// Argument positions.
constexpr int kMap = 2, kReduce = 3, kTmpPath = 4, kOpts = 5, kDbNum = 6, kCacheLimit = 7, kLog = 9,
              kProc = 10;

// The state of one call, a full userdata so that the collector frees it however the call
// ends.
struct Job {
  std::unique_ptr<EmitSorter> sorter;
  bool emitting = true;
  uint64_t group = 0;  // the key reduce is running for; iter closures of others return nil
  storage::Status failure;
};

int JobGc(lua_State* L) {
  static_cast<Job*>(lua_touserdata(L, 1))->~Job();
  return 0;
}

// emit(key, value) -> bool; upvalue 1 is the job.
int Emit(lua_State* L) {
  auto* job = static_cast<Job*>(lua_touserdata(L, lua_upvalueindex(1)));
  std::string key, value;
  bool ok = job->emitting && ToLuaString(L, 1, &key) && ToLuaString(L, 2, &value);
  if (ok) {
    storage::Status s = job->sorter->Add(key, value);
    if (!s.ok()) job->failure = s;
    ok = s.ok();
  }
  lua_pushboolean(L, ok);
  return 1;
}

// iter() -> the next value of the key being reduced, or nil; upvalues: job, group.
int Iter(lua_State* L) {
  auto* job = static_cast<Job*>(lua_touserdata(L, lua_upvalueindex(1)));
  if (job->group != static_cast<uint64_t>(lua_tonumber(L, lua_upvalueindex(2)))) return 0;
  std::string value;
  if (!job->sorter->NextValue(&value)) return 0;
  lua_pushlstring(L, value.data(), value.size());
  return 1;
}

struct MapCall {
  std::string_view key, value;
  bool ok = false;
};

// Runs map(key, value, emit) for a MapCall; arguments: the call, map, emit.
int MapRunner(lua_State* L) {
  auto* call = static_cast<MapCall*>(lua_touserdata(L, 1));
  lua_pushvalue(L, 2);
  lua_pushlstring(L, call->key.data(), call->key.size());
  lua_pushlstring(L, call->value.data(), call->value.size());
  lua_pushvalue(L, 3);
  lua_call(L, 3, 1);
  call->ok = lua_toboolean(L, -1) != 0;
  return 0;
}

// Calls map in protected mode (so no Lua error unwinds through the storage engine); the
// stack indices of MapRunner, map and emit are fixed for the whole call.
class Mapper : public storage::RecordVisitor {
 public:
  Mapper(lua_State* L, int runner, int emit) : L_(L), runner_(runner), emit_(emit) {}

  storage::Decision VisitFull(std::string_view key, std::string_view value, int64_t) override {
    Map(key, value);
    return storage::Decision::Keep();
  }

  bool Map(std::string_view key, std::string_view value) {
    if (failed_ || OverBudget(L_)) {
      failed_ = true;
      return false;
    }
    MapCall call{key, value};
    lua_pushvalue(L_, runner_);
    lua_pushlightuserdata(L_, &call);
    lua_pushvalue(L_, kMap);
    lua_pushvalue(L_, emit_);
    if (lua_pcall(L_, 3, 0, 0) != 0) lua_pop(L_, 1);
    if (!call.ok) failed_ = true;
    return call.ok;
  }
  bool failed() const { return failed_; }

 private:
  lua_State* L_;
  int runner_, emit_;
  bool failed_ = false;
};

// Calls the function at the top with `nargs` arguments below it; true if it returned a
// true value (or, with nil_ok, nil) without raising. A budget overrun propagates.
bool CallTrue(lua_State* L, int nargs, bool nil_ok = false) {
  int rv = lua_pcall(L, nargs, 1, 0);
  bool ok = rv == 0 && (lua_toboolean(L, -1) || (nil_ok && lua_isnil(L, -1)));
  lua_pop(L, 1);
  CheckBudget(L);
  return ok;
}

// log(name, message) if a log function was given; false if it returned false or raised.
bool Progress(lua_State* L, const char* name, const char* message) {
  if (!lua_isfunction(L, kLog)) return true;
  lua_pushvalue(L, kLog);
  lua_pushstring(L, name);
  lua_pushstring(L, message);
  return CallTrue(L, 2, /*nil_ok=*/true);
}

// An optional count: none, nil, a non-number or <= 0 -> the default.
int64_t OptCount(lua_State* L, int index, int64_t dflt) {
  if (lua_type(L, index) != LUA_TNUMBER) return dflt;
  int64_t n = TruncateToInt64(lua_tonumber(L, index));
  return n > 0 ? n : dflt;
}

storage::KeyComparator ComparatorOf(const storage::DB* db) {
  switch (db->spec().type) {
    case storage::DatabaseType::kCacheTree:
    case storage::DatabaseType::kFileTree:
    case storage::DatabaseType::kDirTree:
      return storage::KeyComparator::FromName(db->spec().rcomp);
    default:
      return storage::KeyComparator(storage::KeyComparator::kLex);
  }
}

}  // namespace

int DbMapReduce(lua_State* L) {
  DbHandle* h = CheckDbObject(L, 1, "mapreduce");
  storage::DB* db = ReadyDb(L, h);
  if (!lua_isfunction(L, kMap) || !lua_isfunction(L, kReduce)) InvalidArguments(L, "mapreduce");
  const bool has_proc = lua_isfunction(L, kProc);
  auto fail = [&](storage::Status s) {
    h->last_error = std::move(s);
    lua_pushboolean(L, 0);
    return 1;
  };
  if (db == nullptr) return fail(h->last_error);
  std::string tmpdir;
  if (lua_type(L, kTmpPath) == LUA_TSTRING && lua_objlen(L, kTmpPath) > 0) {
    tmpdir = lua_tostring(L, kTmpPath);
    struct stat st;
    if (stat(tmpdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return fail(storage::Status(storage::Code::kNoRepos, "no such directory"));
    }
  }
  const int opts = static_cast<int>(OptCount(L, kOpts, 0));
  const int64_t dbnum = std::min(OptCount(L, kDbNum, kDefaultDbNum), kMaxDbNum);
  const int64_t clim = OptCount(L, kCacheLimit, kDefaultCacheLimit);
  lua_settop(L, kProc);

  auto* job = new (lua_newuserdata(L, sizeof(Job))) Job();
  lua_newtable(L);
  lua_pushcfunction(L, JobGc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  const int job_index = lua_gettop(L);
  job->sorter = std::make_unique<EmitSorter>(ComparatorOf(db), tmpdir, static_cast<size_t>(clim),
                                             static_cast<size_t>(dbnum));
  lua_pushvalue(L, job_index);
  lua_pushcclosure(L, Emit, 1);
  const int emit = lua_gettop(L);
  lua_pushcfunction(L, MapRunner);
  const int runner = lua_gettop(L);
  const storage::Status failed = storage::Status::Logic("mapreduce failed");
  auto fail_job = [&] { return fail(job->failure.ok() ? failed : job->failure); };

  if (has_proc) {
    lua_pushvalue(L, kProc);
    lua_pushvalue(L, emit);
    if (!CallTrue(L, 1)) return fail_job();
  }
  if (!Progress(L, "map", "started the map process")) return fail_job();
  bool mapped;
  storage::Status s;
  {
    Mapper mapper(L, runner, emit);
    if (opts & kXNoLock) {
      std::unique_ptr<storage::Cursor> cursor = db->NewCursor();
      s = cursor->Jump();
      std::string key, value;
      while (s.ok()) {
        s = cursor->Get(&key, &value, nullptr, /*step=*/true);
        if (s.ok() && !mapper.Map(key, value)) break;
      }
      if (s.code() == storage::Code::kNoRec) s = storage::Status::OK();
    } else {
      VisitingGuard guard(L, db);
      s = db->Iterate(mapper, /*writable=*/false);
    }
    mapped = !mapper.failed();
  }
  CheckBudget(L);
  if (!s.ok()) return fail(s);
  if (!mapped) return fail_job();
  if (!Progress(L, "map", "the map process finished")) return fail_job();
  if (has_proc) {
    lua_pushvalue(L, kProc);
    lua_pushvalue(L, emit);
    if (!CallTrue(L, 1)) return fail_job();
  }
  job->emitting = false;
  s = job->sorter->Finish();
  if (!s.ok()) return fail(s);
  if (!Progress(L, "reduce", "started the reduce process")) return fail_job();
  std::string key;
  while (job->sorter->NextKey(&key)) {
    job->group++;
    lua_pushvalue(L, kReduce);
    lua_pushlstring(L, key.data(), key.size());
    lua_pushvalue(L, job_index);
    lua_pushnumber(L, static_cast<double>(job->group));
    lua_pushcclosure(L, Iter, 2);
    if (!CallTrue(L, 2)) return fail_job();
  }
  job->group++;
  if (!job->sorter->status().ok()) return fail(job->sorter->status());
  if (!Progress(L, "reduce", "the reduce process finished")) return fail_job();
  if (has_proc) {
    lua_pushvalue(L, kProc);
    if (!CallTrue(L, 0)) return fail_job();
  }
  lua_pushboolean(L, 1);
  return 1;
}

}  // namespace ryoan::scripting
