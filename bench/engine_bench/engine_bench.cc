// engine_bench: a db_bench-style in-process benchmark of the storage engines, without the
// server. It drives Ryoan's DB API (.kch, .kct, ':' for reference) and, when built with
// -DRYOAN_BENCH_KC=ON and Kyoto Cabinet's library is installed, kyotocabinet::HashDB and
// TreeDB through the same loop, with the same keys, values and timing.
//
// Keys are 8 bytes (the record number, big-endian, so that key order is number order) and
// values 100 bytes. Workloads, run in the order given:
//   set-seq   on a new database: set records 0..N-1 in order
//   set-rand  on a new database: set records 0..N-1 in a random order (each once)
//   get-seq   get records 0..N-1 in order (loads the database first if it is not loaded)
//   get-rand  get --ops records chosen uniformly at random (loads it first if needed)
// With T threads, the sequential and set workloads give each thread a contiguous 1/T of the
// range or permutation; get-rand threads draw from their own generators. Every operation is
// timed; one line per workload:
//   engine=kch records=1000000 threads=1 workload=get-rand ops=1000000 ops_per_sec=...
//   avg_us=... p99_us=... seconds=... minflt=... majflt=... (page faults during the workload)
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "storage/database_spec.h"
#include "storage/db.h"

#ifdef RYOAN_BENCH_KC
#include <kchashdb.h>
#include <kcpolydb.h>
#endif

namespace {

constexpr size_t kKeySize = 8;

// ---------------------------------------------------------------------------------------
// Stores: one interface over every engine measured.

class Store {
 public:
  virtual ~Store() = default;
  virtual bool Set(std::string_view key, std::string_view value) = 0;
  // Returns the value's size, or -1 when absent or on error.
  virtual int64_t Get(std::string_view key) = 0;
};

class RyoanStore : public Store {
 public:
  static std::unique_ptr<Store> Open(const std::string& argument) {
    ryoan::storage::DatabaseSpec spec;
    ryoan::storage::Status status = ryoan::storage::ParseDatabaseSpec(argument, &spec);
    std::unique_ptr<ryoan::storage::DB> db;
    if (status.ok()) status = ryoan::storage::DB::Open(spec, {}, &db);
    if (!status.ok()) {
      std::fprintf(stderr, "engine_bench: %s: %s\n", argument.c_str(), status.ToString().c_str());
      return nullptr;
    }
    auto store = std::make_unique<RyoanStore>();
    store->db_ = std::move(db);
    return store;
  }
  bool Set(std::string_view key, std::string_view value) override {
    return db_->Set(key, value).ok();
  }
  int64_t Get(std::string_view key) override {
    thread_local std::string value;
    int64_t xt;
    if (!db_->Get(key, &value, &xt).ok()) return -1;
    return static_cast<int64_t>(value.size());
  }

 private:
  std::unique_ptr<ryoan::storage::DB> db_;
};

#ifdef RYOAN_BENCH_KC
// Kyoto Cabinet's HashDB or TreeDB with its defaults, except the bucket count (2 x records,
// as Kyoto Cabinet's documentation recommends), which .kch is given too.
template <typename KcDb>
class KcStore : public Store {
 public:
  static std::unique_ptr<Store> Open(const std::string& path, int64_t bnum) {
    auto store = std::make_unique<KcStore>();
    if (bnum > 0) store->db_.tune_buckets(bnum);
    if (!store->db_.open(path, KcDb::OWRITER | KcDb::OCREATE | KcDb::OTRUNCATE)) {
      std::fprintf(stderr, "engine_bench: %s: %s\n", path.c_str(), store->db_.error().name());
      return nullptr;
    }
    return store;
  }
  ~KcStore() override { db_.close(); }
  bool Set(std::string_view key, std::string_view value) override {
    return db_.set(key.data(), key.size(), value.data(), value.size());
  }
  int64_t Get(std::string_view key) override {
    char buffer[256];
    return db_.get(key.data(), key.size(), buffer, sizeof(buffer));
  }

