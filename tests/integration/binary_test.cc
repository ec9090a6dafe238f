// The binary protocol (spec/binary.md) against the real server: the worked examples of 8
// byte for byte, the framing and error rules of 1, the xt rules of 2 and the client library.
// Request and expected reply bytes are spelled out in hex; the client's encoders are only used
// where the exact bytes are not the point of the test.
#include <limits>
#include <sstream>

#include "client/binary_client.h"
#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

using client::BinaryClient;
using client::BinaryKey;
using client::BinaryPairs;
using client::BinaryRecord;
using client::BinaryStatus;

constexpr int64_t kXtNever = 0x000000FFFFFFFFFF;  // get_bulk's xt for "no expiration"
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// "B8 | 00 00 ..." → bytes. Spaces and '|' are ignored.
std::string Hex(std::string_view text) {
  std::string out;
  int high = -1;
  for (char c : text) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      continue;
    }
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<char>(high * 16 + v));
      high = -1;
    }
  }
  EXPECT_LT(high, 0) << "odd number of hex digits in " << text;
  return out;
}

std::string ToHex(std::string_view bytes) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string Be64(int64_t v) {
  std::string out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>(static_cast<uint64_t>(v) >> shift));
  }
  return out;
}

int64_t ReadBe64(std::string_view b) {
  uint64_t v = 0;
  for (unsigned char c : b.substr(0, 8)) v = (v << 8) | c;
  return static_cast<int64_t>(v);
}

// The worked example 8.1, with the flags given as 8 hex digits.
std::string Example81(std::string_view flags) {
  return Hex("B8") + Hex(flags) +
         Hex("00 00 00 02"
             "| 00 00 | 00 00 00 03 | 00 00 00 03 | 7F FF FF FF FF FF FF FF | 66 6F 6F | 62 61 72"
             "| 00 00 | 00 00 00 03 | 00 00 00 01 | 00 00 00 00 00 00 00 3C | 74 74 6C | 78");
}

const std::string kExample82 =
    Hex("BA | 00 00 00 00 | 00 00 00 03"
        "| 00 00 | 00 00 00 03 | 66 6F 6F"
        "| 00 00 | 00 00 00 04 | 6E 6F 70 65"
        "| 00 00 | 00 00 00 03 | 74 74 6C");

const std::string kExample83 =
    Hex("B9 | 00 00 00 00 | 00 00 00 02 | 00 00 | 00 00 00 03 | 66 6F 6F | 00 00 | 00 00 00 04 "
        "| 6E 6F 70 65");

const std::string kExample84 =
    Hex("B4 | 00 00 00 00 | 00 00 00 04 | 00 00 00 01 | 65 63 68 6F | 00 00 00 01 | 00 00 00 01 "
        "| 61 | 62");

// Two databases: 0 ':' (stash), 1 '+' (tree). Index 2 and above are out of range.
class BinaryProtocol : public SharedServerTest<BinaryProtocol> {
 public:
  static std::vector<std::string> Dbs() { return {":", "+"}; }

 protected:
  static BinaryClient Open() {
    BinaryClient c;
    EXPECT_TRUE(c.Open("127.0.0.1", port(), 5.0)) << c.last_error();
    return c;
  }
  // Sends `request` and expects exactly `reply`, read with its own length.
  static void ExpectExchange(BinaryClient& c, std::string_view request, std::string_view reply) {
    ASSERT_TRUE(c.SendRaw(request)) << c.last_error();
    std::string got;
    EXPECT_TRUE(c.ReadExact(reply.size(), &got)) << c.last_error() << "; got " << ToHex(got);
    EXPECT_EQ(ToHex(got), ToHex(reply));
  }
  // The stored record of db `db` through HTTP RPC: value and "xt" (or absent).
  static std::unique_ptr<RpcClient> RpcDb(int db) { return Rpc(std::to_string(db)); }
  // Everything left in the tests' keys is removed so that every test starts clean.
  void TearDown() override {
    for (int db = 0; db < 2; db++) RpcDb(db)->Clear();
  }
  static void SetExample81() {
    BinaryClient c = Open();
    ExpectExchange(c, Example81("00 00 00 00"), Hex("B8 00 00 00 02"));
  }
};

