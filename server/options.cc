// ktserver's command line (spec/ktserver-cli.md sections 1-4).

#include "server/options.h"

#include <sys/stat.h>

#include <climits>
#include <cstring>
#include <string_view>

#include "common/numbers.h"

namespace ryoan::server {

namespace {

constexpr int kMaxThreads = 64;
constexpr size_t kMaxDatabases = 200;

// The version we claim to be (clients and tools sniff it) and our own.
constexpr const char* kKtVersion = "0.9.56";
constexpr const char* kKtLibVersion = "2.19";
constexpr const char* kRyoanVersion = "0.1.0";

const char* OsName() {
#if defined(__linux__)
  return "Linux";
#elif defined(__APPLE__)
  return "Mac OS X";
#elif defined(__FreeBSD__)
  return "FreeBSD";
#else
  return "Unknown";
#endif
}

// Integer options take atoix values, which are 64-bit; the fields are int, so clamp rather
// than let an absurd value wrap into a plausible one.
int ClampToInt(int64_t v) {
  if (v > INT_MAX) return INT_MAX;
  if (v < INT_MIN) return INT_MIN;
  return static_cast<int>(v);
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool IsNonDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
}

}  // namespace

bool ParseServerOptions(int argc, const char* const* argv, ServerOptions* options) {
  ServerOptions& o = *options;
  if (argc > 1 && std::strcmp(argv[1], "--version") == 0) {
    // Only honoured as the first argument; anything after it is irrelevant.
    o.show_version = true;
    return true;
  }
  int i = 1;
  // Fetches the argument of the option at argv[i]; false when it is missing.
  auto next = [&](std::string_view* arg) {
    if (i + 1 >= argc) return false;
    *arg = argv[++i];
    return true;
  };
  for (; i < argc; i++) {
    std::string_view a = argv[i];
    if (a.empty() || a[0] != '-') break;  // the first database argument ends the options
    if (a == "--") {
      i++;
      break;
    }
    std::string_view v;
    if (a == "-host") {
      if (!next(&v)) return false;
      o.host = v;
    } else if (a == "-port") {
      if (!next(&v)) return false;
      int64_t n = ParseIntWithUnit(v);
      if (n < 1) return false;
      o.port = ClampToInt(n);
    } else if (a == "-tout") {
      if (!next(&v)) return false;
      o.timeout = ParseReal(v);
    } else if (a == "-th") {
      if (!next(&v)) return false;
      double n = ParseReal(v);
      // Compare as a double first: converting NaN or a huge value to int is undefined.
      if (!(n >= 1)) return false;
      o.threads = n >= kMaxThreads ? kMaxThreads : static_cast<int>(n);
    } else if (a == "-log") {
      if (!next(&v)) return false;
      o.log_path = v;
    } else if (a == "-li") {
      o.log_kinds = kLogInfo | kLogSystem | kLogError;
      o.log_engine = true;
    } else if (a == "-ls") {
      o.log_kinds = kLogSystem | kLogError;
      o.log_engine = true;
    } else if (a == "-le") {
      o.log_kinds = kLogError;
      o.log_engine = true;
    } else if (a == "-lz") {
      o.log_kinds = 0;
      o.log_engine = false;
    } else if (a == "-ulog") {
      if (!next(&v)) return false;
      o.ulog_dir = v;
    } else if (a == "-ulim") {
      if (!next(&v)) return false;
      o.ulog_limit = ParseIntWithUnit(v);
    } else if (a == "-uasi") {
      if (!next(&v)) return false;
      o.ulog_sync_interval = ParseReal(v);
    } else if (a == "-sid") {
      if (!next(&v)) return false;
      // Two's-complement truncation is the mod 2^16 the spec asks for (-1 -> 65535).
      o.sid = static_cast<uint16_t>(static_cast<uint64_t>(ParseIntWithUnit(v)));
    } else if (a == "-ord") {
      o.readonly = true;
    } else if (a == "-oat") {
      o.open_autotran = true;
    } else if (a == "-oas") {
      o.open_autosync = true;
    } else if (a == "-onl") {
      o.open_nolock = true;
    } else if (a == "-otl") {
      o.open_trylock = true;
    } else if (a == "-onr") {
      o.open_norepair = true;
    } else if (a == "-asi") {
      if (!next(&v)) return false;
      o.sync_interval = ParseReal(v);
    } else if (a == "-ash") {
      o.sync_hard = true;
    } else if (a == "-bgs") {
      if (!next(&v)) return false;
      o.bgs_dir = v;
    } else if (a == "-bgsi") {
      if (!next(&v)) return false;
      o.bgs_interval = ParseReal(v);
    } else if (a == "-bgsc") {
      if (!next(&v)) return false;
      o.bgs_compressor = v;
    } else if (a == "-dmn") {
      o.daemonize = true;
    } else if (a == "-pid") {
      if (!next(&v)) return false;
      o.pid_path = v;
    } else if (a == "-cmd") {
      if (!next(&v)) return false;
      o.command_dir = v;
    } else if (a == "-scr") {
      if (!next(&v)) return false;
      o.script_path = v;
    } else if (a == "-mhost") {
      if (!next(&v)) return false;
      o.master_host = v;
    } else if (a == "-mport") {
      if (!next(&v)) return false;
      int64_t n = ParseIntWithUnit(v);
      if (n < 1) return false;
      o.master_port = ClampToInt(n);
    } else if (a == "-rts") {
      if (!next(&v)) return false;
      o.rts_path = v;
    } else if (a == "-riv") {
      if (!next(&v)) return false;
      o.replication_interval = ParseReal(v);
    } else if (a == "-plsv") {
      if (!next(&v)) return false;
      o.plugin_server = v;
    } else if (a == "-plex") {
      if (!next(&v)) return false;
      o.plugin_config = v;
    } else if (a == "-pldb") {
      if (!next(&v)) return false;
      o.plugin_db = v;
    } else {
      return false;
    }
  }
  o.databases.clear();
  for (; i < argc; i++) o.databases.emplace_back(argv[i]);
  if (o.databases.empty()) {
    // A plug-in database has no default name to fall back on.
    if (!o.plugin_db.empty()) return false;
    o.databases.emplace_back(":");
  }
  return true;
}

std::string Usage(const std::string& program) {
  static constexpr const char* kSynopsis =
      " [-host str] [-port num] [-tout num] [-th num] [-log file] [-li|-ls|-le|-lz]"
      " [-ulog dir] [-ulim num] [-uasi num] [-sid num] [-ord] [-oat|-oas|-onl|-otl|-onr]"
      " [-asi num] [-ash] [-bgs dir] [-bgsi num] [-bgsc str] [-dmn] [-pid file] [-cmd dir]"
      " [-scr file] [-mhost str] [-mport num] [-rts file] [-riv num]"
      " [-plsv file] [-plex str] [-pldb file] [db...]";
  std::string out = program + ": Kyoto Tycoon: a handy cache/storage server\n\nusage:\n";
  out += "  " + program + kSynopsis + "\n";
  out += "  " + program + " --version\n\n";
  return out;
}

std::string VersionLine() {
  return std::string("Kyoto Tycoon ") + kKtVersion + " (" + kKtLibVersion + ") on " + OsName() +
         " (Ryoan " + kRyoanVersion + ")";
}

std::string ValidateServerOptions(const ServerOptions& o) {
  if (o.daemonize) {
    // A daemon runs in "/", so a relative path would silently point somewhere else.
    // "-" for the log means stdout, and "." is the -cmd default rather than a user's choice.
    const std::string* paths[] = {&o.log_path, &o.ulog_dir,      &o.bgs_dir,
                                  &o.pid_path, &o.command_dir,   &o.script_path,
                                  &o.rts_path, &o.plugin_server, &o.plugin_db};
    for (const std::string* path : paths) {
      if (path->empty() || path->front() == '/') continue;
      if (path == &o.log_path && *path == "-") continue;
      if (path == &o.command_dir && *path == ".") continue;
      return *path + ": a daemon can accept absolute path only";
    }
  }
  if (!o.ulog_dir.empty() && o.sid < 0) return "update log requires the server ID";
  if (!o.master_host.empty()) {
    if (o.sid < 0) return "replication requires the server ID";
    if (o.rts_path.empty()) return "replication requires the replication time stamp file";
  }
  if (!IsDirectory(o.command_dir)) return o.command_dir + ": no such directory";
  if (!o.script_path.empty() && !IsNonDirectory(o.script_path)) {
    return o.script_path + ": no such file";
  }
  if (o.databases.size() > kMaxDatabases) return "too much databases";
  return "";
}

}  // namespace ryoan::server
