// Issue #3's request path: the replies to pipelined requests that are ready together go out
// in one write. Observed from the client's side of a loopback connection: a write of a few
// KiB there is one TCP segment, so the client's kernel counts one data segment per server
// write (TCP_INFO tcpi_data_segs_in). The batches are larger than the connection's inline
// read storage (1.5 KiB), so a server that answered per read would send several.
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

using client::BinaryClient;
using client::BinaryRecord;
using client::BinaryStatus;

class PipelineWrite : public SharedServerTest<PipelineWrite> {
 public:
  static std::vector<std::string> Dbs() { return {":"}; }
};

// Data segments the socket has received so far.
uint32_t DataSegmentsIn(int fd) {
  tcp_info info{};
  socklen_t len = sizeof(info);
  EXPECT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len), 0);
  return info.tcpi_data_segs_in;
}

// Batches of ~6 KiB: one segment from the client (under the default 16 KiB send buffer),
// well past the server's 1.5 KiB inline read storage.
constexpr int kBatch = 32;

TEST_F(PipelineWrite, HttpBatchIsAnsweredInOneWrite) {
  HttpConnection c = Connect();
  std::string value(100, 'v');
  for (int round = 0; round < 3; ++round) {
    std::string batch;
    for (int i = 0; i < kBatch; ++i) {
      batch += GetRequest("/rpc/set?key=p" + std::to_string(i) + "&value=" + value);
    }
    ASSERT_GT(batch.size(), 4096u);
    ASSERT_LT(batch.size(), 12288u);
    uint32_t before = DataSegmentsIn(c.fd());
    ASSERT_TRUE(c.Send(batch));
    for (int i = 0; i < kBatch; ++i) {
      HttpResponse r;
      ASSERT_EQ(c.ReadResponse(&r), ReadResult::kOk) << i;
      ExpectRpcReply(r, 200, kTsv, "");
    }
    EXPECT_EQ(DataSegmentsIn(c.fd()) - before, 1u) << "round " << round;
  }
  // And the records are there.
  HttpResponse r = Get("/rpc/get?key=p31");
  ExpectRpcReply(r, 200, kTsv, "value\t" + value + "\n");
}

TEST_F(PipelineWrite, BinaryBatchIsAnsweredInOneWrite) {
  BinaryClient c;
  ASSERT_TRUE(c.Open("127.0.0.1", port(), 5.0)) << c.last_error();
  std::string value(150, 'b');
  for (int round = 0; round < 3; ++round) {
    std::string batch;
    for (int i = 0; i < kBatch; ++i) {
      BinaryRecord rec{0, "b" + std::to_string(i), value};
      batch += BinaryClient::EncodeSetBulk({rec}, 0);
    }
    ASSERT_GT(batch.size(), 4096u);
    ASSERT_LT(batch.size(), 12288u);
    uint32_t before = DataSegmentsIn(c.fd());
    ASSERT_TRUE(c.SendRaw(batch)) << c.last_error();
    for (int i = 0; i < kBatch; ++i) {
      uint32_t stored = 0;
      ASSERT_EQ(c.ReadReply(BinaryClient::kMagicSetBulk, &stored, nullptr, nullptr),
                BinaryStatus::kOk)
          << i;
      EXPECT_EQ(stored, 1u);
    }
    EXPECT_EQ(DataSegmentsIn(c.fd()) - before, 1u) << "round " << round;
  }
}

}  // namespace
}  // namespace ryoan::testing
