#include "storage/status.h"

namespace ryoan::storage {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kSuccess:
      return "success";
    case Code::kNoImpl:
      return "not implemented";
    case Code::kInvalid:
      return "invalid operation";
    case Code::kNoRepos:
      return "no repository";
    case Code::kNoPerm:
      return "no permission";
    case Code::kBroken:
      return "broken file";
    case Code::kDupRec:
      return "record duplication";
    case Code::kNoRec:
      return "no record";
    case Code::kLogic:
      return "logical inconsistency";
    case Code::kSystem:
      return "system error";
    case Code::kMisc:
      return "miscellaneous error";
  }
  return "miscellaneous error";
}

std::string Status::ToString() const {
  std::string out = "DB: ";
  out += std::to_string(static_cast<int>(code_));
  out += ": ";
  out += CodeName(code_);
  out += ": ";
  out += message_;
  return out;
}

}  // namespace ryoan::storage