TEST_F(BinaryProtocol, SetBulkExampleAnswersHitsAndStoresRecords) {
  int64_t before = NowSeconds();
  SetExample81();
  int64_t after = NowSeconds();
  auto rpc = RpcDb(0);
  auto foo = rpc->Get("foo");
  ASSERT_TRUE(foo.ok()) << foo.error;
  EXPECT_EQ(foo.value, "bar");
  EXPECT_FALSE(foo.xt.has_value());
  auto ttl = rpc->Get("ttl");
  ASSERT_TRUE(ttl.ok()) << ttl.error;
  EXPECT_EQ(ttl.value, "x");
  ASSERT_TRUE(ttl.xt.has_value());
  EXPECT_GE(*ttl.xt, before + 60);
  EXPECT_LE(*ttl.xt, after + 60);
}

TEST_F(BinaryProtocol, SetBulkNoReplySendsNothingAndStaysInSync) {
  BinaryClient c = Open();
  ASSERT_TRUE(c.SendRaw(Example81("00 00 00 01")));
  // Nothing may arrive for the no-reply request...
  bool eof = false;
  std::string early = c.ReadSome(0.3, &eof);
  EXPECT_EQ(ToHex(early), "");
  EXPECT_FALSE(eof);
  // ...and the next request's reply is the next thing read.
  std::string get = Hex("BA 00 00 00 00 00 00 00 01 | 00 00 | 00 00 00 03 | 66 6F 6F");
  ExpectExchange(c, get,
                 Hex("BA 00 00 00 01 | 00 00 | 00 00 00 03 | 00 00 00 03 | 00 00 00 FF FF FF FF "
                     "FF | 66 6F 6F | 62 61 72"));
  // The same when the no-reply request and the next one arrive in one write.
  ExpectExchange(
      c, Example81("00 00 00 01") + Hex("B9 00 00 00 00 00 00 00 01 00 00 00 00 00 03") + "foo",
      Hex("B9 00 00 00 01"));
  EXPECT_EQ(ToHex(c.ReadSome(0.2)), "");
}

TEST_F(BinaryProtocol, GetBulkExampleReportsNeverAndAbsoluteXtAndSkipsMissing) {
  int64_t before = NowSeconds();
  SetExample81();
  int64_t after = NowSeconds();
  BinaryClient c = Open();
  ASSERT_TRUE(c.SendRaw(kExample82));
  std::string reply;
  std::string first =
      Hex("BA | 00 00 00 02"
          "| 00 00 | 00 00 00 03 | 00 00 00 03 | 00 00 00 FF FF FF FF FF | 66 6F 6F | 62 61 72"
          "| 00 00 | 00 00 00 03 | 00 00 00 01");
  ASSERT_TRUE(c.ReadExact(first.size() + 8 + 4, &reply)) << ToHex(reply);
  int64_t xt = ReadBe64(std::string_view(reply).substr(first.size(), 8));
  EXPECT_GE(xt, before + 60 - 2);
  EXPECT_LE(xt, after + 60 + 2);
  EXPECT_EQ(ToHex(reply), ToHex(first + Be64(xt) + Hex("74 74 6C | 78")));
  EXPECT_EQ(ToHex(c.ReadSome(0.2)), "");  // nothing after the reply
}

TEST_F(BinaryProtocol, GetBulkDuplicatedKeysGiveDuplicatedRecordsInRequestOrder) {
  SetExample81();
  BinaryClient c = Open();
  std::string request =
      Hex("BA 00 00 00 00 00 00 00 04"
          "| 00 00 | 00 00 00 03 | 66 6F 6F"
          "| 00 00 | 00 00 00 04 | 6E 6F 70 65"
          "| 00 00 | 00 00 00 03 | 66 6F 6F"
          "| 00 00 | 00 00 00 03 | 66 6F 6F");
  std::string record =
      Hex("00 00 | 00 00 00 03 | 00 00 00 03 | 00 00 00 FF FF FF FF FF | 66 6F 6F | 62 61 72");
  ExpectExchange(c, request, Hex("BA 00 00 00 03") + record + record + record);
  // No keys at all: an empty reply.
  ExpectExchange(c, Hex("BA 00 00 00 00 00 00 00 00"), Hex("BA 00 00 00 00"));
}

