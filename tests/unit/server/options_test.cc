// Tests for ktserver's command line (spec/ktserver-cli.md sections 1-4).

#include "server/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

namespace ryoan::server {
namespace {

// Parses "ktserver <args...>" into *o; returns what ParseServerOptions returned.
bool Parse(std::initializer_list<const char*> args, ServerOptions* o) {
  std::vector<const char*> argv = {"ktserver"};
  argv.insert(argv.end(), args.begin(), args.end());
  return ParseServerOptions(static_cast<int>(argv.size()), argv.data(), o);
}

ServerOptions MustParse(std::initializer_list<const char*> args) {
  ServerOptions o;
  EXPECT_TRUE(Parse(args, &o));
  return o;
}

bool Fails(std::initializer_list<const char*> args) {
  ServerOptions o;
  return !Parse(args, &o);
}

TEST(OptionsTest, Defaults) {
  ServerOptions o = MustParse({});
  EXPECT_FALSE(o.show_version);
  EXPECT_EQ(o.host, "");
  EXPECT_EQ(o.port, 1978);
  EXPECT_EQ(o.timeout, 30);
  EXPECT_EQ(o.threads, 16);
  EXPECT_EQ(o.log_kinds, kLogAll);
  EXPECT_TRUE(o.log_engine);
  EXPECT_EQ(o.ulog_limit, 268435456);
  EXPECT_EQ(o.sid, -1);
  EXPECT_EQ(o.bgs_interval, 180);
  EXPECT_EQ(o.command_dir, ".");
  EXPECT_EQ(o.master_port, 1978);
  EXPECT_DOUBLE_EQ(o.replication_interval, 0.04);
  EXPECT_EQ(o.databases, std::vector<std::string>{":"});
}

TEST(OptionsTest, AllValueOptions) {
  ServerOptions o =
      MustParse({"-host",  "127.0.0.1", "-port",     "2000",  "-tout",      "1.5",    "-th",
                 "4",      "-log",      "/tmp/l",    "-ulog", "/tmp/u",     "-ulim",  "1024",
                 "-uasi",  "0.5",       "-sid",      "7",     "-ord",       "-asi",   "2",
                 "-ash",   "-bgs",      "/tmp/b",    "-bgsi", "60",         "-bgsc",  "lzo",
                 "-dmn",   "-pid",      "/tmp/p",    "-cmd",  "/tmp",       "-scr",   "/tmp/s.lua",
                 "-mhost", "m",         "-mport",    "3000",  "-rts",       "/tmp/r", "-riv",
                 "1.25",   "-plsv",     "/lib/x.so", "-plex", "port=11211", "-pldb",  "/lib/y.so",
                 "a.kch",  "b.kct"});
  EXPECT_EQ(o.host, "127.0.0.1");
  EXPECT_EQ(o.port, 2000);
  EXPECT_DOUBLE_EQ(o.timeout, 1.5);
  EXPECT_EQ(o.threads, 4);
  EXPECT_EQ(o.log_path, "/tmp/l");
  EXPECT_EQ(o.ulog_dir, "/tmp/u");
  EXPECT_EQ(o.ulog_limit, 1024);
  EXPECT_DOUBLE_EQ(o.ulog_sync_interval, 0.5);
  EXPECT_EQ(o.sid, 7);
  EXPECT_TRUE(o.readonly);
  EXPECT_DOUBLE_EQ(o.sync_interval, 2);
  EXPECT_TRUE(o.sync_hard);
  EXPECT_EQ(o.bgs_dir, "/tmp/b");
  EXPECT_DOUBLE_EQ(o.bgs_interval, 60);
  EXPECT_EQ(o.bgs_compressor, "lzo");
  EXPECT_TRUE(o.daemonize);
  EXPECT_EQ(o.pid_path, "/tmp/p");
  EXPECT_EQ(o.command_dir, "/tmp");
  EXPECT_EQ(o.script_path, "/tmp/s.lua");
  EXPECT_EQ(o.master_host, "m");
  EXPECT_EQ(o.master_port, 3000);
  EXPECT_EQ(o.rts_path, "/tmp/r");
  EXPECT_DOUBLE_EQ(o.replication_interval, 1.25);
  EXPECT_EQ(o.plugin_server, "/lib/x.so");
  EXPECT_EQ(o.plugin_config, "port=11211");
  EXPECT_EQ(o.plugin_db, "/lib/y.so");
  EXPECT_EQ(o.databases, (std::vector<std::string>{"a.kch", "b.kct"}));
}

TEST(OptionsTest, OptionsEndAtFirstNonDashArgument) {
  ServerOptions o = MustParse({"-port", "1", "*", "-port", "2"});
  EXPECT_EQ(o.port, 1);
  EXPECT_EQ(o.databases, (std::vector<std::string>{"*", "-port", "2"}));
  // An option argument is taken whatever it looks like, and does not end the options.
  o = MustParse({"-host", "-weird", "-port", "5"});
  EXPECT_EQ(o.host, "-weird");
  EXPECT_EQ(o.port, 5);
}

TEST(OptionsTest, DoubleDashEndsOptions) {
  ServerOptions o = MustParse({"-le", "--", "-"});
  EXPECT_EQ(o.log_kinds, unsigned{kLogError});
  EXPECT_EQ(o.databases, std::vector<std::string>{"-"});
  o = MustParse({"--", "-port", "x"});
  EXPECT_EQ(o.port, 1978);
  EXPECT_EQ(o.databases, (std::vector<std::string>{"-port", "x"}));
  o = MustParse({"--"});
  EXPECT_EQ(o.databases, std::vector<std::string>{":"});
  // A lone "-" is an (unknown) option, not a database.
  EXPECT_TRUE(Fails({"-"}));
}

TEST(OptionsTest, VersionOnlyAsFirstArgument) {
  ServerOptions o = MustParse({"--version"});
  EXPECT_TRUE(o.show_version);
  o = MustParse({"--version", "-bogus"});
  EXPECT_TRUE(o.show_version);
  EXPECT_TRUE(Fails({"-le", "--version"}));
  o = MustParse({"db", "--version"});
  EXPECT_FALSE(o.show_version);
  EXPECT_EQ(o.databases, (std::vector<std::string>{"db", "--version"}));
}

TEST(OptionsTest, UsageErrors) {
  EXPECT_TRUE(Fails({"-bogus"}));
  EXPECT_TRUE(Fails({"-port"}));
  EXPECT_TRUE(Fails({"-host"}));
  EXPECT_TRUE(Fails({"-le", "-th"}));
  EXPECT_TRUE(Fails({"-port", "0"}));
  EXPECT_TRUE(Fails({"-port", "-5"}));
  EXPECT_TRUE(Fails({"-port", "abc"}));  // non-numeric reads as 0
  EXPECT_TRUE(Fails({"-mport", "0"}));
  EXPECT_TRUE(Fails({"-th", "0"}));
  EXPECT_TRUE(Fails({"-th", "0.9"}));
  EXPECT_TRUE(Fails({"-th", "nan"}));
  // -pldb needs a database argument.
  EXPECT_TRUE(Fails({"-pldb", "/lib/y.so"}));
  EXPECT_FALSE(Fails({"-pldb", "/lib/y.so", "db"}));
}

TEST(OptionsTest, IntegerUnitsAndReals) {
  ServerOptions o = MustParse({"-ulim", "256m"});
  EXPECT_EQ(o.ulog_limit, 256LL << 20);
  o = MustParse({"-ulim", "1.5k", "-port", "2k"});
  EXPECT_EQ(o.ulog_limit, 1536);
  EXPECT_EQ(o.port, 2048);
  o = MustParse({"-tout", "junk", "-asi", "-1"});
  EXPECT_EQ(o.timeout, 0);
  EXPECT_EQ(o.sync_interval, -1);
}

TEST(OptionsTest, ThreadsTruncatedAndCapped) {
  EXPECT_EQ(MustParse({"-th", "2.9"}).threads, 2);
  EXPECT_EQ(MustParse({"-th", "1"}).threads, 1);
  EXPECT_EQ(MustParse({"-th", "64"}).threads, 64);
  EXPECT_EQ(MustParse({"-th", "65"}).threads, 64);
  EXPECT_EQ(MustParse({"-th", "1e30"}).threads, 64);
  EXPECT_EQ(MustParse({"-th", "inf"}).threads, 64);
}

TEST(OptionsTest, LogMasksReplaceEachOther) {
  ServerOptions o = MustParse({"-li"});
  EXPECT_EQ(o.log_kinds, unsigned{kLogInfo | kLogSystem | kLogError});
  EXPECT_TRUE(o.log_engine);
  o = MustParse({"-ls"});
  EXPECT_EQ(o.log_kinds, unsigned{kLogSystem | kLogError});
  o = MustParse({"-le"});
  EXPECT_EQ(o.log_kinds, unsigned{kLogError});
  o = MustParse({"-lz"});
  EXPECT_EQ(o.log_kinds, 0u);
  EXPECT_FALSE(o.log_engine);
  // The last one wins, including turning the engine logger back on.
  o = MustParse({"-lz", "-li"});
  EXPECT_EQ(o.log_kinds, unsigned{kLogInfo | kLogSystem | kLogError});
  EXPECT_TRUE(o.log_engine);
  o = MustParse({"-le", "-lz"});
  EXPECT_EQ(o.log_kinds, 0u);
  EXPECT_FALSE(o.log_engine);
}

TEST(OptionsTest, OpenFlagsAddUp) {
  ServerOptions o = MustParse({"-oat", "-onl"});
  EXPECT_TRUE(o.open_autotran);
  EXPECT_FALSE(o.open_autosync);
  EXPECT_TRUE(o.open_nolock);
  EXPECT_FALSE(o.open_trylock);
  EXPECT_FALSE(o.open_norepair);
  o = MustParse({"-oat", "-oas", "-onl", "-otl", "-onr"});
  EXPECT_TRUE(o.open_autotran && o.open_autosync && o.open_nolock && o.open_trylock &&
              o.open_norepair);
}

TEST(OptionsTest, LastRepeatWins) {
  ServerOptions o = MustParse({"-port", "1", "-port", "2", "-host", "a", "-host", "b"});
  EXPECT_EQ(o.port, 2);
  EXPECT_EQ(o.host, "b");
}

TEST(OptionsTest, SidModulo65536) {
  EXPECT_EQ(MustParse({"-sid", "0"}).sid, 0);
  EXPECT_EQ(MustParse({"-sid", "65535"}).sid, 65535);
  EXPECT_EQ(MustParse({"-sid", "65536"}).sid, 0);
  EXPECT_EQ(MustParse({"-sid", "65537"}).sid, 1);
  EXPECT_EQ(MustParse({"-sid", "-1"}).sid, 65535);
  EXPECT_EQ(MustParse({"-sid", "64k"}).sid, 0);
}

TEST(OptionsTest, UsageText) {
  std::string u = Usage("ktserver");
  EXPECT_EQ(
      u.rfind(
          "ktserver: Kyoto Tycoon: a handy cache/storage server\n\nusage:\n  ktserver [-host str] ",
          0),
      0u)
      << u;
  EXPECT_NE(u.find("[db...]\n"), std::string::npos);
  EXPECT_NE(u.find("\n  ktserver --version\n"), std::string::npos);
  EXPECT_EQ(u.substr(u.size() - 2), "\n\n");
  EXPECT_EQ(Usage("/usr/bin/kt").rfind("/usr/bin/kt: Kyoto Tycoon:", 0), 0u);
}

TEST(OptionsTest, VersionLineFormat) {
  std::string v = VersionLine();
  EXPECT_EQ(v.rfind("Kyoto Tycoon 0.9.56 (2.19) on ", 0), 0u) << v;
  EXPECT_NE(v.find(" (Ryoan "), std::string::npos) << v;
  EXPECT_EQ(v.back(), ')');
}

class OptionsValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("ryoan_options_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    script_ = (dir_ / "kt.lua").string();
    FILE* f = std::fopen(script_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string script_;
};

TEST_F(OptionsValidateTest, DefaultsAreValid) {
  ServerOptions o = MustParse({});
  EXPECT_EQ(ValidateServerOptions(o), "");
}

TEST_F(OptionsValidateTest, UpdateLogAndReplicationNeedSid) {
  EXPECT_EQ(ValidateServerOptions(MustParse({"-ulog", "u"})), "update log requires the server ID");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-ulog", "u", "-sid", "0"})), "");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-mhost", "m", "-rts", "r"})),
            "replication requires the server ID");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-mhost", "m", "-sid", "1"})),
            "replication requires the replication time stamp file");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-mhost", "m", "-sid", "1", "-rts", "r"})), "");
}

