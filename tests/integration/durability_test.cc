// Durability options through the real binary: -bgs/-bgsi snapshots, -asi/-ash periodic
// synchronization, and the open modes -oat -oas -onl -otl -onr.
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ryoan-durability-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

TEST_F(DurabilityTest, SnapshotsAtShutdownAreLoadedAtStart) {
  const std::string bgs = dir_ + "/snapshots/nested";  // created when missing
  const std::string binary_key("k\0\xff", 3);
  int64_t xt = 0;
  {
    ServerProcess server({":", "+"}, {"-bgs", bgs});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    RpcClient rpc;
    ASSERT_TRUE(rpc.Open(server.host(), server.port()));
    ASSERT_TRUE(rpc.Set("japan", "tokyo").ok());
    ASSERT_TRUE(rpc.Set(binary_key, std::string("v\0\n", 3), 3600).ok());
    rpc.set_database("1");
    ASSERT_TRUE(rpc.Set("france", "paris", 7200).ok());
    RecordResult got = rpc.Get("france");
    ASSERT_TRUE(got.ok() && got.xt.has_value());
    xt = *got.xt;
    EXPECT_EQ(server.Stop(SIGTERM), 0);
    EXPECT_NE(server.LogContents().find("[INFO]: snapshotting databases"), std::string::npos);
  }
  EXPECT_TRUE(std::filesystem::exists(bgs + "/00000000.ktss"));
  EXPECT_TRUE(std::filesystem::exists(bgs + "/00000001.ktss"));
  EXPECT_FALSE(std::filesystem::exists(bgs + "/00000000.ktss.tmp"));

  ServerProcess server({":", "+"}, {"-bgs", bgs});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  EXPECT_EQ(rpc.Get("japan").value, "tokyo");
  RecordResult binary = rpc.Get(binary_key);
  EXPECT_EQ(binary.value, std::string("v\0\n", 3));
  EXPECT_TRUE(binary.xt.has_value());
  rpc.set_database("1");
  RecordResult france = rpc.Get("france");
  EXPECT_EQ(france.value, "paris");
  EXPECT_EQ(france.xt, xt);
  EXPECT_EQ(rpc.Count().value, 1);
  std::string log = server.LogContents();
  EXPECT_NE(log.find("applying a snapshot file: db=0 ts="), std::string::npos) << log;
  EXPECT_NE(log.find("applying a snapshot file: db=1 ts="), std::string::npos) << log;
  EXPECT_NE(log.find(" count=1 size="), std::string::npos) << log;
}

TEST_F(DurabilityTest, SnapshotsAreTakenAtTheInterval) {
  const std::string bgs = dir_ + "/bgs";
  ServerProcess server({"*"}, {"-bgs", bgs, "-bgsi", "0.5"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  ASSERT_TRUE(rpc.Set("a", "1").ok());
  const std::string file = bgs + "/00000000.ktss";
  ASSERT_TRUE(WaitFor(
      [&] {
        std::error_code ec;
        return std::filesystem::file_size(file, ec) > 34 && !ec;
      },
      10))
      << server.LogContents();
  // A second database server picks it up even after a SIGKILL of the first.
  server.Stop(SIGKILL);
  ServerProcess next({"*"}, {"-bgs", bgs});
  ASSERT_TRUE(next.Start(&error)) << error;
  RpcClient rpc2;
  ASSERT_TRUE(rpc2.Open(next.host(), next.port()));
  EXPECT_EQ(rpc2.Get("a").value, "1");
}

TEST_F(DurabilityTest, DamagedSnapshotIsLoggedAndSkipped) {
  const std::string bgs = dir_ + "/bgs";
  std::filesystem::create_directories(bgs);
  std::ofstream(bgs + "/00000000.ktss") << "KTSS\n";
  std::ofstream(bgs + "/00000005.ktss") << "ignored: index >= number of databases";
  ServerProcess server({":"}, {"-bgs", bgs});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  EXPECT_NE(server.LogContents().find("[ERROR]: could not apply a snapshot"), std::string::npos)
      << server.LogContents();
}

TEST_F(DurabilityTest, UnusableSnapshotDirectoryExitsOne) {
  std::ofstream(dir_ + "/file") << "x";
  ProcessResult r = RunKtserver(
      {"-host", "127.0.0.1", "-port", std::to_string(PickFreePort()), "-bgs", dir_ + "/file/sub"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir_ + "/file/sub: could not open the directory"), std::string::npos)
      << r.err;
}

TEST_F(DurabilityTest, PeriodicSynchronization) {
  const std::string path = dir_ + "/casket.kch";
  ServerProcess server({path}, {"-asi", "0.3", "-ash"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  ASSERT_TRUE(rpc.Set("k", "v").ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        return server.LogContents().find("[INFO]: synchronizing databases") != std::string::npos;
      },
      10))
      << server.LogContents();
  EXPECT_EQ(rpc.Get("k").value, "v");
  EXPECT_EQ(server.LogContents().find("-asi"), std::string::npos);  // no "not supported"
}

TEST_F(DurabilityTest, AutoSyncFileDatabaseSurvivesSigkill) {
  const std::string path = dir_ + "/casket.kch";
  {
    ServerProcess server({path}, {"-oat", "-oas", "-onr"});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    RpcClient rpc;
    ASSERT_TRUE(rpc.Open(server.host(), server.port()));
    for (int i = 0; i < 50; i++) {
      ASSERT_TRUE(rpc.Set("key" + std::to_string(i), "value" + std::to_string(i)).ok());
    }
    std::string log = server.LogContents();
    EXPECT_EQ(log.find("not supported yet"), std::string::npos) << log;
    server.Stop(SIGKILL);
  }
  ServerProcess server({path}, {"-onr"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  EXPECT_EQ(rpc.Count().value, 50);
  EXPECT_EQ(rpc.Get("key49").value, "value49");
}

TEST_F(DurabilityTest, TryLockFailsAtOnceWhenTheFileIsLocked) {
  const std::string path = dir_ + "/casket.kch";
  ServerProcess server({path});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  auto start = std::chrono::steady_clock::now();
  ProcessResult r =
      RunKtserver({"-host", "127.0.0.1", "-port", std::to_string(PickFreePort()), "-otl", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("locked"), std::string::npos) << r.out << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace ryoan::testing
