// Key searches: match_prefix, match_regex, match_similar (spec/databases.md 5.3). They scan
// with an engine cursor, so other clients are not blocked, and leave out expired keys (the
// deviation spec/http-rpc.md 9.28 allows).
#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "storage/db.h"
#include "storage/key_comparator.h"
#include "storage/tree_engine.h"

namespace ryoan::storage {
namespace {

// Copies the key and xt of the record it is shown.
class KeyReader final : public RecordVisitor {
 public:
  Decision VisitFull(std::string_view key, std::string_view, int64_t xt) override {
    key_.assign(key);
    xt_ = xt;
    return Decision::Keep();
  }
  const std::string& key() const { return key_; }
  int64_t xt() const { return xt_; }

 private:
  std::string key_;
  int64_t xt_ = 0;
};

// Code points of UTF-8 text; a byte that does not start a valid sequence counts as one.
std::vector<uint32_t> CodePoints(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int extra = 0;  // continuation bytes announced by the lead byte
    if (c >= 0xC0 && c < 0xE0) {
      extra = 1;
    } else if (c >= 0xE0 && c < 0xF0) {
      extra = 2;
    } else if (c >= 0xF0 && c < 0xF8) {
      extra = 3;
    }
    if (i + extra >= s.size()) extra = 0;  // truncated sequence
    uint32_t cp = extra == 0 ? c : c & (0x3F >> extra);
    bool valid = true;
    for (int k = 1; k <= extra; ++k) {
      unsigned char cont = static_cast<unsigned char>(s[i + k]);
      if ((cont & 0xC0) != 0x80) {
        valid = false;
        break;
      }
      cp = cp << 6 | (cont & 0x3F);
    }
    if (!valid) {
      cp = c;
      extra = 0;
    }
    out.push_back(cp);
    i += 1 + extra;
  }
  return out;
}

std::vector<uint32_t> Bytes(std::string_view s) {
  return std::vector<uint32_t>(reinterpret_cast<const unsigned char*>(s.data()),
                               reinterpret_cast<const unsigned char*>(s.data()) + s.size());
}

// Levenshtein distance, or range + 1 as soon as it is known to exceed `range`.
int64_t BoundedDistance(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b,
                        int64_t range, std::vector<int64_t>* row) {
  int64_t la = static_cast<int64_t>(a.size());
  int64_t lb = static_cast<int64_t>(b.size());
  if (std::abs(la - lb) > range) return range + 1;
  row->resize(static_cast<size_t>(lb) + 1);
  for (int64_t j = 0; j <= lb; ++j) (*row)[j] = j;
  for (int64_t i = 1; i <= la; ++i) {
    int64_t diagonal = (*row)[0];
    (*row)[0] = i;
    int64_t best = i;
    for (int64_t j = 1; j <= lb; ++j) {
      int64_t above = (*row)[j];
      int64_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      (*row)[j] = std::min({above + 1, (*row)[j - 1] + 1, diagonal + cost});
      diagonal = above;
      best = std::min(best, (*row)[j]);
    }
    if (best > range) return range + 1;  // every later row is at least this far
  }
  return (*row)[lb];
}

}  // namespace

void DB::ScanKeys(const std::string_view* start,
                  const std::function<bool(std::string_view key, int64_t xt)>& fn) {
  std::unique_ptr<EngineCursor> cursor = engine_->NewCursor();
  Status status = start != nullptr ? cursor->Jump(*start) : cursor->Jump();
  if (!status.ok()) return;
  KeyReader reader;
  while (cursor->Accept(reader, /*writable=*/false, /*step=*/true).ok()) {
    if (!fn(reader.key(), reader.xt())) return;
  }
}

Status DB::MatchPrefix(std::string_view prefix, int64_t max, std::vector<std::string>* keys) {
  if (max == 0) return Status::OK();
  int64_t now = Now();
  auto* tree = dynamic_cast<TreeEngine*>(engine_.get());
  bool lexical = tree != nullptr && tree->comparator().lexical();
  auto collect = [&](std::string_view key, int64_t xt) {
    bool match = key.substr(0, prefix.size()) == prefix;
    if (!match) return !lexical;  // in lexical order the first miss ends the range
    if (!expired(xt, now)) keys->emplace_back(key);
    return max < 0 || static_cast<int64_t>(keys->size()) < max;
  };
  ScanKeys(lexical ? &prefix : nullptr, collect);
  return Status::OK();
}

Status DB::MatchRegex(std::string_view regex, int64_t max, std::vector<std::string>* keys) {
  // POSIX ERE semantics on bytes: ^ and $ anchor at the ends of the key only, '.' matches a
  // newline too. Perl classes and \b are accepted as GNU regcomp accepts \w and \b.
  RE2::Options options;
  options.set_posix_syntax(true);
  options.set_longest_match(true);
  options.set_one_line(true);
  options.set_dot_nl(true);
  options.set_perl_classes(true);
  options.set_word_boundary(true);
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  RE2 re(regex, options);
  if (!re.ok()) return Status::Logic("compilation failed");
  if (max == 0) return Status::OK();
  int64_t now = Now();
  ScanKeys(nullptr, [&](std::string_view key, int64_t xt) {
    std::string_view c_string = key.substr(0, key.find('\0'));
    if (!expired(xt, now) && RE2::PartialMatch(c_string, re)) keys->emplace_back(key);
    return max < 0 || static_cast<int64_t>(keys->size()) < max;
  });
  return Status::OK();
}

Status DB::MatchSimilar(std::string_view origin, int64_t range, bool utf, int64_t max,
                        std::vector<std::string>* keys) {
  if (max == 0 || range < 0) return Status::OK();
  int64_t now = Now();
  std::vector<uint32_t> target = utf ? CodePoints(origin) : Bytes(origin);
  std::vector<uint32_t> symbols;
  std::vector<int64_t> row;
  struct Hit {
    int64_t distance;
    std::string key;
    size_t order;
  };
  std::vector<Hit> hits;
  ScanKeys(nullptr, [&](std::string_view key, int64_t xt) {
    if (expired(xt, now)) return true;
    // A byte count is an upper bound on a code point count, so the cheap test is exact
    // for bytes and a safe prefilter otherwise.
    int64_t length = static_cast<int64_t>(key.size());
    int64_t target_length = static_cast<int64_t>(target.size());
    if (!utf && std::abs(length - target_length) > range) return true;
    if (utf && length + range < target_length) return true;
    symbols = utf ? CodePoints(key) : Bytes(key);
    int64_t distance = BoundedDistance(symbols, target, range, &row);
    if (distance <= range) hits.push_back({distance, std::string(key), hits.size()});
    return true;
  });
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) {
    return std::tie(a.distance, a.key, a.order) < std::tie(b.distance, b.key, b.order);
  });
  if (max >= 0 && static_cast<int64_t>(hits.size()) > max) hits.resize(static_cast<size_t>(max));
  for (Hit& hit : hits) keys->push_back(std::move(hit.key));
  return Status::OK();
}

}  // namespace ryoan::storage
