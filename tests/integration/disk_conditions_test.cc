// Persistent storage under bad conditions, through the real ktserver: a full file system
// (.kch, .kct and -bgs snapshots), a read-only file system at start and one that turns
// read-only under a running server, and -bgsc compressed snapshots across a restart.
//
// The file systems are real: a size-limited tmpfs (mount(2)), and for "read-only while
// running" an ext4 image on a loop device whose error trigger makes the kernel remount it
// read-only with the database files open (a plain `mount -o remount,ro` refuses while a file
// is open for writing). Mounting needs root: elsewhere these tests skip and say why.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "tests/integration/test_util.h"

namespace ryoan::testing {
namespace {

constexpr const char* kNoSpace = "No space left on device";
constexpr const char* kReadOnly = "Read-only file system";

std::string MakeTempDir(const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

bool RunCommand(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
}

// A tmpfs of a given size on a fresh directory, unmounted (lazily, whatever still uses it)
// and removed at the end.
class Tmpfs {
 public:
  Tmpfs() = default;
  ~Tmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    if (!dir_.empty()) ::rmdir(dir_.c_str());
  }
  // False with *why when mounting is not possible here (not root, no tmpfs).
  bool Mount(size_t bytes, std::string* why) {
    dir_ = MakeTempDir("ryoan-tmpfs");
    if (dir_.empty()) {
      *why = "mkdtemp failed";
      return false;
    }
    std::string data = "size=" + std::to_string(bytes) + ",mode=0755";
    if (::mount("ryoan-test", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
      *why = std::string("mounting a tmpfs is not permitted here (") + std::strerror(errno) +
             "); these tests need root";
      return false;
    }
    mounted_ = true;
    return true;
  }
  bool Remount(bool readonly) {
    unsigned long flags = MS_REMOUNT | MS_NOSUID | MS_NODEV | (readonly ? MS_RDONLY : 0);
    return ::mount(nullptr, dir_.c_str(), nullptr, flags, nullptr) == 0;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  bool mounted_ = false;
};

// Fills the file system holding `dir` with one file until it is full; Release() deletes it.
class Filler {
 public:
  explicit Filler(std::string dir) : path_(std::move(dir) + "/filler") {}
  ~Filler() { Release(); }
  bool Fill() {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    std::string block(1 << 16, 'f');
    bool full = false;
    while (!full) {
      ssize_t n = ::write(fd, block.data(), block.size());
      if (n < 0 && errno == ENOSPC) full = true;
      if (n < 0 && errno != ENOSPC && errno != EINTR) break;
      // A short write means the last pages: go on until ENOSPC, byte by byte if need be.
      if (n >= 0 && static_cast<size_t>(n) < block.size()) block.resize(1);
    }
    ::close(fd);
    return full;
  }
  void Release() { ::unlink(path_.c_str()); }

 private:
  std::string path_;
};

// What a client was told: key -> value of every acknowledged write; keys whose write failed.
struct Model {
  std::map<std::string, std::string> acked;
  std::vector<std::string> failed;
};

// A value bigger than a page, so that every write needs fresh blocks on a full disk.
std::string BigValue(int i) {
  std::string v = "value-" + std::to_string(i) + "-";
  for (int j = 0; v.size() < 9000; j++) v += static_cast<char>('a' + (i + j) % 26);
  return v;
}

// Every acknowledged record reads back exactly; no failed write became visible; the count
// matches (nothing else appeared).
void ExpectModel(RpcClient& rpc, const Model& model) {
  for (const auto& [key, value] : model.acked) {
    RecordResult got = rpc.Get(key);
    ASSERT_EQ(got.status, 200) << key << ": " << got.error;
    ASSERT_EQ(got.value, value) << key;
  }
  for (const std::string& key : model.failed) {
    if (model.acked.count(key)) continue;
    RecordResult got = rpc.Get(key);
    EXPECT_EQ(got.status, 450) << key << " was refused but is visible";
  }
  EXPECT_EQ(rpc.Count().value, static_cast<int64_t>(model.acked.size()));
}

// Sets `count` big records named prefix<i>, recording each outcome in the model. Every reply
// is 200 or a storage failure (500 "DB: 9: system error: ..." naming `cause`).
void WriteRecords(RpcClient& rpc, const std::string& prefix, int count, const char* cause,
                  Model* model, int* failures) {
  *failures = 0;
  for (int i = 0; i < count; i++) {
    std::string key = prefix + std::to_string(i);
    std::string value = BigValue(i);
    RpcResult r = rpc.Set(key, value);
    if (r.status == 200) {
      model->acked[key] = value;
      continue;
    }
    ASSERT_EQ(r.status, 500) << key << ": " << r.error;
    EXPECT_EQ(r.error.rfind("DB: 9: system error: ", 0), 0u) << r.error;
    EXPECT_NE(r.error.find(cause), std::string::npos) << r.error;
    model->failed.push_back(key);
    ++*failures;
  }
}

class DiskConditionsTest : public ::testing::TestWithParam<const char*> {
 protected:
  // Mounts a tmpfs of `bytes` or skips the test.
  void MountOrSkip(size_t bytes) {
    std::string why;
    if (!tmpfs_.Mount(bytes, &why)) GTEST_SKIP() << why;
  }
  std::string DbPath() const { return tmpfs_.dir() + "/data" + GetParam(); }

  Tmpfs tmpfs_;
};

// A full disk: writes fail cleanly (500 + a log line naming ENOSPC) while reads go on; a
// kill in that state loses nothing acknowledged; once space returns writes succeed again,
// and after a restart every acknowledged write is there and nothing refused appeared.
TEST_P(DiskConditionsTest, FullDiskRefusesWritesAndRecovers) {
  MountOrSkip(size_t{3} << 20);
  if (::testing::Test::IsSkipped()) return;
  const std::string db = DbPath();
  Model model;
  int failures = 0;
  {
    ServerProcess server({db});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    RpcClient rpc;
    ASSERT_TRUE(rpc.Open(server.host(), server.port()));
    WriteRecords(rpc, "before", 20, kNoSpace, &model, &failures);
    ASSERT_EQ(failures, 0);
    // Overwritten records leave garbage, so that a compaction has work to do below.
    WriteRecords(rpc, "before", 10, kNoSpace, &model, &failures);
    ASSERT_EQ(failures, 0);

    Filler filler(tmpfs_.dir());
    ASSERT_TRUE(filler.Fill());
    WriteRecords(rpc, "full", 40, kNoSpace, &model, &failures);
    EXPECT_GE(failures, 1) << "the disk was full, yet no write failed";
    if (std::string(GetParam()) == ".kch") {
      // Every .kch write appends a record: none can succeed on a full disk.
      EXPECT_EQ(failures, 40);
      // REST: 500 with the storage error in X-Kt-Error.
      RestClient rest;
      ASSERT_TRUE(rest.Open(server.host(), server.port()));
      HttpResponse put = rest.Put("rest", BigValue(1));
      EXPECT_EQ(put.status, 500);
      const std::string* why = put.FindHeader("X-Kt-Error");
      ASSERT_NE(why, nullptr);
      EXPECT_EQ(why->rfind("DB: 9: system error: " + db + ": ", 0), 0u) << *why;
      EXPECT_NE(why->find(kNoSpace), std::string::npos) << *why;
      model.failed.push_back("rest");
    }
    // The binary protocol answers a failed set with its error byte.
    client::BinaryClient binary;
    ASSERT_TRUE(binary.Open(server.host(), server.port(), 10));
    std::vector<client::BinaryRecord> bulk;
    for (int i = 0; i < 40; i++) bulk.push_back({0, "bin" + std::to_string(i), BigValue(i)});
    uint32_t hits = 0;
    client::BinaryStatus bs = binary.SetBulk(bulk, false, &hits);
    EXPECT_NE(bs, client::BinaryStatus::kNetworkError) << binary.last_error();
    // After 0xBF the records before the failing one may be set: each is whole or absent.
    for (const auto& r : bulk) {
      RecordResult got = rpc.Get(r.key);
      if (bs == client::BinaryStatus::kOk || got.ok()) {
        ASSERT_TRUE(got.ok()) << r.key;
        EXPECT_EQ(got.value, r.value) << r.key;
        model.acked[r.key] = r.value;
      } else {
        EXPECT_EQ(got.status, 450) << r.key;
        model.failed.push_back(r.key);
      }
    }
    if (std::string(GetParam()) == ".kch") {
      EXPECT_EQ(bs, client::BinaryStatus::kServerError);
    }
    // A log line names the cause; status calls still work.
    EXPECT_TRUE(WaitFor(
        [&] {
          std::string log = server.LogContents();
          return log.find("[ERROR]: database error: 9: system error: ") != std::string::npos &&
                 log.find(kNoSpace) != std::string::npos;
        },
        20))
        << server.LogContents();
    EXPECT_TRUE(rpc.Status().ok());
    ExpectModel(rpc, model);

    // A compaction needs a new file: it fails cleanly, or succeeds, and leaves no
    // temporary file behind.
    RpcResult vacuum = rpc.Vacuum();
    if (std::string(GetParam()) == ".kch") {
      EXPECT_EQ(vacuum.status, 500);  // there is garbage, and no room for the new file
    }
    if (!vacuum.ok()) {
      EXPECT_EQ(vacuum.status, 500) << vacuum.error;
      EXPECT_NE(vacuum.error.find(kNoSpace), std::string::npos) << vacuum.error;
    }
    for (const auto& entry : std::filesystem::directory_iterator(tmpfs_.dir())) {
      EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
    }
    ExpectModel(rpc, model);

    // Killed while the disk is still full, restarted, stopped cleanly (the .kch index file
    // cannot be written) and restarted again, all on the full disk.
    EXPECT_EQ(server.Stop(SIGKILL), 128 + SIGKILL);
    {
      ServerProcess full({db});
      ASSERT_TRUE(full.Start(&error)) << error << full.LogContents();
      RpcClient rpc1;
      ASSERT_TRUE(rpc1.Open(full.host(), full.port()));
      ExpectModel(rpc1, model);
      EXPECT_EQ(full.Stop(SIGTERM), 0) << full.LogContents();
    }
    ServerProcess again({db});
    ASSERT_TRUE(again.Start(&error)) << error << again.LogContents();
    RpcClient rpc2;
    ASSERT_TRUE(rpc2.Open(again.host(), again.port()));
    ExpectModel(rpc2, model);

    // Space returns: writes succeed again.
    filler.Release();
    WriteRecords(rpc2, "after", 20, kNoSpace, &model, &failures);
    EXPECT_EQ(failures, 0);
    ExpectModel(rpc2, model);
    EXPECT_EQ(again.Stop(SIGTERM), 0) << again.LogContents();
  }
  ServerProcess server({db});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  ExpectModel(rpc, model);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// A write refused for want of space leaves nothing behind in the file: after smaller writes
// once space returns and a clean stop, the database opens even with -onr (which refuses a
// file whose tail is not whole records).
TEST_P(DiskConditionsTest, RefusedWriteLeavesNoTornTail) {
  MountOrSkip(size_t{3} << 20);
  if (::testing::Test::IsSkipped()) return;
  const std::string db = DbPath();
  Model model;
  int failures = 0;
  {
    ServerProcess server({db});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    RpcClient rpc;
    ASSERT_TRUE(rpc.Open(server.host(), server.port()));
    WriteRecords(rpc, "before", 5, kNoSpace, &model, &failures);
    Filler filler(tmpfs_.dir());
    ASSERT_TRUE(filler.Fill());
    // More than the tmpfs holds: .kct reserves disk blocks ahead of its writes (at least
    // 1 MiB at a time), and writes into them succeed on a full disk.
    WriteRecords(rpc, "full", 400, kNoSpace, &model, &failures);
    EXPECT_GE(failures, 1);
    filler.Release();
    for (int i = 0; i < 3; i++) {
      std::string key = "small" + std::to_string(i);
      ASSERT_TRUE(rpc.Set(key, "v").ok());
      model.acked[key] = "v";
    }
    EXPECT_EQ(server.Stop(SIGTERM), 0) << server.LogContents();
  }
  ServerProcess server({db}, {"-onr"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error << server.LogContents();
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  ExpectModel(rpc, model);
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

// A database file on a read-only file system: the server refuses to start and says which
// file and why; with -ord it serves reads.
TEST_P(DiskConditionsTest, ReadOnlyFileSystemAtStart) {
  MountOrSkip(size_t{8} << 20);
  if (::testing::Test::IsSkipped()) return;
  const std::string db = DbPath();
  {
    ServerProcess server({db});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    RpcClient rpc;
    ASSERT_TRUE(rpc.Open(server.host(), server.port()));
    ASSERT_TRUE(rpc.Set("kept", "value").ok());
    ASSERT_EQ(server.Stop(SIGTERM), 0);
  }
  ASSERT_TRUE(tmpfs_.Remount(true));
  const std::string logdir = MakeTempDir("ryoan-rolog");
  for (const std::string& target : {db, tmpfs_.dir() + "/missing" + GetParam()}) {
    SCOPED_TRACE(target);
    const std::string log = logdir + "/log";
    ProcessResult r = RunKtserver(
        {"-host", "127.0.0.1", "-port", std::to_string(PickFreePort()), "-log", log, target});
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.exit_code, 1);
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    EXPECT_NE(text.find("[ERROR]: could not open a database file: " + target + ": "),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(kReadOnly), std::string::npos) << text;
    std::filesystem::remove(log);
  }
  std::filesystem::remove_all(logdir);

  ServerProcess server({db}, {"-ord"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  EXPECT_EQ(rpc.Get("kept").value, "value");
  EXPECT_EQ(rpc.Set("new", "x").status, 500);
  EXPECT_EQ(server.Stop(SIGTERM), 0) << server.LogContents();
  ASSERT_TRUE(tmpfs_.Remount(false));
}

// The file system turns read-only under a running server (as the kernel does after an I/O
// error with errors=remount-ro): writes get error replies, reads go on, no crash; what was
// synchronized before is intact afterwards.
TEST_P(DiskConditionsTest, FileSystemTurnsReadOnlyWhileRunning) {
  std::string dir = MakeTempDir("ryoan-ext4");
  ASSERT_FALSE(dir.empty());
  const std::string image = dir + "/fs.img";
  const std::string mnt = dir + "/mnt";
  std::filesystem::create_directory(mnt);
  struct Cleanup {
    std::string dir, mnt;
    bool mounted = false;
    ~Cleanup() {
      if (mounted) ::umount2(mnt.c_str(), MNT_DETACH);
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir, mnt};
  if (!RunCommand("truncate -s 32M " + image) || !RunCommand("mkfs.ext4 -q -F " + image)) {
    GTEST_SKIP() << "mkfs.ext4 is not available";
  }
  auto mount_image = [&] {
    return RunCommand("mount -o loop,errors=remount-ro " + image + " " + mnt);
  };
  if (!mount_image()) GTEST_SKIP() << "mounting a loop device is not permitted here (needs root)";
  cleanup.mounted = true;
  // The kernel's error trigger lives under the block device's name.
  struct stat st;
  ASSERT_EQ(::stat(mnt.c_str(), &st), 0);
  std::error_code ec;
  std::filesystem::path dev = std::filesystem::read_symlink(
      "/sys/dev/block/" + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)),
      ec);
  const std::string trigger = "/sys/fs/ext4/" + dev.filename().string() + "/trigger_fs_error";
  if (ec || !std::filesystem::exists(trigger)) GTEST_SKIP() << "no ext4 error trigger: " << trigger;

  const std::string db = mnt + "/data" + GetParam();
  Model model;
  int failures = 0;
  {
    ServerProcess server({db});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    RpcClient rpc;
    ASSERT_TRUE(rpc.Open(server.host(), server.port()));
    WriteRecords(rpc, "synced", 20, kReadOnly, &model, &failures);
    ASSERT_EQ(failures, 0);
    ASSERT_TRUE(rpc.Synchronize(true).ok());

    {
      int fd = ::open(trigger.c_str(), O_WRONLY | O_CLOEXEC);
      ASSERT_GE(fd, 0) << trigger << ": " << std::strerror(errno);
      EXPECT_GT(::write(fd, "ryoan-test\n", 11), 0) << std::strerror(errno);
      ::close(fd);
    }
    ASSERT_TRUE(WaitFor(
        [&] {
          int fd = ::open((mnt + "/probe").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
          if (fd >= 0) ::close(fd);
          return fd < 0 && errno == EROFS;
        },
        20));
    // A .kch file is written through a shared mapping, which notices a read-only file
    // system within a millisecond (storage/file_hash_mapping.h): wait that long at least.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    Model during;
    WriteRecords(rpc, "ro", 20, kReadOnly, &during, &failures);
    EXPECT_GE(failures, 1);
    EXPECT_EQ(rpc.Remove("synced0").status, 500);
    for (const auto& [key, value] : model.acked) {
      RecordResult got = rpc.Get(key);
      ASSERT_EQ(got.status, 200) << key;
      EXPECT_EQ(got.value, value);
    }
    EXPECT_TRUE(WaitFor(
        [&] {
          std::string log = server.LogContents();
          return log.find("[ERROR]: database error: 9: system error: ") != std::string::npos &&
                 log.find(kReadOnly) != std::string::npos;
        },
        20))
        << server.LogContents();
    for (const std::string& key : during.failed) model.failed.push_back(key);
    // Stopping: nothing is left to write, so the stop is clean.
    EXPECT_EQ(server.Stop(SIGTERM), 0) << server.LogContents();
  }
  // A fresh mount (after fsck) holds everything that was synchronized, and nothing refused.
  ASSERT_EQ(::umount2(mnt.c_str(), 0), 0) << std::strerror(errno);
  cleanup.mounted = false;
  RunCommand("e2fsck -fy " + image);
  ASSERT_TRUE(mount_image());
  cleanup.mounted = true;
  ServerProcess server({db});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  for (const auto& [key, value] : model.acked) {
    RecordResult got = rpc.Get(key);
    ASSERT_EQ(got.status, 200) << key;
    EXPECT_EQ(got.value, value);
  }
  for (const std::string& key : model.failed) EXPECT_EQ(rpc.Get(key).status, 450) << key;
  EXPECT_EQ(server.Stop(SIGTERM), 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, DiskConditionsTest, ::testing::Values(".kch", ".kct"),
                         [](const auto& info) { return std::string(info.param + 1); });

class SnapshotDiskTest : public ::testing::Test {};

// -bgs on a full disk: the periodic snapshot fails with a log line naming ENOSPC, the
// previous snapshot file stays whole, the memory database keeps taking writes; once space
// returns a snapshot succeeds and a restart loads it.
TEST_F(SnapshotDiskTest, FullDiskKeepsThePreviousSnapshot) {
  Tmpfs tmpfs;
  std::string why;
  if (!tmpfs.Mount(size_t{4} << 20, &why)) GTEST_SKIP() << why;
  const std::string bgs = tmpfs.dir() + "/snapshots";
  const std::string file = bgs + "/00000000.ktss";
  auto header_count = [&]() -> int64_t {
    std::ifstream in(file, std::ios::binary);
    std::string header(34, '\0');
    if (!in.read(header.data(), header.size())) return -1;
    int64_t count = 0;
    for (int i = 18; i < 26; i++) count = count << 8 | static_cast<unsigned char>(header[i]);
    return count;
  };
  Model model;
  int failures = 0;
  {
    ServerProcess server({":"}, {"-bgs", bgs, "-bgsi", "0.2"});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    RpcClient rpc;
    ASSERT_TRUE(rpc.Open(server.host(), server.port()));
    WriteRecords(rpc, "first", 30, kNoSpace, &model, &failures);
    ASSERT_EQ(failures, 0);
    ASSERT_TRUE(WaitFor([&] { return header_count() == 30; }, 20));

    Filler filler(tmpfs.dir());
    ASSERT_TRUE(filler.Fill());
    WriteRecords(rpc, "second", 100, kNoSpace, &model, &failures);
    EXPECT_EQ(failures, 0);  // a memory database does not touch the disk
    EXPECT_TRUE(WaitFor(
        [&] {
          std::string log = server.LogContents();
          return log.find("[ERROR]: snapshotting failed: :") != std::string::npos &&
                 log.find(kNoSpace) != std::string::npos;
        },
        20))
        << server.LogContents();
    EXPECT_EQ(header_count(), 30);  // the previous snapshot, untouched
    ExpectModel(rpc, model);

    filler.Release();
    EXPECT_TRUE(WaitFor([&] { return header_count() == 130; }, 20));
    EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));
    EXPECT_EQ(server.Stop(SIGTERM), 0) << server.LogContents();
  }
  ServerProcess server({":"}, {"-bgs", bgs});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  ExpectModel(rpc, model);
  EXPECT_NE(server.LogContents().find("applying a snapshot file: db=0 ts="), std::string::npos);
}

// -bgsc: each codec's snapshot, taken at shutdown, brings back exactly what was written.
class CompressedSnapshotTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CompressedSnapshotTest, RestartReadsBackExactly) {
  const std::string dir = MakeTempDir("ryoan-bgsc");
  ASSERT_FALSE(dir.empty());
  const std::string bgs = dir + "/bgs";
  std::map<std::string, std::string> written;
  for (int i = 0; i < 1500; i++) {
    std::string value = BigValue(i).substr(0, 1000 + i % 500);
    value[i % 100] = static_cast<char>(i);  // every byte value somewhere
    written["key" + std::to_string(i)] = value;
  }
  written[std::string("bin\0key\xff", 8)] = AllBytes();
  {
    ServerProcess server({":", "+"}, {"-bgs", bgs, "-bgsc", GetParam()});
    std::string error;
    ASSERT_TRUE(server.Start(&error)) << error;
    RpcClient rpc;
    ASSERT_TRUE(rpc.Open(server.host(), server.port()));
    for (const auto& [key, value] : written) ASSERT_TRUE(rpc.Set(key, value).ok()) << key;
    rpc.set_database("1");
    ASSERT_TRUE(rpc.Set("tree", "record", 3600).ok());
    EXPECT_EQ(server.Stop(SIGTERM), 0) << server.LogContents();
  }
  // Compressed: smaller than its records, with a non-zero header checksum. An unknown
  // name means no compression.
  std::ifstream in(bgs + "/00000000.ktss", std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GE(data.size(), 34u);
  if (std::string(GetParam()) == "unknown") {
    EXPECT_EQ(data.substr(6, 4), std::string(4, '\0'));
    EXPECT_GT(data.size(), size_t{1500} * 1000);
  } else {
    EXPECT_NE(data.substr(6, 4), std::string(4, '\0'));
    EXPECT_LT(data.size(), size_t{1500} * 1000 / 2);
  }

  // Loading needs no -bgsc: the file says how it was compressed.
  ServerProcess server({":", "+"}, {"-bgs", bgs});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  RpcClient rpc;
  ASSERT_TRUE(rpc.Open(server.host(), server.port()));
  EXPECT_EQ(rpc.Count().value, static_cast<int64_t>(written.size()));
  for (const auto& [key, value] : written) {
    RecordResult got = rpc.Get(key);
    ASSERT_TRUE(got.ok()) << Printable(key);
    ASSERT_EQ(got.value, value) << Printable(key);
  }
  rpc.set_database("1");
  RecordResult tree = rpc.Get("tree");
  EXPECT_EQ(tree.value, "record");
  EXPECT_TRUE(tree.xt.has_value());
  std::string log = server.LogContents();
  EXPECT_NE(log.find("applying a snapshot file: db=0 ts="), std::string::npos) << log;
  EXPECT_EQ(log.find("not supported"), std::string::npos) << log;
  EXPECT_EQ(server.Stop(SIGTERM), 0);
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Codecs, CompressedSnapshotTest,
                         ::testing::Values("zlib", "gz", "lzo", "oz", "lzma", "xz", "unknown"));

}  // namespace
}  // namespace ryoan::testing
