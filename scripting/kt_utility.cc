// The module's utility functions (spec/lua.md 4.1-4.3): log, time, sleep, number parsing,
// hashing, levdist, bit, and the string functions.
#include <regex.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "common/codec.h"
#include "common/compression.h"
#include "common/murmur_hash.h"
#include "common/numbers.h"
#include "scripting/lua_binding.h"

namespace ryoan::scripting {
namespace {

// The C-string view of an argument: its bytes up to the first NUL.
std::string_view CString(lua_State* L, int index) {
  const char* s = luaL_checkstring(L, index);
  return std::string_view(s, std::strlen(s));
}

std::string_view Bytes(lua_State* L, int index) {
  size_t size = 0;
  const char* s = luaL_checklstring(L, index, &size);
  return std::string_view(s, size);
}

void PushBytes(lua_State* L, std::string_view s) { lua_pushlstring(L, s.data(), s.size()); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int KtLog(lua_State* L) {
  if (lua_gettop(L) != 2) InvalidArguments(L, "log");
  int kind_type = lua_type(L, 1);
  if (kind_type != LUA_TSTRING && kind_type != LUA_TNUMBER) InvalidArguments(L, "log");
  std::string kind_name, message;
  ToLuaString(L, 1, &kind_name);
  if (!ToLuaString(L, 2, &message)) return 0;
  ScriptLogKind kind = ScriptLogKind::kDebug;
  if (EqualsIgnoreCase(kind_name, "info")) {
    kind = ScriptLogKind::kInfo;
  } else if (EqualsIgnoreCase(kind_name, "system")) {
    kind = ScriptLogKind::kSystem;
  } else if (EqualsIgnoreCase(kind_name, "error")) {
    kind = ScriptLogKind::kError;
  }
  Context(L)->env->Log(kind, "[SCRIPT]: " + message);
  return 0;
}

int KtTime(lua_State* L) {
  if (lua_gettop(L) != 0) InvalidArguments(L, "time");
  auto now = std::chrono::system_clock::now().time_since_epoch();
  lua_pushnumber(L, std::chrono::duration_cast<std::chrono::microseconds>(now).count() / 1e6);
  return 1;
}

// Sleeps in short slices so that the call's budget and an interrupt still apply.
int KtSleep(lua_State* L) {
  if (lua_gettop(L) > 1) InvalidArguments(L, "sleep");
  double seconds = lua_gettop(L) == 1 ? lua_tonumber(L, 1) : 0;
  if (!(seconds > 0)) {
    std::this_thread::yield();
    return 0;
  }
  if (seconds > 1e9) seconds = 1e9;
  auto end = std::chrono::steady_clock::now() +
             std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                 std::chrono::duration<double>(seconds));
  while (true) {
    CheckBudget(L);
    auto now = std::chrono::steady_clock::now();
    if (now >= end) break;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(end - now, std::chrono::milliseconds(50)));
  }
  return 0;
}

int KtAtoi(lua_State* L) {
  std::string s;
  if (lua_gettop(L) != 1) InvalidArguments(L, "atoi");
  if (!ToLuaString(L, 1, &s)) return 0;
  lua_pushnumber(L, static_cast<double>(ParseInt(s)));
  return 1;
}

int KtAtoix(lua_State* L) {
  std::string s;
  if (lua_gettop(L) != 1) InvalidArguments(L, "atoix");
  if (!ToLuaString(L, 1, &s)) return 0;
  lua_pushnumber(L, static_cast<double>(ParseIntWithUnit(s)));
  return 1;
}

int KtAtof(lua_State* L) {
  std::string s;
  if (lua_gettop(L) != 1) InvalidArguments(L, "atof");
  if (!ToLuaString(L, 1, &s)) return 0;
  lua_pushnumber(L, ParseReal(s));
  return 1;
}

constexpr uint64_t kMask48 = (uint64_t{1} << 48) - 1;

int KtHashMurmur(lua_State* L) {
  if (lua_gettop(L) != 1) InvalidArguments(L, "hash_murmur");
  std::string_view s = Bytes(L, 1);
  uint64_t hash = MurmurHash64(s);
  lua_pushnumber(L, static_cast<double>(hash & kMask48));
  return 1;
}

int KtHashFnv(lua_State* L) {
  if (lua_gettop(L) != 1) InvalidArguments(L, "hash_fnv");
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : Bytes(L, 1)) hash = (hash ^ c) * 109951162811ULL;
  lua_pushnumber(L, static_cast<double>(hash & kMask48));
  return 1;
}