TEST_F(OptionsValidateTest, DaemonNeedsAbsolutePaths) {
  EXPECT_EQ(ValidateServerOptions(MustParse({"-dmn", "-log", "rel.log"})),
            "rel.log: a daemon can accept absolute path only");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-dmn", "-pid", "k.pid"})),
            "k.pid: a daemon can accept absolute path only");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-dmn", "-cmd", "bin"})),
            "bin: a daemon can accept absolute path only");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-dmn", "-pldb", "x.so", "db"})),
            "x.so: a daemon can accept absolute path only");
  // Database paths, the stdout log "-" and the default -cmd are not checked.
  EXPECT_EQ(ValidateServerOptions(MustParse({"-dmn", "-log", "-", "rel.kch"})), "");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-log", "rel.log", "-pid", "k.pid"})), "");
  std::string abs = (dir_ / "x.log").string();
  ServerOptions o = MustParse({"-dmn", "-log", abs.c_str(), "-scr", script_.c_str()});
  EXPECT_EQ(ValidateServerOptions(o), "");
}

TEST_F(OptionsValidateTest, CommandDirAndScriptMustExist) {
  std::string missing = (dir_ / "missing").string();
  EXPECT_EQ(ValidateServerOptions(MustParse({"-cmd", missing.c_str()})),
            missing + ": no such directory");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-cmd", script_.c_str()})),
            script_ + ": no such directory");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-cmd", dir_.c_str()})), "");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-scr", missing.c_str()})),
            missing + ": no such file");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-scr", dir_.c_str()})),
            dir_.string() + ": no such file");
  EXPECT_EQ(ValidateServerOptions(MustParse({"-scr", script_.c_str()})), "");
}

TEST_F(OptionsValidateTest, AtMost200Databases) {
  ServerOptions o = MustParse({});
  o.databases.assign(200, "*");
  EXPECT_EQ(ValidateServerOptions(o), "");
  o.databases.assign(201, "*");
  EXPECT_EQ(ValidateServerOptions(o), "too much databases");
}

}  // namespace
}  // namespace ryoan::server
