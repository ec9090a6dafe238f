#include "storage/database_spec.h"

#include <gtest/gtest.h>

namespace ryoan::storage {
namespace {

DatabaseSpec Parse(const std::string& argument) {
  DatabaseSpec spec;
  Status status = ParseDatabaseSpec(argument, &spec);
  EXPECT_TRUE(status.ok()) << argument << ": " << status.ToString();
  return spec;
}

TEST(DatabaseSpecTest, SpecialNamesMustBeTheWholeComponent) {
  EXPECT_EQ(Parse("-").type, DatabaseType::kProtoHash);
  EXPECT_EQ(Parse("+").type, DatabaseType::kProtoTree);
  EXPECT_EQ(Parse(":").type, DatabaseType::kStash);
  EXPECT_EQ(Parse("*").type, DatabaseType::kCacheHash);
  EXPECT_EQ(Parse("%").type, DatabaseType::kCacheTree);
  EXPECT_EQ(Parse("/x/-").type, DatabaseType::kProtoHash);
  DatabaseSpec spec;
  EXPECT_EQ(ParseDatabaseSpec("-foo", &spec).message(), "unknown database type");
  EXPECT_EQ(ParseDatabaseSpec("-foo", &spec).code(), Code::kInvalid);
  EXPECT_EQ(ParseDatabaseSpec("", &spec).code(), Code::kInvalid);
  EXPECT_EQ(ParseDatabaseSpec("casket", &spec).code(), Code::kInvalid);
  EXPECT_EQ(ParseDatabaseSpec("casket.KCH", &spec).code(), Code::kInvalid);  // case-sensitive
}

TEST(DatabaseSpecTest, Extensions) {
  const std::pair<const char*, DatabaseType> cases[] = {
      {"a.kch", DatabaseType::kFileHash},
      {"a.hdb", DatabaseType::kFileHash},
      {"a.kct", DatabaseType::kFileTree},
      {"a.tdb", DatabaseType::kFileTree},
      {"a.kcd", DatabaseType::kDirHash},
      {"a.ddb", DatabaseType::kDirHash},
      {"a.kcf", DatabaseType::kDirTree},
      {"a.fdb", DatabaseType::kDirTree},
      {"a.kcx", DatabaseType::kText},
      {"a.xdb", DatabaseType::kText},
      {"a.txt", DatabaseType::kText},
      {"a.text", DatabaseType::kText},
      {"a.tsv", DatabaseType::kText},
      {"a.csv", DatabaseType::kText},
      {"a.kcph", DatabaseType::kProtoHash},
      {"a.phdb", DatabaseType::kProtoHash},
      {"a.kcpt", DatabaseType::kProtoTree},
      {"a.ptdb", DatabaseType::kProtoTree},
      {"a.kcs", DatabaseType::kStash},
      {"a.sdb", DatabaseType::kStash},
      {"a.kcc", DatabaseType::kCacheHash},
      {"a.cdb", DatabaseType::kCacheHash},
      {"a.kcg", DatabaseType::kCacheTree},
      {"a.gdb", DatabaseType::kCacheTree},
      {"/d.kct/x.y.kch", DatabaseType::kFileHash},
  };
  for (const auto& [argument, type] : cases) EXPECT_EQ(Parse(argument).type, type) << argument;
}

TEST(DatabaseSpecTest, TypeParameterOverridesWithEveryAlias) {
  const std::pair<const char*, DatabaseType> cases[] = {
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
  for (const auto& [name, type] : cases) {
    EXPECT_EQ(Parse(std::string("main#type=") + name).type, type) << name;
  }
  EXPECT_EQ(Parse("x.kch#type=%").type, DatabaseType::kCacheTree);
}

TEST(DatabaseSpecTest, NamePathAndParameters) {
  DatabaseSpec spec = Parse("/var/db/casket.kch#bnum=9#junk#apow=3#bnum=12");
  EXPECT_EQ(spec.argument, "/var/db/casket.kch#bnum=9#junk#apow=3#bnum=12");
  EXPECT_EQ(spec.path, "/var/db/casket.kch");
  EXPECT_EQ(spec.name, "casket.kch");
  EXPECT_EQ(spec.bnum, 12);  // the last one wins
  EXPECT_EQ(spec.params.at("apow"), "3");
  EXPECT_EQ(spec.params.count("junk"), 0u);
  EXPECT_EQ(Parse(":").name, ":");
  spec = Parse("main#type=%");
  EXPECT_EQ(spec.name, "main");
  EXPECT_EQ(spec.path, "main");
  spec = Parse("*");
  EXPECT_EQ(spec.capcnt, -1);
  EXPECT_EQ(spec.capsiz, -1);
  EXPECT_EQ(spec.ktcapcnt, -1);
  EXPECT_EQ(spec.ktcapsiz, -1);
  EXPECT_EQ(spec.bnum, -1);
  EXPECT_FALSE(spec.persistent);
  EXPECT_EQ(spec.rcomp, "lex");
}

TEST(DatabaseSpecTest, ParameterAliases) {
  const std::pair<const char*, const char*> cases[] = {
      {"logger", "log"},
      {"logkind", "logkinds"},
      {"lpx", "logpx"},
      {"metatrigger", "mtrg"},
      {"meta_trigger", "mtrg"},
      {"mtpx", "mtrgpx"},
      {"buckets", "bnum"},
      {"capcount", "capcnt"},
      {"cap_count", "capcnt"},
      {"capsize", "capsiz"},
      {"cap_size", "capsiz"},
      {"options", "opts"},
      {"compressor", "zcomp"},
      {"pass", "zkey"},
      {"password", "zkey"},
      {"alignment", "apow"},
      {"fbp", "fpow"},
      {"map", "msiz"},
      {"defrag", "dfunit"},
      {"page", "psiz"},
      {"cache", "pccap"},
      {"ktoptions", "ktopts"},
      {"ktcapcount", "ktcapcnt"},
      {"ktcap_count", "ktcapcnt"},
      {"ktcapsize", "ktcapsiz"},
      {"ktcap_size", "ktcapsiz"},
  };
  for (const auto& [alias, canonical] : cases) {
    DatabaseSpec spec = Parse(std::string("*#") + alias + "=7");
    EXPECT_EQ(spec.params.count(alias), 0u) << alias;
    ASSERT_EQ(spec.params.count(canonical), 1u) << alias;
    EXPECT_EQ(spec.params.at(canonical), "7");
  }
  DatabaseSpec spec = Parse("*#capcount=10k#cap_size=1m#ktcapcount=5#ktcap_size=2g#buckets=3");
  EXPECT_EQ(spec.capcnt, 10240);
  EXPECT_EQ(spec.capsiz, 1048576);
  EXPECT_EQ(spec.ktcapcnt, 5);
  EXPECT_EQ(spec.ktcapsiz, int64_t{2} << 30);
  EXPECT_EQ(spec.bnum, 3);
  EXPECT_EQ(Parse("*#capcnt=1e3").capcnt, int64_t{1} << 60);  // atoix: 'e' is exa
}

TEST(DatabaseSpecTest, ComparatorsAndOptions) {
  const std::pair<const char*, const char*> cases[] = {
      {"lex", "lex"},         {"lexical", "lex"},         {"dec", "dec"},
      {"decimal", "dec"},     {"lexdesc", "lexdesc"},     {"lexicaldesc", "lexdesc"},
      {"decdesc", "decdesc"}, {"decimaldesc", "decdesc"},
  };
  for (const auto& [name, canonical] : cases) {
    EXPECT_EQ(Parse(std::string("%#rcomp=") + name).rcomp, canonical) << name;
    EXPECT_EQ(Parse(std::string("%#comparator=") + name).rcomp, canonical) << name;
  }
  EXPECT_TRUE(Parse(":#ktopts=p").persistent);
  EXPECT_TRUE(Parse(":#ktoptions=p").persistent);
  EXPECT_FALSE(Parse(":#ktopts=x").persistent);
  EXPECT_FALSE(Parse(":#KTOPTS=p").persistent);  // names are case-sensitive
}

}  // namespace
}  // namespace ryoan::storage
