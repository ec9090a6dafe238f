// KeyComparator: the key orders of tree databases (spec/databases.md 7.1): lex, dec and
// their reverses. Transparent, so std::map lookups take string_view without a copy.
#pragma once

#include <string_view>

namespace ryoan::storage {

class KeyComparator {
 public:
  enum Kind { kLex, kDec, kLexDesc, kDecDesc };
  using is_transparent = void;

  explicit KeyComparator(Kind kind = kLex) : kind_(kind) {}
  // Canonical rcomp name ("lex", "dec", "lexdesc", "decdesc"); unknown names give kLex.
  static KeyComparator FromName(std::string_view name);

  Kind kind() const { return kind_; }
  const char* name() const;
  bool lexical() const { return kind_ == kLex; }

  // <0, 0, >0 in this comparator's order.
  int Compare(std::string_view a, std::string_view b) const;
  bool operator()(std::string_view a, std::string_view b) const { return Compare(a, b) < 0; }

 private:
  Kind kind_;
};

}  // namespace ryoan::storage
