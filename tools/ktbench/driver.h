// Runs phases of load over a set of connections: each client thread drives its share of the
// connections with non-blocking sockets and epoll, keeping `depth` requests in flight on each.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tools/ktbench/histogram.h"
#include "tools/ktbench/options.h"
#include "tools/ktbench/workload.h"

namespace ktbench {

struct Phase {
  bool preload = false;  // set every key once (split over the connections), then stop
  double mix = 0.9;
  int bulk = 1;
  int depth = 1;
  uint64_t ops = 0;       // 0: run for `duration`
  double duration = 5.0;  // seconds
  Pattern pattern = Pattern::kRandom;
};

struct Stats {
  uint64_t ops = 0;
  uint64_t records = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t errors = 0;
  uint64_t mismatches = 0;
  uint64_t dead_connections = 0;
  bool timed_out = false;
  double seconds = 0;
  Histogram latency_ns;      // every request
  Histogram get_latency_ns;  // gets only
  Histogram set_latency_ns;  // sets only

  void Merge(const Stats& other);
};

struct Connection;

class Driver {
 public:
  Driver(const Options& opts, const Workload& workload);
  ~Driver();

  // Opens every connection; false with a message if any fails.
  bool Connect(std::string* error);
  // Runs one phase on all threads and returns the merged figures. Connections that died stay
  // dead for later phases.
  std::unique_ptr<Stats> Run(const Phase& phase);

 private:
  const Options& opts_;
  const Workload& workload_;
  std::vector<std::unique_ptr<Connection>> conns_;
};

}  // namespace ktbench
