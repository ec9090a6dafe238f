// db:mapreduce (spec/lua.md 8.3), in memory: the records are read first (so map may use the
// database, as with XNOLOCK), the emitted pairs are kept in a vector and reduced in
// lexical key order. tmppath is only checked, dbnum/clim/cbnum/opts only accepted.
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "scripting/lua_handles.h"

namespace ryoan::scripting {
namespace {

struct EmitBuffer {
  std::vector<std::pair<std::string, std::string>> pairs;
};

int EmitBufferGc(lua_State* L) {
  static_cast<EmitBuffer*>(lua_touserdata(L, 1))->~EmitBuffer();
  return 0;
}

// emit(key, value): queues a pair; upvalue 1 is the buffer.
int Emit(lua_State* L) {
  auto* buffer = static_cast<EmitBuffer*>(lua_touserdata(L, lua_upvalueindex(1)));
  std::string key, value;
  if (!ToLuaString(L, 1, &key) || !ToLuaString(L, 2, &value)) {
    lua_pushboolean(L, 0);
    return 1;
  }
  buffer->pairs.emplace_back(std::move(key), std::move(value));
  lua_pushboolean(L, 1);
  return 1;
}

// iter(): the next value of one key's group; upvalues: buffer, next index, end index.
int Iter(lua_State* L) {
  auto* buffer = static_cast<EmitBuffer*>(lua_touserdata(L, lua_upvalueindex(1)));
  auto pos = static_cast<size_t>(lua_tonumber(L, lua_upvalueindex(2)));
  auto end = static_cast<size_t>(lua_tonumber(L, lua_upvalueindex(3)));
  if (pos >= end || pos >= buffer->pairs.size()) return 0;
  lua_pushnumber(L, static_cast<double>(pos + 1));
  lua_replace(L, lua_upvalueindex(2));
  const std::string& value = buffer->pairs[pos].second;
  lua_pushlstring(L, value.data(), value.size());
  return 1;
}

class Snapshot : public storage::RecordVisitor {
 public:
  storage::Decision VisitFull(std::string_view key, std::string_view value, int64_t) override {
    records.emplace_back(key, value);
    return storage::Decision::Keep();
  }
  std::vector<std::pair<std::string, std::string>> records;
};

// Calls the function at the top with `nargs` arguments below it; true if it returned a
// true value without raising. A budget overrun still propagates.
bool CallTrue(lua_State* L, int nargs) {
  bool ok = lua_pcall(L, nargs, 1, 0) == 0 && lua_toboolean(L, -1);
  lua_pop(L, 1);
  CheckBudget(L);
  return ok;
}

}  // namespace

int DbMapReduce(lua_State* L) {
  DbHandle* h = CheckDbObject(L, 1, "mapreduce");
  storage::DB* db = ReadyDb(L, h);
  if (!lua_isfunction(L, 2) || !lua_isfunction(L, 3)) InvalidArguments(L, "mapreduce");
  bool has_proc = lua_isfunction(L, 10);
  auto fail = [&](storage::Status s) {
    h->last_error = std::move(s);
    lua_pushboolean(L, 0);
    return 1;
  };
  if (db == nullptr) return fail(h->last_error);
  if (lua_type(L, 4) == LUA_TSTRING && lua_objlen(L, 4) > 0) {
    struct stat st;
    if (stat(lua_tostring(L, 4), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return fail(storage::Status(storage::Code::kNoRepos, "no such directory"));
    }
  }
  lua_settop(L, 10);
  void* memory = lua_newuserdata(L, sizeof(EmitBuffer));
  auto* buffer = new (memory) EmitBuffer();
  lua_newtable(L);
  lua_pushcfunction(L, EmitBufferGc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  const int buffer_index = lua_gettop(L);
  lua_pushvalue(L, buffer_index);
  lua_pushcclosure(L, Emit, 1);
  const int emit = lua_gettop(L);
  storage::Status failed = storage::Status::Logic("mapreduce failed");

  if (has_proc) {
    lua_pushvalue(L, 10);
    lua_pushvalue(L, emit);
    if (!CallTrue(L, 1)) return fail(failed);
  }
  Snapshot snapshot;
  storage::Status s = db->Iterate(snapshot, false);
  if (!s.ok()) return fail(s);
  for (const auto& [key, value] : snapshot.records) {
    lua_pushvalue(L, 2);
    lua_pushlstring(L, key.data(), key.size());
    lua_pushlstring(L, value.data(), value.size());
    lua_pushvalue(L, emit);
    if (!CallTrue(L, 3)) return fail(failed);
  }
  snapshot.records.clear();
  if (has_proc) {
    lua_pushvalue(L, 10);
    lua_pushvalue(L, emit);
    if (!CallTrue(L, 1)) return fail(failed);
  }
  std::stable_sort(buffer->pairs.begin(), buffer->pairs.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t start = 0; start < buffer->pairs.size();) {
    size_t end = start;
    while (end < buffer->pairs.size() && buffer->pairs[end].first == buffer->pairs[start].first) {
      end++;
    }
    lua_pushvalue(L, 3);
    const std::string& key = buffer->pairs[start].first;
    lua_pushlstring(L, key.data(), key.size());
    lua_pushvalue(L, buffer_index);
    lua_pushnumber(L, static_cast<double>(start));
    lua_pushnumber(L, static_cast<double>(end));
    lua_pushcclosure(L, Iter, 3);
    if (!CallTrue(L, 2)) return fail(failed);
    start = end;
  }
  if (has_proc) {
    lua_pushvalue(L, 10);
    if (!CallTrue(L, 0)) return fail(failed);
  }
  lua_pushboolean(L, 1);
  return 1;
}

}  // namespace ryoan::scripting
