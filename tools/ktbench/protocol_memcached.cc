// The memcached text protocol (spec/memcached.md): a bulk get is one multi-key
// `get k1 k2 ...`; a bulk set is that many `set` commands sent back to back (the text
// protocol has no multi-set).
#include "tools/ktbench/protocol.h"

namespace ktbench {
namespace {

class Memcached : public Protocol {
 public:
  Memcached(const Options& opts, const Workload& workload)
      : workload_(workload), verify_(opts.verify) {}

  void Encode(const Request& req, std::string* out) override {
    if (req.op == Op::kGet) {
      out->append("get");
      for (int i = 0; i < req.count; ++i) {
        out->push_back(' ');
        Workload::AppendKey(req.keys[i], out);
      }
      out->append("\r\n");
      return;
    }
    for (int i = 0; i < req.count; ++i) {
      out->append("set ");
      Workload::AppendKey(req.keys[i], out);
      out->append(" 0 0 ");
      AppendDecimal(workload_.value_size(), out);
      out->append("\r\n");
      out->append(workload_.Value(req.keys[i]));
      out->append("\r\n");
    }
  }

  ParseStatus Parse(const Request& req, std::string_view in, size_t* consumed,
                    Reply* reply) override {
    return req.op == Op::kGet ? ParseGet(req, in, consumed, reply)
                              : ParseSet(req, in, consumed, reply);
  }

 private:
  ParseStatus ParseSet(const Request& req, std::string_view in, size_t* consumed, Reply* reply) {
    size_t pos = 0;
    bool error = false;
    for (int i = 0; i < req.count; ++i) {
      size_t end = LineEnd(in, pos);
      if (end == std::string_view::npos) return ParseStatus::kIncomplete;
      if (LineText(in, pos, end) != "STORED") error = true;
      pos = end;
    }
    *consumed = pos;
    reply->error = error;
    return ParseStatus::kDone;
  }

  // VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n ... END\r\n
  ParseStatus ParseGet(const Request& req, std::string_view in, size_t* consumed, Reply* reply) {
    size_t pos = 0;
    int hits = 0, mismatches = 0;
    while (true) {
      size_t end = LineEnd(in, pos);
      if (end == std::string_view::npos) return ParseStatus::kIncomplete;
      std::string_view line = LineText(in, pos, end);
      if (line == "END") {
        pos = end;
        break;
      }
      if (line.substr(0, 6) != "VALUE ") {
        // ERROR / CLIENT_ERROR / SERVER_ERROR: a one-line reply to the whole get.
        *consumed = end;
        reply->error = true;
        return ParseStatus::kDone;
      }
      std::string_view rest = line.substr(6);
      size_t sp1 = rest.find(' ');
      if (sp1 == std::string_view::npos) return ParseStatus::kFatal;
      std::string_view key = rest.substr(0, sp1);
      size_t sp2 = rest.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos) return ParseStatus::kFatal;
      std::string_view bytes_field = rest.substr(sp2 + 1);
      if (size_t sp3 = bytes_field.find(' '); sp3 != std::string_view::npos) {
        bytes_field = bytes_field.substr(0, sp3);  // gets: a cas column follows
      }
      uint64_t bytes = 0;
      if (!ParseDecimal(bytes_field, &bytes)) return ParseStatus::kFatal;
      if (in.size() - end < bytes + 2) return ParseStatus::kIncomplete;
      std::string_view data = in.substr(end, bytes);
      size_t after = end + bytes;
      if (in[after] == '\r') ++after;
      if (after >= in.size()) return ParseStatus::kIncomplete;
      if (in[after] != '\n') return ParseStatus::kFatal;
      pos = after + 1;
      ++hits;
      if (verify_) {
        uint64_t k;
        if (!Workload::ParseKey(key, &k) || !workload_.Check(k, data)) ++mismatches;
      }
    }
    *consumed = pos;
    reply->hits = hits;
    reply->misses = req.count > hits ? req.count - hits : 0;
    reply->mismatches = mismatches;
    return ParseStatus::kDone;
  }

  const Workload& workload_;
  bool verify_;
};

}  // namespace

std::unique_ptr<Protocol> MakeMemcachedProtocol(const Options& opts, const Workload& workload) {
  return std::make_unique<Memcached>(opts, workload);
}

}  // namespace ktbench
