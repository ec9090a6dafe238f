#include "tests/crash/crash_model.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "storage/engine.h"
#include "storage/increment.h"

namespace ryoan::crash {

using storage::Code;

namespace {

uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t ResolveXt(int64_t xt_arg) {
  if (xt_arg == INT64_MAX) return storage::kXtMax;
  if (xt_arg < 0) return std::min(-xt_arg, storage::kXtMax);
  return -1;  // relative times are not used by the harness
}

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    tokens.push_back(line.substr(pos, end - pos));
    pos = end + 1;
  }
  return tokens;
}

bool ToI64(std::string_view s, int64_t* out) {
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(copy.c_str(), &end, 10);
  if (copy.empty() || *end != '\0' || errno != 0) return false;
  *out = v;
  return true;
}

bool ToU64(std::string_view s, uint64_t* out) {
  std::string copy(s);
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(copy.c_str(), &end, 10);
  if (copy.empty() || *end != '\0' || errno != 0) return false;
  *out = v;
  return true;
}

bool ToDouble(std::string_view s, double* out) {
  std::string copy(s);
  char* end = nullptr;
  double v = std::strtod(copy.c_str(), &end);
  if (copy.empty() || *end != '\0') return false;
  *out = v;
  return true;
}

std::string HexDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%a", v);
  return buf;
}

}  // namespace

std::string GenValue(uint64_t seed, uint64_t id, uint64_t slot, uint64_t len) {
  uint64_t state = seed * 0x2545f4914f6cdd1dULL ^ (id << 8) ^ slot;
  std::string value(len, '\0');
  for (uint64_t i = 0; i < len; i += 8) {
    uint64_t r = SplitMix(&state);
    for (uint64_t j = 0; j < 8 && i + j < len; ++j) value[i + j] = static_cast<char>(r >> (8 * j));
  }
  return value;
}

uint64_t Hash64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

std::string Hex(std::string_view data) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

bool Unhex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::string FormatOp(const Op& op) {
  std::string line = "B " + std::to_string(op.id) + " " + op.kind;
  auto add = [&](const std::string& token) { line += " " + token; };
  if (op.kind == "set" || op.kind == "append") {
    add(Hex(op.keys[0]));
    add(std::to_string(op.lens[0]));
    add(std::to_string(op.xt_arg));
  } else if (op.kind == "incr") {
    add(Hex(op.keys[0]));
    add(std::to_string(op.inum));
    add(std::to_string(op.iorig));
    add(std::to_string(op.xt_arg));
  } else if (op.kind == "incrd") {
    add(Hex(op.keys[0]));
    add(HexDouble(op.dnum));
    add(HexDouble(op.dorig));
    add(std::to_string(op.xt_arg));
  } else if (op.kind == "remove") {
    add(Hex(op.keys[0]));
  } else if (op.kind == "setbulk") {
    add(op.atomic ? "1" : "0");
    add(std::to_string(op.xt_arg));
    add(std::to_string(op.keys.size()));
    for (size_t i = 0; i < op.keys.size(); ++i) {
      add(Hex(op.keys[i]));
      add(std::to_string(op.lens[i]));
    }
  } else if (op.kind == "removebulk") {
    add(op.atomic ? "1" : "0");
    add(std::to_string(op.keys.size()));
    for (const std::string& key : op.keys) add(Hex(key));
  } else if (op.kind == "cas") {
    add(Hex(op.keys[0]));
    add(op.cas_old);
    add(op.cas_new);
    add(std::to_string(op.xt_arg));
  }
  return line;
}

bool ParseOp(std::string_view line, Op* op, std::string* error) {
  std::vector<std::string_view> t = Split(line);
  *op = Op();
  auto fail = [&](const char* what) {
    *error = std::string(what) + " in line '" + std::string(line.substr(0, 200)) + "'";
    return false;
  };
  if (t.size() < 3 || t[0] != "B" || !ToU64(t[1], &op->id)) return fail("bad op header");
  op->kind = std::string(t[2]);
  auto key = [&](size_t i) {
    std::string k;
    if (i >= t.size() || !Unhex(t[i], &k)) return false;
    op->keys.push_back(std::move(k));
    return true;
  };
  auto len = [&](size_t i) {
    uint64_t n;
    if (i >= t.size() || !ToU64(t[i], &n)) return false;
    op->lens.push_back(n);
    return true;
  };
  auto i64 = [&](size_t i, int64_t* out) { return i < t.size() && ToI64(t[i], out); };
  if (op->kind == "set" || op->kind == "append") {
    if (t.size() != 6 || !key(3) || !len(4) || !i64(5, &op->xt_arg)) return fail("bad set");
  } else if (op->kind == "incr") {
    if (t.size() != 7 || !key(3) || !i64(4, &op->inum) || !i64(5, &op->iorig) ||
        !i64(6, &op->xt_arg)) {
      return fail("bad incr");
    }
  } else if (op->kind == "incrd") {
    if (t.size() != 7 || !key(3) || !ToDouble(t[4], &op->dnum) || !ToDouble(t[5], &op->dorig) ||
        !i64(6, &op->xt_arg)) {
      return fail("bad incrd");
    }
  } else if (op->kind == "remove") {
    if (t.size() != 4 || !key(3)) return fail("bad remove");
  } else if (op->kind == "setbulk") {
    int64_t n;
    if (t.size() < 6 || !i64(4, &op->xt_arg) || !i64(5, &n) ||
        t.size() != 6 + 2 * static_cast<size_t>(n)) {
      return fail("bad setbulk");
    }
    op->atomic = t[3] == "1";
    for (int64_t i = 0; i < n; ++i) {
      if (!key(6 + 2 * i) || !len(7 + 2 * i)) return fail("bad setbulk record");
    }
  } else if (op->kind == "removebulk") {
    int64_t n;
    if (t.size() < 5 || !i64(4, &n) || t.size() != 5 + static_cast<size_t>(n)) {
      return fail("bad removebulk");
    }
    op->atomic = t[3] == "1";
    for (int64_t i = 0; i < n; ++i) {
      if (!key(5 + i)) return fail("bad removebulk key");
    }
  } else if (op->kind == "cas") {
    if (t.size() != 7 || !key(3) || !i64(6, &op->xt_arg)) return fail("bad cas");
    op->cas_old = std::string(t[4]);
    op->cas_new = std::string(t[5]);
  } else if (op->kind != "sync") {
    return fail("unknown op kind");
  }
  return true;
}

