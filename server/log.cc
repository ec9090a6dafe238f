// The server log (spec/ktserver-cli.md 7) on top of spdlog.
//
// spdlog provides the logger and the per-sink locking; the line layout comes from our own
// formatter and the file handling from our own sink, because the original's layout is not
// expressible as an spdlog pattern (W3C offset, truncated microseconds) and spdlog's file
// sinks cannot reopen a renamed file in append mode.

#include "server/log.h"

#include <spdlog/formatter.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>

namespace ryoan::server {

namespace {

// spdlog levels carry our kinds; the mask, not the level, decides what is written.
spdlog::level::level_enum LevelOf(LogKind kind) {
  switch (kind) {
    case kLogDebug:
      return spdlog::level::debug;
    case kLogInfo:
      return spdlog::level::info;
    case kLogSystem:
      return spdlog::level::warn;
    case kLogError:
      break;
  }
  return spdlog::level::err;
}

const char* KindName(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "DEBUG";
    case spdlog::level::info:
      return "INFO";
    case spdlog::level::warn:
      return "SYSTEM";
    default:
      return "ERROR";
  }
}

// "<timestamp>: [<KIND>]: <message>\n".
class LineFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    int64_t micros =
        std::chrono::duration_cast<std::chrono::microseconds>(msg.time.time_since_epoch()).count();
    std::string stamp = LogTimestamp(micros);
    dest.append(stamp.data(), stamp.data() + stamp.size());
    const char* kind = KindName(msg.level);
    dest.append(std::string_view(": ["));
    dest.append(kind, kind + std::strlen(kind));
    dest.append(std::string_view("]: "));
    dest.append(msg.payload.data(), msg.payload.data() + msg.payload.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>();
  }
};

// Writes to stdout or to a file opened for appending, and can reopen the file by path so
// that "mv log log.old; kill -HUP" starts a fresh file. base_sink's mutex serializes writers
// and the reopen.
class ReopenableSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  // Empty path = stdout.
  explicit ReopenableSink(std::string path) : path_(std::move(path)) {}
  ~ReopenableSink() override {
    if (file_ != nullptr && file_ != stdout) std::fclose(file_);
  }

  bool Open() {
    std::lock_guard<std::mutex> lock(mutex_);
    return OpenLocked();
  }

  // Opens the path anew before closing the old stream, so that a failed reopen keeps
  // logging to the old file instead of losing everything.
  bool Reopen() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (path_.empty()) return true;
    FILE* old = file_;
    file_ = nullptr;
    if (!OpenLocked()) {
      file_ = old;
      return false;
    }
    if (old != nullptr) std::fclose(old);
    return true;
  }

  // A line left in the stream's buffer (LogRequest); the next flush writes it.
  void LogBuffered(const spdlog::details::log_msg& msg) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (file_ == nullptr) return;
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    std::fwrite(line.data(), 1, line.size(), file_);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (file_ == nullptr) return;
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    // One write and an immediate flush per line (with whatever LogRequest buffered before
    // it): lines from different threads never interleave and a crash loses nothing logged.
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  }
  void flush_() override {
    if (file_ != nullptr) std::fflush(file_);
  }

 private:
  bool OpenLocked() {
    if (path_.empty()) {
      file_ = stdout;
      return true;
    }
    file_ = std::fopen(path_.c_str(), "ae");  // append, close-on-exec (outside commands)
    // Room for a round of buffered request lines (LogRequest) between flushes.
    if (file_ != nullptr) std::setvbuf(file_, nullptr, _IOFBF, 64 * 1024);
    return file_ != nullptr;
  }

  const std::string path_;
  FILE* file_ = nullptr;
};

struct LogState {
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<ReopenableSink> sink;
};

