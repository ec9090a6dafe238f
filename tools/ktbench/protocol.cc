#include "tools/ktbench/protocol.h"

#include <charconv>

namespace ktbench {

std::unique_ptr<Protocol> MakeProtocol(const Options& opts, const Workload& workload) {
  if (opts.protocol == "http") return MakeHttpRpcProtocol(opts, workload);
  if (opts.protocol == "rest") return MakeRestProtocol(opts, workload);
  if (opts.protocol == "binary") return MakeBinaryProtocol(opts, workload);
  if (opts.protocol == "memcached") return MakeMemcachedProtocol(opts, workload);
  if (opts.protocol == "redis") return MakeRedisProtocol(opts, workload);
  if (opts.protocol == "script") return MakeScriptProtocol(opts, workload);
  return nullptr;
}

bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

void AppendDecimal(uint64_t v, std::string* out) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out->append(buf, p);
}

}  // namespace ktbench
