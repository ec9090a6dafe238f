// Whole-database procedures: report, status, clear, synchronize, vacuum and the key
// searches (spec/http-rpc.md 9.3, 9.8-9.10, 9.25-9.28).
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common/numbers.h"
#include "server/log.h"
#include "server/process.h"
#include "server/rpc.h"

extern char** environ;

namespace ryoan::server {
namespace {

using storage::Status;

std::string Fixed6(double v) { return FormatReal(v, 6); }

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Runs `<dir>/<command> <path> <ts>` and waits for it; true on exit status 0.
bool RunSyncCommand(const std::string& dir, const std::string& command, const std::string& path,
                    const std::string& ts) {
  std::string program = dir + "/" + command;
  Log(kLogSystem, "executing: " + program + " \"" + path + "\"");
  std::vector<std::string> args = {program, path, ts};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    Log(kLogError, "execution failed: " + program + " \"" + path + "\"");
    return false;
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return false;
  }
  bool ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
  if (!ok) Log(kLogError, "execution failed: " + program + " \"" + path + "\"");
  return ok;
}

// Writes the `_<key>` = position records and `num` of the match procedures.
void PutMatches(RpcCall& call, std::vector<std::string>& keys) {
  int64_t position = 0;
  for (auto& key : keys) call.output.Append("_" + key, std::to_string(position++));
  call.output.Set("num", std::to_string(keys.size()));
}

int64_t MaxParam(const RecordMap& input) {
  const std::string* max = input.Find("max");
  return max ? ParseInt(*max) : -1;
}

}  // namespace

void RpcReport(RpcCall& call) {
  Service& service = call.service;
  RecordMap& out = call.output;
  int64_t total_count = 0, total_size = 0;
  for (size_t i = 0; i < service.db_count(); i++) {
    storage::DB* db = service.db(i);
    int64_t count = db->Count();
    int64_t size = db->Size();
    total_count += count;
    total_size += size;
    out.Set("db_" + std::to_string(i), "count=" + std::to_string(count) +
                                           " size=" + std::to_string(size) + " path=" + db->path());
  }
  out.Set("db_total_count", std::to_string(total_count));
  out.Set("db_total_size", std::to_string(total_size));
  out.Set("serv_conn_count", std::to_string(service.connection_count().load()));
  out.Set("serv_task_count", "0");
  out.Set("serv_thread_count", std::to_string(service.options().threads));
  out.Set("serv_current_time", Fixed6(UnixNow()));
  out.Set("serv_running_term", Fixed6(service.running_seconds()));
  out.Set("serv_proc_id", std::to_string(getpid()));
  for (auto& [name, value] : SystemStatsFields(ReadSystemStats())) out.Set(name, value);
  const Counters& c = service.counters();
  out.Set("cnt_set", std::to_string(c.set.load()));
  out.Set("cnt_set_misses", std::to_string(c.set_misses.load()));
  out.Set("cnt_remove", std::to_string(c.remove.load()));
  out.Set("cnt_remove_misses", std::to_string(c.remove_misses.load()));
  out.Set("cnt_get", std::to_string(c.get.load()));
  out.Set("cnt_get_misses", std::to_string(c.get_misses.load()));
  out.Set("cnt_script", std::to_string(c.script.load()));
  out.Set("cnt_misc", std::to_string(c.misc.load()));
  out.Set("conf_kt_version", "0.9.56 (2.19)");
  out.Set("conf_kt_features", "(epoll)");
  out.Set("conf_kc_version", "Ryoan 0.1.0");
  out.Set("conf_kc_features", "(memory)");
  out.Set("conf_os_name", "Linux");
}

void RpcStatus(RpcCall& call) {
  call.service.counters().misc++;
  for (auto& [name, value] : call.db->GetStatus()) call.output.Set(name, value);
}

void RpcClear(RpcCall& call) {
  call.service.counters().misc++;
  Status s = call.db->Clear();
  if (!s.ok()) call.FailStorage(s);
}

void RpcSynchronize(RpcCall& call) {
  call.service.counters().misc++;
  const std::string* command = call.input.Find("command");
  std::function<Status(const std::string&)> proc;
  if (command != nullptr && !command->empty()) {
    const std::string& name = *command;
    if (name.find('/') != std::string::npos || name == "." || name == "..") {
      call.Fail(500, Status::Logic("postprocessing failed").ToString());
      return;
    }
    std::string dir = call.service.options().command_dir;
    proc = [dir, name](const std::string& path) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
      char ts[32];
      std::snprintf(ts, sizeof(ts), "%020llu", static_cast<unsigned long long>(ms) * 1000000ULL);
      return RunSyncCommand(dir, name, path, ts) ? Status::OK()
                                                 : Status::Logic("postprocessing failed");
    };
  }
  Status s = call.db->Synchronize(FlagParam(call.input, "hard"), proc);
  // A failed post-processing command is 500, not 450 (spec 9.10).
  if (!s.ok()) call.Fail(500, s.ToString());
}

void RpcVacuum(RpcCall& call) {
  call.service.counters().misc++;
  const std::string* step = call.input.Find("step");
  Status s = call.db->Vacuum(step ? ParseInt(*step) : 0);
  if (!s.ok()) call.FailStorage(s);
}

void RpcMatchPrefix(RpcCall& call) {
  call.service.counters().misc++;
  const std::string* prefix = call.input.Find("prefix");
  if (prefix == nullptr) return call.Fail(400, "invalid parameters");
  std::vector<std::string> keys;
  Status s = call.db->MatchPrefix(*prefix, MaxParam(call.input), &keys);
  if (!s.ok()) return call.FailStorage(s);
  PutMatches(call, keys);
}

void RpcMatchRegex(RpcCall& call) {
  call.service.counters().misc++;
  const std::string* regex = call.input.Find("regex");
  if (regex == nullptr) return call.Fail(400, "invalid parameters");
  std::vector<std::string> keys;
  Status s = call.db->MatchRegex(*regex, MaxParam(call.input), &keys);
  if (!s.ok()) return call.FailStorage(s);
  PutMatches(call, keys);
}

void RpcMatchSimilar(RpcCall& call) {
  call.service.counters().misc++;
  const std::string* origin = call.input.Find("origin");
  if (origin == nullptr) return call.Fail(400, "invalid parameters");
  int64_t range = 1;
  if (const std::string* r = call.input.Find("range")) range = ParseInt(*r);
  if (range < 0) range = 1;
  std::vector<std::string> keys;
  Status s = call.db->MatchSimilar(*origin, range, FlagParam(call.input, "utf"),
                                   MaxParam(call.input), &keys);
  if (!s.ok()) return call.FailStorage(s);
  PutMatches(call, keys);
}

}  // namespace ryoan::server
