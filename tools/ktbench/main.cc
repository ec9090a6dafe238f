// ktbench: load generator for ktserver (HTTP RPC, REST, binary) and, for comparison,
// memcached (text protocol) and redis (RESP). One JSON line per run on stdout, a readable
// line on stderr. Exit status: 0 clean, 1 errors or mismatches, 2 bad usage or no connection.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <string>

#include "tools/ktbench/driver.h"
#include "tools/ktbench/options.h"
#include "tools/ktbench/workload.h"

namespace ktbench {
namespace {

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out + "\"";
}

// Microseconds at quantile q, as a JSON number, or null when the histogram is empty.
std::string JsonUs(const Histogram& h, double q) {
  if (h.total() == 0) return "null";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(h.Quantile(q)) / 1000.0);
  return buf;
}

// Microseconds at quantile q for the readable line: "-" when the histogram is empty.
std::string TextUs(const Histogram& h, double q) {
  if (h.total() == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1fus", static_cast<double>(h.Quantile(q)) / 1000.0);
  return buf;
}

void Report(const Options& o, const Stats& s) {
  const double secs = s.seconds > 0 ? s.seconds : 1e-9;
  const double ops_rate = static_cast<double>(s.ops) / secs;
  const double rec_rate = static_cast<double>(s.records) / secs;
  const double p50 = static_cast<double>(s.latency_ns.Quantile(0.50)) / 1000.0;
  const double p99 = static_cast<double>(s.latency_ns.Quantile(0.99)) / 1000.0;
  const double p999 = static_cast<double>(s.latency_ns.Quantile(0.999)) / 1000.0;
  const Histogram& g = s.get_latency_ns;
  const Histogram& w = s.set_latency_ns;
  std::printf(
      "{\"label\":%s,\"protocol\":%s,\"connections\":%d,\"depth\":%d,\"bulk\":%d,"
      "\"value_size\":%zu,\"mix\":%.3f,\"ops\":%llu,\"records\":%llu,\"seconds\":%.3f,"
      "\"ops_per_sec\":%.1f,\"records_per_sec\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
      "\"p999_us\":%.1f,\"get_ops\":%llu,\"get_p50_us\":%s,\"get_p99_us\":%s,"
      "\"get_p999_us\":%s,\"set_ops\":%llu,\"set_p50_us\":%s,\"set_p99_us\":%s,"
      "\"set_p999_us\":%s,\"errors\":%llu,\"mismatches\":%llu,\"misses\":%llu}\n",
      JsonString(o.label).c_str(), JsonString(o.protocol).c_str(), o.connections, o.depth, o.bulk,
      o.value_size, o.mix, static_cast<unsigned long long>(s.ops),
      static_cast<unsigned long long>(s.records), s.seconds, ops_rate, rec_rate, p50, p99, p999,
      static_cast<unsigned long long>(g.total()), JsonUs(g, 0.50).c_str(), JsonUs(g, 0.99).c_str(),
      JsonUs(g, 0.999).c_str(), static_cast<unsigned long long>(w.total()), JsonUs(w, 0.50).c_str(),
      JsonUs(w, 0.99).c_str(), JsonUs(w, 0.999).c_str(), static_cast<unsigned long long>(s.errors),
      static_cast<unsigned long long>(s.mismatches), static_cast<unsigned long long>(s.misses));
  std::fflush(stdout);
  std::fprintf(stderr,
               "%-28s %-9s c=%-3d d=%-3d b=%-4d v=%-5zu mix=%.2f  %10.0f ops/s %11.0f rec/s  "
               "p50 %8.1fus p99 %8.1fus p99.9 %8.1fus  get p50/p99/p99.9 %s/%s/%s  "
               "set p50/p99/p99.9 %s/%s/%s  ops=%llu err=%llu mism=%llu miss=%llu%s\n",
               o.label.c_str(), o.protocol.c_str(), o.connections, o.depth, o.bulk, o.value_size,
               o.mix, ops_rate, rec_rate, p50, p99, p999, TextUs(g, 0.50).c_str(),
               TextUs(g, 0.99).c_str(), TextUs(g, 0.999).c_str(), TextUs(w, 0.50).c_str(),
               TextUs(w, 0.99).c_str(), TextUs(w, 0.999).c_str(),
               static_cast<unsigned long long>(s.ops), static_cast<unsigned long long>(s.errors),
               static_cast<unsigned long long>(s.mismatches),
               static_cast<unsigned long long>(s.misses), s.timed_out ? " TIMEOUT" : "");
}

int Main(int argc, char** argv) {
  // Writes to a closed socket must fail with EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  Options opts;
  bool help = false;
  std::string error;
  if (!ParseOptions(argc, argv, &opts, &help, &error)) {
    std::fprintf(stderr, "ktbench: %s\n", error.c_str());
    PrintUsage(argv[0]);
    return 2;
  }
  if (help) {
    PrintUsage(argv[0]);
    return 0;
  }
  if (opts.label.empty()) opts.label = opts.protocol;
  Workload workload(opts.keys, opts.value_size);
  Driver driver(opts, workload);
  if (!driver.Connect(&error)) {
    std::fprintf(stderr, "ktbench: %s\n", error.c_str());
    return 2;
  }
  if (opts.preload) {
    Phase load;
    load.preload = true;
    load.bulk = std::min<int>(100, static_cast<int>(std::min<uint64_t>(opts.keys, 100)));
    load.depth = std::max(opts.depth, 4);
    auto s = driver.Run(load);
    std::fprintf(stderr, "preload: %llu keys in %.2fs, errors=%llu\n",
                 static_cast<unsigned long long>(s->records), s->seconds,
                 static_cast<unsigned long long>(s->errors));
    if (s->errors > 0 || s->records < opts.keys) {
      std::fprintf(stderr, "ktbench: preload failed\n");
      return 1;
    }
  }
  Phase run;
  run.mix = opts.mix;
  run.bulk = opts.bulk;
  run.depth = opts.depth;
  run.ops = opts.ops;
  run.duration = opts.duration;
  run.pattern = opts.pattern;
  auto stats = driver.Run(run);
  // After a preload every key exists (nothing is removed), so a miss is lost data.
  if (opts.verify && opts.preload) stats->mismatches += stats->misses;
  Report(opts, *stats);
  if (stats->dead_connections > 0) {
    std::fprintf(stderr, "ktbench: %llu connection(s) lost%s\n",
                 static_cast<unsigned long long>(stats->dead_connections),
                 stats->timed_out ? " (timeout)" : "");
  }
  return stats->errors > 0 || stats->mismatches > 0 || stats->ops == 0 ? 1 : 0;
}

}  // namespace
}  // namespace ktbench

int main(int argc, char** argv) { return ktbench::Main(argc, argv); }
