// The map warmer (storage/lmdb_map_warmer.h): page tables filled for the pages in the page
// cache and only for them, and an Env whose readers take no page faults once it has worked
// (after open, growth and commits). Faults are counted with getrusage(RUSAGE_THREAD), so the
// warmer's own work on its thread is not counted as the reader's.
#include "storage/lmdb_map_warmer.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/lmdb_env.h"

namespace ryoan::storage::lmdb {
namespace {

using std::chrono::seconds;

long ThreadMinorFaults() {
  struct rusage usage {};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_minflt;
}

// The fault counts below are the reads' own: AddressSanitizer's checks would fault in shadow
// pages for the map's addresses.
#define RYOAN_NO_SHADOW_FAULTS __attribute__((no_sanitize("address")))
// Inside LMDB's lookups AddressSanitizer's memcmp interceptor reads the shadow of the map all
// the same, so under it a lookup's faults are not only the map's: they are counted in plain
// builds only.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kLookupFaultsAreMapFaults = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kLookupFaultsAreMapFaults = false;
#else
constexpr bool kLookupFaultsAreMapFaults = true;
#endif
#else
constexpr bool kLookupFaultsAreMapFaults = true;
#endif

// Reads one byte of every page of [p, p + length); returns the minor faults that cost.
RYOAN_NO_SHADOW_FAULTS long TouchPages(const char* p, size_t length) {
  const long page = sysconf(_SC_PAGESIZE);
  const long before = ThreadMinorFaults();
  unsigned sum = 0;
  for (size_t off = 0; off < length; off += page) {
    sum += static_cast<unsigned char>(*static_cast<const volatile char*>(p + off));
  }
  const long faults = ThreadMinorFaults() - before;
  EXPECT_GE(sum, 0u);
  return faults;
}

size_t ResidentPages(const char* p, size_t length) {
  const long page = sysconf(_SC_PAGESIZE);
  std::vector<unsigned char> resident((length + page - 1) / page);
  EXPECT_EQ(mincore(const_cast<char*>(p), length, resident.data()), 0);
  size_t n = 0;
  for (unsigned char r : resident) n += r & 1;
  return n;
}

class MapWarmerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/ryoan-warmer-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  }
  void TearDown() override {
    for (auto [p, n] : maps_) munmap(p, n);
    if (fd_ >= 0) close(fd_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A file of `pages` pages written with pwrite, as LMDB writes: in the page cache, in no
  // page table.
  void WriteFile(size_t pages) {
    fd_ = open((dir_ + "/data").c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd_, 0);
    std::string block(page_, 'x');
    for (size_t i = 0; i < pages; ++i) {
      ASSERT_EQ(pwrite(fd_, block.data(), block.size(), static_cast<off_t>(i * page_)),
                static_cast<ssize_t>(block.size()));
    }
  }
  const char* Map(size_t length) {
    void* p = mmap(nullptr, length, PROT_READ, MAP_SHARED, fd_, 0);
    EXPECT_NE(p, MAP_FAILED);
    maps_.emplace_back(p, length);
    return static_cast<const char*>(p);
  }

  std::string dir_;
  size_t page_ = 4096;
  int fd_ = -1;
  std::vector<std::pair<void*, size_t>> maps_;
};

TEST_F(MapWarmerTest, MapsPagesThatAreInThePageCache) {
  constexpr size_t kPages = 512;
  WriteFile(kPages);
  const size_t length = kPages * page_;
  // Without the warmer a fresh mapping faults (the kernel maps at most 16 pages a fault).
  EXPECT_GE(TouchPages(Map(length), length), static_cast<long>(kPages / 16));

  const char* map = Map(length);
  const int64_t mapped = MapResidentPages(map, length);
  if (mapped < 0) GTEST_SKIP() << "kernel without MADV_POPULATE_READ";
  EXPECT_EQ(mapped, static_cast<int64_t>(kPages));
  EXPECT_EQ(TouchPages(map, length), 0);
}

TEST_F(MapWarmerTest, LeavesPagesOutsideThePageCacheOnDisk) {
  constexpr size_t kPages = 256;
  WriteFile(kPages);
  const size_t length = kPages * page_;
  ASSERT_EQ(fdatasync(fd_), 0);
  ASSERT_EQ(posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED), 0);
  const char* map = Map(length);
  if (ResidentPages(map, length) != 0) GTEST_SKIP() << "the page cache kept the clean pages";
  const int64_t mapped = MapResidentPages(map, length);
  if (mapped < 0) GTEST_SKIP() << "kernel without MADV_POPULATE_READ";
  EXPECT_EQ(mapped, 0);
  EXPECT_EQ(ResidentPages(map, length), 0u);  // nothing was read in
}

TEST_F(MapWarmerTest, EmptyOrUnmappedRangesMapNothing) {
  EXPECT_EQ(MapResidentPages(nullptr, 0), 0);
  // An address range with no mapping: mincore fails, nothing is touched.
  void* hole = mmap(nullptr, 4 * page_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(hole, MAP_FAILED);
  ASSERT_EQ(munmap(hole, 4 * page_), 0);
  EXPECT_EQ(MapResidentPages(hole, 4 * page_), 0);
}

// An Env over a real LMDB file: readers take no page faults once the warmer has run.
class EnvWarmTest : public MapWarmerTest {
 protected:
  std::unique_ptr<Env> OpenEnv() {
    Env::Options options;
    options.map_size = 1 << 20;  // small, so that the writes below grow it several times
    std::unique_ptr<Env> env;
    Status status = Env::Open(dir_ + "/casket.kct", options, &env);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return env;
  }
  static std::string Key(int i) {
    char key[16];
    std::snprintf(key, sizeof(key), "k%08d", i);
    return key;
  }
  // Writes records [from, to) in commits of 500, growing the map between them.
  void Write(Env* env, int from, int to) {
    for (int start = from; start < to; start += 500) {
      ASSERT_TRUE(env->GrowIfNearlyFull().ok());
      WriteTxn txn(env);
      ASSERT_TRUE(txn.Begin().ok());
      MDB_dbi dbi;
      ASSERT_EQ(mdb_dbi_open(txn.get(), nullptr, 0, &dbi), 0);
      for (int i = start; i < std::min(to, start + 500); ++i) {
        ASSERT_TRUE(txn.Put(dbi, Key(i), std::string(200, static_cast<char>('a' + i % 26))));
      }
      ASSERT_TRUE(txn.Commit().ok());
    }
  }
  // Reads records [0, n) (one byte of each value); returns the reader's minor faults. The
  // keys are made first: only LMDB's lookups and the reads of the map are counted.
  static long ReadAll(Env* env, int n) {
    std::vector<std::string> keys;
    for (int i = 0; i < n; ++i) keys.push_back(Key(i));
    ReadTxn txn(env);
    EXPECT_TRUE(txn.status().ok());
    MDB_dbi dbi;
    EXPECT_EQ(mdb_dbi_open(txn.get(), nullptr, 0, &dbi), 0);
    int found = 0;
    const long faults = LookUp(txn.get(), dbi, keys, &found);
    EXPECT_EQ(found, n);
    return faults;
  }
  RYOAN_NO_SHADOW_FAULTS static long LookUp(MDB_txn* txn, MDB_dbi dbi,
                                            const std::vector<std::string>& keys, int* found) {
    const long before = ThreadMinorFaults();
    for (size_t i = 0; i < keys.size(); ++i) {
      MDB_val k{keys[i].size(), const_cast<char*>(keys[i].data())}, v;
      if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size == 200 &&
          static_cast<const char*>(v.mv_data)[0] == static_cast<char>('a' + i % 26)) {
        ++*found;
      }
    }
    return ThreadMinorFaults() - before;
  }
};

TEST_F(EnvWarmTest, ReadersTakeNoFaultsAfterOpenGrowthAndCommits) {
  WriteFile(1);  // probes the kernel
  if (MapResidentPages(Map(page_), page_) < 0) GTEST_SKIP() << "kernel without MADV_POPULATE_READ";
  constexpr int kRecords = 20000;  // about 5 MB: the map grows from 1 MB several times
  {
    std::unique_ptr<Env> env = OpenEnv();
    ASSERT_NE(env, nullptr);
    Write(env.get(), 0, kRecords);
    EXPECT_GT(env->map_size(), size_t{4} << 20);
    ASSERT_TRUE(env->Grow().ok());  // the map moves: its page tables start empty
    ASSERT_TRUE(env->WaitMapWarm(std::chrono::milliseconds(20000)));
    EXPECT_GT(env->map_pages_warmed(), 1000);
    const long faults = ReadAll(env.get(), kRecords);
    if (kLookupFaultsAreMapFaults) {
      EXPECT_LE(faults, 4);
    }

    // Commits add pages; each MB of them is mapped without a move of the map.
    const int64_t warmed = env->map_pages_warmed();
    Write(env.get(), kRecords, 2 * kRecords);
    ASSERT_TRUE(env->WaitMapWarm(std::chrono::milliseconds(20000)));
    EXPECT_GE(env->map_pages_warmed() - warmed, 512);
  }
  // A reopened file: a new, empty mapping, warmed from the start.
  std::unique_ptr<Env> env = OpenEnv();
  ASSERT_NE(env, nullptr);
  ASSERT_TRUE(env->WaitMapWarm(std::chrono::milliseconds(20000)));
  EXPECT_GT(env->map_pages_warmed(), 2000);
  const long faults = ReadAll(env.get(), 2 * kRecords);
  if (kLookupFaultsAreMapFaults) {
    EXPECT_LE(faults, 4);
  }
  // LMDB alone would map just the used part, and the next write would move the map and drop
  // the page tables just filled; the reopened writer has room for as much again.
  EXPECT_GE(env->map_size(), static_cast<size_t>(2 * env->DataSize()));
  const size_t map_size = env->map_size();
  const int64_t warmed = env->map_pages_warmed();
  Write(env.get(), 2 * kRecords, 2 * kRecords + 100);
  EXPECT_EQ(env->map_size(), map_size);
  ASSERT_TRUE(env->WaitMapWarm(std::chrono::milliseconds(20000)));
  EXPECT_LT(env->map_pages_warmed() - warmed, 256);  // no second pass over the whole file
}

}  // namespace
}  // namespace ryoan::storage::lmdb