TEST_F(BinaryProtocol, GetBulkIgnoresFlagsAndSetBulkIgnoresUnknownFlagBits) {
  BinaryClient c = Open();
  // get_bulk always replies, even with the no-reply bit.
  ExpectExchange(c, Hex("BA FF FF FF FF 00 00 00 01 00 00 00 00 00 01 7A"), Hex("BA 00 00 00 00"));
  // Bits other than 0x01 are ignored.
  ExpectExchange(c,
                 Hex("B8 FF FF FF FE 00 00 00 01 | 00 00 | 00 00 00 01 | 00 00 00 01 | 7F FF FF "
                     "FF FF FF FF FF | 7A | 31"),
                 Hex("B8 00 00 00 01"));
  ExpectExchange(c, Hex("B9 80 00 00 00 00 00 00 01 00 00 00 00 00 01 7A"), Hex("B9 00 00 00 01"));
}

TEST_F(BinaryProtocol, RemoveBulkExampleCountsOnlyExistingKeys) {
  SetExample81();
  BinaryClient c = Open();
  ExpectExchange(c, kExample83, Hex("B9 00 00 00 01"));
  // Removed: a second time nothing is hit, and foo is gone.
  ExpectExchange(c, kExample83, Hex("B9 00 00 00 00"));
  EXPECT_EQ(RpcDb(0)->Get("foo").status, 450);
  EXPECT_TRUE(RpcDb(0)->Get("ttl").ok());
  // No reply: nothing sent, removal done, in sync.
  ASSERT_TRUE(c.SendRaw(Hex("B9 00 00 00 01 00 00 00 01 | 00 00 | 00 00 00 03 | 74 74 6C")));
  ExpectExchange(c, Hex("BA 00 00 00 00 00 00 00 01 | 00 00 | 00 00 00 03 | 74 74 6C"),
                 Hex("BA 00 00 00 00"));
}

TEST_F(BinaryProtocol, PlayScriptAnswersErrorAndKeepsConnection) {
  BinaryClient c = Open();
  ExpectExchange(c, kExample84, Hex("BF"));
  // The connection is kept: the next request is answered on it.
  ExpectExchange(c, Hex("B9 00 00 00 00 00 00 00 00"), Hex("B9 00 00 00 00"));
  // With no-reply nothing at all is sent, and the connection stays in sync.
  std::string quiet = kExample84;
  quiet[4] = 0x01;
  ExpectExchange(c, quiet + Hex("B9 00 00 00 00 00 00 00 00"), Hex("B9 00 00 00 00"));
  EXPECT_EQ(ToHex(c.ReadSome(0.2)), "");
}

