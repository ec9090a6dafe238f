#include "tests/integration/server_process.h"

#include <sys/resource.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#ifndef RYOAN_KTSERVER_PATH
#define RYOAN_KTSERVER_PATH "ktserver"
#endif

namespace ryoan::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string MakeTempDir() {
  std::string base = std::filesystem::temp_directory_path().string() + "/ryoan_itest_XXXXXX";
  std::vector<char> buf(base.begin(), base.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) return "";
  return buf.data();
}

int StatusToCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// fork + exec of ktserver with stdout/stderr redirected to files. Returns the pid or -1.
// A `file_limit` >= 0 sets the child's RLIMIT_NOFILE (soft and hard) before exec.
pid_t Spawn(const std::vector<std::string>& args, const std::string& out_path,
            const std::string& err_path, int file_limit = -1) {
  std::vector<std::string> argv_store;
  argv_store.push_back(KtserverPath());
  argv_store.insert(argv_store.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_store) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid != 0) return pid;
  // Child: only async-signal-safe calls from here.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out >= 0) dup2(out, 1);
  if (err >= 0) dup2(err, 2);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  if (file_limit >= 0) {
    struct rlimit limit;
    limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(file_limit);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  execv(argv[0], argv.data());
  _exit(127);
}

// Waits for `pid` to exit for at most `timeout_seconds`. Returns the exit code, or -2 when
// it is still running.
int WaitFor(pid_t pid, double timeout_seconds) {
  Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  for (;;) {
    int status = 0;
    pid_t rc = waitpid(pid, &status, WNOHANG);
    if (rc == pid) return StatusToCode(status);
    if (rc < 0) return -1;
    if (Clock::now() >= deadline) return -2;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool CanConnect(const std::string& host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

}  // namespace

const char* KtserverPath() { return RYOAN_KTSERVER_PATH; }

int PickFreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    socklen_t len = sizeof(addr);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
  }
  close(fd);
  return port;
}

ProcessResult RunKtserver(const std::vector<std::string>& args, double timeout_seconds) {
  ProcessResult result;
  std::string dir = MakeTempDir();
  std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  pid_t pid = Spawn(args, out_path, err_path);
  if (pid > 0) {
    int code = WaitFor(pid, timeout_seconds);
    if (code == -2) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      WaitFor(pid, 10);
      code = -1;
    }
    result.exit_code = code;
  }
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  std::error_code ec;
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  return result;
}

ServerProcess::ServerProcess(std::vector<std::string> dbs, std::vector<std::string> extra_args)
    : dbs_(std::move(dbs)), extra_args_(std::move(extra_args)) {}

ServerProcess::~ServerProcess() {
  Stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool ServerProcess::Start(std::string* error) {
  if (running()) return true;
  if (dir_.empty()) dir_ = MakeTempDir();
  if (dir_.empty()) {
    if (error) *error = "cannot create a temporary directory";
    return false;
  }
  log_path_ = dir_ + "/ktserver.log";
  stdout_path_ = dir_ + "/stdout";
  stderr_path_ = dir_ + "/stderr";
  std::string why;
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = PickFreePort();
    if (port <= 0) {
      why = "no free port";
      continue;
    }
    if (SpawnOnce(port, &why)) return true;
  }
  if (error) *error = why;
  return false;
}

bool ServerProcess::SpawnOnce(int port, std::string* error) {
  std::vector<std::string> args = {"-host", host_,    "-port", std::to_string(port),
                                   "-log",  log_path_};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  args.insert(args.end(), dbs_.begin(), dbs_.end());
  pid_t pid = Spawn(args, stdout_path_, stderr_path_, file_limit_);
  if (pid < 0) {
    *error = "fork failed";
    return false;
  }
  Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      *error = "ktserver exited with " + std::to_string(StatusToCode(status)) +
               "; stderr: " + ReadFile(stderr_path_) + "; log: " + ReadFile(log_path_);
      return false;
    }
    if (CanConnect(host_, port)) {
      pid_ = pid;
      port_ = port;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  WaitFor(pid, 10);
  *error = "ktserver did not accept connections within 10 s";
  return false;
}

int ServerProcess::Stop(int signal, double timeout_seconds) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int code = WaitFor(pid_, timeout_seconds);
  if (code == -2) {
    kill(pid_, SIGKILL);
    code = WaitFor(pid_, 10);
  }
  pid_ = -1;
  return code;
}

std::string ServerProcess::LogContents() const { return ReadFile(log_path_); }

std::string ServerProcess::StdoutContents() const { return ReadFile(stdout_path_); }

std::string ServerProcess::StderrContents() const { return ReadFile(stderr_path_); }

}  // namespace ryoan::testing
