// ServerOptions: ktserver's command line (spec/ktserver-cli.md sections 1-3).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ryoan::server {

// Log kinds and the masks -li/-ls/-le/-lz select.
enum LogKind : unsigned { kLogDebug = 1, kLogInfo = 2, kLogSystem = 4, kLogError = 8 };
inline constexpr unsigned kLogAll = kLogDebug | kLogInfo | kLogSystem | kLogError;

struct ServerOptions {
  bool show_version = false;  // first argument "--version"
  std::string host;           // "" = all IPv4 interfaces
  int port = 1978;
  double timeout = 30;   // -tout seconds; <= 0 none
  int threads = 16;      // -th, capped at 64
  std::string log_path;  // -log; "" or "-" = stdout
  unsigned log_kinds = kLogAll;
  bool log_engine = true;  // false with -lz
  std::string ulog_dir;    // -ulog
  int64_t ulog_limit = 268435456;
  double ulog_sync_interval = 0;
  int sid = -1;           // -sid, -1 when not given
  bool readonly = false;  // -ord
  bool open_autotran = false, open_autosync = false, open_nolock = false, open_trylock = false,
       open_norepair = false;
  double sync_interval = 0;            // -asi
  bool sync_hard = false;              // -ash
  std::string bgs_dir;                 // -bgs
  double bgs_interval = 180;           // -bgsi
  std::string bgs_compressor;          // -bgsc
  bool daemonize = false;              // -dmn
  std::string pid_path;                // -pid
  std::string command_dir = ".";       // -cmd
  std::string script_path;             // -scr
  std::string master_host;             // -mhost
  int master_port = 1978;              // -mport
  std::string rts_path;                // -rts
  double replication_interval = 0.04;  // -riv (ms)
  std::string plugin_server;           // -plsv
  std::string plugin_config;           // -plex
  std::string plugin_db;               // -pldb
  std::vector<std::string> databases;  // positional; the parser puts {":"} when none
};

// Parses argv ("--version" first sets only show_version). On a usage error returns false
// (the caller prints Usage() to stderr and exits 1). Numbers follow the spec: atoix for -port
// -mport -sid -ulim, reals for the rest.
bool ParseServerOptions(int argc, const char* const* argv, ServerOptions* options);

// "<prog>: Kyoto Tycoon: a handy cache/storage server\n\nusage:\n  <prog> [-host str] ...\n\n"
std::string Usage(const std::string& program);

// The --version line, without the trailing newline.
std::string VersionLine();

// Start-up validation of spec/ktserver-cli.md 4 step 2 that does not need the databases:
// -ulog needs -sid, -mhost needs -sid and -rts, -dmn needs absolute paths, -cmd exists,
// -scr exists, at most 200 databases. Returns "" or the stderr message (without program
// prefix handling: the caller prints "<prog>: <message>").
std::string ValidateServerOptions(const ServerOptions& options);

}  // namespace ryoan::server