 private:
  KcDb db_;
};
#endif

// ---------------------------------------------------------------------------------------
// Latency histogram: exact below 64 ns, then 32 linear buckets per power of two (about 3%).

class Histogram {
 public:
  void Add(uint64_t ns) { counts_[Bucket(ns)]++; }
  void Merge(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  }
  // The upper bound of the bucket holding the q-quantile, in nanoseconds.
  double Quantile(double q) const {
    uint64_t total = std::accumulate(counts_.begin(), counts_.end(), uint64_t{0});
    if (total == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return static_cast<double>(UpperBound(i));
    }
    return static_cast<double>(UpperBound(kBuckets - 1));
  }

 private:
  static constexpr size_t kBuckets = 64 + 58 * 32;
  static size_t Bucket(uint64_t ns) {
    if (ns < 64) return ns;
    int exponent = 63 - __builtin_clzll(ns);  // >= 6
    size_t sub = (ns >> (exponent - 5)) & 31;
    return std::min(kBuckets - 1, 64 + static_cast<size_t>(exponent - 6) * 32 + sub);
  }
  static uint64_t UpperBound(size_t bucket) {
    if (bucket < 64) return bucket;
    size_t exponent = (bucket - 64) / 32 + 6;
    uint64_t sub = (bucket - 64) % 32;
    return ((32 + sub + 1) << (exponent - 5)) - 1;
  }
  std::vector<uint64_t> counts_ = std::vector<uint64_t>(kBuckets);
};

// Page faults of the whole process (a workload's include those of any background thread of
// the engine): a first touch of a mapped page costs a minor fault, a read from disk a major one.
struct Faults {
  long minor = 0;
  long major = 0;
  static Faults Now() {
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return {usage.ru_minflt, usage.ru_majflt};
  }
  Faults operator-(const Faults& other) const { return {minor - other.minor, major - other.major}; }
};

// ---------------------------------------------------------------------------------------
// Options

struct Options {
  std::string engine;  // kch, kct, mem, kc-hash, kc-tree
  int64_t records = 1000000;
  int threads = 1;
  int64_t ops = 0;  // per workload; 0 = records
  std::string dir = "/tmp";
  std::vector<std::string> workloads = {"set-seq", "get-seq", "get-rand", "set-rand"};
  uint64_t seed = 42;
  size_t value_size = 100;
  // Ryoan engines: ktopts=p (no expiration times, so no background sweeper), which is
  // what a bare Kyoto Cabinet database is.
  bool persistent = false;
};

[[noreturn]] void Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --engine kch|kct|mem|kc-hash|kc-tree [options]\n"
               "  --records N      records in the database (1000000)\n"
               "  --threads T      threads (1)\n"
               "  --ops N          operations per workload (records)\n"
               "  --workloads L    comma-separated: set-seq,get-seq,get-rand,set-rand (all)\n"
               "  --dir D          directory for the database files (/tmp), removed after\n"
               "  --value-size V   value bytes (100)\n"
               "  --seed S         random seed (42)\n"
               "  --persistent     Ryoan engines with ktopts=p (no expiration, no sweeper)\n",
               argv0);
  std::exit(2);
}

