// A blocking client for the HTTP TSV-RPC of Kyoto Tycoon (spec/http-rpc.md).
//
// Every call is "POST /rpc/<name>" with a TSV body. Names and values are encoded with the
// column encoding the spec's output rule (6.3) picks for the input map, and the request's
// Content-Type is exactly what KT's own C++ client sends: "text/tab-separated-values",
// optionally followed by "; colenc=B" or "; colenc=U". The reply body is decoded by the
// colenc attribute of its Content-Type. Any byte string can therefore be sent and received.
//
// The connection is kept alive between calls and re-made transparently when the server has
// closed it. RPC cursors (CUR) live in the server's connection: a reconnect loses them, as
// does Close().
//
// Not thread-safe: use one RpcClient per thread. The binary protocol (spec/binary.md) is a
// separate client, not this class.
//
// Example:
//   RpcClient db;
//   db.Open("127.0.0.1", 1978, 5.0);
//   db.Set("japan", "tokyo");
//   RecordResult r = db.Get("japan");
//   if (r.ok()) ... r.value ...; else if (r.status == 450) ... missing ...
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/http_connection.h"
#include "common/tsv.h"

namespace ryoan::client {

// Status of a call that reached no server (connect/send/read failure).
inline constexpr int kTransportError = -1;

// The outcome of one RPC call: the HTTP status (200 success, 400 invalid, 450 logical
// failure, 500 internal, 501 not implemented, 503 timed out; kTransportError), the ERROR text
// of the reply (or a transport error description) and the whole decoded output map.
struct RpcResult {
  int status = kTransportError;
  std::string error;
  RecordMap out;

  bool ok() const { return status == 200; }
  const std::string* Find(std::string_view name) const { return out.Find(name); }
};

// A record read by get/seize/cursor reads. `key` is filled by cursor reads only; `xt` is the
// absolute expiration time when the record has one.
struct RecordResult : RpcResult {
  std::string key;
  std::string value;
  std::optional<int64_t> xt;
};

// A number: check's vsiz, increment's result, bulk/match counts.
struct IntResult : RpcResult {
  int64_t value = 0;
};

// increment_double's result; `text` is the reply's "%f" rendering.
struct RealResult : RpcResult {
  double value = 0;
  std::string text;
};

// get_bulk's records (keys without the '_' prefix) and num.
struct BulkResult : RpcResult {
  std::map<std::string, std::string> records;
  int64_t num = 0;
};

// match_prefix/match_regex/match_similar: keys ordered by their position value.
struct KeysResult : RpcResult {
  std::vector<std::string> keys;
  int64_t num = 0;
};

class RpcClient {
 public:
  RpcClient() = default;
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Connects (and checks that the server accepts the connection). `timeout` bounds every
  // network step.
  bool Open(const std::string& host, int port, double timeout = 30);
  void Close();

  // Sends `DB=<db>` with every typed helper (not with Call()). Empty (the default): omitted,
  // so the server uses database 0. Either an index ("1") or a name ("casket.kch", "+").
  void set_database(std::string db) { db_ = std::move(db); }
  const std::string& database() const { return db_; }

  // Raw call: POST /rpc/<name> with `in`; `out` (if given) receives the decoded reply map.
  // Returns the HTTP status, or kTransportError.
  int Call(std::string_view name, const RecordMap& in, RecordMap* out);
  // The same, as a result (the ERROR value lifted into `error`).
  RpcResult CallResult(std::string_view name, const RecordMap& in);
  // The last raw HTTP response (for inspecting headers in tests).
  const HttpResponse& last_response() const { return last_response_; }
  HttpSession& session() { return session_; }

  // Server-wide procedures.
  RpcResult Void();
  RpcResult Echo(const RecordMap& in);
  RpcResult Report();
  RpcResult Status();  // count, size, path, type, ... of the selected database
  IntResult Count();   // status's "count"
  IntResult Size();    // status's "size"
  RpcResult Clear();
  RpcResult Synchronize(bool hard = false, std::string_view command = {});
  RpcResult Vacuum(std::optional<int64_t> step = std::nullopt);

