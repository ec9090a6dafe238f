#include "storage/database_spec.h"

#include <string_view>
#include <utility>
#include <vector>

#include "common/numbers.h"

namespace ryoan::storage {
namespace {

struct Alias {
  std::string_view name;
  std::string_view canonical;
};

// Parameter names as users may spell them -> the one name the rest of the code reads.
constexpr Alias kParamAliases[] = {
    {"logger", "log"},           {"logkind", "logkinds"},   {"lpx", "logpx"},
    {"metatrigger", "mtrg"},     {"meta_trigger", "mtrg"},  {"mtpx", "mtrgpx"},
    {"buckets", "bnum"},         {"capcount", "capcnt"},    {"cap_count", "capcnt"},
    {"capsize", "capsiz"},       {"cap_size", "capsiz"},    {"options", "opts"},
    {"compressor", "zcomp"},     {"pass", "zkey"},          {"password", "zkey"},
    {"alignment", "apow"},       {"fbp", "fpow"},           {"map", "msiz"},
    {"defrag", "dfunit"},        {"page", "psiz"},          {"cache", "pccap"},
    {"comparator", "rcomp"},     {"ktoptions", "ktopts"},   {"ktcapcount", "ktcapcnt"},
    {"ktcap_count", "ktcapcnt"}, {"ktcapsize", "ktcapsiz"}, {"ktcap_size", "ktcapsiz"},
};

struct TypeName {
  std::string_view name;
  DatabaseType type;
};

// Names accepted by "#type=".
constexpr TypeName kTypeNames[] = {
    {"-", DatabaseType::kProtoHash},    {"kcph", DatabaseType::kProtoHash},
    {"phdb", DatabaseType::kProtoHash}, {"phash", DatabaseType::kProtoHash},
    {"+", DatabaseType::kProtoTree},    {"kcpt", DatabaseType::kProtoTree},
    {"ptdb", DatabaseType::kProtoTree}, {"ptree", DatabaseType::kProtoTree},
    {":", DatabaseType::kStash},        {"kcs", DatabaseType::kStash},
    {"sdb", DatabaseType::kStash},      {"stash", DatabaseType::kStash},
    {"*", DatabaseType::kCacheHash},    {"kcc", DatabaseType::kCacheHash},
    {"cdb", DatabaseType::kCacheHash},  {"cache", DatabaseType::kCacheHash},
    {"%", DatabaseType::kCacheTree},    {"kcg", DatabaseType::kCacheTree},
    {"gdb", DatabaseType::kCacheTree},  {"grass", DatabaseType::kCacheTree},
    {"kch", DatabaseType::kFileHash},   {"hdb", DatabaseType::kFileHash},
    {"hash", DatabaseType::kFileHash},  {"kct", DatabaseType::kFileTree},
    {"tdb", DatabaseType::kFileTree},   {"tree", DatabaseType::kFileTree},
    {"kcd", DatabaseType::kDirHash},    {"ddb", DatabaseType::kDirHash},
    {"dir", DatabaseType::kDirHash},    {"directory", DatabaseType::kDirHash},
    {"kcf", DatabaseType::kDirTree},    {"fdb", DatabaseType::kDirTree},
    {"for", DatabaseType::kDirTree},    {"forest", DatabaseType::kDirTree},
    {"kcx", DatabaseType::kText},       {"xdb", DatabaseType::kText},
    {"txt", DatabaseType::kText},       {"text", DatabaseType::kText},
};

// File extensions (text after the last '.') that select a type.
constexpr TypeName kExtensions[] = {
    {"kch", DatabaseType::kFileHash},   {"hdb", DatabaseType::kFileHash},
    {"kct", DatabaseType::kFileTree},   {"tdb", DatabaseType::kFileTree},
    {"kcd", DatabaseType::kDirHash},    {"ddb", DatabaseType::kDirHash},
    {"kcf", DatabaseType::kDirTree},    {"fdb", DatabaseType::kDirTree},
    {"kcx", DatabaseType::kText},       {"xdb", DatabaseType::kText},
    {"txt", DatabaseType::kText},       {"text", DatabaseType::kText},
    {"tsv", DatabaseType::kText},       {"csv", DatabaseType::kText},
    {"kcph", DatabaseType::kProtoHash}, {"phdb", DatabaseType::kProtoHash},
    {"kcpt", DatabaseType::kProtoTree}, {"ptdb", DatabaseType::kProtoTree},
    {"kcs", DatabaseType::kStash},      {"sdb", DatabaseType::kStash},
    {"kcc", DatabaseType::kCacheHash},  {"cdb", DatabaseType::kCacheHash},
    {"kcg", DatabaseType::kCacheTree},  {"gdb", DatabaseType::kCacheTree},
};

constexpr Alias kComparatorAliases[] = {
    {"lex", "lex"},         {"lexical", "lex"},         {"dec", "dec"},
    {"decimal", "dec"},     {"lexdesc", "lexdesc"},     {"lexicaldesc", "lexdesc"},
    {"decdesc", "decdesc"}, {"decimaldesc", "decdesc"},
};

template <typename Entry, size_t N>
const Entry* Lookup(const Entry (&table)[N], std::string_view name) {
  for (const Entry& entry : table) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

// The type named by the last path component, if any.
bool TypeFromComponent(std::string_view component, DatabaseType* type) {
  if (component.size() == 1) {
    const TypeName* special = Lookup(kTypeNames, component);
    if (special != nullptr) {
      *type = special->type;
      return true;
    }
  }
  size_t dot = component.rfind('.');
  if (dot == std::string_view::npos) return false;
  const TypeName* ext = Lookup(kExtensions, component.substr(dot + 1));
  if (ext == nullptr) return false;
  *type = ext->type;
  return true;
}

int64_t NumericParam(const std::map<std::string, std::string>& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? -1 : ParseIntWithUnit(it->second);
}

}  // namespace

Status ParseDatabaseSpec(const std::string& argument, DatabaseSpec* spec) {
  *spec = DatabaseSpec();
  spec->argument = argument;

  std::vector<std::string_view> pieces;
  std::string_view rest = argument;
  for (;;) {
    size_t hash = rest.find('#');
    pieces.push_back(rest.substr(0, hash));
    if (hash == std::string_view::npos) break;
    rest.remove_prefix(hash + 1);
  }
  spec->path = std::string(pieces[0]);
  size_t slash = spec->path.rfind('/');
  spec->name = slash == std::string::npos ? spec->path : spec->path.substr(slash + 1);

  for (size_t i = 1; i < pieces.size(); ++i) {
    size_t eq = pieces[i].find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = pieces[i].substr(0, eq);
    const Alias* alias = Lookup(kParamAliases, name);
    if (alias != nullptr) name = alias->canonical;
    spec->params[std::string(name)] = std::string(pieces[i].substr(eq + 1));
  }

  bool known = TypeFromComponent(spec->name, &spec->type);
  auto type_param = spec->params.find("type");
  if (type_param != spec->params.end()) {
    // An unrecognised value leaves the type the path gave, like any bad parameter value.
    const TypeName* named = Lookup(kTypeNames, type_param->second);
    if (named != nullptr) {
      spec->type = named->type;
      known = true;
    }
  }
  if (!known) return Status::Invalid("unknown database type");

  spec->capcnt = NumericParam(spec->params, "capcnt");
  spec->capsiz = NumericParam(spec->params, "capsiz");
  spec->ktcapcnt = NumericParam(spec->params, "ktcapcnt");
  spec->ktcapsiz = NumericParam(spec->params, "ktcapsiz");
  spec->bnum = NumericParam(spec->params, "bnum");
  auto opts = spec->params.find("ktopts");
  spec->persistent = opts != spec->params.end() && opts->second.find('p') != std::string::npos;
  auto rcomp = spec->params.find("rcomp");
  if (rcomp != spec->params.end()) {
    const Alias* comparator = Lookup(kComparatorAliases, rcomp->second);
    if (comparator != nullptr) {
      spec->rcomp = std::string(comparator->canonical);
      rcomp->second = spec->rcomp;
    }
  }
  return Status::OK();
}

}  // namespace ryoan::storage
