// The request encoder / reply parser interface that the driver runs every protocol through.
//
// A protocol object belongs to one client thread (it keeps scratch buffers), is stateless
// between requests, and parses a reply only once it is complete: Parse is called again from
// the start of the reply whenever more bytes arrive. Replies are small next to the read
// buffer, so re-scanning a partial reply costs little and keeps every parser simple.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tools/ktbench/options.h"
#include "tools/ktbench/workload.h"

namespace ktbench {

enum class Op { kGet, kSet };

// One request: a get or set of `count` distinct keys (count > 1 only with --bulk).
struct Request {
  Op op;
  const uint64_t* keys;
  int count;
};

struct Reply {
  int hits = 0;         // records found (gets)
  int misses = 0;       // records not found (gets)
  int mismatches = 0;   // records whose value differs from the expected one (--verify)
  bool error = false;   // the server reported a failure (request consumed; stream still usable)
  bool closed = false;  // the server announced it closes the connection after this reply
};

enum class ParseStatus {
  kIncomplete,  // need more bytes
  kDone,        // one whole reply consumed
  kFatal,       // malformed reply or error that ends the connection
};

class Protocol {
 public:
  virtual ~Protocol() = default;
  // Appends the wire form of `req` to `out`.
  virtual void Encode(const Request& req, std::string* out) = 0;
  // Parses the reply to `req` at the front of `in`; on kDone sets `consumed` and `reply`.
  virtual ParseStatus Parse(const Request& req, std::string_view in, size_t* consumed,
                            Reply* reply) = 0;
};

// Null for an unknown protocol name. `workload` must outlive the protocol.
std::unique_ptr<Protocol> MakeProtocol(const Options& opts, const Workload& workload);

std::unique_ptr<Protocol> MakeHttpRpcProtocol(const Options& opts, const Workload& workload);
std::unique_ptr<Protocol> MakeRestProtocol(const Options& opts, const Workload& workload);
std::unique_ptr<Protocol> MakeBinaryProtocol(const Options& opts, const Workload& workload);
std::unique_ptr<Protocol> MakeMemcachedProtocol(const Options& opts, const Workload& workload);
std::unique_ptr<Protocol> MakeRedisProtocol(const Options& opts, const Workload& workload);
std::unique_ptr<Protocol> MakeScriptProtocol(const Options& opts, const Workload& workload);

// Helpers shared by the line-oriented parsers.

// Position just past the next '\n' at or after `from`, or npos.
inline size_t LineEnd(std::string_view in, size_t from) {
  size_t nl = in.find('\n', from);
  return nl == std::string_view::npos ? nl : nl + 1;
}
// The line [from, end) without its "\r\n" or "\n".
inline std::string_view LineText(std::string_view in, size_t from, size_t end) {
  std::string_view line = in.substr(from, end - from - 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}
// Leading decimal digits of `s`; false when there are none or something else follows.
bool ParseDecimal(std::string_view s, uint64_t* out);
void AppendDecimal(uint64_t v, std::string* out);

}  // namespace ktbench
