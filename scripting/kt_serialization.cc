// The module's serialization functions (spec/lua.md 4.4): arraydump/arrayload,
// mapdump/mapload, pack/unpack. Malformed input ends a load instead of looping, unlike
// Kyoto Tycoon.
#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include "scripting/lua_binding.h"
#include "storage/varnum.h"

namespace ryoan::scripting {
namespace {

using storage::AppendVarNum;
using storage::ReadVarNum;

// Strings as they are, numbers through FormatNumber; false for other types.
bool DumpValue(lua_State* L, int index, std::string* out) {
  return ToBytes(L, index, /*allow_bool=*/false, out);
}

int KtArraydump(lua_State* L) {
  if (lua_gettop(L) != 1 || !lua_istable(L, 1)) InvalidArguments(L, "arraydump");
  std::string out, item;
  size_t n = lua_objlen(L, 1);
  for (size_t i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, static_cast<int>(i));
    if (DumpValue(L, -1, &item)) {
      AppendVarNum(item.size(), &out);
      out.append(item);
    }
    lua_pop(L, 1);
  }
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

int KtArrayload(lua_State* L) {
  if (lua_gettop(L) != 1) InvalidArguments(L, "arrayload");
  size_t size = 0;
  const char* data = luaL_checklstring(L, 1, &size);
  std::string_view in(data, size);
  lua_newtable(L);
  size_t pos = 0;
  int index = 1;
  uint64_t len = 0;
  while (pos < in.size() && ReadVarNum(in, &pos, &len) && len <= in.size() - pos) {
    lua_pushlstring(L, in.data() + pos, static_cast<size_t>(len));
    lua_rawseti(L, -2, index++);
    pos += static_cast<size_t>(len);
  }
  return 1;
}

int KtMapdump(lua_State* L) {
  if (lua_gettop(L) != 1 || !lua_istable(L, 1)) InvalidArguments(L, "mapdump");
  std::string out, key, value;
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    if (DumpValue(L, -2, &key) && DumpValue(L, -1, &value)) {
      AppendVarNum(key.size(), &out);
      AppendVarNum(value.size(), &out);
      out.append(key).append(value);
    }
    lua_pop(L, 1);
  }
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

int KtMapload(lua_State* L) {
  if (lua_gettop(L) != 1) InvalidArguments(L, "mapload");
  size_t size = 0;
  const char* data = luaL_checklstring(L, 1, &size);
  std::string_view in(data, size);
  lua_newtable(L);
  size_t pos = 0;
  uint64_t klen = 0, vlen = 0;
  while (pos < in.size() && ReadVarNum(in, &pos, &klen) && ReadVarNum(in, &pos, &vlen) &&
         klen <= in.size() - pos && vlen <= in.size() - pos - klen) {
    lua_pushlstring(L, in.data() + pos, static_cast<size_t>(klen));
    lua_pushlstring(L, in.data() + pos + klen, static_cast<size_t>(vlen));
    lua_rawset(L, -3);
    pos += static_cast<size_t>(klen + vlen);
  }
  return 1;
}

template <typename T>
void AppendHost(T v, std::string* out) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

void AppendBigEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; i--) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t ToUint64(double d) {
  if (d >= 18446744073709551615.0) return UINT64_MAX;
  if (d >= 9.2233720368547758e18) return static_cast<uint64_t>(d);
  return static_cast<uint64_t>(TruncateToInt64(d));
}

int KtPack(lua_State* L) {
  int argc = lua_gettop(L);
  if (argc < 1) InvalidArguments(L, "pack");
  std::string_view format = luaL_checkstring(L, 1);
  // Flatten the arguments into numbers (tonumber of each element, 0 when not convertible).
  std::vector<double> items;
  for (int i = 2; i <= argc; i++) {
    int type = lua_type(L, i);
    if (type == LUA_TTABLE) {
      size_t n = lua_objlen(L, i);
      for (size_t k = 1; k <= n; k++) {
        lua_rawgeti(L, i, static_cast<int>(k));
        items.push_back(lua_tonumber(L, -1));
        lua_pop(L, 1);
      }
    } else if (type == LUA_TNUMBER || type == LUA_TSTRING) {
      items.push_back(lua_tonumber(L, i));
    } else {
      items.push_back(0);
    }
  }
  std::string out;
  size_t next = 0;
  for (size_t f = 0; f < format.size() && next < items.size(); f++) {
    char letter = format[f];
    size_t count = 1;
    if (f + 1 < format.size() && format[f + 1] == '*') {
      count = items.size();
      f++;
    } else if (f + 1 < format.size() && std::isdigit(static_cast<unsigned char>(format[f + 1]))) {
      count = 0;
      while (f + 1 < format.size() && std::isdigit(static_cast<unsigned char>(format[f + 1]))) {
        count = count * 10 + static_cast<size_t>(format[++f] - '0');
        if (count > items.size()) count = items.size();
      }
    }
    for (size_t c = 0; c < count && next < items.size(); c++) {
      double d = items[next++];
      int64_t i = TruncateToInt64(d);
      switch (letter) {
        case 'c':
        case 'C':
          AppendHost(static_cast<int8_t>(i), &out);
          break;
        case 's':
        case 'S':
          AppendHost(static_cast<int16_t>(i), &out);
          break;
        case 'i':
        case 'I':
          AppendHost(static_cast<int32_t>(i), &out);
          break;
        case 'l':
        case 'L':
          AppendHost(static_cast<uint64_t>(ToUint64(d)), &out);
          break;
        case 'f':
        case 'F':
          AppendHost(static_cast<float>(d), &out);
          break;
        case 'd':
        case 'D':
          AppendHost(d, &out);
          break;
        case 'n':
          AppendBigEndian(static_cast<uint64_t>(i), 2, &out);
          break;
        case 'N':
          AppendBigEndian(static_cast<uint64_t>(i), 4, &out);
          break;
        case 'M':
          AppendBigEndian(ToUint64(d), 8, &out);
          break;
        case 'w':
        case 'W':
          AppendVarNum(ToUint64(d), &out);
          break;
        default:
          break;  // unknown letters consume an element and write nothing
      }
    }
  }
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

template <typename T>
T ReadHost(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

uint64_t ReadBigEndian(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; i++) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

size_t ItemSize(char letter) {
  switch (letter) {
    case 'c':
    case 'C':
      return 1;
    case 's':
    case 'S':
    case 'n':
      return 2;
    case 'i':
    case 'I':
    case 'f':
    case 'F':
    case 'N':
      return 4;
    case 'l':
    case 'L':
    case 'd':
    case 'D':
    case 'M':
      return 8;
    default:
      return 0;
  }
}

int KtUnpack(lua_State* L) {
  if (lua_gettop(L) != 2) InvalidArguments(L, "unpack");
  std::string_view format = luaL_checkstring(L, 1);
  size_t size = 0;
  const char* data = luaL_checklstring(L, 2, &size);
  std::string_view in(data, size);
  lua_newtable(L);
  int index = 1;
  size_t pos = 0;
  for (size_t f = 0; f < format.size() && pos < in.size(); f++) {
    char letter = format[f];
    size_t count = 1;
    if (f + 1 < format.size() && format[f + 1] == '*') {
      count = in.size();
      f++;
    } else if (f + 1 < format.size() && std::isdigit(static_cast<unsigned char>(format[f + 1]))) {
      count = 0;
      while (f + 1 < format.size() && std::isdigit(static_cast<unsigned char>(format[f + 1]))) {
        count = count * 10 + static_cast<size_t>(format[++f] - '0');
        if (count > in.size()) count = in.size();
      }
    }
    bool varnum = letter == 'w' || letter == 'W';
    size_t item = ItemSize(letter);
    if (!varnum && item == 0) continue;
    for (size_t c = 0; c < count && pos < in.size(); c++) {
      double v = 0;
      if (varnum) {
        uint64_t n = 0;
        if (!ReadVarNum(in, &pos, &n)) break;
        v = static_cast<double>(n);
      } else {
        if (in.size() - pos < item) break;
        const char* p = in.data() + pos;
        pos += item;
        switch (letter) {
          case 'c':
            v = ReadHost<int8_t>(p);
            break;
          case 'C':
            v = ReadHost<uint8_t>(p);
            break;
          case 's':
            v = ReadHost<int16_t>(p);
            break;
          case 'S':
            v = ReadHost<uint16_t>(p);
            break;
          case 'i':
            v = ReadHost<int32_t>(p);
            break;
          case 'I':
            v = ReadHost<uint32_t>(p);
            break;
          case 'l':
            v = static_cast<double>(ReadHost<int64_t>(p));
            break;
          case 'L':
            v = static_cast<double>(ReadHost<uint64_t>(p));
            break;
          case 'f':
          case 'F':
            v = ReadHost<float>(p);
            break;
          case 'd':
          case 'D':
            v = ReadHost<double>(p);
            break;
          default:
            v = static_cast<double>(ReadBigEndian(p, static_cast<int>(item)));
            break;
        }
      }
      lua_pushnumber(L, v);
      lua_rawseti(L, -2, index++);
    }
  }
  return 1;
}

}  // namespace

void RegisterSerialization(lua_State* L, int module) {
  const luaL_Reg functions[] = {
      {"arraydump", KtArraydump}, {"arrayload", KtArrayload}, {"mapdump", KtMapdump},
      {"mapload", KtMapload},     {"pack", KtPack},           {"unpack", KtUnpack},
  };
  for (const luaL_Reg& f : functions) {
    lua_pushcfunction(L, f.func);
    lua_setfield(L, module, f.name);
  }
}

}  // namespace ryoan::scripting
