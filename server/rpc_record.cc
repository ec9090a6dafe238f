// Single-record and bulk procedures (spec/http-rpc.md 9.11-9.24).
#include <cmath>
#include <cstdio>
#include <limits>

#include "common/numbers.h"
#include "server/rpc.h"

namespace ryoan::server {
namespace {

using storage::Status;

// Output `xt` only when the record has an expiration (spec 7.6).
void PutXt(RecordMap& out, int64_t xt) {
  if (xt < storage::kXtMax) out.Set("xt", std::to_string(xt));
}

// Counts the call and its miss, then reports a failure.
void CountAndFail(RpcCall& call, std::atomic<int64_t>& misses, const Status& s) {
  misses++;
  call.FailStorage(s);
}

template <typename Op>
void StoreWith(RpcCall& call, Op op) {
  Counters& c = call.service.counters();
  c.set++;
  const std::string* key = call.input.Find("key");
  const std::string* value = call.input.Find("value");
  if (key == nullptr || value == nullptr) {
    c.set_misses++;
    call.Fail(400, "invalid parameters");
    return;
  }
  Status s = op(*call.db, *key, *value, XtParam(call.input));
  if (!s.ok()) CountAndFail(call, c.set_misses, s);
}

inline bool IsBulkName(const std::string& name) { return !name.empty() && name[0] == '_'; }

// Collects the `_`-prefixed names of a bulk input, without the prefix.
std::vector<std::string> BulkKeys(const RecordMap& input) {
  std::vector<std::string> keys;
  for (const auto& [name, value] : input.entries()) {
    if (IsBulkName(name)) keys.emplace_back(name.substr(1));
  }
  return keys;
}

}  // namespace

void RpcSet(RpcCall& call) {
  StoreWith(call, [](storage::DB& db, const std::string& k, const std::string& v, int64_t xt) {
    return db.Set(k, v, xt);
  });
}

void RpcAdd(RpcCall& call) {
  StoreWith(call, [](storage::DB& db, const std::string& k, const std::string& v, int64_t xt) {
    return db.Add(k, v, xt);
  });
}

void RpcReplace(RpcCall& call) {
  StoreWith(call, [](storage::DB& db, const std::string& k, const std::string& v, int64_t xt) {
    return db.Replace(k, v, xt);
  });
}

void RpcAppend(RpcCall& call) {
  StoreWith(call, [](storage::DB& db, const std::string& k, const std::string& v, int64_t xt) {
    return db.Append(k, v, xt);
  });
}

void RpcIncrement(RpcCall& call) {
  Counters& c = call.service.counters();
  c.set++;
  const std::string* key = call.input.Find("key");
  const std::string* num = call.input.Find("num");
  if (key == nullptr || num == nullptr) {
    c.set_misses++;
    call.Fail(400, "invalid parameters");
    return;
  }
  int64_t orig = 0;
  if (const std::string* o = call.input.Find("orig")) {
    if (*o == "try") {
      orig = std::numeric_limits<int64_t>::min();
    } else if (*o == "set") {
      orig = std::numeric_limits<int64_t>::max();
    } else {
      orig = ParseInt(*o);
    }
  }
  int64_t result = 0;
  Status s = call.db->Increment(*key, ParseInt(*num), orig, XtParam(call.input), &result);
  if (!s.ok()) {
    CountAndFail(call, c.set_misses, s);
    return;
  }
  call.output.Set("num", std::to_string(result));
}

void RpcIncrementDouble(RpcCall& call) {
  Counters& c = call.service.counters();
  c.set++;
  const std::string* key = call.input.Find("key");
  const std::string* num = call.input.Find("num");
  if (key == nullptr || num == nullptr) {
    c.set_misses++;
    call.Fail(400, "invalid parameters");
    return;
  }
  double orig = 0;
  if (const std::string* o = call.input.Find("orig")) {
    if (*o == "try") {
      orig = -std::numeric_limits<double>::infinity();
    } else if (*o == "set") {
      orig = std::numeric_limits<double>::infinity();
    } else {
      orig = ParseReal(*o);
    }
  }
  double result = 0;
  Status s = call.db->IncrementDouble(*key, ParseReal(*num), orig, XtParam(call.input), &result);
  if (!s.ok()) {
    CountAndFail(call, c.set_misses, s);
    return;
  }
  call.output.Set("num", FormatReal(result, 6));
}

void RpcCas(RpcCall& call) {
  Counters& c = call.service.counters();
  c.set++;
  const std::string* key = call.input.Find("key");
  if (key == nullptr) {
    c.set_misses++;
    call.Fail(400, "invalid parameters");
    return;
  }
  std::optional<std::string_view> oval, nval;
  if (const std::string* o = call.input.Find("oval")) oval = *o;
  if (const std::string* n = call.input.Find("nval")) nval = *n;
  Status s = call.db->Cas(*key, oval, nval, XtParam(call.input));
  if (!s.ok()) CountAndFail(call, c.set_misses, s);
}

void RpcRemove(RpcCall& call) {
  Counters& c = call.service.counters();
  c.remove++;
  const std::string* key = call.input.Find("key");
  if (key == nullptr) {
    c.remove_misses++;
    call.Fail(400, "invalid parameters");
    return;
  }
  Status s = call.db->Remove(*key);
  if (!s.ok()) CountAndFail(call, c.remove_misses, s);
}

void RpcGet(RpcCall& call) {
  Counters& c = call.service.counters();
  c.get++;
  const std::string* key = call.input.Find("key");
  if (key == nullptr) {
    c.get_misses++;
    call.Fail(400, "invalid parameters");
    return;
  }
  // The value is read straight into the reply's (reused) entry.
  RecordMap::Entry& entry = call.output.AppendEntry();
  entry.first.assign("value");
  int64_t xt = storage::kXtMax;
  Status s = call.db->Get(*key, &entry.second, &xt);
  if (!s.ok()) {
    call.output.RemoveLast();
    CountAndFail(call, c.get_misses, s);
    return;
  }
  PutXt(call.output, xt);
}

void RpcCheck(RpcCall& call) {
  Counters& c = call.service.counters();
  c.get++;
  const std::string* key = call.input.Find("key");
  if (key == nullptr) {
    c.get_misses++;
    call.Fail(400, "invalid parameters");
    return;
  }
  int64_t vsiz = 0;
  int64_t xt = storage::kXtMax;
  Status s = call.db->Check(*key, &vsiz, &xt);
  if (!s.ok()) {
    CountAndFail(call, c.get_misses, s);
    return;
  }
  call.output.Append("vsiz", std::to_string(vsiz));
  PutXt(call.output, xt);
}

void RpcSeize(RpcCall& call) {
  Counters& c = call.service.counters();
  c.get++;
  c.remove++;
  const std::string* key = call.input.Find("key");
  if (key == nullptr) {
    c.get_misses++;
    c.remove_misses++;
    call.Fail(400, "invalid parameters");
    return;
  }
  // The value is read straight into the reply's (reused) entry.
  RecordMap::Entry& entry = call.output.AppendEntry();
  entry.first.assign("value");
  int64_t xt = storage::kXtMax;
  Status s = call.db->Seize(*key, &entry.second, &xt);
  if (!s.ok()) {
    call.output.RemoveLast();
    c.remove_misses++;
    CountAndFail(call, c.get_misses, s);
    return;
  }
  PutXt(call.output, xt);
}

// Without `atomic`, the bulk procedures go record by record straight from the input map,
// which is what DB::SetBulk/RemoveBulk/GetBulk do then, without copying the records first.
void RpcSetBulk(RpcCall& call) {
  Counters& c = call.service.counters();
  const int64_t xt = XtParam(call.input);
  int64_t count = 0;
  Status s;
  if (!FlagParam(call.input, "atomic")) {
    for (const auto& [name, value] : call.input.entries()) count += IsBulkName(name);
    c.set += count;
    if (call.db->readonly()) s = Status::NoPerm();  // as DB::SetBulk, even for no records
    for (const auto& [name, value] : call.input.entries()) {
      if (!s.ok()) break;
      if (!IsBulkName(name)) continue;
      s = call.db->Set(std::string_view(name).substr(1), value, xt);
      if (!s.ok()) break;
    }
  } else {
    std::vector<std::pair<std::string, std::string>> records;
    for (const auto& [name, value] : call.input.entries()) {
      if (IsBulkName(name)) records.emplace_back(name.substr(1), value);
    }
    c.set += static_cast<int64_t>(records.size());
    s = call.db->SetBulk(records, xt, true, &count);
  }
  if (!s.ok()) {
    CountAndFail(call, c.set_misses, s);
    return;
  }
  call.output.Set("num", std::to_string(count));
}

void RpcRemoveBulk(RpcCall& call) {
  Counters& c = call.service.counters();
  int64_t keys = 0;
  int64_t count = 0;
  Status s;
  if (!FlagParam(call.input, "atomic")) {
    for (const auto& [name, value] : call.input.entries()) keys += IsBulkName(name);
    c.remove += keys;
    if (call.db->readonly()) s = Status::NoPerm();  // as DB::RemoveBulk
    for (const auto& [name, value] : call.input.entries()) {
      if (!s.ok()) break;
      if (!IsBulkName(name)) continue;
      Status one = call.db->Remove(std::string_view(name).substr(1));
      if (one.ok()) {
        ++count;
      } else if (one.code() != storage::Code::kNoRec) {
        s = one;
        break;
      }
    }
  } else {
    std::vector<std::string> names = BulkKeys(call.input);
    keys = static_cast<int64_t>(names.size());
    c.remove += keys;
    s = call.db->RemoveBulk(names, true, &count);
  }
  if (!s.ok()) {
    CountAndFail(call, c.remove_misses, s);
    return;
  }
  c.remove_misses += keys - count;
  call.output.Set("num", std::to_string(count));
}

void RpcGetBulk(RpcCall& call) {
  Counters& c = call.service.counters();
  int64_t keys = 0;
  int64_t found = 0;
  Status s;
  if (!FlagParam(call.input, "atomic")) {
    // Reused by the thread, so that a get_bulk allocates nothing once warmed up.
    thread_local std::vector<std::string_view> names;
    thread_local std::vector<std::string_view> views;
    names.clear();
    views.clear();
    for (const auto& [name, value] : call.input.entries()) {
      if (!IsBulkName(name)) continue;
      names.push_back(name);
      views.push_back(std::string_view(name).substr(1));
    }
    keys = static_cast<int64_t>(views.size());
    c.get += keys;
    // Each value is copied straight into its reply entry; keys are distinct (the input map
    // holds each name once), so entries are appended without lookups.
    s = call.db->GetEach(views, [&](size_t i, std::string_view value, int64_t) {
      RecordMap::Entry& entry = call.output.AppendEntry();
      entry.first.assign(names[i]);
      entry.second.assign(value);
      ++found;
    });
  } else {
    std::vector<std::string> names = BulkKeys(call.input);
    keys = static_cast<int64_t>(names.size());
    c.get += keys;
    std::vector<std::pair<std::string, std::string>> records;
    s = call.db->GetBulk(names, true, &records);
    if (s.ok()) {
      found = static_cast<int64_t>(records.size());
      for (auto& [key, value] : records) call.output.Append("_" + key, std::move(value));
    }
  }
  if (!s.ok()) {
    // Like DB::GetBulk, a failure reports no records.
    call.output.clear();
    CountAndFail(call, c.get_misses, s);
    return;
  }
  c.get_misses += keys - found;
  call.output.Set("num", std::to_string(found));
}

}  // namespace ryoan::server
