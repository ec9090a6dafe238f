#include "server/rpc.h"

#include <algorithm>
#include <array>

#include "common/numbers.h"
#include "server/log.h"

namespace ryoan::server {
namespace {

// The procedure table: adding a procedure is one row and one function.
constexpr std::array kProcedures = {
    Procedure{"void", RpcVoid, false, false},
    Procedure{"echo", RpcEcho, false, false},
    Procedure{"report", RpcReport, false, false},
    Procedure{"play_script", RpcPlayScript, false, true},
    Procedure{"tune_replication", RpcTuneReplication, false, false},
    Procedure{"ulog_list", RpcUlogList, false, false},
    Procedure{"ulog_remove", RpcUlogRemove, false, false},
    Procedure{"status", RpcStatus, true, false},
    Procedure{"clear", RpcClear, true, true},
    Procedure{"synchronize", RpcSynchronize, true, true},
    Procedure{"set", RpcSet, true, false},
    Procedure{"add", RpcAdd, true, false},
    Procedure{"replace", RpcReplace, true, false},
    Procedure{"append", RpcAppend, true, false},
    Procedure{"increment", RpcIncrement, true, false},
    Procedure{"increment_double", RpcIncrementDouble, true, false},
    Procedure{"cas", RpcCas, true, false},
    Procedure{"remove", RpcRemove, true, false},
    Procedure{"get", RpcGet, true, false},
    Procedure{"check", RpcCheck, true, false},
    Procedure{"seize", RpcSeize, true, false},
    Procedure{"set_bulk", RpcSetBulk, true, false},
    Procedure{"remove_bulk", RpcRemoveBulk, true, false},
    Procedure{"get_bulk", RpcGetBulk, true, false},
    Procedure{"vacuum", RpcVacuum, true, true},
    Procedure{"match_prefix", RpcMatchPrefix, true, true},
    Procedure{"match_regex", RpcMatchRegex, true, true},
    Procedure{"match_similar", RpcMatchSimilar, true, true},
    Procedure{"cur_jump", RpcCurJump, false, false},
    Procedure{"cur_jump_back", RpcCurJumpBack, false, false},
    Procedure{"cur_step", RpcCurStep, false, false},
    Procedure{"cur_step_back", RpcCurStepBack, false, false},
    Procedure{"cur_set_value", RpcCurSetValue, false, false},
    Procedure{"cur_remove", RpcCurRemove, false, false},
    Procedure{"cur_get_key", RpcCurGetKey, false, false},
    Procedure{"cur_get_value", RpcCurGetValue, false, false},
    Procedure{"cur_get", RpcCurGet, false, false},
    Procedure{"cur_seize", RpcCurSeize, false, false},
    Procedure{"cur_delete", RpcCurDelete, false, false},
};

// FindProcedure runs for every RPC: an open-addressing table of the procedures by a hash of
// the name's length and its first and last bytes, so a lookup compares one or two names.
constexpr size_t kProcedureSlots = 128;

constexpr size_t ProcedureSlot(std::string_view name) {
  return (name.size() * 37 + static_cast<unsigned char>(name.front()) * 5 +
          static_cast<unsigned char>(name.back())) %
         kProcedureSlots;
}

constexpr auto kProcedureTable = [] {
  std::array<int8_t, kProcedureSlots> table{};
  for (auto& slot : table) slot = -1;
  for (size_t i = 0; i < kProcedures.size(); ++i) {
    size_t at = ProcedureSlot(kProcedures[i].name);
    while (table[at] >= 0) at = (at + 1) % kProcedureSlots;
    table[at] = static_cast<int8_t>(i);
  }
  return table;
}();
static_assert(kProcedures.size() < kProcedureSlots / 2);

}  // namespace

const Procedure* FindProcedure(std::string_view name) {
  if (name.empty()) return nullptr;
  for (size_t at = ProcedureSlot(name); kProcedureTable[at] >= 0; at = (at + 1) % kProcedureSlots) {
    const Procedure& p = kProcedures[static_cast<size_t>(kProcedureTable[at])];
    if (p.name == name) return &p;
  }
  return nullptr;
}

void RpcCall::Fail(int code, std::string message) {
  status = code;
  output.Set("ERROR", std::move(message));
}

void RpcCall::FailStorage(const storage::Status& s) {
  int code = 500;
  switch (s.code()) {
    case storage::Code::kNoRec:
    case storage::Code::kDupRec:
    case storage::Code::kLogic:
      code = 450;
      break;
    case storage::Code::kNoImpl:
      code = 501;
      break;
    default:
      LogDatabaseError(s);
      break;
  }
  Fail(code, s.ToString());
}

int64_t XtParam(const RecordMap& input) {
  const std::string* xt = input.Find("xt");
  return xt ? ParseInt(*xt) : storage::kNoXt;
}

int RunRpc(Service& service, Session& session, std::string_view name, const RecordMap& input,
           RecordMap* output) {
  return RunRpc(service, session, name, FindProcedure(name), input, output);
}

int RunRpc(Service& service, Session& session, std::string_view name, const Procedure* procedure,
           const RecordMap& input, RecordMap* output) {
  RpcCall call{service, session, input, *output};

  const std::string* db_param = input.Find("DB");
  call.db = service.ResolveDb(db_param ? std::string_view(*db_param) : std::string_view());

  // CUR: honoured when it starts with a digit; an unknown id with a resolved DB creates an
  // unpositioned cursor (for any procedure that carries CUR).
  const std::string* cur_param = input.Find("CUR");
  if (cur_param && !cur_param->empty() && (*cur_param)[0] >= '0' && (*cur_param)[0] <= '9') {
    call.has_cursor_id = true;
    call.cursor_id = ParseInt(*cur_param);
    auto it = session.cursors.find(call.cursor_id);
    if (it != session.cursors.end()) {
      call.cursor = it->second.get();
    } else if (call.db != nullptr && procedure != nullptr && procedure->handler != RpcCurDelete) {
      auto cursor = call.db->NewCursor();
      call.cursor = cursor.get();
      session.cursors.emplace(call.cursor_id, std::move(cursor));
    }
  }

  bool skip_signal = false;
  if (procedure == nullptr) {
    call.Fail(501, "not implemented: " + std::string(name));
  } else if (procedure->uses_db && call.db == nullptr) {
    call.Fail(400, "no such database");
  } else {
    procedure->handler(call);
    // A known cursor's cur_delete returns early, before SIGNAL (spec 9.37).
    skip_signal = procedure->handler == RpcCurDelete && call.status == 200;
  }

  const std::string* signal = input.Find("SIGNAL");
  if (signal != nullptr && !skip_signal) {
    int64_t waiting = service.conditions().Signal(*signal, input.Has("SIGNALBROAD"));
    output->Set("SIGNALED", std::to_string(waiting));
  }
  return call.status;
}

void RpcVoid(RpcCall&) {}

void RpcEcho(RpcCall& call) {
  for (const auto& [name, value] : call.input.entries()) call.output.Append(name, value);
}

// Lua procedures (spec/lua.md 2.3): `_`-prefixed inputs in, `_`-prefixed outputs out; the
// procedure's return code chooses the status.
void RpcPlayScript(RpcCall& call) {
  scripting::ScriptRuntime* script = call.service.script();
  if (script == nullptr) {
    call.service.counters().script++;
    call.Fail(501, "the scripting extention is disabled");
    return;
  }
  const std::string* name = call.input.Find("name");
  bool valid = name != nullptr && !name->empty();
  for (size_t i = 0; valid && i < name->size(); i++) {
    char c = (*name)[i];
    valid = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }
  if (!valid) {
    call.Fail(400, "invalid parameters");
    return;
  }
  call.service.counters().script++;
  scripting::ScriptInput in;
  for (const auto& [key, value] : call.input.entries()) {
    if (!key.empty() && key[0] == '_') in.emplace_back(std::string_view(key).substr(1), value);
  }
  scripting::ScriptOutput out;
  int code = script->Call(*name, in, &out);
  switch (code) {
    case scripting::kRvSuccess:
      // Two Lua keys can convert to the same bytes (1 and "1"): keep one record per key.
      std::stable_sort(out.begin(), out.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (size_t i = 0; i < out.size(); i++) {
        if (i > 0 && out[i].first == out[i - 1].first) continue;
        call.output.Append("_" + out[i].first, std::move(out[i].second));
      }
      return;
    case scripting::kRvNoImpl:
      call.Fail(501, "no such scripting procedure");
      return;
    case scripting::kRvInvalid:
      call.Fail(400, "the scripting procedure failed");
      return;
    case scripting::kRvLogic:
      call.Fail(450, "the scripting procedure failed");
      return;
    case scripting::kRvTimeout:
      call.Fail(503, "the scripting procedure failed");
      return;
    default:
      call.Fail(500, "the scripting procedure failed");
      return;
  }
}

void RpcTuneReplication(RpcCall& call) {
  if (call.service.options().rts_path.empty()) {
    call.Fail(501, "the RTS file is not set");
    return;
  }
  call.Fail(501, "replication is not implemented yet: tune_replication");
}

// Without -ulog the spec's answer is exact; with it, the update log is still to come.
void RpcUlogList(RpcCall& call) {
  if (call.service.options().ulog_dir.empty()) {
    call.Fail(400, "no update log allows no replication");
    return;
  }
  call.Fail(501, "the update log is not implemented yet: ulog_list");
}

void RpcUlogRemove(RpcCall& call) {
  if (call.service.options().ulog_dir.empty()) {
    call.Fail(400, "no update log allows no replication");
    return;
  }
  call.Fail(501, "the update log is not implemented yet: ulog_remove");
}

}  // namespace ryoan::server