  // Single records. `xt` (spec 7.5): > 0 relative seconds, < 0 absolute time, absent = none.
  RpcResult Set(std::string_view key, std::string_view value,
                std::optional<int64_t> xt = std::nullopt);
  RpcResult Add(std::string_view key, std::string_view value,
                std::optional<int64_t> xt = std::nullopt);
  RpcResult Replace(std::string_view key, std::string_view value,
                    std::optional<int64_t> xt = std::nullopt);
  RpcResult Append(std::string_view key, std::string_view value,
                   std::optional<int64_t> xt = std::nullopt);
  RecordResult Get(std::string_view key);
  IntResult Check(std::string_view key);  // value = vsiz
  RpcResult Remove(std::string_view key);
  RecordResult Seize(std::string_view key);
  // `orig`: "try", "set", a decimal integer, or absent.
  IntResult Increment(std::string_view key, int64_t num,
                      std::optional<std::string> orig = std::nullopt,
                      std::optional<int64_t> xt = std::nullopt);
  RealResult IncrementDouble(std::string_view key, double num,
                             std::optional<std::string> orig = std::nullopt,
                             std::optional<int64_t> xt = std::nullopt);
  // Compare and swap; absent oval = "no record expected", absent nval = "remove".
  RpcResult Cas(std::string_view key, std::optional<std::string> oval,
                std::optional<std::string> nval, std::optional<int64_t> xt = std::nullopt);

  // Bulk. `records` keys are sent as "_<key>".
  IntResult SetBulk(const std::map<std::string, std::string>& records,
                    std::optional<int64_t> xt = std::nullopt, bool atomic = false);
  IntResult RemoveBulk(const std::vector<std::string>& keys, bool atomic = false);
  BulkResult GetBulk(const std::vector<std::string>& keys, bool atomic = false);

  // Key matching; `max` < 0 = no limit.
  KeysResult MatchPrefix(std::string_view prefix, int64_t max = -1);
  KeysResult MatchRegex(std::string_view regex, int64_t max = -1);
  KeysResult MatchSimilar(std::string_view origin, int64_t range = 1, bool utf = false,
                          int64_t max = -1);

  // A fresh cursor id for this client (1, 2, ...).
  int64_t NextCursorId() { return ++last_cursor_; }

 private:
  friend class Cursor;
  RecordMap WithDb() const;
  RpcResult Store(std::string_view name, std::string_view key, std::string_view value,
                  std::optional<int64_t> xt);
  RecordResult ReadRecord(std::string_view name, std::string_view key);
  KeysResult Match(std::string_view name, RecordMap in);

  HttpSession session_;
  HttpResponse last_response_;
  std::string db_;
  int64_t last_cursor_ = 0;
};

// An RPC cursor (spec/http-rpc.md 9.29-9.37) on the client's connection. The server creates
// it at the first call carrying its id, on the client's database at that moment. The
// destructor does not contact the server; call Delete() to free it early (the server frees
// it when the connection closes).
class Cursor {
 public:
  // Uses a fresh id from client->NextCursorId().
  explicit Cursor(RpcClient* client);
  Cursor(RpcClient* client, int64_t id) : client_(client), id_(id) {}

  int64_t id() const { return id_; }

  RpcResult Jump(std::optional<std::string> key = std::nullopt);
  RpcResult JumpBack(std::optional<std::string> key = std::nullopt);
  RpcResult Step();
  RpcResult StepBack();
  RpcResult SetValue(std::string_view value, std::optional<int64_t> xt = std::nullopt,
                     bool step = false);
  RpcResult Remove();
  RecordResult GetKey(bool step = false);    // fills key
  RecordResult GetValue(bool step = false);  // fills value
  RecordResult Get(bool step = false);       // fills key, value, xt
  RecordResult Seize();                      // fills key, value, xt
  RpcResult Delete();

 private:
  RecordMap Input() const;
  RecordResult Read(std::string_view name, bool step);

  RpcClient* client_;
  int64_t id_;
};

}  // namespace ryoan::client