bool ResolveCasOld(const Op& op, uint64_t seed, const Model& model,
                   std::optional<std::string>* oval) {
  if (op.cas_old == "-") {
    oval->reset();
  } else if (op.cas_old.rfind("c:", 0) == 0) {
    auto it = model.find(op.keys[0]);
    if (it == model.end() || !Live(it->second)) return false;
    if (std::to_string(Hash64(it->second.value)) != op.cas_old.substr(2)) return false;
    *oval = it->second.value;
  } else if (op.cas_old.rfind("w", 0) == 0) {
    *oval = GenValue(seed, op.id, 1, std::strtoull(op.cas_old.c_str() + 1, nullptr, 10));
  } else {
    return false;
  }
  return true;
}

bool Apply(const Op& op, uint64_t seed, Model* model, Expect* expect, std::string* error) {
  *expect = Expect();
  int64_t xt = ResolveXt(op.xt_arg);
  auto live = [&](const std::string& key) -> const Rec* {
    auto it = model->find(key);
    return it != model->end() && Live(it->second) ? &it->second : nullptr;
  };
  if (op.kind == "set") {
    (*model)[op.keys[0]] = Rec{GenValue(seed, op.id, 0, op.lens[0]), xt};
  } else if (op.kind == "append") {
    std::string value = GenValue(seed, op.id, 0, op.lens[0]);
    if (const Rec* rec = live(op.keys[0])) value = rec->value + value;
    (*model)[op.keys[0]] = Rec{std::move(value), xt};
  } else if (op.kind == "incr" || op.kind == "incrd") {
    std::optional<std::string_view> current;
    if (const Rec* rec = live(op.keys[0])) current = rec->value;
    char buf[16];
    storage::IncrementOutcome outcome;
    size_t size;
    if (op.kind == "incr") {
      outcome = storage::IncrementInt(current, op.inum, op.iorig, &expect->iresult, buf);
      size = 8;
    } else {
      outcome = storage::IncrementDouble(current, op.dnum, op.dorig, &expect->dresult, buf);
      size = 16;
    }
    using storage::IncrementOutcome;
    if (outcome == IncrementOutcome::kWrite || outcome == IncrementOutcome::kWriteFail) {
      (*model)[op.keys[0]] = Rec{std::string(buf, size), xt};
    }
    if (outcome == IncrementOutcome::kFail || outcome == IncrementOutcome::kWriteFail) {
      expect->code = Code::kLogic;
    }
  } else if (op.kind == "remove") {
    if (!live(op.keys[0])) expect->code = Code::kNoRec;
    model->erase(op.keys[0]);  // an expired record is deleted too
  } else if (op.kind == "setbulk") {
    for (size_t i = 0; i < op.keys.size(); ++i) {
      (*model)[op.keys[i]] = Rec{GenValue(seed, op.id, i, op.lens[i]), xt};
    }
  } else if (op.kind == "removebulk") {
    for (const std::string& key : op.keys) {
      if (live(key)) ++expect->count;
      model->erase(key);
    }
  } else if (op.kind == "cas") {
    std::optional<std::string> oval;
    if (!ResolveCasOld(op, seed, *model, &oval)) {
      *error = "cas op " + std::to_string(op.id) + ": old value '" + op.cas_old +
               "' does not match the model";
      return false;
    }
    std::optional<std::string> nval;
    if (op.cas_new != "-") nval = GenValue(seed, op.id, 0, std::stoull(op.cas_new));
    const Rec* rec = live(op.keys[0]);
    bool matched = rec != nullptr ? (oval.has_value() && *oval == rec->value) : !oval.has_value();
    if (!matched) {
      expect->code = Code::kLogic;
    } else if (nval.has_value()) {
      (*model)[op.keys[0]] = Rec{std::move(*nval), xt};
    } else if (rec != nullptr) {
      model->erase(op.keys[0]);
    }
  } else if (op.kind != "sync") {
    *error = "unknown op kind " + op.kind;
    return false;
  }
  return true;
}

std::vector<std::string> AffectedKeys(const Op& op) { return op.keys; }

}  // namespace ryoan::crash
