// `script`: the binary play_script call (0xB4) of a Lua procedure that echoes its input,
// for measuring the cost of a procedure call against a plain binary get. Every request calls
// the procedure `echo` with one record key -> value; the reply must carry the same record.
// Start ktserver with -scr tests/scripts/procedures.lua (or any script defining `echo`).
#include <cstring>

#include "tools/ktbench/protocol.h"

namespace ktbench {
namespace {

constexpr uint8_t kPlayScript = 0xB4;
constexpr uint8_t kError = 0xBF;
constexpr std::string_view kProcedure = "echo";

void PutU32(uint32_t v, std::string* out) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out->append(b, 4);
}

uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

class Script : public Protocol {
 public:
  explicit Script(const Workload& workload) : workload_(workload) {}

  void Encode(const Request& req, std::string* out) override {
    out->push_back(static_cast<char>(kPlayScript));
    PutU32(0, out);  // flags: we want the reply
    PutU32(static_cast<uint32_t>(kProcedure.size()), out);
    PutU32(1, out);
    out->append(kProcedure);
    key_.clear();
    Workload::AppendKey(req.keys[0], &key_);
    std::string_view value = workload_.Value(req.keys[0]);
    PutU32(static_cast<uint32_t>(key_.size()), out);
    PutU32(static_cast<uint32_t>(value.size()), out);
    out->append(key_);
    out->append(value);
  }

  ParseStatus Parse(const Request& req, std::string_view in, size_t* consumed,
                    Reply* reply) override {
    if (in.empty()) return ParseStatus::kIncomplete;
    uint8_t magic = static_cast<uint8_t>(in[0]);
    if (magic == kError) {
      // The procedure failed (or scripting is off); the connection stays usable.
      *consumed = 1;
      reply->error = true;
      return ParseStatus::kDone;
    }
    if (magic != kPlayScript) return ParseStatus::kFatal;
    if (in.size() < 5) return ParseStatus::kIncomplete;
    uint32_t count = GetU32(in.data() + 1);
    size_t pos = 5;
    bool echoed = false;
    for (uint32_t i = 0; i < count; ++i) {
      if (in.size() - pos < 8) return ParseStatus::kIncomplete;
      uint32_t ksiz = GetU32(in.data() + pos);
      uint32_t vsiz = GetU32(in.data() + pos + 4);
      pos += 8;
      if (in.size() - pos < static_cast<uint64_t>(ksiz) + vsiz) return ParseStatus::kIncomplete;
      std::string_view key = in.substr(pos, ksiz);
      std::string_view value = in.substr(pos + ksiz, vsiz);
      uint64_t k = 0;
      if (Workload::ParseKey(key, &k) && k == req.keys[0] && workload_.Check(k, value)) {
        echoed = true;
      }
      pos += static_cast<size_t>(ksiz) + vsiz;
    }
    *consumed = pos;
    if (echoed) {
      reply->hits = 1;
    } else {
      reply->mismatches = 1;
    }
    return ParseStatus::kDone;
  }

 private:
  const Workload& workload_;
  std::string key_;
};

}  // namespace

std::unique_ptr<Protocol> MakeScriptProtocol(const Options&, const Workload& workload) {
  return std::make_unique<Script>(workload);
}

}  // namespace ktbench