TEST_F(BinaryProtocol, OversizedKeyFieldAnswersErrorThenCloses) {
  BinaryClient c = Open();
  ASSERT_TRUE(c.SendRaw(Hex("BA 00 00 00 00 00 00 00 01 | 00 00 | 20 00 00 00")));
  std::string received;
  EXPECT_TRUE(c.WaitForClose(5, &received));
  EXPECT_EQ(ToHex(received), "BF");
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(BinaryProtocol, KeyOfExactly2Pow28IsAcceptedAsASize) {
  // 2^28 itself is not "larger than 2^28": the server must wait for the key, not fail.
  BinaryClient c = Open();
  ASSERT_TRUE(c.SendRaw(Hex("BA 00 00 00 00 00 00 00 01 | 00 00 | 10 00 00 00 | 61 62")));
  bool eof = false;
  std::string got = c.ReadSome(0.5, &eof);
  EXPECT_EQ(ToHex(got), "");
  EXPECT_FALSE(eof);
}

TEST_F(BinaryProtocol, OversizedValueAnswersErrorClosesAndKeepsEarlierRecords) {
  BinaryClient c = Open();
  ASSERT_TRUE(
      c.SendRaw(Hex("B8 00 00 00 00 00 00 00 02"
                    "| 00 00 | 00 00 00 02 | 00 00 00 01 | 7F FF FF FF FF FF FF FF | 70 31 | 76"
                    "| 00 00 | 00 00 00 02 | 10 00 00 01 | 7F FF FF FF FF FF FF FF | 70 32")));
  std::string received;
  EXPECT_TRUE(c.WaitForClose(5, &received));
  EXPECT_EQ(ToHex(received), "BF");
  // Partial work (spec 1): the first record was processed before the bad one.
  auto p1 = RpcDb(0)->Get("p1");
  EXPECT_TRUE(p1.ok()) << p1.error;
  EXPECT_EQ(p1.value, "v");
  EXPECT_EQ(RpcDb(0)->Get("p2").status, 450);
}

TEST_F(BinaryProtocol, ErrorWithNoReplyClosesWithoutSendingAnything) {
  BinaryClient c = Open();
  ASSERT_TRUE(
      c.SendRaw(Hex("B8 00 00 00 01 00 00 00 01 | 00 00 | 20 00 00 00 | 00 00 00 01 | "
                    "7F FF FF FF FF FF FF FF")));
  std::string received;
  EXPECT_TRUE(c.WaitForClose(5, &received));
  EXPECT_EQ(ToHex(received), "");
}

TEST_F(BinaryProtocol, UnknownMagicClosesWithNothingSent) {
  for (std::string_view first : {"B5", "00", "80", "B2", "BB", "FF"}) {
    BinaryClient c = Open();
    ASSERT_TRUE(c.SendRaw(Hex(first) + Hex("00 00 00 00 00 00 00 00")));
    std::string received;
    EXPECT_TRUE(c.WaitForClose(5, &received)) << first;
    EXPECT_EQ(ToHex(received), "") << first;
  }
  // Also after a good request on the same connection: its reply, then the close.
  BinaryClient c = Open();
  ASSERT_TRUE(c.SendRaw(Hex("B9 00 00 00 00 00 00 00 00 B5")));
  std::string received;
  EXPECT_TRUE(c.WaitForClose(5, &received));
  EXPECT_EQ(ToHex(received), "B9 00 00 00 00");
}

TEST_F(BinaryProtocol, ReplicationWithoutUpdateLogAnswersErrorThenCloses) {
  BinaryClient c = Open();
  ASSERT_TRUE(c.SendRaw(Hex("B1 | 00 00 00 00 | 00 00 00 00 00 00 00 00 | 00 01")));
  std::string received;
  EXPECT_TRUE(c.WaitForClose(5, &received));
  EXPECT_EQ(ToHex(received), "BF");
}

TEST_F(BinaryProtocol, SetBulkThenHttpOnOneConnection) {
  BinaryClient c = Open();
  ASSERT_TRUE(c.SendRaw(
      Hex("B8 00 00 00 00 00 00 00 01 | 00 00 | 00 00 00 01 | 00 00 00 01 | 7F FF FF FF FF FF "
          "FF FF | 6B | 76") +
      "GET /rpc/get?key=k HTTP/1.0\r\n\r\n"));
  std::string bin;
  ASSERT_TRUE(c.ReadExact(5, &bin)) << c.last_error();
  EXPECT_EQ(ToHex(bin), "B8 00 00 00 01");
  std::string head, body;
  ASSERT_TRUE(ReadHttp(c, &head, &body)) << c.last_error() << Printable(head);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << Printable(head);
  EXPECT_EQ(body, "value\tv\n");
  EXPECT_TRUE(c.WaitForClose(5));  // HTTP/1.0
}

TEST_F(BinaryProtocol, BinaryAndHttpAlternateOnOneConnection) {
  BinaryClient c = Open();
  std::string head, body;
  for (int round = 0; round < 3; round++) {
    std::string v(1, static_cast<char>('a' + round));
    uint32_t hits = 0;
    ASSERT_EQ(c.SetBulk({{0, "alt", v, kInt64Max}}, false, &hits), BinaryStatus::kOk)
        << c.last_error();
    EXPECT_EQ(hits, 1u);
    ASSERT_TRUE(c.SendRaw(GetRequest("/rpc/get?key=alt")));
    ASSERT_TRUE(ReadHttp(c, &head, &body)) << c.last_error();
    EXPECT_EQ(body, "value\t" + v + "\n");
    ASSERT_TRUE(c.SendRaw(GetRequest("/rpc/set?key=alt&value=h" + v)));
    ASSERT_TRUE(ReadHttp(c, &head, &body)) << c.last_error();
    std::vector<BinaryRecord> got;
    ASSERT_EQ(c.GetBulk({{0, "alt"}}, &got), BinaryStatus::kOk) << c.last_error();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].value, "h" + v);
  }
  // The same, pipelined in one write: answered strictly in order.
  ASSERT_TRUE(c.SendRaw(GetRequest("/rpc/get?key=alt") + BinaryClient::EncodeGetBulk({{0, "alt"}}) +
                        GetRequest("/rpc/void") + BinaryClient::EncodeRemoveBulk({{0, "alt"}}, 0)));
  ASSERT_TRUE(ReadHttp(c, &head, &body));
  EXPECT_EQ(body, "value\thc\n");
  std::vector<BinaryRecord> got;
  ASSERT_EQ(c.ReadReply(BinaryClient::kMagicGetBulk, nullptr, &got, nullptr), BinaryStatus::kOk);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value, "hc");
  ASSERT_TRUE(ReadHttp(c, &head, &body));
  EXPECT_EQ(body, "");
  uint32_t hits = 0;
  ASSERT_EQ(c.ReadReply(BinaryClient::kMagicRemoveBulk, &hits, nullptr, nullptr),
            BinaryStatus::kOk);
  EXPECT_EQ(hits, 1u);
}