// UTF-8 to code points; a byte that does not start a valid sequence stands for itself.
std::vector<uint32_t> Symbols(std::string_view s, bool utf) {
  std::vector<uint32_t> out;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  for (size_t i = 0; i < n;) {
    uint32_t c = p[i];
    size_t extra = !utf ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra > 0 && i + extra < n) {
      bool valid = true;
      uint32_t cp = c & (0x3F >> extra);
      for (size_t k = 1; valid && k <= extra; k++) {
        valid = (p[i + k] & 0xC0) == 0x80;
        cp = (cp << 6) | (p[i + k] & 0x3F);
      }
      if (valid) {
        out.push_back(cp);
        i += 1 + extra;
        continue;
      }
    }
    out.push_back(c);
    i++;
  }
  return out;
}

int KtLevdist(lua_State* L) {
  int argc = lua_gettop(L);
  if (argc < 2 || argc > 3) InvalidArguments(L, "levdist");
  bool utf = OptBool(L, 3, false);
  std::vector<uint32_t> a = Symbols(Bytes(L, 1), utf);
  std::vector<uint32_t> b = Symbols(Bytes(L, 2), utf);
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); j++) row[j] = j;
  for (size_t i = 1; i <= a.size(); i++) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); j++) {
      size_t above = row[j];
      row[j] = std::min({above + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  lua_pushnumber(L, static_cast<double>(row[b.size()]));
  return 1;
}

uint32_t ToUint32(lua_State* L, int index) {
  return static_cast<uint32_t>(static_cast<uint64_t>(TruncateToInt64(lua_tonumber(L, index))));
}

int KtBit(lua_State* L) {
  int argc = lua_gettop(L);
  if (argc < 2 || argc > 3) InvalidArguments(L, "bit");
  std::string_view mode = CString(L, 1);
  uint32_t num = ToUint32(L, 2);
  uint32_t aux = argc > 2 ? ToUint32(L, 3) : 0;
  if (EqualsIgnoreCase(mode, "and")) {
    num &= aux;
  } else if (EqualsIgnoreCase(mode, "or")) {
    num |= aux;
  } else if (EqualsIgnoreCase(mode, "xor")) {
    num ^= aux;
  } else if (EqualsIgnoreCase(mode, "not")) {
    num = ~num;
  } else if (EqualsIgnoreCase(mode, "left")) {
    num <<= (aux % 32);
  } else if (EqualsIgnoreCase(mode, "right")) {
    num >>= (aux % 32);
  }
  lua_pushnumber(L, num);
  return 1;
}

void PushArray(lua_State* L, const std::vector<std::string_view>& items) {
  lua_createtable(L, static_cast<int>(items.size()), 0);
  for (size_t i = 0; i < items.size(); i++) {
    PushBytes(L, items[i]);
    lua_rawseti(L, -2, static_cast<int>(i + 1));
  }
}

int KtSplit(lua_State* L) {
  int argc = lua_gettop(L);
  if (argc < 1 || argc > 2) InvalidArguments(L, "split");
  std::vector<std::string_view> items;
  if (argc == 2 && !lua_isnil(L, 2)) {
    std::string_view str = CString(L, 1);
    std::string_view delims = CString(L, 2);
    size_t start = 0;
    for (size_t i = 0; i < str.size(); i++) {
      if (delims.find(str[i]) != std::string_view::npos) {
        items.push_back(str.substr(start, i - start));
        start = i + 1;
      }
    }
    items.push_back(str.substr(start));
  } else {
    std::string_view str = Bytes(L, 1);
    size_t start = 0;
    for (size_t i = 0; i < str.size(); i++) {
      if (str[i] == '\0') {
        items.push_back(str.substr(start, i - start));
        start = i + 1;
      }
    }
    items.push_back(str.substr(start));
  }
  PushArray(L, items);
  return 1;
}

int KtStrstr(lua_State* L) {
  int argc = lua_gettop(L);
  if (argc < 2 || argc > 3) InvalidArguments(L, "strstr");
  std::string_view str = CString(L, 1);
  std::string_view pat = CString(L, 2);
  if (argc < 3 || lua_isnil(L, 3)) {
    size_t at = str.find(pat);
    lua_pushnumber(L, at == std::string_view::npos ? 0 : static_cast<double>(at + 1));
    return 1;
  }
  std::string_view alt = CString(L, 3);
  if (pat.empty()) {
    PushBytes(L, str);
    return 1;
  }
  std::string out;
  size_t start = 0;
  for (size_t at; (at = str.find(pat, start)) != std::string_view::npos; start = at + pat.size()) {
    out.append(str.substr(start, at - start)).append(alt);
  }
  out.append(str.substr(start));
  PushBytes(L, out);
  return 1;
}

int KtStrfwm(lua_State* L) {
  if (lua_gettop(L) != 2) InvalidArguments(L, "strfwm");
  std::string_view str = CString(L, 1), pat = CString(L, 2);
  lua_pushboolean(L, str.substr(0, pat.size()) == pat);
  return 1;
}

int KtStrbwm(lua_State* L) {
  if (lua_gettop(L) != 2) InvalidArguments(L, "strbwm");
  std::string_view str = CString(L, 1), pat = CString(L, 2);
  lua_pushboolean(L, str.size() >= pat.size() && str.substr(str.size() - pat.size()) == pat);
  return 1;
}

// POSIX extended regex, leftmost-longest (regcomp). Replacement: $0-$9 groups, $& the
// match, $x a literal x; stops after an empty match.
int KtRegex(lua_State* L) {
  int argc = lua_gettop(L);
  if (argc < 2 || argc > 3) InvalidArguments(L, "regex");
  std::string str(CString(L, 1));
  std::string pat(CString(L, 2));
  bool replace = argc == 3 && !lua_isnil(L, 3);
  std::string alt = replace ? std::string(CString(L, 3)) : std::string();
  regex_t re;
  if (regcomp(&re, pat.c_str(), REG_EXTENDED | (replace ? 0 : REG_NOSUB)) != 0) {
    if (replace) {
      PushBytes(L, str);
    } else {
      lua_pushboolean(L, 0);
    }
    return 1;
  }
  if (!replace) {
    bool match = regexec(&re, str.c_str(), 0, nullptr, 0) == 0;
    regfree(&re);
    lua_pushboolean(L, match);
    return 1;
  }
  std::string out;
  const char* p = str.c_str();
  regmatch_t m[10];
  int flags = 0;
  while (*p != '\0' || flags == 0) {
    if (regexec(&re, p, 10, m, flags) != 0) break;
    out.append(p, static_cast<size_t>(m[0].rm_so));
    for (size_t i = 0; i < alt.size(); i++) {
      char c = alt[i];
      if (c != '$' || i + 1 >= alt.size()) {
        out.push_back(c);
        continue;
      }
      char n = alt[++i];
      int group = n == '&' ? 0 : (n >= '0' && n <= '9') ? n - '0' : -1;
      if (group < 0) {
        out.push_back(n);
      } else if (m[group].rm_so >= 0) {
        out.append(p + m[group].rm_so, static_cast<size_t>(m[group].rm_eo - m[group].rm_so));
      }
    }
    bool empty = m[0].rm_eo == m[0].rm_so;
    p += m[0].rm_eo;
    flags = REG_NOTBOL;
    if (empty) break;
  }
  out.append(p);
  regfree(&re);
  PushBytes(L, out);
  return 1;
}

std::string HexEncode(std::string_view in) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : in) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string HexDecode(std::string_view in) {
  std::string out;
  int high = -1;
  for (unsigned char c : in) {
    if (std::isspace(c)) continue;
    int v = HexDigitValue(c);
    if (v < 0) v = 0;
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<char>(high * 16 + v));
      high = -1;
    }
  }
  return out;
}

