// ServerProcess: runs the real ktserver binary (RYOAN_KTSERVER_PATH) for integration tests.
//
// Start() picks a free port on 127.0.0.1 (bind port 0, read it, close), starts
//   ktserver -host 127.0.0.1 -port N -log <tmpdir>/ktserver.log [extra args] [dbs...]
// with stdout/stderr captured to files, and waits (at most 10 s) until a TCP connect
// succeeds. If the process exits early (e.g. the port was taken meanwhile) it is retried on
// another port. The destructor always stops the process (SIGTERM, bounded wait, SIGKILL
// fallback) and removes the temporary directory; the child also dies with the test process
// (PR_SET_PDEATHSIG) if that crashes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ryoan::testing {

// The ktserver binary under test.
const char* KtserverPath();

// Returns a port on 127.0.0.1 that was free a moment ago.
int PickFreePort();

// Outcome of running ktserver to completion (RunKtserver).
struct ProcessResult {
  int exit_code = -1;  // exit status, or 128 + signal, or -1 if it had to be killed
  bool timed_out = false;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs ktserver with exactly `args` and waits for it to exit (at most `timeout_seconds`,
// then SIGKILL). For command-line tests that expect an immediate exit.
ProcessResult RunKtserver(const std::vector<std::string>& args, double timeout_seconds = 10);

class ServerProcess {
 public:
  // `dbs`: database arguments (empty: ktserver's default). `extra_args`: options placed
  // after -host/-port/-log and before the databases.
  explicit ServerProcess(std::vector<std::string> dbs = {},
                         std::vector<std::string> extra_args = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server; false (with `error` filled) if it is not accepting connections
  // within 10 s.
  bool Start(std::string* error = nullptr);
  // Sends `signal` (default SIGTERM) and waits up to `timeout_seconds`, then SIGKILLs.
  // Returns the exit code (128 + signal if killed by one); -1 when not running.
  int Stop(int signal = 15, double timeout_seconds = 10);
  bool running() const { return pid_ > 0; }
  // Starts the server with RLIMIT_NOFILE (soft and hard) set to `limit`; call before Start.
  void set_file_limit(int limit) { file_limit_ = limit; }

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string LogContents() const;
  std::string StdoutContents() const;
  std::string StderrContents() const;

 private:
  bool SpawnOnce(int port, std::string* error);

  std::vector<std::string> dbs_;
  std::vector<std::string> extra_args_;
  std::string host_ = "127.0.0.1";
  int port_ = 0;
  pid_t pid_ = -1;
  int file_limit_ = -1;
  std::string dir_;
  std::string log_path_;
  std::string stdout_path_;
  std::string stderr_path_;
};

}  // namespace ryoan::testing
