// FindProcedure's hashed table must find every procedure of spec/http-rpc.md by its exact name
// and nothing else.
#include <gtest/gtest.h>

#include <string>

#include "server/rpc.h"

namespace ryoan::server {
namespace {

constexpr std::string_view kNames[] = {
    "void",
    "echo",
    "report",
    "play_script",
    "tune_replication",
    "ulog_list",
    "ulog_remove",
    "status",
    "clear",
    "synchronize",
    "set",
    "add",
    "replace",
    "append",
    "increment",
    "increment_double",
    "cas",
    "remove",
    "get",
    "check",
    "seize",
    "set_bulk",
    "remove_bulk",
    "get_bulk",
    "vacuum",
    "match_prefix",
    "match_regex",
    "match_similar",
    "cur_jump",
    "cur_jump_back",
    "cur_step",
    "cur_step_back",
    "cur_set_value",
    "cur_remove",
    "cur_get_key",
    "cur_get_value",
    "cur_get",
    "cur_seize",
    "cur_delete",
};

TEST(FindProcedureTest, FindsEveryProcedureByItsName) {
  for (std::string_view name : kNames) {
    const Procedure* p = FindProcedure(name);
    ASSERT_NE(p, nullptr) << name;
    EXPECT_EQ(p->name, name);
  }
}

TEST(FindProcedureTest, NearMissesAreUnknown) {
  for (std::string_view name : kNames) {
    std::string s(name);
    EXPECT_EQ(FindProcedure(s + "x"), nullptr) << s;
    EXPECT_EQ(FindProcedure(s.substr(0, s.size() - 1)), nullptr) << s;
    std::string upper = s;
    upper[0] = static_cast<char>(upper[0] - 32);
    EXPECT_EQ(FindProcedure(upper), nullptr) << upper;
    std::string middle = s;
    middle[s.size() / 2] = '#';
    EXPECT_EQ(FindProcedure(middle), nullptr) << middle;
  }
  EXPECT_EQ(FindProcedure(""), nullptr);
  EXPECT_EQ(FindProcedure(std::string_view("set\0", 4)), nullptr);
}

}  // namespace
}  // namespace ryoan::server
