#include "tests/crash/kct_pages.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "storage/database_spec.h"
#include "storage/db.h"
#include "tests/crash/crash_model.h"
#include "tests/crash/probe_child.h"

namespace ryoan::crash {
namespace {

using storage::Code;
using storage::DB;
using storage::Status;

// LMDB's page header: page number (8), padding (2), flags (2), lower/upper bounds (2 + 2) or
// an overflow run's page count (4).
constexpr size_t kPageSize = 4096;  // the harness runs where the OS page is 4 KiB
constexpr uint16_t kBranch = 0x01, kLeaf = 0x02, kOverflow = 0x04, kMeta = 0x08;

enum Kind { kMetaPage, kBranchPage, kLeafPage, kOverflowPage, kKinds };
const char* const kKindNames[kKinds] = {"meta", "branch", "leaf", "overflow"};

Status OpenDb(const std::string& dbarg, std::unique_ptr<DB>* db) {
  storage::DatabaseSpec spec;
  Status status = storage::ParseDatabaseSpec(dbarg, &spec);
  if (!status.ok()) return status;
  return DB::Open(spec, storage::OpenOptions(), db);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
T Load(const std::string& bytes, size_t at) {
  T v;
  std::memcpy(&v, bytes.data() + at, sizeof(v));
  return v;
}

// Pages of each kind, by their headers (an overflow run's later pages have none). Free
// pages keep the header of what they held, so some pages of each kind are not in use.
std::vector<size_t> PagesOfKind(const std::string& bytes, Kind kind) {
  std::vector<size_t> pages;
  const size_t count = bytes.size() / kPageSize;
  for (size_t p = 0; p < count; ++p) {
    const size_t at = p * kPageSize;
    if (Load<uint64_t>(bytes, at) != p) continue;
    const uint16_t flags = Load<uint16_t>(bytes, at + 10);
    bool match =
        (kind == kMetaPage && (flags & kMeta)) || (kind == kBranchPage && (flags & kBranch)) ||
        (kind == kLeafPage && (flags & kLeaf)) || (kind == kOverflowPage && (flags & kOverflow));
    if (match) pages.push_back(p);
    if (flags & kOverflow) {
      const uint32_t run = Load<uint32_t>(bytes, at + 12);
      if (kind == kOverflowPage) {
        for (uint32_t i = 1; i < run && p + i < count; ++i) pages.push_back(p + i);
      }
      if (run > 1) p += run - 1;
    }
  }
  return pages;
}

// An offset inside page `page` worth flipping: the header, the node offsets, the node
// headers and keys, or anywhere.
size_t PickOffset(const std::string& bytes, Kind kind, size_t page, std::mt19937_64& rng) {
  const size_t at = page * kPageSize;
  switch (rng() % 4) {
    case 0:
      return at + rng() % 16;  // the page header
    case 1:
      if (kind == kMetaPage) return at + 16 + rng() % 144;  // magic .. txn id
      {
        const uint16_t lower = Load<uint16_t>(bytes, at + 12);
        if (kind != kOverflowPage && lower > 16 && lower <= kPageSize) {
          return at + 16 + rng() % (lower - 16);  // the node offsets
        }
      }
      return at + rng() % kPageSize;
    case 2:
      if (kind != kOverflowPage && kind != kMetaPage) {
        const uint16_t upper = Load<uint16_t>(bytes, at + 14);
        if (upper >= 16 && upper < kPageSize) {
          return at + upper + rng() % std::min<size_t>(24, kPageSize - upper);  // a node head
        }
      }
      return at + rng() % kPageSize;
    default:
      return at + rng() % kPageSize;
  }
}

// Runs in a child: opens the damaged file and reports "refused <why>", "intact" or
// "bad <what>" (a missing, failing or wrong record) on `fd`.
void Probe(const std::string& dbarg, const Model& model, int fd) {
  std::unique_ptr<DB> db;
  Status status = OpenDb(dbarg, &db);
  std::string reply;
  if (!status.ok()) {
    reply = "refused " + status.ToString();
  } else {
    for (const auto& [key, rec] : model) {
      std::string value;
      int64_t xt = 0;
      status = db->Get(key, &value, &xt);
      if (!status.ok()) {
        reply = "bad get " + Hex(key).substr(0, 40) + ": " + status.ToString();
        break;
      }
      if (value != rec.value || xt != rec.xt) {
        reply = "bad get " + Hex(key).substr(0, 40) + ": a wrong value";
        break;
      }
    }
    if (reply.empty()) {
      std::unique_ptr<storage::Cursor> cursor = db->NewCursor();
      std::string key, value;
      int64_t xt = 0;
      size_t seen = 0;
      status = cursor->Jump();
      while (status.ok() && reply.empty()) {
        status = cursor->Get(&key, &value, &xt, true);
        if (!status.ok()) break;
        auto it = model.find(key);
        if (it == model.end() || it->second.value != value || it->second.xt != xt) {
          reply = "bad scan: key " + Hex(key).substr(0, 40) + " is not as written";
        }
        ++seen;
      }
      if (reply.empty() && status.code() != Code::kNoRec) {
        reply = "bad scan: " + status.ToString();
      } else if (reply.empty() && seen != model.size()) {
        reply = "bad scan: " + std::to_string(seen) + " of " + std::to_string(model.size());
      } else if (reply.empty() && db->Count() != static_cast<int64_t>(model.size())) {
        reply = "bad count " + std::to_string(db->Count());
      }
    }
    if (reply.empty()) reply = "intact";
  }
  size_t done = 0;
  while (done < reply.size()) {
    ssize_t n = write(fd, reply.data() + done, reply.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

int RunPageFlips(const std::string& dbarg, uint64_t seed, int flips_per_kind) {
  std::mt19937_64 rng(seed);
  Model model;
  std::error_code ec;
  std::filesystem::remove(dbarg, ec);
  std::filesystem::remove(dbarg + "-lock", ec);
  {
    std::unique_ptr<DB> db;
    Status status = OpenDb(dbarg, &db);
    if (!status.ok()) {
      std::fprintf(stderr, "pageflips: open failed: %s\n", status.ToString().c_str());
      return 1;
    }
    // Enough records for a two-level tree, values big enough for overflow pages, long keys
    // (group records), then overwrites and removals so that the free list has pages.
    for (int i = 0; i < 4000; ++i) {
      std::string key = "p" + std::to_string(i * 7919 % 100000);
      if (i % 97 == 0) key += std::string(600, static_cast<char>('a' + i % 26));
      uint64_t len = i % 40 == 0 ? 5000 + rng() % 12000 : rng() % 120;
      Rec rec{GenValue(seed, static_cast<uint64_t>(i), 0, len), storage::kXtMax};
      if (!db->Set(key, rec.value).ok()) return 1;
      model[key] = rec;
    }
    for (int i = 0; i < 400; ++i) {
      auto it = model.begin();
      std::advance(it, static_cast<long>(rng() % model.size()));
      if (i % 2 == 0) {
        if (!db->Remove(it->first).ok()) return 1;
        model.erase(it);
      } else {
        it->second.value = GenValue(seed, 100000 + static_cast<uint64_t>(i), 0, rng() % 300);
        if (!db->Set(it->first, it->second.value).ok()) return 1;
      }
    }
    if (!db->Synchronize(true).ok()) return 1;
  }
  const std::string original = ReadFile(dbarg);
  struct Tally {
    int pages = 0, refused = 0, intact = 0, bad = 0, crashed = 0;
    std::string first_bad, sample_refusal;
  } tallies[kKinds];
  int failed = 0;
  for (int kind = 0; kind < kKinds; ++kind) {
    Tally& tally = tallies[kind];
    std::vector<size_t> pages = PagesOfKind(original, static_cast<Kind>(kind));
    tally.pages = static_cast<int>(pages.size());
    if (pages.empty()) {
      std::fprintf(stderr, "pageflips: the file has no %s pages\n", kKindNames[kind]);
      return 1;
    }
    for (int flip = 0; flip < flips_per_kind; ++flip) {
      size_t page = pages[rng() % pages.size()];
      size_t offset = PickOffset(original, static_cast<Kind>(kind), page, rng);
      auto mask = static_cast<uint8_t>(1 + rng() % 255);
      std::string damaged = original;
      damaged[offset] = static_cast<char>(damaged[offset] ^ mask);
      std::filesystem::remove(dbarg + "-lock", ec);
      WriteFile(dbarg, damaged);
      std::string result;
      ProbeOutcome outcome = RunProbeInChild([&](int fd) { Probe(dbarg, model, fd); }, &result);
      if (outcome == ProbeOutcome::kNotStarted) return 1;
      std::string what = std::string(kKindNames[kind]) + " page " + std::to_string(page) +
                         ", byte " + std::to_string(offset % kPageSize) + " ^ " +
                         std::to_string(mask);
      if (outcome == ProbeOutcome::kCrashed) {
        ++tally.crashed;
        if (tally.first_bad.empty()) tally.first_bad = what + ": the opening process crashed";
      } else if (result.rfind("refused ", 0) == 0) {
        ++tally.refused;
        if (tally.sample_refusal.empty()) tally.sample_refusal = result.substr(8);
      } else if (result == "intact") {
        ++tally.intact;
      } else {
        ++tally.bad;
        if (tally.first_bad.empty()) tally.first_bad = what + ": " + result.substr(4);
      }
    }
    std::printf("pageflips: %s pages (%d in the file): refused=%d intact=%d bad=%d crashed=%d\n",
                kKindNames[kind], tally.pages, tally.refused, tally.intact, tally.bad,
                tally.crashed);
    if (!tally.sample_refusal.empty()) {
      std::printf("pageflips:   sample refusal: %s\n", tally.sample_refusal.c_str());
    }
    if (!tally.first_bad.empty())
      std::printf("pageflips:   FIRST FAILURE: %s\n", tally.first_bad.c_str());
    failed += tally.bad + tally.crashed;
  }
  WriteFile(dbarg, original);
  std::printf("pageflips: %s\n", failed > 0 ? "FAILED" : "ok");
  return failed > 0 ? 1 : 0;
}

}  // namespace ryoan::crash
