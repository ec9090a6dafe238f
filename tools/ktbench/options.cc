#include "tools/ktbench/options.h"

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace ktbench {
namespace {

bool ParseUint(std::string_view s, uint64_t* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseDouble(std::string_view s, double* out) {
  // std::from_chars for double is available in libstdc++ 11+.
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

void PrintUsage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s [options]\n"
               "  --host H           server address (127.0.0.1)\n"
               "  --port P           server port (1978)\n"
               "  --protocol X       http | rest | binary | memcached | redis | script (http)\n"
               "  --connections C    connections (1)\n"
               "  --threads T        client threads, connections spread over them (1)\n"
               "  --ops N            total requests (default: run for --duration)\n"
               "  --duration S       seconds to run (5)\n"
               "  --keys K           key space (100000)\n"
               "  --value-size V     value bytes (100)\n"
               "  --mix R            read fraction 0..1 (0.9)\n"
               "  --bulk B           records per request (1)\n"
               "  --depth D          requests in flight per connection (1)\n"
               "  --pattern P        random | sequential (random)\n"
               "  --verify           check returned values; exit 1 on any mismatch\n"
               "  --preload          set every key once before measuring\n"
               "  --timeout S        seconds without progress before giving up (10)\n"
               "  --seed N           random seed\n"
               "  --label L          label copied to the output\n",
               prog);
}

bool ParseOptions(int argc, char** argv, Options* o, bool* help, std::string* error) {
  *help = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      *help = true;
      return true;
    }
    if (arg.substr(0, 2) != "--") {
      *error = "unexpected argument: " + std::string(arg);
      return false;
    }
    std::string_view name = arg.substr(2);
    std::string_view value;
    bool has_value = false;
    if (size_t eq = name.find('='); eq != std::string_view::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "verify" || name == "preload") {
      (name == "verify" ? o->verify : o->preload) = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        *error = "missing value for --" + std::string(name);
        return false;
      }
      value = argv[++i];
    }
    uint64_t u = 0;
    double d = 0;
    bool ok = true;
    if (name == "host") {
      o->host = value;
    } else if (name == "port") {
      ok = ParseUint(value, &u) && u >= 1 && u <= 65535;
      o->port = static_cast<int>(u);
    } else if (name == "protocol") {
      o->protocol = value;
      ok = value == "http" || value == "rest" || value == "binary" || value == "memcached" ||
           value == "redis" || value == "script";
    } else if (name == "connections") {
      ok = ParseUint(value, &u) && u >= 1 && u <= 100000;
      o->connections = static_cast<int>(u);
    } else if (name == "threads") {
      ok = ParseUint(value, &u) && u >= 1 && u <= 1024;
      o->threads = static_cast<int>(u);
    } else if (name == "ops") {
      ok = ParseUint(value, &o->ops) && o->ops >= 1;
    } else if (name == "duration") {
      ok = ParseDouble(value, &o->duration) && o->duration > 0;
    } else if (name == "keys") {
      ok = ParseUint(value, &o->keys) && o->keys >= 1 && o->keys < 10000000000ULL;
    } else if (name == "value-size") {
      ok = ParseUint(value, &u) && u <= (64u << 20);
      o->value_size = u;
    } else if (name == "mix") {
      ok = ParseDouble(value, &d) && d >= 0 && d <= 1;
      o->mix = d;
    } else if (name == "bulk") {
      ok = ParseUint(value, &u) && u >= 1 && u <= 100000;
      o->bulk = static_cast<int>(u);
    } else if (name == "depth") {
      ok = ParseUint(value, &u) && u >= 1 && u <= 4096;
      o->depth = static_cast<int>(u);
    } else if (name == "pattern") {
      ok = value == "random" || value == "sequential";
      o->pattern = value == "random" ? Pattern::kRandom : Pattern::kSequential;
    } else if (name == "timeout") {
      ok = ParseDouble(value, &o->timeout) && o->timeout > 0;
    } else if (name == "seed") {
      ok = ParseUint(value, &o->seed);
    } else if (name == "label") {
      o->label = value;
    } else {
      *error = "unknown option: --" + std::string(name);
      return false;
    }
    if (!ok) {
      *error = "bad value for --" + std::string(name) + ": " + std::string(value);
      return false;
    }
  }
  if (o->keys < static_cast<uint64_t>(o->bulk)) {
    *error = "--keys must be at least --bulk (a request never repeats a key)";
    return false;
  }
  if (o->threads > o->connections) o->threads = o->connections;
  return true;
}

}  // namespace ktbench
