// The KT binary protocol (spec/binary.md): gets are get_bulk (0xBA) and sets are set_bulk
// (0xB8) with as many records as the request has keys, all in database 0, no expiration.
#include <cstring>

#include "tools/ktbench/protocol.h"

namespace ktbench {
namespace {

constexpr uint8_t kSetBulk = 0xB8;
constexpr uint8_t kGetBulk = 0xBA;
constexpr uint8_t kError = 0xBF;
constexpr int64_t kNoExpiration = INT64_MAX;

void PutU16(uint16_t v, std::string* out) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 2);
}
void PutU32(uint32_t v, std::string* out) {
  char b[4];
  for (int i = 0; i < 4; ++i) b[i] = static_cast<char>(v >> (24 - 8 * i));
  out->append(b, 4);
}
void PutU64(uint64_t v, std::string* out) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (56 - 8 * i));
  out->append(b, 8);
}
uint32_t GetU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{u[0]} << 24) | (uint32_t{u[1]} << 16) | (uint32_t{u[2]} << 8) | u[3];
}

class Binary : public Protocol {
 public:
  Binary(const Options& opts, const Workload& workload)
      : workload_(workload), verify_(opts.verify) {}

  void Encode(const Request& req, std::string* out) override {
    out->push_back(static_cast<char>(req.op == Op::kGet ? kGetBulk : kSetBulk));
    PutU32(0, out);  // flags: we want the reply
    PutU32(static_cast<uint32_t>(req.count), out);
    for (int i = 0; i < req.count; ++i) {
      PutU16(0, out);
      PutU32(kKeySize, out);
      if (req.op == Op::kSet) {
        PutU32(static_cast<uint32_t>(workload_.value_size()), out);
        PutU64(static_cast<uint64_t>(kNoExpiration), out);
      }
      Workload::AppendKey(req.keys[i], out);
      if (req.op == Op::kSet) out->append(workload_.Value(req.keys[i]));
    }
  }

  ParseStatus Parse(const Request& req, std::string_view in, size_t* consumed,
                    Reply* reply) override {
    if (in.empty()) return ParseStatus::kIncomplete;
    const uint8_t magic = static_cast<uint8_t>(in[0]);
    // 0xBF: the server failed the request and closes the connection (spec/binary.md 1).
    if (magic == kError) return ParseStatus::kFatal;
    const uint8_t want = req.op == Op::kGet ? kGetBulk : kSetBulk;
    if (magic != want) return ParseStatus::kFatal;
    if (in.size() < 5) return ParseStatus::kIncomplete;
    const uint32_t hits = GetU32(in.data() + 1);
    if (req.op == Op::kSet) {
      *consumed = 5;
      if (verify_ && hits != static_cast<uint32_t>(req.count)) ++reply->mismatches;
      return ParseStatus::kDone;
    }
    if (hits > static_cast<uint32_t>(req.count)) return ParseStatus::kFatal;
    size_t pos = 5;
    for (uint32_t i = 0; i < hits; ++i) {
      // dbidx u16, ksiz u32, vsiz u32, xt i64
      if (in.size() - pos < 18) return ParseStatus::kIncomplete;
      const uint32_t ksiz = GetU32(in.data() + pos + 2);
      const uint32_t vsiz = GetU32(in.data() + pos + 6);
      pos += 18;
      if (in.size() - pos < static_cast<uint64_t>(ksiz) + vsiz) return ParseStatus::kIncomplete;
      if (verify_) {
        uint64_t k;
        std::string_view key = in.substr(pos, ksiz);
        std::string_view value = in.substr(pos + ksiz, vsiz);
        if (!Workload::ParseKey(key, &k) || !workload_.Check(k, value)) ++reply->mismatches;
      }
      pos += ksiz + vsiz;
    }
    *consumed = pos;
    reply->hits = static_cast<int>(hits);
    reply->misses = req.count - reply->hits;
    return ParseStatus::kDone;
  }

 private:
  const Workload& workload_;
  bool verify_;
};

}  // namespace

std::unique_ptr<Protocol> MakeBinaryProtocol(const Options& opts, const Workload& workload) {
  return std::make_unique<Binary>(opts, workload);
}

}  // namespace ktbench
