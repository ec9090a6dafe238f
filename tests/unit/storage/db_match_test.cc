// match_prefix, match_regex, match_similar over every in-memory type (spec/databases.md 5.3).
#include "tests/unit/storage/db_test_util.h"

namespace ryoan::storage::testing {
namespace {

template <typename T>
class MatchTest : public DBTest<T> {
 protected:
  void SetUp() override {
    DBTest<T>::SetUp();
    for (const char* key :
         {"apple", "apricot", "banana", "band", "bandana", "ap", "a1b", "a22b", "x\ny"}) {
      ASSERT_TRUE(this->db_->Set(key, "v").ok());
    }
    ASSERT_TRUE(this->db_->Set(std::string("nul\0apple", 9), "v").ok());
    ASSERT_TRUE(this->db_->Set("apex", "v", 0).ok());  // expires below
    this->Advance(1);
  }
};
TYPED_TEST_SUITE(MatchTest, EngineTypes, EngineTypeNames);

TYPED_TEST(MatchTest, Prefix) {
  DB& db = *this->db_;
  std::vector<std::string> keys;
  ASSERT_TRUE(db.MatchPrefix("ap", -1, &keys).ok());
  std::vector<std::string> expected = {"ap", "apple", "apricot"};  // not the expired apex
  if (TypeParam::kOrdered) {
    EXPECT_EQ(keys, expected);
  } else {
    EXPECT_EQ(Sorted(keys), expected);
  }
  keys.clear();
  ASSERT_TRUE(db.MatchPrefix("ap", 2, &keys).ok());
  EXPECT_EQ(keys.size(), 2u);
  if (TypeParam::kOrdered) {
    EXPECT_EQ(keys, (std::vector<std::string>{"ap", "apple"}));
  }
  keys.clear();
  ASSERT_TRUE(db.MatchPrefix("zz", -1, &keys).ok());
  EXPECT_TRUE(keys.empty());
  ASSERT_TRUE(db.MatchPrefix("", -1, &keys).ok());
  EXPECT_EQ(keys.size(), 10u);
}

TYPED_TEST(MatchTest, Regex) {
  DB& db = *this->db_;
  auto match = [&](const std::string& regex) {
    std::vector<std::string> keys;
    EXPECT_TRUE(db.MatchRegex(regex, -1, &keys).ok()) << regex;
    return Sorted(keys);
  };
  EXPECT_EQ(match("^ban.*a$"), (std::vector<std::string>{"banana", "bandana"}));
  EXPECT_EQ(match("[[:digit:]]"), (std::vector<std::string>{"a1b", "a22b"}));
  EXPECT_EQ(match("^a[0-9]+b$"), (std::vector<std::string>{"a1b", "a22b"}));
  EXPECT_EQ(match("^(an){2}"), (std::vector<std::string>{}));
  EXPECT_EQ(match("(an){2}"), (std::vector<std::string>{"banana"}));
  EXPECT_EQ(match("^ap$|^band$"), (std::vector<std::string>{"ap", "band"}));
  EXPECT_EQ(match("cot"), (std::vector<std::string>{"apricot"}));
  EXPECT_EQ(match("^y"), (std::vector<std::string>{}));  // ^ anchors at the key's start only
  EXPECT_EQ(match("x.y"), (std::vector<std::string>{"x\ny"}));
  // The key is a C string: nothing after the NUL byte is searched.
  EXPECT_EQ(match("^nul"), (std::vector<std::string>{std::string("nul\0apple", 9)}));
  EXPECT_EQ(match("nul.apple"), (std::vector<std::string>{}));
  std::vector<std::string> keys;
  ASSERT_TRUE(db.MatchRegex("a", 3, &keys).ok());
  EXPECT_EQ(keys.size(), 3u);
  Status status = db.MatchRegex("a(b", -1, &keys);
  EXPECT_EQ(status.code(), Code::kLogic);
  EXPECT_EQ(status.message(), "compilation failed");
}

TYPED_TEST(MatchTest, Similar) {
  DB& db = *this->db_;
  std::vector<std::string> keys;
  ASSERT_TRUE(db.MatchSimilar("band", 1, false, -1, &keys).ok());
  // distance 0, then 1; ties by key bytes.
  EXPECT_EQ(keys, (std::vector<std::string>{"band"}));
  keys.clear();
  ASSERT_TRUE(db.MatchSimilar("banda", 2, false, -1, &keys).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"band", "banana", "bandana"}));
  keys.clear();
  ASSERT_TRUE(db.MatchSimilar("apple", 3, false, 2, &keys).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"apple", "ap"}));
  keys.clear();
  ASSERT_TRUE(db.MatchSimilar("apex", 0, false, -1, &keys).ok());
  EXPECT_TRUE(keys.empty());  // expired
  // UTF-8: one code point versus two bytes.
  ASSERT_TRUE(db.Set("caf\xC3\xA9", "v").ok());
  keys.clear();
  ASSERT_TRUE(db.MatchSimilar("cafe", 1, true, -1, &keys).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"caf\xC3\xA9"}));
  keys.clear();
  ASSERT_TRUE(db.MatchSimilar("cafe", 1, false, -1, &keys).ok());
  EXPECT_TRUE(keys.empty());
}

}  // namespace
}  // namespace ryoan::storage::testing
