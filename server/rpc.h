// The HTTP RPC procedures (spec/http-rpc.md sections 3, 7 and 9): one table names every
// procedure with its handler; RunRpc applies the common parameters around it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/tsv.h"
#include "server/service.h"
#include "storage/db.h"
#include "storage/status.h"

namespace ryoan::server {

// Per-connection RPC state: the cursors of CUR, freed when the connection closes.
struct Session {
  std::map<int64_t, std::unique_ptr<storage::Cursor>> cursors;
};

// One call in progress.
struct RpcCall {
  Service& service;
  Session& session;
  const RecordMap& input;
  RecordMap& output;
  storage::DB* db = nullptr;          // from DB, null if it did not resolve
  storage::Cursor* cursor = nullptr;  // from CUR, null if none
  int64_t cursor_id = 0;
  bool has_cursor_id = false;
  int status = 200;

  // Sets status and ERROR.
  void Fail(int code, std::string message);
  // Maps a storage failure to its status (450 for NoRec/DupRec/Logic, 501 for NoImpl,
  // else 500) with ERROR "DB: <code>: <name>: <message>".
  void FailStorage(const storage::Status& status);
};

using RpcHandler = void (*)(RpcCall& call);

struct Procedure {
  std::string_view name;
  RpcHandler handler;
  bool uses_db;   // false: DB is ignored (void, echo, report, ...)
  bool blocking;  // may take unbounded time (full scans, outside commands): runs on a worker
};

// Finds a procedure by its (decoded) name; null if unknown.
const Procedure* FindProcedure(std::string_view name);

// Runs steps (2)-(5) of spec/http-rpc.md 7 (DB, CUR, the procedure, SIGNAL); WAIT is the
// caller's, because waiting must not block a thread. Returns the HTTP status.
int RunRpc(Service& service, Session& session, std::string_view name, const RecordMap& input,
           RecordMap* output);
// The same with FindProcedure(name) already done by the caller.
int RunRpc(Service& service, Session& session, std::string_view name, const Procedure* procedure,
           const RecordMap& input, RecordMap* output);

// Handler groups, registered in rpc.cc's table.
void RpcVoid(RpcCall& call);
void RpcEcho(RpcCall& call);
void RpcReport(RpcCall& call);
void RpcPlayScript(RpcCall& call);
void RpcTuneReplication(RpcCall& call);
void RpcUlogList(RpcCall& call);
void RpcUlogRemove(RpcCall& call);
void RpcStatus(RpcCall& call);
void RpcClear(RpcCall& call);
void RpcSynchronize(RpcCall& call);
void RpcSet(RpcCall& call);
void RpcAdd(RpcCall& call);
void RpcReplace(RpcCall& call);
void RpcAppend(RpcCall& call);
void RpcIncrement(RpcCall& call);
void RpcIncrementDouble(RpcCall& call);
void RpcCas(RpcCall& call);
void RpcRemove(RpcCall& call);
void RpcGet(RpcCall& call);
void RpcCheck(RpcCall& call);
void RpcSeize(RpcCall& call);
void RpcSetBulk(RpcCall& call);
void RpcRemoveBulk(RpcCall& call);
void RpcGetBulk(RpcCall& call);
void RpcVacuum(RpcCall& call);
void RpcMatchPrefix(RpcCall& call);
void RpcMatchRegex(RpcCall& call);
void RpcMatchSimilar(RpcCall& call);
void RpcCurJump(RpcCall& call);
void RpcCurJumpBack(RpcCall& call);
void RpcCurStep(RpcCall& call);
void RpcCurStepBack(RpcCall& call);
void RpcCurSetValue(RpcCall& call);
void RpcCurRemove(RpcCall& call);
void RpcCurGetKey(RpcCall& call);
void RpcCurGetValue(RpcCall& call);
void RpcCurGet(RpcCall& call);
void RpcCurSeize(RpcCall& call);
void RpcCurDelete(RpcCall& call);

// Parameter helpers shared by the handler files.
// xt: absent -> storage::kNoXt, else the integer parse (garbage -> 0 = now).
int64_t XtParam(const RecordMap& input);
// Flags are true when present, whatever their value.
inline bool FlagParam(const RecordMap& input, std::string_view name) { return input.Has(name); }

}  // namespace ryoan::server
