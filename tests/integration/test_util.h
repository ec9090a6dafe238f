// Shared helpers of the integration tests: a per-suite server fixture and raw request
// builders. Expected bytes in the tests are spelled out literally; nothing here re-encodes
// them with the codecs under test.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "client/binary_client.h"
#include "client/http_connection.h"
#include "client/rest_client.h"
#include "client/rpc_client.h"
#include "tests/integration/server_process.h"

namespace ryoan::client {
// Readable gtest output for ReadResult.
inline void PrintTo(ReadResult r, std::ostream* os) { *os << ReadResultName(r); }
}  // namespace ryoan::client

namespace ryoan::testing {

using client::BulkResult;
using client::Cursor;
using client::HttpConnection;
using client::HttpResponse;
using client::IntResult;
using client::KeysResult;
using client::ReadResult;
using client::RealResult;
using client::RecordResult;
using client::RestClient;
using client::RpcClient;
using client::RpcResult;

inline constexpr std::string_view kTsv = "text/tab-separated-values";
inline constexpr std::string_view kTsvB = "text/tab-separated-values; colenc=B";
inline constexpr std::string_view kTsvU = "text/tab-separated-values; colenc=U";

// The four in-memory databases most suites run with: 0 ':' stash (unordered), 1 '+' proto
// tree (ordered), 2 '*' cache hash (unordered), 3 '%' cache tree (ordered).
inline std::vector<std::string> FourDbs() { return {":", "+", "*", "%"}; }

// Error texts of the database layer shared by several suites.
inline constexpr std::string_view kNoRecord = "DB: 7: no record: no record";
inline constexpr std::string_view kLogic = "DB: 8: logical inconsistency: logical inconsistency";

// "GET <target> HTTP/1.1" with a Host header and `extra` header lines ("Name: value\r\n").
inline std::string GetRequest(std::string_view target, std::string_view extra = {},
                              std::string_view method = "GET",
                              std::string_view version = "HTTP/1.1") {
  std::string r;
  r.append(method).append(" ").append(target).append(" ").append(version).append("\r\n");
  r.append("Host: 127.0.0.1\r\n").append(extra).append("\r\n");
  return r;
}

// A request with a Content-Length body; `content_type` omitted when empty.
inline std::string BodyRequest(std::string_view method, std::string_view target,
                               std::string_view content_type, std::string_view body,
                               std::string_view extra = {}) {
  std::string r;
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  if (!content_type.empty()) r.append("Content-Type: ").append(content_type).append("\r\n");
  r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  r.append(extra).append("\r\n").append(body);
  return r;
}

inline std::string PostTsv(std::string_view target, std::string_view body,
                           std::string_view content_type = kTsv) {
  return BodyRequest("POST", target, content_type, body);
}

inline std::string PostForm(std::string_view target, std::string_view body) {
  return BodyRequest("POST", target, "application/x-www-form-urlencoded", body);
}

// The 256 byte values in order.
inline std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

inline int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

inline void SleepSeconds(double s) {
  std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<int64_t>(s * 1000)));
}

// Polls `pred` every 50 ms until it holds or `seconds` have passed; returns its last answer.
template <typename Pred>
bool WaitFor(Pred pred, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// Parses "Sun, 06 Nov 1994 08:49:37 GMT" strictly; -1 if the text is not in that form.
int64_t ParseRfc1123(const std::string& text);

// Printable rendering of bytes for failure messages.
std::string Printable(std::string_view bytes);

// VmRSS of `pid` in KiB (from /proc/<pid>/status), -1 if unknown.
int64_t VmRssKb(pid_t pid);

// Reads one HTTP response sent on a binary-protocol connection: `head` up to and including
// the blank line, then a Content-Length `body`. False when either is incomplete or the head
// has no "Content-Length: " header.
bool ReadHttp(client::BinaryClient& c, std::string* head, std::string* body);

// Expects an RPC reply: status, Content-Type exactly `content_type`, body exactly `body`.
void ExpectRpcReply(const HttpResponse& r, int status, std::string_view content_type,
                    std::string_view body);
// Expects "ERROR\t<error>\n" with a raw TSV Content-Type.
void ExpectRpcError(const HttpResponse& r, int status, std::string_view error);

// A suite sharing one ktserver. `Derived` may define static Dbs() and Args().
template <typename Derived>
class SharedServerTest : public ::testing::Test {
 public:
  static std::vector<std::string> Dbs() { return FourDbs(); }
  static std::vector<std::string> Args() { return {}; }

 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<ServerProcess>(Derived::Dbs(), Derived::Args());
    start_error_.clear();
    if (!server_->Start(&start_error_)) server_.reset();
  }
  // Stops the server and checks that it shut down cleanly (spec/ktserver-cli.md 8: exit 0
  // after SIGTERM) without sanitizer reports.
  static void TearDownTestSuite() {
    if (!server_) return;
    int code = server_->Stop();
    std::string err = server_->StderrContents();
    EXPECT_EQ(code, 0) << "ktserver exit status after SIGTERM; stderr: " << err;
    EXPECT_EQ(err.find("Sanitizer"), std::string::npos) << err;
    server_.reset();
  }

  void SetUp() override {
    ASSERT_TRUE(server_ != nullptr) << "ktserver did not start: " << start_error_;
    ASSERT_TRUE(server_->running());
  }

  static ServerProcess& server() { return *server_; }
  static int port() { return server_->port(); }

  // A fresh raw connection (5 s timeout).
  static HttpConnection Connect() {
    HttpConnection c;
    EXPECT_TRUE(c.Connect("127.0.0.1", server_->port(), 5.0)) << "connect failed";
    return c;
  }
  // Sends `request` on a fresh connection and reads one response.
  static HttpResponse Exchange(std::string_view request, bool head = false) {
    HttpConnection c = Connect();
    EXPECT_TRUE(c.Send(request));
    HttpResponse r;
    ReadResult rc = c.ReadResponse(&r, head);
    EXPECT_EQ(rc, ReadResult::kOk)
        << client::ReadResultName(rc) << " for " << Printable(request.substr(0, 200));
    return r;
  }
  static HttpResponse Get(std::string_view target) { return Exchange(GetRequest(target)); }

  // A connected RPC client on database `db` ("" = default).
  static std::unique_ptr<RpcClient> Rpc(std::string db = {}) {
    auto c = std::make_unique<RpcClient>();
    EXPECT_TRUE(c->Open("127.0.0.1", server_->port(), 10.0));
    c->set_database(std::move(db));
    return c;
  }
  static std::unique_ptr<RestClient> Rest() {
    auto c = std::make_unique<RestClient>();
    EXPECT_TRUE(c->Open("127.0.0.1", server_->port(), 10.0));
    return c;
  }
  // True when a fresh connection still gets an answer to /rpc/void.
  static bool ServerStillServes() {
    HttpConnection c;
    if (!c.Connect("127.0.0.1", server_->port(), 5.0)) return false;
    if (!c.Send(GetRequest("/rpc/void"))) return false;
    HttpResponse r;
    return c.ReadResponse(&r) == ReadResult::kOk && r.status == 200;
  }

  static inline std::unique_ptr<ServerProcess> server_;
  static inline std::string start_error_;
};

}  // namespace ryoan::testing
