// Many connections, slow clients and clients that never read (spec/http-rpc.md 1,
// spec/binary.md 1): the server keeps thousands of keep-alive connections, cuts off a request
// that trickles in past -tout, and does not buffer without bound for a client that sends but
// never reads.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <chrono>
#include <limits>

#include "client/binary_client.h"
#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

using client::BinaryClient;
using client::BinaryRecord;
using client::BinaryStatus;
using Clock = std::chrono::steady_clock;

constexpr int kConnections = 2000;
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int64_t ConnCount(int port) {
  RpcClient rpc;
  if (!rpc.Open("127.0.0.1", port, 10)) return -1;
  RpcResult r = rpc.Report();
  const std::string* n = r.Find("serv_conn_count");
  return n == nullptr ? -1 : std::stoll(*n);
}

// True when a fresh connection gets an answer to a get_bulk.
bool StillServes(int port) {
  BinaryClient c;
  std::vector<BinaryRecord> got;
  return c.Open("127.0.0.1", port, 5) && c.GetBulk({{0, "x"}}, &got) == BinaryStatus::kOk;
}

// Raises this process's open-file soft limit to the hard limit (the server inherits it).
rlim_t RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

TEST(ConnectionScale, TwoThousandKeepAliveConnectionsStayOpenAndAnswer) {
  rlim_t limit = RaiseFileLimit();
  if (limit < 2200) {
    GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << limit << " is below 2,200; cannot open "
                 << kConnections << " connections";
  }
  // The limit is per process: the client and the server each need ~2,000 descriptors.
  ServerProcess server({":"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  Clock::time_point start = Clock::now();
  {
    BinaryClient setup;
    ASSERT_TRUE(setup.Open("127.0.0.1", server.port(), 5));
    ASSERT_EQ(setup.SetBulk({{0, "scale", "v", kInt64Max}}, false), BinaryStatus::kOk);
  }
  const int baseline = static_cast<int>(ConnCount(server.port()));
  ASSERT_GE(baseline, 1);

  std::vector<BinaryClient> conns(kConnections);
  for (int i = 0; i < kConnections; i++) {
    ASSERT_TRUE(conns[i].Open("127.0.0.1", server.port(), 10))
        << i << ": " << conns[i].last_error();
  }
  const std::string http = GetRequest("/rpc/get?key=scale");
  const std::string binary = BinaryClient::EncodeGetBulk({{0, "scale"}});
  for (int round = 0; round < 2; round++) {
    // All requests first, then all replies: every connection is open and busy at once.
    for (int i = 0; i < kConnections; i++) {
      ASSERT_TRUE(conns[i].SendRaw(i % 2 == 0 ? http : binary)) << round << "/" << i;
    }
    for (int i = 0; i < kConnections; i++) {
      if (i % 2 == 0) {
        std::string head, body;
        ASSERT_TRUE(ReadHttp(conns[i], &head, &body)) << round << "/" << i << conns[i].last_error();
        ASSERT_EQ(head.rfind("HTTP/1.1 200 ", 0), 0u) << round << "/" << i << Printable(head);
        ASSERT_EQ(body, "value\tv\n");
      } else {
        std::vector<BinaryRecord> got;
        ASSERT_EQ(conns[i].ReadReply(BinaryClient::kMagicGetBulk, nullptr, &got, nullptr),
                  BinaryStatus::kOk)
            << round << "/" << i << conns[i].last_error();
        ASSERT_EQ(got.size(), 1u);
        ASSERT_EQ(got[0].value, "v");
      }
    }
    // The report counts them all (plus the report's own connection).
    int64_t count = ConnCount(server.port());
    EXPECT_GE(count, kConnections + 1) << "round " << round;
    EXPECT_LE(count, kConnections + baseline + 1) << "round " << round;
  }
  for (BinaryClient& c : conns) c.Close();
  // Closed connections leave the count.
  int64_t after = -1;
  for (int i = 0; i < 100; i++) {
    after = ConnCount(server.port());
    if (after <= baseline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_LE(after, baseline);
  EXPECT_LT(SecondsSince(start), 20.0);
}

// Sends one byte of `request` per second on each connection until it is closed.
TEST(ConnectionScale, TrickledRequestIsCutOffAtTout) {
  ServerProcess server({":"}, {"-tout", "1"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  struct Trickle {
    std::string request;
    BinaryClient conn;
    size_t sent = 0;
    bool closed = false;
    double closed_after = -1;
  };
  std::vector<Trickle> trickles(2);
  trickles[0].request = BinaryClient::EncodeGetBulk({{0, "slow-key-0123456789"}});
  trickles[1].request = GetRequest("/rpc/get?key=slow-key-0123456789");
  for (Trickle& t : trickles) ASSERT_TRUE(t.conn.Open("127.0.0.1", server.port(), 5));
  // A keep-alive connection idle between requests is not "reading a request": kept.
  BinaryClient idle;
  ASSERT_TRUE(idle.Open("127.0.0.1", server.port(), 5));
  ASSERT_EQ(idle.RemoveBulk({{0, "nothing"}}, false), BinaryStatus::kOk);

  Clock::time_point start = Clock::now();
  Clock::time_point next_send = start;
  while (SecondsSince(start) < 4.0) {
    bool all_closed = true;
    for (Trickle& t : trickles) {
      if (t.closed) continue;
      all_closed = false;
      if (Clock::now() >= next_send && t.sent < t.request.size()) {
        if (!t.conn.SendRaw(t.request.substr(t.sent++, 1))) {
          t.closed = true;
          t.closed_after = SecondsSince(start);
          continue;
        }
      }
      bool eof = false;
      t.conn.ReadSome(0.0, &eof);
      if (eof) {
        t.closed = true;
        t.closed_after = SecondsSince(start);
      }
    }
    if (all_closed) break;
    if (Clock::now() >= next_send) next_send += std::chrono::seconds(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (size_t i = 0; i < trickles.size(); i++) {
    EXPECT_TRUE(trickles[i].closed) << "trickle " << i << " still open after 4 s";
    EXPECT_LE(trickles[i].closed_after, 3.0) << "trickle " << i;
    // Cut off by the timeout, not at once.
    EXPECT_GE(trickles[i].closed_after, 0.8) << "trickle " << i;
  }
  EXPECT_EQ(idle.RemoveBulk({{0, "nothing"}}, false), BinaryStatus::kOk) << idle.last_error();
}

TEST(ConnectionScale, ClientThatNeverReadsCannotGrowServerMemory) {
  ServerProcess server({":"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  BinaryClient setup;
  ASSERT_TRUE(setup.Open("127.0.0.1", server.port(), 5));
  ASSERT_EQ(setup.SetBulk({{0, "big", std::string(100 * 1024, 'b'), kInt64Max}}, false),
            BinaryStatus::kOk);
  const int64_t rss_start = VmRssKb(server.pid());
  ASSERT_GT(rss_start, 0);

  BinaryClient flooder;
  ASSERT_TRUE(flooder.Open("127.0.0.1", server.port(), 5));
  // get_bulk requests for the 100 KB value (the largest reply per request byte), 1 MB per
  // batch.
  std::string unit = BinaryClient::EncodeGetBulk({{0, "big"}});
  std::string batch;
  while (batch.size() < (1 << 20)) batch += unit;
  const size_t kTotal = 50u << 20;
  size_t written = 0, offset = 0;
  int64_t max_rss = rss_start;
  bool others_served = true;
  Clock::time_point start = Clock::now();
  Clock::time_point next_probe = start + std::chrono::milliseconds(500);
  while (written < kTotal && SecondsSince(start) < 4.0) {
    ssize_t n = send(flooder.fd(), batch.data() + offset, batch.size() - offset,
                     MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<size_t>(n);
      offset = (offset + static_cast<size_t>(n)) % batch.size();
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{flooder.fd(), POLLOUT, 0};
      poll(&p, 1, 20);
    } else {
      break;  // the server dropped us: also acceptable
    }
    max_rss = std::max(max_rss, VmRssKb(server.pid()));
    if (Clock::now() >= next_probe) {
      // Other connections are served meanwhile.
      BinaryClient other;
      std::vector<BinaryRecord> got;
      bool ok = other.Open("127.0.0.1", server.port(), 3) &&
                other.GetBulk({{0, "big"}}, &got) == BinaryStatus::kOk && got.size() == 1 &&
                got[0].value.size() == 100 * 1024;
      if (!ok) others_served = false;
      next_probe = Clock::now() + std::chrono::milliseconds(500);
    }
  }
  // Give the server a moment to act on what it has already read.
  for (int i = 0; i < 10; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    max_rss = std::max(max_rss, VmRssKb(server.pid()));
  }
  EXPECT_LT(max_rss, 300 * 1024) << "VmRSS KiB, started at " << rss_start << ", " << (written >> 20)
                                 << " MiB of requests written";
  EXPECT_TRUE(others_served);
  EXPECT_TRUE(StillServes(server.port()));
  flooder.Close();
  EXPECT_EQ(kill(server.pid(), 0), 0);
}

}  // namespace
}  // namespace ryoan::testing