TEST_F(BinaryProtocol, PipelinedBinaryRequestsAreAnsweredInOrder) {
  BinaryClient c = Open();
  std::string batch;
  batch +=
      Hex("B8 00 00 00 00 00 00 00 01 | 00 00 | 00 00 00 01 | 00 00 00 01 | 7F FF FF FF FF "
          "FF FF FF | 71 | 31");
  batch += Hex("BA 00 00 00 00 00 00 00 01 | 00 00 | 00 00 00 01 | 71");
  batch += Hex("B9 00 00 00 00 00 00 00 02 | 00 00 | 00 00 00 01 | 71 | 00 00 | 00 00 00 01 | 71");
  batch += Hex("BA 00 00 00 00 00 00 00 01 | 00 00 | 00 00 00 01 | 71");
  batch += kExample84;
  batch += Hex("B8 00 00 00 00 00 00 00 00");
  ExpectExchange(c, batch,
                 Hex("B8 00 00 00 01"
                     "BA 00 00 00 01 | 00 00 | 00 00 00 01 | 00 00 00 01 | 00 00 00 FF FF FF FF FF "
                     "| 71 | 31"
                     "B9 00 00 00 01"
                     "BA 00 00 00 00"
                     "BF"
                     "B8 00 00 00 00"));
  // Many small requests, each split across writes at every byte boundary.
  std::string one = Hex("BA 00 00 00 00 00 00 00 01 | 00 00 | 00 00 00 01 | 71");
  for (size_t cut = 1; cut < one.size(); cut++) {
    ASSERT_TRUE(c.SendRaw(one.substr(0, cut)));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ExpectExchange(c, one.substr(cut), Hex("BA 00 00 00 00"));
  }
}

TEST_F(BinaryProtocol, OutOfRangeDbIndexIsSkippedAndNotCounted) {
  BinaryClient c = Open();
  // dbidx 0, 2 (out of range), 1, FFFF (out of range).
  ExpectExchange(c,
                 Hex("B8 00 00 00 00 00 00 00 04"
                     "| 00 00 | 00 00 00 02 | 00 00 00 01 | 7F FF FF FF FF FF FF FF | 6F 30 | 61"
                     "| 00 02 | 00 00 00 02 | 00 00 00 01 | 7F FF FF FF FF FF FF FF | 6F 32 | 62"
                     "| 00 01 | 00 00 00 02 | 00 00 00 01 | 7F FF FF FF FF FF FF FF | 6F 31 | 63"
                     "| FF FF | 00 00 00 02 | 00 00 00 01 | 7F FF FF FF FF FF FF FF | 6F 33 | 64"),
                 Hex("B8 00 00 00 02"));
  // The skipped records went nowhere.
  for (int db = 0; db < 2; db++) {
    EXPECT_EQ(RpcDb(db)->Get("o2").status, 450);
    EXPECT_EQ(RpcDb(db)->Get("o3").status, 450);
  }
  // get_bulk: skipped, no error, the connection stays.
  ExpectExchange(c,
                 Hex("BA 00 00 00 00 00 00 00 03 | 00 02 | 00 00 00 02 | 6F 30 | 00 01 | 00 00 00 "
                     "02 | 6F 31 | 00 05 | 00 00 00 02 | 6F 31"),
                 Hex("BA 00 00 00 01 | 00 01 | 00 00 00 02 | 00 00 00 01 | 00 00 00 FF FF FF FF FF "
                     "| 6F 31 | 63"));
  // remove_bulk: an out-of-range index neither removes nor counts.
  ExpectExchange(c,
                 Hex("B9 00 00 00 00 00 00 00 03 | 00 07 | 00 00 00 02 | 6F 30 | 00 00 | 00 00 00 "
                     "02 | 6F 30 | 01 00 | 00 00 00 02 | 6F 31"),
                 Hex("B9 00 00 00 01"));
  EXPECT_TRUE(RpcDb(1)->Get("o1").ok());
}

