// Cursor procedures (spec/http-rpc.md 9.29-9.37). Cursors live in the connection's Session.
#include "server/rpc.h"

namespace ryoan::server {
namespace {

using storage::Status;

// Resolves the call's cursor or fails with F-CUR.
storage::Cursor* CursorOrFail(RpcCall& call) {
  if (call.cursor == nullptr) call.Fail(400, "no such cursor");
  return call.cursor;
}

void FinishMove(RpcCall& call, const Status& s) {
  if (!s.ok()) call.FailStorage(s);
}

// Reads the current record; `key`/`value`/`xt` outputs chosen by the caller.
void Read(RpcCall& call, bool want_key, bool want_value, bool want_xt) {
  call.service.counters().get++;
  storage::Cursor* cursor = CursorOrFail(call);
  if (cursor == nullptr) {
    call.service.counters().get_misses++;
    return;
  }
  std::string key, value;
  int64_t xt = storage::kXtMax;
  Status s = cursor->Get(want_key ? &key : nullptr, want_value ? &value : nullptr, &xt,
                         FlagParam(call.input, "step"));
  if (!s.ok()) {
    call.service.counters().get_misses++;
    call.FailStorage(s);
    return;
  }
  if (want_key) call.output.Append("key", std::move(key));
  if (want_value) call.output.Append("value", std::move(value));
  if (want_xt && xt < storage::kXtMax) call.output.Append("xt", std::to_string(xt));
}

}  // namespace

void RpcCurJump(RpcCall& call) {
  call.service.counters().misc++;
  storage::Cursor* cursor = CursorOrFail(call);
  if (cursor == nullptr) return;
  const std::string* key = call.input.Find("key");
  FinishMove(call, key ? cursor->Jump(*key) : cursor->Jump());
}

void RpcCurJumpBack(RpcCall& call) {
  call.service.counters().misc++;
  storage::Cursor* cursor = CursorOrFail(call);
  if (cursor == nullptr) return;
  const std::string* key = call.input.Find("key");
  FinishMove(call, key ? cursor->JumpBack(*key) : cursor->JumpBack());
}

void RpcCurStep(RpcCall& call) {
  call.service.counters().misc++;
  storage::Cursor* cursor = CursorOrFail(call);
  if (cursor == nullptr) return;
  FinishMove(call, cursor->Step());
}

void RpcCurStepBack(RpcCall& call) {
  call.service.counters().misc++;
  storage::Cursor* cursor = CursorOrFail(call);
  if (cursor == nullptr) return;
  FinishMove(call, cursor->StepBack());
}

void RpcCurSetValue(RpcCall& call) {
  Counters& c = call.service.counters();
  c.set++;
  storage::Cursor* cursor = CursorOrFail(call);
  if (cursor == nullptr) {
    c.set_misses++;
    return;
  }
  const std::string* value = call.input.Find("value");
  if (value == nullptr) {
    c.set_misses++;
    call.Fail(400, "invalid parameters");
    return;
  }
  Status s = cursor->SetValue(*value, XtParam(call.input), FlagParam(call.input, "step"));
  if (!s.ok()) {
    c.set_misses++;
    call.FailStorage(s);
  }
}

void RpcCurRemove(RpcCall& call) {
  Counters& c = call.service.counters();
  c.remove++;
  storage::Cursor* cursor = CursorOrFail(call);
  if (cursor == nullptr) {
    c.remove_misses++;
    return;
  }
  Status s = cursor->Remove();
  if (!s.ok()) {
    c.remove_misses++;
    call.FailStorage(s);
  }
}

void RpcCurGetKey(RpcCall& call) { Read(call, true, false, false); }
void RpcCurGetValue(RpcCall& call) { Read(call, false, true, false); }
void RpcCurGet(RpcCall& call) { Read(call, true, true, true); }

void RpcCurSeize(RpcCall& call) {
  Counters& c = call.service.counters();
  c.get++;
  storage::Cursor* cursor = CursorOrFail(call);
  if (cursor == nullptr) {
    c.get_misses++;
    return;
  }
  std::string key, value;
  int64_t xt = storage::kXtMax;
  Status s = cursor->Seize(&key, &value, &xt);
  if (!s.ok()) {
    c.get_misses++;
    call.FailStorage(s);
    return;
  }
  call.output.Append("key", std::move(key));
  call.output.Append("value", std::move(value));
  if (xt < storage::kXtMax) call.output.Append("xt", std::to_string(xt));
}

void RpcCurDelete(RpcCall& call) {
  call.service.counters().misc++;
  if (call.has_cursor_id) {
    auto it = call.session.cursors.find(call.cursor_id);
    if (it != call.session.cursors.end()) {
      call.session.cursors.erase(it);
      call.cursor = nullptr;
      return;
    }
  }
  call.Fail(501, "not implemented: cur_delete");
}

}  // namespace ryoan::server
