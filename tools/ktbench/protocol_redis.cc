// Redis RESP2, for a reference row from the same load generator: GET / SET for single
// records, MGET / MSET for bulk requests.
#include "tools/ktbench/protocol.h"

namespace ktbench {
namespace {

void AppendBulkString(std::string_view s, std::string* out) {
  out->push_back('$');
  AppendDecimal(s.size(), out);
  out->append("\r\n");
  out->append(s);
  out->append("\r\n");
}

class Redis : public Protocol {
 public:
  Redis(const Options& opts, const Workload& workload)
      : workload_(workload), verify_(opts.verify) {}

  void Encode(const Request& req, std::string* out) override {
    const bool get = req.op == Op::kGet;
    const bool multi = req.count > 1;
    out->push_back('*');
    AppendDecimal(1 + static_cast<uint64_t>(req.count) * (get ? 1 : 2), out);
    out->append("\r\n");
    AppendBulkString(get ? (multi ? "MGET" : "GET") : (multi ? "MSET" : "SET"), out);
    char key[kKeySize];
    for (int i = 0; i < req.count; ++i) {
      Workload::FormatKey(req.keys[i], key);
      AppendBulkString(std::string_view(key, kKeySize), out);
      if (!get) AppendBulkString(workload_.Value(req.keys[i]), out);
    }
  }

  ParseStatus Parse(const Request& req, std::string_view in, size_t* consumed,
                    Reply* reply) override {
    size_t end = LineEnd(in, 0);
    if (end == std::string_view::npos) return ParseStatus::kIncomplete;
    std::string_view line = LineText(in, 0, end);
    if (line.empty()) return ParseStatus::kFatal;
    if (line[0] == '-') {  // error reply
      *consumed = end;
      reply->error = true;
      return ParseStatus::kDone;
    }
    if (req.op == Op::kSet) {
      if (line != "+OK") reply->error = true;
      *consumed = end;
      return ParseStatus::kDone;
    }
    size_t pos = 0;
    int items = 1;
    if (req.count > 1) {
      uint64_t n;
      if (line[0] != '*' || !ParseDecimal(line.substr(1), &n) || n != uint64_t(req.count)) {
        return ParseStatus::kFatal;
      }
      pos = end;
      items = req.count;
    }
    Reply r;
    for (int i = 0; i < items; ++i) {
      end = LineEnd(in, pos);
      if (end == std::string_view::npos) return ParseStatus::kIncomplete;
      line = LineText(in, pos, end);
      if (line == "$-1") {
        ++r.misses;
        pos = end;
        continue;
      }
      uint64_t n;
      if (line.empty() || line[0] != '$' || !ParseDecimal(line.substr(1), &n)) {
        return ParseStatus::kFatal;
      }
      if (in.size() - end < n + 2) return ParseStatus::kIncomplete;
      ++r.hits;
      if (verify_ && !workload_.Check(req.keys[i], in.substr(end, n))) ++r.mismatches;
      pos = end + n + 2;
    }
    *consumed = pos;
    *reply = r;
    return ParseStatus::kDone;
  }

 private:
  const Workload& workload_;
  bool verify_;
};

}  // namespace

std::unique_ptr<Protocol> MakeRedisProtocol(const Options& opts, const Workload& workload) {
  return std::make_unique<Redis>(opts, workload);
}

}  // namespace ktbench
