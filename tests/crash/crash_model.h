// The crash harness's shared vocabulary: the operations the writer performs, their one-line
// text form on the acknowledgement pipe, and an exact model of what each does to the
// database. Writer and checker both apply every operation to their own model, so each side
// can verify the other (the writer checks every DB reply, the checker checks the reopened
// file).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/status.h"

namespace ryoan::crash {

// A stored record as the model knows it. Expiration times used by the harness are either
// far in the past (expired at any check) or far in the future, never near the present, so
// "expired" does not depend on when the check runs.
struct Rec {
  std::string value;
  int64_t xt = 0;
};
using Model = std::map<std::string, Rec>;

// xt arguments the writer uses (absolute times only, so the stored xt is known exactly).
inline constexpr int64_t kExpiredXt = 1000;       // 1970: expired
inline constexpr int64_t kFutureXt = 4102444800;  // 2100-01-01: live
inline bool Live(const Rec& rec) { return rec.xt > 1000000; }

struct Op {
  uint64_t id = 0;
  std::string kind;  // set append incr incrd remove setbulk removebulk cas sync
  bool atomic = false;
  std::vector<std::string> keys;
  std::vector<uint64_t> lens;  // value lengths (set, append, setbulk)
  int64_t xt_arg = 0;
  int64_t inum = 0, iorig = 0;
  double dnum = 0, dorig = 0;
  // cas: "-" (absent), "c:<hash>" (the current live value, with its hash), "w<len>" (a value
  // generated for this op, usually not the current one).
  std::string cas_old;
  std::string cas_new;  // "-" (remove) or a length
};

// What an operation must return.
struct Expect {
  storage::Code code = storage::Code::kSuccess;
  int64_t count = 0;    // removebulk
  int64_t iresult = 0;  // incr
  double dresult = 0;   // incrd
};

// Deterministic value bytes (all 256 byte values occur) for operation `id`, slot `slot`.
std::string GenValue(uint64_t seed, uint64_t id, uint64_t slot, uint64_t len);
uint64_t Hash64(std::string_view data);
std::string Hex(std::string_view data);
bool Unhex(std::string_view hex, std::string* out);

// "B <id> <kind> ..." without the newline, and back.
std::string FormatOp(const Op& op);
bool ParseOp(std::string_view line, Op* op, std::string* error);

// Resolves the cas old value against the model. False if "c:<hash>" does not match the
// model's live value (the two sides' models diverged).
bool ResolveCasOld(const Op& op, uint64_t seed, const Model& model,
                   std::optional<std::string>* oval);

// Applies `op` to `model` exactly as storage::DB does and returns what the DB must reply.
// False with `error` if the op cannot be interpreted against this model.
bool Apply(const Op& op, uint64_t seed, Model* model, Expect* expect, std::string* error);

// The keys an operation may change.
std::vector<std::string> AffectedKeys(const Op& op);

}  // namespace ryoan::crash
