// A damaged '.kct' file through the real binary: ktserver refuses to start on it, naming the
// file and what the check at open found; `#verify=off` opens it unchecked, and the damaged
// record then reads as an error while the others read back exactly.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

class KctDamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ryoan-kct-damage-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/casket.kct";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::string path_;
};

TEST_F(KctDamageTest, DamagedFileIsRefusedAtStartAndReadableUnchecked) {
  {
    ServerProcess server({path_});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    RpcClient rpc;
    ASSERT_TRUE(rpc.Open(server.host(), server.port()));
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(rpc.Set("k" + std::to_string(i), "value " + std::to_string(i)).ok());
    }
    ASSERT_TRUE(rpc.Set("victim", "the MARKER value").ok());
    EXPECT_EQ(server.Stop(SIGTERM), 0);
  }
  // Damage every copy of the victim's value (free pages may hold older copies).
  std::string bytes;
  {
    std::ifstream in(path_, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  int copies = 0;
  for (size_t pos = bytes.find("MARKER"); pos != std::string::npos;
       pos = bytes.find("MARKER", pos + 1)) {
    bytes[pos] = 'm';
    ++copies;
  }
  ASSERT_GE(copies, 1);
  std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;

  ProcessResult r =
      RunKtserver({"-host", "127.0.0.1", "-port", std::to_string(PickFreePort()), path_});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const std::string log = r.out + r.err;  // without -log, the log goes to stdout
  EXPECT_NE(log.find("could not open a database file: " + path_ + ": "), std::string::npos) << log;
  EXPECT_NE(log.find(path_ + ": broken database file (check at open: a record fails its checksum)"),
            std::string::npos)
      << log;

  ServerProcess unchecked({path_ + "#verify=off"});
  std::string error;
  ASSERT_TRUE(unchecked.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(unchecked.host(), unchecked.port()));
  RecordResult victim = rpc.Get("victim");
  EXPECT_FALSE(victim.ok());
  EXPECT_EQ(victim.value, "");
  for (int i = 0; i < 200; ++i) {
    RecordResult got = rpc.Get("k" + std::to_string(i));
    ASSERT_TRUE(got.ok()) << i;
    EXPECT_EQ(got.value, "value " + std::to_string(i));
  }
}

}  // namespace
}  // namespace ryoan::testing
