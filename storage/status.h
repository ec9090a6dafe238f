// Status: the result of a storage operation, carrying Kyoto Cabinet's error codes, which
// travel to clients verbatim ("DB: 7: no record: no record").
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace ryoan::storage {

enum class Code : int {
  kSuccess = 0,
  kNoImpl = 1,   // "not implemented"
  kInvalid = 2,  // "invalid operation"
  kNoRepos = 3,  // "no repository"
  kNoPerm = 4,   // "no permission"
  kBroken = 5,   // "broken file"
  kDupRec = 6,   // "record duplication"
  kNoRec = 7,    // "no record"
  kLogic = 8,    // "logical inconsistency"
  kSystem = 9,   // "system error"
  kMisc = 15,    // "miscellaneous error"
};

// The name clients see for a code, e.g. "no record".
std::string_view CodeName(Code code);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }
  static Status NoImpl(std::string m = "not implemented") { return {Code::kNoImpl, std::move(m)}; }
  static Status Invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
  static Status NoPerm(std::string m = "permission denied") {
    return {Code::kNoPerm, std::move(m)};
  }
  static Status DupRec() { return {Code::kDupRec, "record duplication"}; }
  static Status NoRec(std::string m = "no record") { return {Code::kNoRec, std::move(m)}; }
  static Status Logic(std::string m = "logical inconsistency") {
    return {Code::kLogic, std::move(m)};
  }
  static Status System(std::string m) { return {Code::kSystem, std::move(m)}; }
  static Status Misc(std::string m) { return {Code::kMisc, std::move(m)}; }

  bool ok() const { return code_ == Code::kSuccess; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "DB: <code>: <name>: <message>", the form RPC and REST replies carry.
  std::string ToString() const;

 private:
  Code code_ = Code::kSuccess;
  std::string message_;
};

}  // namespace ryoan::storage