// The mask is read on every Log()/LogEnabled() call, so it lives apart from the state and
// is checked without any lock. The state is copied out under a mutex so that Open/Close
// may race with logging threads (a plain mutex: libstdc++ 12's atomic<shared_ptr> trips
// UBSan's vptr check under load). Both are leaked on purpose: threads that still log
// while the process exits must not find them destroyed.
std::atomic<unsigned> g_mask{0};
std::atomic<bool> g_buffered{false};  // LogRequest left lines for FlushLog
std::mutex& StateMutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}
std::shared_ptr<LogState>& StateSlot() {
  static auto* state = new std::shared_ptr<LogState>;
  return *state;
}
std::shared_ptr<LogState> LoadState() {
  std::lock_guard<std::mutex> lock(StateMutex());
  return StateSlot();
}
void StoreState(std::shared_ptr<LogState> state) {
  std::shared_ptr<LogState> old;
  {
    std::lock_guard<std::mutex> lock(StateMutex());
    old = std::move(StateSlot());
    StateSlot() = std::move(state);
  }
}

}  // namespace

bool OpenLog(const std::string& path, unsigned kinds) {
  try {
    auto state = std::make_shared<LogState>();
    state->sink = std::make_shared<ReopenableSink>(path == "-" ? std::string() : path);
    if (!state->sink->Open()) return false;
    state->sink->set_formatter(std::make_unique<LineFormatter>());
    // Deliberately not registered with spdlog's global registry: nothing else should be
    // able to reach or reconfigure the server log by name.
    state->logger = std::make_shared<spdlog::logger>("ryoan", state->sink);
    state->logger->set_level(spdlog::level::trace);
    state->logger->flush_on(spdlog::level::trace);
    StoreState(std::move(state));
    g_mask.store(kinds & kLogAll, std::memory_order_relaxed);
    return true;
  } catch (...) {
    return false;
  }
}

bool ReopenLog() {
  std::shared_ptr<LogState> state = LoadState();
  if (state == nullptr) return false;
  return state->sink->Reopen();
}

void CloseLog() {
  g_mask.store(0, std::memory_order_relaxed);
  // The file closes when the last thread still holding the state lets go of it.
  StoreState(nullptr);
}

bool LogEnabled(LogKind kind) { return (g_mask.load(std::memory_order_relaxed) & kind) != 0; }

void Log(LogKind kind, std::string_view message) {
  if (!LogEnabled(kind)) return;
  try {
    std::shared_ptr<LogState> state = LoadState();
    if (state == nullptr) return;
    state->logger->log(LevelOf(kind), spdlog::string_view_t(message.data(), message.size()));
  } catch (...) {
    // Logging is best effort; a failure must never take a request down with it.
  }
}

void LogRequest(std::string_view message) {
  if (!LogEnabled(kLogInfo)) return;
  try {
    std::shared_ptr<LogState> state = LoadState();
    if (state == nullptr) return;
    spdlog::details::log_msg msg(spdlog::string_view_t(), LevelOf(kLogInfo),
                                 spdlog::string_view_t(message.data(), message.size()));
    state->sink->LogBuffered(msg);
    g_buffered.store(true, std::memory_order_release);
  } catch (...) {
  }
}

void FlushLog() {
  if (!g_buffered.load(std::memory_order_acquire)) return;
  if (!g_buffered.exchange(false, std::memory_order_acq_rel)) return;
  try {
    std::shared_ptr<LogState> state = LoadState();
    if (state != nullptr) state->sink->flush();
  } catch (...) {
  }
}

void LogDatabaseError(const storage::Status& status) {
  if (!LogEnabled(kLogError)) return;
  Log(kLogError, "database error: " + std::to_string(static_cast<int>(status.code())) + ": " +
                     std::string(storage::CodeName(status.code())) + ": " + status.message());
}

std::string LogTimestamp(int64_t unix_micros) {
  // Floor division so that instants before 1970 still get a fraction in [0, 1e6).
  int64_t secs = unix_micros / 1000000;
  int64_t frac = unix_micros % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs--;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  if (localtime_r(&t, &tm) == nullptr) return "0000-00-00T00:00:00.000000Z";
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        static_cast<int>(frac));
  std::string out(buf, n > 0 ? static_cast<size_t>(n) : 0);
  long offset = tm.tm_gmtoff;
  if (offset == 0) {
    out += 'Z';
  } else {
    char sign = offset < 0 ? '-' : '+';
    if (offset < 0) offset = -offset;
    std::snprintf(buf, sizeof(buf), "%c%02ld:%02ld", sign, offset / 3600, offset / 60 % 60);
    out += buf;
  }
  return out;
}

}  // namespace ryoan::server