TEST_F(BinaryProtocol, DbIndexSelectsDatabaseByPosition) {
  BinaryClient c = Open();
  uint32_t hits = 0;
  ASSERT_EQ(c.SetBulk({{1, "in1", "one", kInt64Max}, {0, "in0", "zero", kInt64Max}}, false, &hits),
            BinaryStatus::kOk);
  EXPECT_EQ(hits, 2u);
  ExpectRpcReply(Get("/rpc/get?key=in1&DB=1"), 200, kTsv, "value\tone\n");
  EXPECT_EQ(Get("/rpc/get?key=in1&DB=0").status, 450);
  ExpectRpcReply(Get("/rpc/get?key=in0&DB=0"), 200, kTsv, "value\tzero\n");
  EXPECT_EQ(Get("/rpc/get?key=in0&DB=1").status, 450);
  // And the other way: a record set over HTTP in DB 1 is read with dbidx 1 only.
  ExpectRpcReply(Get("/rpc/set?key=h1&value=x&DB=1"), 200, kTsv, "");
  std::vector<BinaryRecord> got;
  ASSERT_EQ(c.GetBulk({{0, "h1"}, {1, "h1"}}, &got), BinaryStatus::kOk);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (BinaryRecord{1, "h1", "x", kXtNever}));
}

TEST_F(BinaryProtocol, XtInBothDirections) {
  BinaryClient c = Open();
  int64_t before = NowSeconds();
  uint32_t hits = 0;
  ASSERT_EQ(c.SetBulk(
                {
                    {0, "never", "a", kInt64Max},
                    {0, "rel", "b", 100},
                    {0, "abs", "c", -2000000000},
                    {0, "huge", "d", int64_t{1} << 40},       // now + 2^40 ≥ XTMAX: never
                    {0, "farabs", "e", -(int64_t{1} << 41)},  // absolute beyond XTMAX: never
                    {0, "past", "f", -(before - 100)},        // already expired
                },
                false, &hits),
            BinaryStatus::kOk)
      << c.last_error();
  int64_t after = NowSeconds();
  EXPECT_EQ(hits, 6u);
  std::vector<BinaryRecord> got;
  ASSERT_EQ(
      c.GetBulk({{0, "never"}, {0, "rel"}, {0, "abs"}, {0, "huge"}, {0, "farabs"}, {0, "past"}},
                &got),
      BinaryStatus::kOk);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0], (BinaryRecord{0, "never", "a", kXtNever}));
  EXPECT_EQ(got[1].key, "rel");
  EXPECT_GE(got[1].xt, before + 100);
  EXPECT_LE(got[1].xt, after + 100);
  EXPECT_EQ(got[2], (BinaryRecord{0, "abs", "c", 2000000000}));
  EXPECT_EQ(got[3], (BinaryRecord{0, "huge", "d", kXtNever}));
  EXPECT_EQ(got[4], (BinaryRecord{0, "farabs", "e", kXtNever}));
  // The HTTP view agrees.
  ExpectRpcReply(Get("/rpc/get?key=abs"), 200, kTsv, "value\tc\nxt\t2000000000\n");
  ExpectRpcReply(Get("/rpc/get?key=never"), 200, kTsv, "value\ta\n");
  EXPECT_EQ(Get("/rpc/get?key=past").status, 450);
  // A record set over HTTP with xt reads back with its absolute time.
  ExpectRpcReply(Get("/rpc/set?key=hx&value=v&xt=-1999999999"), 200, kTsv, "");
  ASSERT_EQ(c.GetBulk({{0, "hx"}}, &got), BinaryStatus::kOk);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(ToHex(Be64(got[0].xt)), "00 00 00 00 77 35 93 FF");
  // Every set replaces the expiration: INT64_MAX clears it.
  ASSERT_EQ(c.SetBulk({{0, "abs", "c2", kInt64Max}}, false), BinaryStatus::kOk);
  ASSERT_EQ(c.GetBulk({{0, "abs"}}, &got), BinaryStatus::kOk);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].xt, kXtNever);
}