Options ParseOptions(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(argv[0]);
      return argv[++i];
    };
    if (arg == "--engine") {
      options.engine = value();
    } else if (arg == "--records") {
      options.records = std::stoll(value());
    } else if (arg == "--threads") {
      options.threads = std::stoi(value());
    } else if (arg == "--ops") {
      options.ops = std::stoll(value());
    } else if (arg == "--dir") {
      options.dir = value();
    } else if (arg == "--value-size") {
      options.value_size = std::stoul(value());
    } else if (arg == "--persistent") {
      options.persistent = true;
    } else if (arg == "--seed") {
      options.seed = std::stoull(value());
    } else if (arg == "--workloads") {
      options.workloads.clear();
      std::string list = value();
      size_t start = 0;
      while (start <= list.size()) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        if (comma > start) options.workloads.push_back(list.substr(start, comma - start));
        start = comma + 1;
      }
    } else {
      Usage(argv[0]);
    }
  }
  if (options.engine.empty() || options.records <= 0 || options.threads <= 0) Usage(argv[0]);
  if (options.ops <= 0) options.ops = options.records;
  for (const std::string& w : options.workloads) {
    if (w != "set-seq" && w != "set-rand" && w != "get-seq" && w != "get-rand") Usage(argv[0]);
  }
  return options;
}

// ---------------------------------------------------------------------------------------
// The benchmark

class Bench {
 public:
  explicit Bench(Options options) : options_(std::move(options)) {
    value_.resize(options_.value_size);
    std::mt19937_64 rng(options_.seed);
    for (char& c : value_) c = static_cast<char>('a' + rng() % 26);
    char name[64];
    std::snprintf(name, sizeof(name), "engine_bench.%d", static_cast<int>(getpid()));
    dir_ = std::filesystem::path(options_.dir) / name;
  }

