#include "client/rpc_client.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "common/codec.h"

namespace ryoan::client {
namespace {

int64_t ToInt(const std::string* s) { return s ? std::strtoll(s->c_str(), nullptr, 10) : 0; }

std::string_view MediaTypeOf(std::string_view content_type) {
  size_t semi = content_type.find(';');
  std::string_view media = content_type.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return media;
}

void FillRecord(const RecordMap& out, RecordResult* r) {
  if (const std::string* v = out.Find("key")) r->key = *v;
  if (const std::string* v = out.Find("value")) r->value = *v;
  if (const std::string* v = out.Find("xt")) r->xt = ToInt(v);
}

}  // namespace

bool RpcClient::Open(const std::string& host, int port, double timeout) {
  return session_.Open(host, port, timeout);
}

void RpcClient::Close() { session_.Close(); }

int RpcClient::Call(std::string_view name, const RecordMap& in, RecordMap* out) {
  if (out) out->clear();
  ColumnEncoding enc = ChooseOutputEncoding(in);
  std::string body;
  EncodeTsv(in, enc, &body);
  std::vector<HttpResponse::Header> headers = {{"Content-Type", std::string(TsvContentType(enc))}};
  std::string target = "/rpc/" + UrlEncode(name);
  ReadResult rc = session_.Exchange("POST", target, headers, body, &last_response_);
  if (rc != ReadResult::kOk) {
    last_response_.status = kTransportError;
    if (out) out->Set("ERROR", std::string("transport error: ") + ReadResultName(rc));
    return kTransportError;
  }
  if (out) {
    const std::string* ct = last_response_.FindHeader("Content-Type");
    if (ct && MediaTypeOf(*ct) == "text/tab-separated-values") {
      DecodeTsv(last_response_.body, ParseColumnEncoding(*ct), out);
    }
  }
  return last_response_.status;
}

RpcResult RpcClient::CallResult(std::string_view name, const RecordMap& in) {
  RpcResult r;
  r.status = Call(name, in, &r.out);
  if (const std::string* e = r.out.Find("ERROR")) r.error = *e;
  return r;
}

RecordMap RpcClient::WithDb() const {
  RecordMap in;
  if (!db_.empty()) in.Set("DB", db_);
  return in;
}

RpcResult RpcClient::Void() { return CallResult("void", RecordMap()); }

RpcResult RpcClient::Echo(const RecordMap& in) { return CallResult("echo", in); }

RpcResult RpcClient::Report() { return CallResult("report", RecordMap()); }

RpcResult RpcClient::Status() { return CallResult("status", WithDb()); }

IntResult RpcClient::Count() {
  IntResult r;
  static_cast<RpcResult&>(r) = Status();
  r.value = ToInt(r.Find("count"));
  return r;
}

IntResult RpcClient::Size() {
  IntResult r;
  static_cast<RpcResult&>(r) = Status();
  r.value = ToInt(r.Find("size"));
  return r;
}

RpcResult RpcClient::Clear() { return CallResult("clear", WithDb()); }

RpcResult RpcClient::Synchronize(bool hard, std::string_view command) {
  RecordMap in = WithDb();
  if (hard) in.Set("hard", "");
  if (!command.empty()) in.Set("command", std::string(command));
  return CallResult("synchronize", in);
}

RpcResult RpcClient::Vacuum(std::optional<int64_t> step) {
  RecordMap in = WithDb();
  if (step) in.Set("step", std::to_string(*step));
  return CallResult("vacuum", in);
}

RpcResult RpcClient::Store(std::string_view name, std::string_view key, std::string_view value,
                           std::optional<int64_t> xt) {
  RecordMap in = WithDb();
  in.Set("key", std::string(key));
  in.Set("value", std::string(value));
  if (xt) in.Set("xt", std::to_string(*xt));
  return CallResult(name, in);
}

RpcResult RpcClient::Set(std::string_view key, std::string_view value, std::optional<int64_t> xt) {
  return Store("set", key, value, xt);
}

RpcResult RpcClient::Add(std::string_view key, std::string_view value, std::optional<int64_t> xt) {
  return Store("add", key, value, xt);
}

RpcResult RpcClient::Replace(std::string_view key, std::string_view value,
                             std::optional<int64_t> xt) {
  return Store("replace", key, value, xt);
}

RpcResult RpcClient::Append(std::string_view key, std::string_view value,
                            std::optional<int64_t> xt) {
  return Store("append", key, value, xt);
}

RecordResult RpcClient::ReadRecord(std::string_view name, std::string_view key) {
  RecordMap in = WithDb();
  in.Set("key", std::string(key));
  RecordResult r;
  static_cast<RpcResult&>(r) = CallResult(name, in);
  FillRecord(r.out, &r);
  r.key.clear();
  return r;
}

RecordResult RpcClient::Get(std::string_view key) { return ReadRecord("get", key); }

RecordResult RpcClient::Seize(std::string_view key) { return ReadRecord("seize", key); }

IntResult RpcClient::Check(std::string_view key) {
  RecordMap in = WithDb();
  in.Set("key", std::string(key));
  IntResult r;
  static_cast<RpcResult&>(r) = CallResult("check", in);
  r.value = ToInt(r.Find("vsiz"));
  return r;
}

RpcResult RpcClient::Remove(std::string_view key) {
  RecordMap in = WithDb();
  in.Set("key", std::string(key));
  return CallResult("remove", in);
}

IntResult RpcClient::Increment(std::string_view key, int64_t num, std::optional<std::string> orig,
                               std::optional<int64_t> xt) {
  RecordMap in = WithDb();
  in.Set("key", std::string(key));
  in.Set("num", std::to_string(num));
  if (orig) in.Set("orig", *orig);
  if (xt) in.Set("xt", std::to_string(*xt));
  IntResult r;
  static_cast<RpcResult&>(r) = CallResult("increment", in);
  r.value = ToInt(r.Find("num"));
  return r;
}

RealResult RpcClient::IncrementDouble(std::string_view key, double num,
                                      std::optional<std::string> orig, std::optional<int64_t> xt) {
  RecordMap in = WithDb();
  in.Set("key", std::string(key));
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", num);
  in.Set("num", buf);
  if (orig) in.Set("orig", *orig);
  if (xt) in.Set("xt", std::to_string(*xt));
  RealResult r;
  static_cast<RpcResult&>(r) = CallResult("increment_double", in);
  if (const std::string* v = r.Find("num")) {
    r.text = *v;
    r.value = std::strtod(v->c_str(), nullptr);
  }
  return r;
}

RpcResult RpcClient::Cas(std::string_view key, std::optional<std::string> oval,
                         std::optional<std::string> nval, std::optional<int64_t> xt) {
  RecordMap in = WithDb();
  in.Set("key", std::string(key));
  if (oval) in.Set("oval", *oval);
  if (nval) in.Set("nval", *nval);
  if (xt) in.Set("xt", std::to_string(*xt));
  return CallResult("cas", in);
}

IntResult RpcClient::SetBulk(const std::map<std::string, std::string>& records,
                             std::optional<int64_t> xt, bool atomic) {
  RecordMap in = WithDb();
  if (xt) in.Set("xt", std::to_string(*xt));
  if (atomic) in.Set("atomic", "");
  for (const auto& [k, v] : records) in.Set("_" + k, v);
  IntResult r;
  static_cast<RpcResult&>(r) = CallResult("set_bulk", in);
  r.value = ToInt(r.Find("num"));
  return r;
}

IntResult RpcClient::RemoveBulk(const std::vector<std::string>& keys, bool atomic) {
  RecordMap in = WithDb();
  if (atomic) in.Set("atomic", "");
  for (const std::string& k : keys) in.Set("_" + k, "");
  IntResult r;
  static_cast<RpcResult&>(r) = CallResult("remove_bulk", in);
  r.value = ToInt(r.Find("num"));
  return r;
}

BulkResult RpcClient::GetBulk(const std::vector<std::string>& keys, bool atomic) {
  RecordMap in = WithDb();
  if (atomic) in.Set("atomic", "");
  for (const std::string& k : keys) in.Set("_" + k, "");
  BulkResult r;
  static_cast<RpcResult&>(r) = CallResult("get_bulk", in);
  for (const auto& [name, value] : r.out.entries()) {
    if (!name.empty() && name[0] == '_') r.records[name.substr(1)] = value;
  }
  r.num = ToInt(r.Find("num"));
  return r;
}

KeysResult RpcClient::Match(std::string_view name, RecordMap in) {
  KeysResult r;
  static_cast<RpcResult&>(r) = CallResult(name, in);
  std::vector<std::pair<int64_t, std::string>> positions;
  for (const auto& [k, v] : r.out.entries()) {
    if (!k.empty() && k[0] == '_') positions.emplace_back(ToInt(&v), k.substr(1));
  }
  std::sort(positions.begin(), positions.end());
  for (auto& p : positions) r.keys.push_back(std::move(p.second));
  r.num = ToInt(r.Find("num"));
  return r;
}

KeysResult RpcClient::MatchPrefix(std::string_view prefix, int64_t max) {
  RecordMap in = WithDb();
  in.Set("prefix", std::string(prefix));
  if (max >= 0) in.Set("max", std::to_string(max));
  return Match("match_prefix", std::move(in));
}

KeysResult RpcClient::MatchRegex(std::string_view regex, int64_t max) {
  RecordMap in = WithDb();
  in.Set("regex", std::string(regex));
  if (max >= 0) in.Set("max", std::to_string(max));
  return Match("match_regex", std::move(in));
}

KeysResult RpcClient::MatchSimilar(std::string_view origin, int64_t range, bool utf, int64_t max) {
  RecordMap in = WithDb();
  in.Set("origin", std::string(origin));
  in.Set("range", std::to_string(range));
  if (utf) in.Set("utf", "");
  if (max >= 0) in.Set("max", std::to_string(max));
  return Match("match_similar", std::move(in));
}

Cursor::Cursor(RpcClient* client) : client_(client), id_(client->NextCursorId()) {}

RecordMap Cursor::Input() const {
  RecordMap in = client_->WithDb();
  in.Set("CUR", std::to_string(id_));
  return in;
}

RpcResult Cursor::Jump(std::optional<std::string> key) {
  RecordMap in = Input();
  if (key) in.Set("key", *key);
  return client_->CallResult("cur_jump", in);
}

RpcResult Cursor::JumpBack(std::optional<std::string> key) {
  RecordMap in = Input();
  if (key) in.Set("key", *key);
  return client_->CallResult("cur_jump_back", in);
}

RpcResult Cursor::Step() { return client_->CallResult("cur_step", Input()); }

RpcResult Cursor::StepBack() { return client_->CallResult("cur_step_back", Input()); }

RpcResult Cursor::SetValue(std::string_view value, std::optional<int64_t> xt, bool step) {
  RecordMap in = Input();
  in.Set("value", std::string(value));
  if (xt) in.Set("xt", std::to_string(*xt));
  if (step) in.Set("step", "");
  return client_->CallResult("cur_set_value", in);
}

RpcResult Cursor::Remove() { return client_->CallResult("cur_remove", Input()); }

RecordResult Cursor::Read(std::string_view name, bool step) {
  RecordMap in = Input();
  if (step) in.Set("step", "");
  RecordResult r;
  static_cast<RpcResult&>(r) = client_->CallResult(name, in);
  FillRecord(r.out, &r);
  return r;
}

RecordResult Cursor::GetKey(bool step) { return Read("cur_get_key", step); }

RecordResult Cursor::GetValue(bool step) { return Read("cur_get_value", step); }

RecordResult Cursor::Get(bool step) { return Read("cur_get", step); }

RecordResult Cursor::Seize() { return Read("cur_seize", false); }

RpcResult Cursor::Delete() { return client_->CallResult("cur_delete", Input()); }

}  // namespace ryoan::client
