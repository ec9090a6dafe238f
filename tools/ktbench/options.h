// Command-line options of ktbench.
#pragma once

#include <cstdint>
#include <string>

namespace ktbench {

enum class Pattern { kRandom, kSequential };

struct Options {
  std::string host = "127.0.0.1";
  int port = 1978;
  std::string protocol = "http";  // http | rest | binary | memcached | redis
  int connections = 1;
  int threads = 1;
  uint64_t ops = 0;       // total requests; 0 = run for `duration`
  double duration = 5.0;  // seconds, used when ops == 0
  uint64_t keys = 100000;
  size_t value_size = 100;
  double mix = 0.9;  // fraction of requests that are reads
  int bulk = 1;      // records per request
  int depth = 1;     // requests in flight per connection
  Pattern pattern = Pattern::kRandom;
  bool verify = false;
  bool preload = false;
  double timeout = 10.0;  // seconds without progress before a connection is declared dead
  std::string label;
  uint64_t seed = 0x6b7462656e6368ULL;
};

// Parses argv into `opts`. On failure returns false with a message in `error`. Sets `help`
// when usage was asked for.
bool ParseOptions(int argc, char** argv, Options* opts, bool* help, std::string* error);
void PrintUsage(const char* prog);

}  // namespace ktbench