  int Run() {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
      std::fprintf(stderr, "engine_bench: %s: %s\n", dir_.c_str(), ec.message().c_str());
      return 1;
    }
    int rc = 0;
    for (const std::string& workload : options_.workloads) {
      if (!RunWorkload(workload)) {
        rc = 1;
        break;
      }
    }
    store_.reset();
    std::filesystem::remove_all(dir_, ec);
    return rc;
  }

 private:
  bool Reopen() {
    store_.reset();
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
      std::filesystem::remove_all(entry.path(), ec);
    }
    loaded_ = false;
    const std::string& engine = options_.engine;
    std::string base = (dir_ / "casket").string();
    int64_t bnum = options_.records * 2;
    std::string params = options_.persistent ? "#ktopts=p" : "";
    if (engine == "kch") {
      store_ = RyoanStore::Open(base + ".kch#bnum=" + std::to_string(bnum) + params);
    } else if (engine == "kct") {
      store_ = RyoanStore::Open(base + ".kct" + params);
    } else if (engine == "mem") {
      store_ = RyoanStore::Open(":" + params);
#ifdef RYOAN_BENCH_KC
    } else if (engine == "kc-hash") {
      store_ = KcStore<kyotocabinet::HashDB>::Open(base + ".kc.kch", bnum);
    } else if (engine == "kc-tree") {
      store_ = KcStore<kyotocabinet::TreeDB>::Open(base + ".kc.kct", 0);
#endif
    } else {
      std::fprintf(stderr, "engine_bench: unknown engine %s%s\n", engine.c_str(),
                   engine.rfind("kc-", 0) == 0 ? " (built without -DRYOAN_BENCH_KC=ON)" : "");
      return false;
    }
    return store_ != nullptr;
  }

  static std::string Key(uint64_t n) {
    std::string key(kKeySize, '\0');
    for (size_t i = 0; i < kKeySize; ++i) key[i] = static_cast<char>(n >> (8 * (7 - i)));
    return key;
  }

  // Runs fn(thread, index) for index in [0, ops) split over the threads, times each call,
  // and prints the line. fn returns false on a failed operation.
  template <typename Fn>
  bool Measure(const std::string& workload, int64_t ops, bool print, Fn fn) {
    int threads = options_.threads;
    std::vector<Histogram> histograms(threads);
    std::atomic<int64_t> failures{0};
    // Each thread notes its own start and end: the main thread may be descheduled.
    std::vector<std::chrono::steady_clock::time_point> starts(threads), ends(threads);
    std::barrier start(threads);
    const Faults faults_before = Faults::Now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        int64_t begin = ops * t / threads, end = ops * (t + 1) / threads;
        Histogram& histogram = histograms[t];
        int64_t failed = 0;
        start.arrive_and_wait();
        auto last = std::chrono::steady_clock::now();
        starts[t] = last;
        for (int64_t i = begin; i < end; ++i) {
          if (!fn(t, i)) ++failed;
          auto now = std::chrono::steady_clock::now();
          histogram.Add(std::chrono::duration_cast<std::chrono::nanoseconds>(now - last).count());
          last = now;
        }
        ends[t] = last;
        failures += failed;
      });
    }
    for (std::thread& worker : workers) worker.join();
    const Faults faults = Faults::Now() - faults_before;
    double seconds = std::chrono::duration<double>(*std::max_element(ends.begin(), ends.end()) -
                                                   *std::min_element(starts.begin(), starts.end()))
                         .count();
    if (failures > 0) {
      std::fprintf(stderr, "engine_bench: %s %s: %" PRId64 " of %" PRId64 " operations failed\n",
                   options_.engine.c_str(), workload.c_str(), failures.load(), ops);
      return false;
    }
    if (!print) return true;
    Histogram all;
    for (const Histogram& h : histograms) all.Merge(h);
    double ops_per_sec = static_cast<double>(ops) / seconds;
    // Mean latency per operation as each thread sees it.
    double avg_us = 1e6 * seconds * threads / static_cast<double>(ops);
    std::printf("engine=%s%s records=%" PRId64 " threads=%d workload=%s ops=%" PRId64
                " ops_per_sec=%.0f avg_us=%.3f p99_us=%.3f seconds=%.2f minflt=%ld majflt=%ld\n",
                options_.engine.c_str(), options_.persistent ? "-p" : "", options_.records, threads,
                workload.c_str(), ops, ops_per_sec, avg_us, all.Quantile(0.99) / 1000.0, seconds,
                faults.minor, faults.major);
    std::fflush(stdout);
    return true;
  }

  bool Load(const std::string& workload, bool print) {
    int64_t n = options_.records;
    bool ok =
        Measure(workload, n, print, [&](int, int64_t i) { return store_->Set(Key(i), value_); });
    loaded_ = ok;
    return ok;
  }

  bool RunWorkload(const std::string& workload) {
    int64_t n = options_.records;
    int64_t value_size = static_cast<int64_t>(value_.size());
    if (workload == "set-seq") {
      return Reopen() && Load(workload, true);
    }
    if (workload == "set-rand") {
      if (!Reopen()) return false;
      std::vector<uint32_t> order(n);
      std::iota(order.begin(), order.end(), 0);
      std::shuffle(order.begin(), order.end(), std::mt19937_64(options_.seed));
      bool ok = Measure(workload, n, true,
                        [&](int, int64_t i) { return store_->Set(Key(order[i]), value_); });
      loaded_ = ok;
      return ok;
    }
    // A get workload on a database not loaded yet loads it first (set-seq, shown as "load").
    if (!loaded_ && !(Reopen() && Load("load", true))) return false;
    if (workload == "get-seq") {
      return Measure(workload, n, true,
                     [&](int, int64_t i) { return store_->Get(Key(i)) == value_size; });
    }
    // get-rand: a splitmix64 stream per thread.
    struct alignas(64) State {
      uint64_t s;
    };
    std::vector<State> states(options_.threads);
    for (int t = 0; t < options_.threads; ++t) states[t].s = options_.seed * 1000003 + t;
    return Measure(workload, options_.ops, true, [&](int t, int64_t) {
      uint64_t z = (states[t].s += 0x9e3779b97f4a7c15ULL);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      z ^= z >> 31;
      return store_->Get(Key(z % static_cast<uint64_t>(n))) == value_size;
    });
  }

  Options options_;
  std::string value_;
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  bool loaded_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  Options options = ParseOptions(argc, argv);
  Bench bench(std::move(options));
  return bench.Run();
}