TEST_F(BinaryProtocol, KeysAndValuesAreBinarySafe) {
  BinaryClient c = Open();
  std::string nul_key("k\0\xff\r\n\t", 6);
  std::string nul_value("\0\x01\xfe\xff\r\n\r\n", 8);
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>((i * 131 + 7) % 256);
  std::vector<BinaryRecord> records = {
      {0, nul_key, nul_value, kInt64Max},
      {0, "", "empty key", kInt64Max},
      {0, "empty value", "", kInt64Max},
      {1, "big", big, kInt64Max},
  };
  uint32_t hits = 0;
  ASSERT_EQ(c.SetBulk(records, false, &hits), BinaryStatus::kOk) << c.last_error();
  EXPECT_EQ(hits, 4u);
  std::vector<BinaryRecord> got;
  ASSERT_EQ(c.GetBulk({{0, nul_key}, {0, ""}, {0, "empty value"}, {1, "big"}}, &got),
            BinaryStatus::kOk)
      << c.last_error();
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; i++) {
    EXPECT_EQ(got[i].dbidx, records[i].dbidx);
    EXPECT_EQ(got[i].key, records[i].key);
    EXPECT_TRUE(got[i].value == records[i].value) << i << ": " << got[i].value.size();
    EXPECT_EQ(got[i].xt, kXtNever);
  }
  // The HTTP view of the same record.
  auto http = RpcDb(0)->Get(nul_key);
  ASSERT_TRUE(http.ok()) << http.error;
  EXPECT_EQ(ToHex(http.value), ToHex(nul_value));
  uint32_t removed = 0;
  ASSERT_EQ(c.RemoveBulk({{0, nul_key}, {0, ""}, {1, "big"}, {1, "big"}}, false, &removed),
            BinaryStatus::kOk);
  EXPECT_EQ(removed, 3u);
}

