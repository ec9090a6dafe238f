// The server log, through spdlog, in the original's line format (spec/ktserver-cli.md 7):
//   2026-11-24T18:13:35.826684Z: [SYSTEM]: ================ [START]: pid=7231
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/options.h"
#include "storage/status.h"

namespace ryoan::server {

// Opens the log: `path` "" or "-" = stdout, else appended to. `kinds` is a LogKind mask.
// Returns false if the file cannot be opened. Until the log is opened, and after CloseLog,
// nothing is logged. All functions here are thread-safe; Log() never throws.
bool OpenLog(const std::string& path, unsigned kinds);
// Closes and reopens the log file (log rotation on restart). If the path cannot be opened
// the old file stays in use and false is returned; true for stdout.
bool ReopenLog();
void CloseLog();

// A relaxed atomic load: lets hot paths skip formatting a message that would be dropped.
bool LogEnabled(LogKind kind);
void Log(LogKind kind, std::string_view message);
// An INFO line for one request (the access log). It may wait in the log's buffer until the
// next FlushLog() or any other line: a connection flushes once per round of requests,
// before it sends their replies, so a busy server writes the log once per round rather
// than once per request, and no reply is seen before its line is in the file.
void LogRequest(std::string_view message);
// Writes out the lines LogRequest left in the buffer, if any (cheap when there are none).
void FlushLog();

// A storage failure behind a 500 reply or a binary error byte (a full disk, a read-only file
// system, a damaged file): "[ERROR]: database error: <code>: <name>: <message>".
void LogDatabaseError(const storage::Status& status);

// The timestamp of a log line for a given time, e.g. "2026-11-24T18:13:35.826684Z";
// exposed for tests.
std::string LogTimestamp(int64_t unix_micros);

}  // namespace ryoan::server
