// ktserver: Kyoto Tycoon's command line in front of Ryoan (spec/ktserver-cli.md).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "scripting/script_runtime.h"
#include "server/log.h"
#include "server/options.h"
#include "server/process.h"
#include "server/server.h"
#include "server/service.h"
#include "server/snapshotter.h"
#include "storage/database_spec.h"
#include "storage/db.h"

namespace {

using namespace ryoan;
using namespace ryoan::server;

// Options of issues still to come: accepted, and said plainly in the log.
void LogUnsupported(const ServerOptions& o) {
  auto note = [](const std::string& what) {
    Log(kLogSystem, what + " is not supported yet by this build and is ignored");
  };
  if (!o.ulog_dir.empty()) note("-ulog (update log)");
  if (o.sid >= 0) note("-sid (server ID, used by the update log)");
  if (!o.master_host.empty()) note("-mhost (replication slave)");
  if (!o.rts_path.empty()) note("-rts (replication time stamp file)");
  if (!o.plugin_server.empty()) note("-plsv (plug-in server)");
  if (!o.plugin_db.empty()) note("-pldb (plug-in database)");
}

sigset_t HandledSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP}) sigaddset(&set, s);
  return set;
}

LogKind ToLogKind(scripting::ScriptLogKind kind) {
  switch (kind) {
    case scripting::ScriptLogKind::kInfo:
      return kLogInfo;
    case scripting::ScriptLogKind::kSystem:
      return kLogSystem;
    case scripting::ScriptLogKind::kError:
      return kLogError;
    default:
      return kLogDebug;
  }
}

// -scr: builds the Lua states once the databases are open (spec/ktserver-cli.md 4).
std::unique_ptr<scripting::ScriptRuntime> LoadScript(Service& service,
                                                     const ServerOptions& options) {
  if (options.script_path.empty()) return nullptr;
  Log(kLogSystem, "loading a script file: path=" + options.script_path);
  scripting::ScriptOptions script;
  script.path = options.script_path;
  for (size_t i = 0; i < service.db_count(); i++) script.dbs.push_back(service.db(i));
  script.thread_count = std::max(1, options.threads);
  script.version = "0.9.56";
  script.log = [](scripting::ScriptLogKind kind, std::string_view message) {
    Log(ToLogKind(kind), message);
  };
  auto runtime = std::make_unique<scripting::ScriptRuntime>(std::move(script));
  runtime->Load();
  return runtime;
}

// Serves until a stop signal. Returns false if listening failed.
bool Serve(Service& service, const ServerOptions& options, bool* listen_failed) {
  sigset_t signals = HandledSignals();
  while (true) {
    Server server(service);
    std::string error;
    if (!server.Listen(&error)) {
      Log(kLogError, error);
      *listen_failed = true;
      return false;
    }
    server.Start();
    int sig = 0;
    bool restart = false;
    while (true) {
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGUSR1 || (sig == SIGHUP && options.daemonize)) {
        restart = true;
      }
      break;
    }
    // A running procedure must not hold up the stop: it fails with code 4 instead.
    if (service.script() != nullptr) service.script()->Interrupt();
    server.Stop();
    if (!restart) return true;
    if (!ReopenLog()) std::fprintf(stderr, "could not reopen the log file\n");
    Log(kLogSystem, "restarting the server");
    if (service.script() != nullptr) {
      Log(kLogSystem, "reloading a script file: path=" + options.script_path);
      service.script()->Reload();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string program = argc > 0 ? argv[0] : "ktserver";
  ServerOptions options;
  if (!ParseServerOptions(argc, argv, &options)) {
    std::fputs(Usage(program).c_str(), stderr);
    return 1;
  }
  if (options.show_version) {
    std::printf("%s\n", VersionLine().c_str());
    return 0;
  }
  std::string invalid = ValidateServerOptions(options);
  if (!invalid.empty()) {
    std::fprintf(stderr, "%s: %s\n", program.c_str(), invalid.c_str());
    return 1;
  }
  if (options.databases.empty()) options.databases.push_back(":");

  if (options.daemonize && !Daemonize()) {
    std::fprintf(stderr, "%s: could not become a daemon\n", program.c_str());
    return 1;
  }
  if (!options.bgs_dir.empty() && !PrepareSnapshotDirectory(options.bgs_dir)) {
    std::fprintf(stderr, "%s: %s: could not open the directory\n", program.c_str(),
                 options.bgs_dir.c_str());
    return 1;
  }
  if (!OpenLog(options.log_path, options.log_kinds)) {
    std::fprintf(stderr, "%s: %s: could not open the log file\n", program.c_str(),
                 options.log_path.c_str());
    return 1;
  }
  // Only the main thread takes signals; every thread started later inherits the mask.
  sigset_t signals = HandledSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Log(kLogSystem, "================ [START]: pid=" + std::to_string(getpid()));
  LogUnsupported(options);
  Log(kLogSystem, "open file limit: " + std::to_string(RaiseFileLimit()));

  std::vector<std::unique_ptr<storage::DB>> dbs;
  storage::OpenOptions open_options;
  open_options.readonly = options.readonly;
  open_options.autosync = options.open_autosync;
  open_options.autotran = options.open_autotran;
  open_options.nolock = options.open_nolock;
  open_options.trylock = options.open_trylock;
  open_options.norepair = options.open_norepair;
  bool failed = false;
  for (const std::string& argument : options.databases) {
    Log(kLogSystem, "opening a database: path=" + argument);
    storage::DatabaseSpec spec;
    std::unique_ptr<storage::DB> db;
    storage::Status s = storage::ParseDatabaseSpec(argument, &spec);
    if (s.ok()) s = storage::DB::Open(spec, open_options, &db);
    if (!s.ok()) {
      Log(kLogError, "could not open a database file: " + argument + ": " +
                         std::string(storage::CodeName(s.code())) + ": " + s.message());
      failed = true;
      break;
    }
    dbs.push_back(std::move(db));
  }
  int status = 0;
  if (!failed) {
    Service service(options, std::move(dbs));
    if (!options.bgs_dir.empty()) LoadSnapshots(service, options.bgs_dir);
    std::unique_ptr<scripting::ScriptRuntime> script = LoadScript(service, options);
    service.set_script(script.get());
    if (!options.pid_path.empty() && !WritePidFile(options.pid_path)) {
      Log(kLogError, "could not write the pid file: " + options.pid_path);
    }
    bool listen_failed = false;
    if (!Serve(service, options, &listen_failed)) status = 1;
    if (!options.pid_path.empty()) RemovePidFile(options.pid_path);
    if (!options.bgs_dir.empty() && !SnapshotDatabases(service, options.bgs_dir)) status = 1;
    for (size_t i = 0; i < service.db_count(); i++) {
      storage::DB* db = service.db(i);
      Log(kLogSystem, "closing a database: path=" + db->spec().argument);
      storage::Status s = db->Synchronize(false);
      if (!s.ok()) {
        Log(kLogError, "could not close a database file: " + db->spec().argument + ": " +
                           std::string(storage::CodeName(s.code())) + ": " + s.message());
        status = 1;
      }
    }
  } else {
    status = 1;
  }
  Log(kLogSystem, "================ [FINISH]: pid=" + std::to_string(getpid()));
  CloseLog();
  return status;
}