TEST_F(BinaryProtocol, TruncatedFrameThenCloseLeavesServerServing) {
  {
    BinaryClient c = Open();
    // set_bulk announcing 1 record whose key is cut short.
    ASSERT_TRUE(
        c.SendRaw(Hex("B8 00 00 00 00 00 00 00 01 | 00 00 | 00 00 00 05 | 00 00 00 01 | "
                      "7F FF FF FF FF FF FF FF | 74 72")));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  {
    BinaryClient c = Open();
    ASSERT_TRUE(c.SendRaw(Hex("BA 00 00 00 00 00 00 00 02 00 00")));  // cut inside a record
    c.ShutdownWrite();
    std::string received;
    EXPECT_TRUE(c.WaitForClose(5, &received));
    // A half frame is dropped with the connection (or answered 0xBF): never anything else,
    // in particular not an HTTP response.
    EXPECT_TRUE(received.empty() || received == Hex("BF")) << Printable(received);
  }
  {
    BinaryClient c = Open();
    ASSERT_TRUE(c.SendRaw(Hex("B4 00 00")));  // cut inside a header
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(kill(server().pid(), 0), 0) << "server died";
  BinaryClient fresh = Open();
  ExpectExchange(fresh, Hex("BA 00 00 00 00 00 00 00 01 | 00 00 | 00 00 00 05 | 74 72 75 6E 63"),
                 Hex("BA 00 00 00 00"));
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(BinaryProtocol, AbsurdCountsAndLengthsNeitherCrashNorAllocate) {
  const std::vector<std::string> frames = {
      Hex("B8 00 00 00 00 FF FF FF FF"),                       // rnum 2^32-1, no data
      Hex("BA 00 00 00 00 FF FF FF FF 00 00 00 00 00 01 61"),  // idem, one record follows
      Hex("B9 00 00 00 00 01 00 00 00"),                       // rnum 2^24, no data
      Hex("B4 00 00 00 00 FF FF FF FF FF FF FF FF"),           // nsiz and rnum 2^32-1
      Hex("B4 00 00 00 00 10 00 00 00 FF FF FF FF"),           // nsiz 2^28, rnum 2^32-1
      Hex("B8 00 00 00 00 00 00 00 01 | 00 00 | 10 00 00 00 | 10 00 00 00 | 00 00 00 00 00 00 00 "
          "00"),  // key and value of 2^28 each, no data
      Hex("B8 00 00 00 00 00 00 00 01 | 00 00 | FF FF FF FF | FF FF FF FF | 00 00 00 00 00 00 00 "
          "00"),  // 2^32-1 each
  };
  for (const std::string& frame : frames) {
    BinaryClient c = Open();
    ASSERT_TRUE(c.SendRaw(frame));
    // Either an error byte and a close, or the server waits for the rest: never anything else.
    bool eof = false;
    std::string got = c.ReadSome(0.3, &eof);
    EXPECT_TRUE(got.empty() || got == Hex("BF")) << ToHex(frame) << " → " << ToHex(got);
    if (got == Hex("BF")) {
      EXPECT_TRUE(eof || c.WaitForClose(5)) << ToHex(frame);
    }
    int64_t rss = VmRssKb(server().pid());
    EXPECT_GT(rss, 0);
    EXPECT_LT(rss, 200 * 1024) << "VmRSS after " << ToHex(frame);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LT(VmRssKb(server().pid()), 200 * 1024);
  EXPECT_TRUE(ServerStillServes());
}

TEST_F(BinaryProtocol, ClientReportsServerErrorsAndNetworkErrors) {
  BinaryClient c = Open();
  BinaryPairs out;
  // play_script is disabled: a server error, the connection is kept.
  EXPECT_EQ(c.PlayScript("echo", {{"a", "b"}}, false, &out), BinaryStatus::kServerError);
  EXPECT_TRUE(c.is_open());
  EXPECT_EQ(c.PlayScript("echo", {{"a", "b"}}, true), BinaryStatus::kOk);
  uint32_t hits = 7;
  EXPECT_EQ(c.RemoveBulk({{0, "none"}}, false, &hits), BinaryStatus::kOk) << c.last_error();
  EXPECT_EQ(hits, 0u);
  // A reply that starts with anything but the request magic or 0xBF is a network error.
  ASSERT_TRUE(c.SendRaw(GetRequest("/rpc/void")));
  std::vector<BinaryRecord> got;
  EXPECT_EQ(c.ReadReply(BinaryClient::kMagicGetBulk, nullptr, &got, nullptr),
            BinaryStatus::kNetworkError);
  EXPECT_FALSE(c.is_open());
  // A bulk error closes the connection: 0xBF, then the next call fails on the network.
  ASSERT_TRUE(c.Open("127.0.0.1", port(), 5.0));
  ASSERT_TRUE(c.SendRaw(Hex("B9 00 00 00 00 00 00 00 01 | 00 00 | 20 00 00 00")));
  EXPECT_EQ(c.ReadReply(BinaryClient::kMagicRemoveBulk, &hits, nullptr, nullptr),
            BinaryStatus::kServerError);
  EXPECT_EQ(c.GetBulk({{0, "x"}}, &got), BinaryStatus::kNetworkError);
  EXPECT_EQ(c.SetBulk({{0, "x", "y", kInt64Max}}, false), BinaryStatus::kNetworkError);
}

// ktopts=p: no expiration is stored, get_bulk reports INT64_MAX.
class BinaryPersistent : public SharedServerTest<BinaryPersistent> {
 public:
  static std::vector<std::string> Dbs() { return {":#ktopts=p"}; }
};

TEST_F(BinaryPersistent, GetBulkReportsInt64MaxXt) {
  BinaryClient c;
  ASSERT_TRUE(c.Open("127.0.0.1", port(), 5.0));
  ASSERT_TRUE(c.SendRaw(Example81("00 00 00 00")));
  std::string reply;
  ASSERT_TRUE(c.ReadExact(5, &reply));
  EXPECT_EQ(ToHex(reply), "B8 00 00 00 02");
  ASSERT_TRUE(c.SendRaw(kExample82));
  reply.clear();
  std::string expected =
      Hex("BA | 00 00 00 02"
          "| 00 00 | 00 00 00 03 | 00 00 00 03 | 7F FF FF FF FF FF FF FF | 66 6F 6F | 62 61 72"
          "| 00 00 | 00 00 00 03 | 00 00 00 01 | 7F FF FF FF FF FF FF FF | 74 74 6C | 78");
  EXPECT_TRUE(c.ReadExact(expected.size(), &reply)) << c.last_error();
  EXPECT_EQ(ToHex(reply), ToHex(expected));
  // An absolute time in the past does not expire anything either.
  uint32_t hits = 0;
  ASSERT_EQ(c.SetBulk({{0, "old", "v", -1000}}, false, &hits), BinaryStatus::kOk);
  std::vector<BinaryRecord> got;
  ASSERT_EQ(c.GetBulk({{0, "old"}}, &got), BinaryStatus::kOk);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].xt, kInt64Max);
}

}  // namespace
}  // namespace ryoan::testing