int KtCodec(lua_State* L) {
  if (lua_gettop(L) != 2) InvalidArguments(L, "codec");
  std::string mode(CString(L, 1));
  for (char& c : mode) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool decode = !mode.empty() && mode[0] == '~';
  if (decode) mode.erase(0, 1);
  // Text decoders read a C-string; the binary codecs take every byte.
  std::string_view in = Bytes(L, 2);
  std::string_view text = CString(L, 2);
  std::string out;
  bool ok = true;
  if (mode == "url") {
    out = decode ? UrlDecode(text) : UrlEncode(in);
  } else if (mode == "base") {
    out = decode ? Base64Decode(text) : Base64Encode(in);
  } else if (mode == "quote") {
    out = decode ? QuotedPrintableDecode(text) : QuotedPrintableEncode(in);
  } else if (mode == "hex") {
    out = decode ? HexDecode(text) : HexEncode(in);
  } else if (mode == "zlib" || mode == "deflate" || mode == "gzip") {
    int bits = mode == "zlib" ? -15 : mode == "deflate" ? 15 : 31;
    ok = decode ? Inflate(in, bits, SIZE_MAX, &out) : Deflate(in, bits, &out);
  } else {
    ok = false;
  }
  if (!ok) {
    lua_pushnil(L);
    return 1;
  }
  PushBytes(L, out);
  return 1;
}

}  // namespace

void RegisterSerialization(lua_State* L, int module);

void RegisterUtilities(lua_State* L, int module) {
  const luaL_Reg functions[] = {
      {"log", KtLog},
      {"time", KtTime},
      {"sleep", KtSleep},
      {"atoi", KtAtoi},
      {"atoix", KtAtoix},
      {"atof", KtAtof},
      {"hash_murmur", KtHashMurmur},
      {"hash_fnv", KtHashFnv},
      {"levdist", KtLevdist},
      {"bit", KtBit},
      {"split", KtSplit},
      {"strstr", KtStrstr},
      {"strfwm", KtStrfwm},
      {"strbwm", KtStrbwm},
      {"regex", KtRegex},
      {"codec", KtCodec},
  };
  for (const luaL_Reg& f : functions) {
    lua_pushcfunction(L, f.func);
    lua_setfield(L, module, f.name);
  }
  RegisterSerialization(L, module);
}

}  // namespace ryoan::scripting
