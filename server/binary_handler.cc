#include "server/binary_handler.h"

#include <algorithm>
#include <limits>

#include "server/log.h"

namespace ryoan::server {
namespace {

constexpr size_t kMaxGetBulkReply = size_t{1} << 29;

void Put16(std::string* out, uint16_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out->append(b, 2);
}

void Put32(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  out->append(b, 4);
}

void Put64(std::string* out, uint64_t v) {
  Put32(out, static_cast<uint32_t>(v >> 32));
  Put32(out, static_cast<uint32_t>(v));
}

// Writes the error byte unless the client asked for no reply.
bool Fail(const BinaryRequest& request, std::string* out, bool keep_connection) {
  if (!request.no_reply()) out->push_back(static_cast<char>(kBinaryError));
  return keep_connection;
}

bool SetBulk(Service& service, const BinaryRequest& request, std::string_view data,
             std::string* out) {
  uint32_t hits = 0;
  Counters& counters = service.counters();
  for (const BinaryRecord& r : request.records) {
    storage::DB* db = service.db(r.dbidx);
    if (db == nullptr) continue;  // out-of-range indexes are skipped silently
    counters.set++;
    storage::Status s = db->Set(data.substr(r.key_offset, r.key_size),
                                data.substr(r.value_offset, r.value_size), r.xt);
    if (!s.ok()) {
      counters.set_misses++;
      LogDatabaseError(s);
      return Fail(request, out, false);
    }
    hits++;
  }
  if (!request.no_reply()) {
    out->push_back(static_cast<char>(kBinarySetBulk));
    Put32(out, hits);
  }
  return true;
}

bool RemoveBulk(Service& service, const BinaryRequest& request, std::string_view data,
                std::string* out) {
  uint32_t hits = 0;
  Counters& counters = service.counters();
  for (const BinaryRecord& r : request.records) {
    storage::DB* db = service.db(r.dbidx);
    if (db == nullptr) continue;
    counters.remove++;
    storage::Status s = db->Remove(data.substr(r.key_offset, r.key_size));
    if (s.ok()) {
      hits++;
    } else if (s.code() == storage::Code::kNoRec) {
      counters.remove_misses++;
    } else {
      counters.remove_misses++;
      LogDatabaseError(s);
      return Fail(request, out, false);
    }
  }
  if (!request.no_reply()) {
    out->push_back(static_cast<char>(kBinaryRemoveBulk));
    Put32(out, hits);
  }
  return true;
}

bool GetBulk(Service& service, const BinaryRequest& request, std::string_view data,
             std::string* out) {
  size_t start = out->size();
  out->push_back(static_cast<char>(kBinaryGetBulk));
  Put32(out, 0);  // hits, patched below
  uint32_t hits = 0;
  bool too_big = false;
  Counters& counters = service.counters();
  // Reused across requests on this thread: a get allocates nothing once warmed up.
  thread_local std::vector<std::string_view> keys;
  const std::vector<BinaryRecord>& records = request.records;
  // Runs of records naming the same database are looked up together (DB::GetEach).
  for (size_t begin = 0; begin < records.size();) {
    uint16_t dbidx = records[begin].dbidx;
    size_t end = begin + 1;
    while (end < records.size() && records[end].dbidx == dbidx) end++;
    storage::DB* db = service.db(dbidx);
    if (db == nullptr) {
      begin = end;
      continue;
    }
    counters.get += end - begin;
    keys.clear();
    for (size_t i = begin; i < end; i++) {
      keys.push_back(data.substr(records[i].key_offset, records[i].key_size));
    }
    uint32_t found = 0;
    // Persistent databases keep no expiration and report INT64_MAX (spec/binary.md 2).
    const bool persistent = db->spec().persistent;
    storage::Status s = db->GetEach(keys, [&](size_t i, std::string_view value, int64_t xt) {
      found++;
      // A small request naming one big record many times must not build an unbounded reply.
      if (too_big || out->size() - start + value.size() > kMaxGetBulkReply) {
        too_big = true;
        return;
      }
      if (persistent) xt = std::numeric_limits<int64_t>::max();
      Put16(out, dbidx);
      Put32(out, static_cast<uint32_t>(keys[i].size()));
      Put32(out, static_cast<uint32_t>(value.size()));
      Put64(out, static_cast<uint64_t>(xt));
      out->append(keys[i]);
      out->append(value);
    });
    counters.get_misses += (end - begin) - found;
    if (!s.ok() || too_big) {
      if (!s.ok()) LogDatabaseError(s);
      out->resize(start);
      out->push_back(static_cast<char>(kBinaryError));
      return false;
    }
    hits += found;
    begin = end;
  }
  char* h = out->data() + start + 1;
  h[0] = static_cast<char>(hits >> 24);
  h[1] = static_cast<char>(hits >> 16);
  h[2] = static_cast<char>(hits >> 8);
  h[3] = static_cast<char>(hits);
  return true;
}

// Lua procedures over the binary protocol (spec/lua.md 2.4): no name check, records passed
// unchanged, the outmap sent in key byte order; 0xBF for any failure, connection kept.
bool PlayScript(Service& service, const BinaryRequest& request, std::string_view data,
                std::string* out) {
  service.counters().script++;
  scripting::ScriptRuntime* script = service.script();
  if (script == nullptr) return Fail(request, out, true);
  scripting::ScriptInput in;
  in.reserve(request.records.size());
  for (const BinaryRecord& r : request.records) {
    in.emplace_back(data.substr(r.key_offset, r.key_size),
                    data.substr(r.value_offset, r.value_size));
  }
  scripting::ScriptOutput result;
  std::string_view name = data.substr(request.name_offset, request.name_size);
  if (script->Call(name, in, &result) != scripting::kRvSuccess) return Fail(request, out, true);
  if (request.no_reply()) return true;
  // Two Lua keys can convert to the same bytes (1 and "1"): keep one record per key.
  std::stable_sort(result.begin(), result.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  result.erase(std::unique(result.begin(), result.end(),
                           [](const auto& a, const auto& b) { return a.first == b.first; }),
               result.end());
  out->push_back(static_cast<char>(kBinaryPlayScript));
  Put32(out, static_cast<uint32_t>(result.size()));
  for (const auto& [key, value] : result) {
    Put32(out, static_cast<uint32_t>(key.size()));
    Put32(out, static_cast<uint32_t>(value.size()));
    out->append(key);
    out->append(value);
  }
  return true;
}

}  // namespace

bool HandleBinaryRequest(Service& service, const BinaryRequest& request, std::string_view data,
                         std::string* out) {
  switch (request.magic) {
    case kBinarySetBulk:
      return SetBulk(service, request, data, out);
    case kBinaryRemoveBulk:
      return RemoveBulk(service, request, data, out);
    case kBinaryGetBulk:
      return GetBulk(service, request, data, out);
    case kBinaryPlayScript:
      // The connection runs this on a worker thread (scripts may take long).
      return PlayScript(service, request, data, out);
    case kBinaryReplication:
      // No update log: error byte and close (spec/binary.md 7).
      out->push_back(static_cast<char>(kBinaryError));
      return false;
    default:
      return false;
  }
}

std::string_view BinaryRequestName(uint8_t magic) {
  switch (magic) {
    case kBinarySetBulk:
      return "bin_set_bulk";
    case kBinaryRemoveBulk:
      return "bin_remove_bulk";
    case kBinaryGetBulk:
      return "bin_get_bulk";
    case kBinaryPlayScript:
      return "bin_play_script";
    case kBinaryReplication:
      return "bin_replication";
    default:
      return "bin_unknown";
  }
}

}  // namespace ryoan::server
