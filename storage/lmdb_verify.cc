#include "storage/lmdb_verify.h"

#include <lmdb.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>
#include <vector>

#include "storage/key_comparator.h"
#include "storage/lmdb_records.h"

namespace ryoan::storage::lmdb {
namespace {

// LMDB's on-disk page layout (lmdb.h documents none of it; it has not changed within 0.9):
// a 16-byte header of page number (8), padding (2), flags (2) and either lower/upper free
// space bounds (2 + 2) or, on the first page of an overflow run, its page count (4).
constexpr size_t kPageHeader = 16;
constexpr uint16_t kLeafPage = 0x02;
constexpr uint16_t kOverflowPage = 0x04;
constexpr uint16_t kKindMask = 0x01 | 0x02 | 0x04 | 0x08 | 0x20 | 0x40;  // branch..subpage
// The meta page: magic (4) and version (4) after the header, then map address (8), map size
// (8), the free and main database records (48 each), the last page (8), the txn id (8).
constexpr size_t kMetaMagic = 16;
constexpr size_t kMetaPageSize = 40;   // the free database record's padding holds it
constexpr size_t kMetaMainRoot = 128;  // md_root of the main database's record
constexpr size_t kMetaLastPage = 136;
constexpr size_t kMetaTxnId = 144;
constexpr uint32_t kMagic = 0xBEEFC0DE;

// Owners of a page, one byte per page of the file.
enum Owner : uint8_t { kNobody = 0, kFreeList = 1, kOverflow = 2, kFirstTree = 3 };

template <typename T>
T Load(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

std::string DataFile(const std::string& path, bool subdir) {
  return subdir ? path + "/data.mdb" : path;
}

class Walker {
 public:
  Walker(MDB_env* env, int fd) : env_(env), fd_(fd) {}

  // "" when the file passed; "-" when there is nothing to check; else what is wrong.
  std::string Run(VerifyResult* result);

 private:
  struct Tree {
    const char* name;
    MDB_dbi dbi;
    uint8_t owner;
    int64_t leaf_pages = 0;
    int64_t overflow_pages = 0;
    int64_t entries = 0;
  };

  std::string CheckMetas();
  std::string CheckEmpty(MDB_txn* txn);
  bool LocateMap(MDB_txn* txn);
  // Walks every entry of `tree` in order; `each(key, data)` may report a problem.
  template <typename Fn>
  std::string Walk(MDB_txn* txn, Tree* tree, Fn each);
  std::string Claim(uint64_t pgno, uint8_t owner, Tree* tree);
  std::string PageOf(const void* p, uint16_t kind, uint64_t* pgno);
  std::string CheckCounts(MDB_txn* txn, const Tree& tree);
  static bool LandsOn(MDB_txn* txn, MDB_dbi dbi, const MDB_val& key, const MDB_val& data);

  MDB_env* env_;
  int fd_;
  size_t psize_ = 4096;
  uint64_t pages_ = 0;
  uintptr_t base_ = 0;
  std::vector<uint8_t> owners_;
  // The older meta's main root, which the last commit must have freed (0: nothing to check).
  uint64_t freed_root_ = 0;
  uint64_t last_txnid_ = 0;
  bool freed_root_seen_ = false;
};

std::string Walker::CheckMetas() {
  // LMDB reads meta 1 one page (as meta 0 gives the page size) after meta 0, and then uses
  // the page size of the meta it chose: both must agree with each other and with LMDB.
  constexpr size_t kMetaBytes = kMetaTxnId + 8;
  unsigned char m0[kMetaBytes], m1[kMetaBytes];
  if (pread(fd_, m0, kMetaBytes, 0) != static_cast<ssize_t>(kMetaBytes)) {
    return "the meta pages cannot be read";
  }
  const uint32_t psize0 = Load<uint32_t>(m0 + kMetaPageSize);
  if (Load<uint32_t>(m0 + kMetaMagic) != kMagic) return "-";  // LMDB refuses it itself
  if (psize0 != psize_ || pread(fd_, m1, kMetaBytes, psize0) != static_cast<ssize_t>(kMetaBytes)) {
    return "the meta pages disagree on the page size";
  }
  if (Load<uint32_t>(m1 + kMetaMagic) != kMagic) return "-";
  if (Load<uint32_t>(m1 + kMetaPageSize) != psize0) {
    return "the meta pages disagree on the page size (" + std::to_string(psize0) + " and " +
           std::to_string(Load<uint32_t>(m1 + kMetaPageSize)) + ")";
  }
  const uint64_t t0 = Load<uint64_t>(m0 + kMetaTxnId);
  const uint64_t t1 = Load<uint64_t>(m1 + kMetaTxnId);
  const int chosen = t0 < t1 ? 1 : 0;  // LMDB's choice
  const unsigned char* m = chosen == 0 ? m0 : m1;
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  if (Load<uint64_t>(m + kMetaLastPage) != info.me_last_pgno ||
      Load<uint64_t>(m + kMetaTxnId) != info.me_last_txnid) {
    return "";  // not the layout this check knows: leave the metas to the walk
  }
  // Commit n writes meta slot n % 2, so the pair is (n, n - 1); a fresh file has (0, 0).
  const uint64_t last = chosen == 0 ? t0 : t1;
  const uint64_t other = chosen == 0 ? t1 : t0;
  if (t0 == 0 && t1 == 0) return "";
  if ((last & 1) != static_cast<uint64_t>(chosen) || other + 1 != last) {
    return "the meta pages disagree (transactions " + std::to_string(t0) + " and " +
           std::to_string(t1) + ")";
  }
  // Every commit rewrites the main database's root, and frees the previous one under its
  // own transaction id; nothing can reuse that page before the next commit. So the older
  // meta's root must be on the free list under the newer one's id (checked by the walk):
  // this tells a real previous state from a newer meta whose id was damaged into an older
  // one, which would make LMDB open the state before the last commit.
  const unsigned char* older = chosen == 0 ? m1 : m0;
  const uint64_t older_root = Load<uint64_t>(older + kMetaMainRoot);
  if (other != 0 && older_root != ~uint64_t{0}) {
    freed_root_ = older_root;
    last_txnid_ = last;
  }
  return "";
}

// An empty main database: a new file (no page written yet) or one whose every other page
// is free; anything else means the main database's record was damaged, and the open would
// take the file for a new one.
std::string Walker::CheckEmpty(MDB_txn* txn) {
  MDB_cursor* cursor = nullptr;
  if (mdb_cursor_open(txn, 0, &cursor) != 0) return "cannot read the free list";
  MDB_val key, data;
  int64_t used = 2;
  int rc;
  for (rc = mdb_cursor_get(cursor, &key, &data, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)) {
    if (data.mv_size < sizeof(uint64_t)) break;
    used += static_cast<int64_t>(Load<uint64_t>(static_cast<const unsigned char*>(data.mv_data)));
  }
  mdb_cursor_close(cursor);
  MDB_stat stat;
  if (rc != MDB_NOTFOUND || mdb_stat(txn, 0, &stat) != 0) return "the free list is damaged";
  used += static_cast<int64_t>(stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages);
  if (used != static_cast<int64_t>(pages_)) {
    return "the main database is empty, yet " + std::to_string(pages_ - used) + " of " +
           std::to_string(pages_) + " pages are in use";
  }
  return "-";
}

// Finds where the file is mapped from a leaf page of the main database: every page starts
// with its own number, and the meta pages with 0 and 1.
bool Walker::LocateMap(MDB_txn* txn) {
  MDB_cursor* cursor = nullptr;
  MDB_val key, data;
  bool found = false;
  if (mdb_cursor_open(txn, 1, &cursor) != 0) return false;  // 1: the main database
  if (mdb_cursor_get(cursor, &key, &data, MDB_FIRST) == 0) {
    const uintptr_t page = reinterpret_cast<uintptr_t>(key.mv_data) & ~(psize_ - 1);
    const uint64_t pgno = Load<uint64_t>(reinterpret_cast<const unsigned char*>(page));
    if (pgno >= 2 && pgno < pages_ && page / psize_ > pgno) {
      const uintptr_t base = page - pgno * psize_;
      const auto* b = reinterpret_cast<const unsigned char*>(base);
      if (Load<uint64_t>(b) == 0 && Load<uint64_t>(b + psize_) == 1 &&
          Load<uint32_t>(b + kMetaMagic) == kMagic) {
        base_ = base;
        found = true;
      }
    }
  }
  mdb_cursor_close(cursor);
  return found;
}

std::string Walker::Claim(uint64_t pgno, uint8_t owner, Tree* tree) {
  if (pgno < 2 || pgno >= pages_) return "page " + std::to_string(pgno) + " is outside the file";
  uint8_t& current = owners_[pgno];
  if (current == owner && owner != kOverflow && owner != kFreeList) return "";
  if (current != kNobody) {
    return "page " + std::to_string(pgno) + " is used twice" +
           (current == kFreeList || owner == kFreeList ? " (and listed as free)" : "");
  }
  current = owner;
  if (tree != nullptr) {
    if (owner == kOverflow) {
      ++tree->overflow_pages;
    } else if (owner != kFreeList) {
      ++tree->leaf_pages;
    }
  }
  return "";
}

// The page holding `p`, which must be of `kind` and name itself.
std::string Walker::PageOf(const void* p, uint16_t kind, uint64_t* pgno) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  if (addr < base_ || addr - base_ >= pages_ * psize_) return "a node points outside the file";
  *pgno = (addr - base_) / psize_;
  const auto* page = reinterpret_cast<const unsigned char*>(base_ + *pgno * psize_);
  if (Load<uint64_t>(page) != *pgno) return "page " + std::to_string(*pgno) + " has a bad header";
  if ((Load<uint16_t>(page + 10) & kKindMask) != kind) {
    return "page " + std::to_string(*pgno) + " is not of its kind";
  }
  return "";
}

template <typename Fn>
std::string Walker::Walk(MDB_txn* txn, Tree* tree, Fn each) {
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn, tree->dbi, &cursor);
  if (rc != 0) return std::string("cannot walk ") + tree->name + ": " + mdb_strerror(rc);
  std::string problem;
  MDB_val key, data, prev{0, nullptr};
  const int64_t most = static_cast<int64_t>(pages_ * psize_ / 8);  // a node takes >= 8 bytes
  for (rc = mdb_cursor_get(cursor, &key, &data, MDB_FIRST); rc == 0 && problem.empty();
       rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT)) {
    if (++tree->entries > most) {
      problem = "more entries than the file can hold";
      break;
    }
    uint64_t leaf = 0;
    problem = PageOf(key.mv_data, kLeafPage, &leaf);
    if (!problem.empty()) break;
    const uintptr_t leaf_end = base_ + (leaf + 1) * psize_;
    const auto k = reinterpret_cast<uintptr_t>(key.mv_data);
    const auto d = reinterpret_cast<uintptr_t>(data.mv_data);
    if (key.mv_size > leaf_end - k) {
      problem = "a key runs past its page " + std::to_string(leaf);
      break;
    }
    problem = Claim(leaf, tree->owner, tree);
    if (!problem.empty()) break;
    if (d >= base_ + leaf * psize_ && d <= leaf_end) {
      if (data.mv_size > leaf_end - d)
        problem = "a value runs past its page " + std::to_string(leaf);
    } else {
      // A big value: its overflow run starts one header before the bytes.
      uint64_t first = 0;
      problem =
          PageOf(reinterpret_cast<const char*>(data.mv_data) - kPageHeader, kOverflowPage, &first);
      if (!problem.empty()) break;
      const auto* page = reinterpret_cast<const unsigned char*>(base_ + first * psize_);
      const uint64_t run = Load<uint32_t>(page + 12);
      if (run != (kPageHeader + data.mv_size + psize_ - 1) / psize_ || first + run > pages_) {
        problem = "overflow page " + std::to_string(first) + " has a bad size";
        break;
      }
      for (uint64_t i = 0; i < run && problem.empty(); ++i) {
        problem = Claim(first + i, kOverflow, tree);
      }
    }
    if (!problem.empty()) break;
    if (prev.mv_data != nullptr && mdb_cmp(txn, tree->dbi, &prev, &key) >= 0) {
      problem = std::string("keys out of order in ") + tree->name;
      break;
    }
    prev = key;
    // The lookup goes down the branch pages by key: it must land on this very node. (A
    // fresh search each time: a positioned cursor would look in its current page first.)
    if (!LandsOn(txn, tree->dbi, key, data)) {
      problem = std::string("a lookup in ") + tree->name + " misses a key the walk finds";
      break;
    }
    problem = each(key, data);
  }
  mdb_cursor_close(cursor);
  if (problem.empty() && rc != 0 && rc != MDB_NOTFOUND) {
    problem = std::string("walking ") + tree->name + ": " + mdb_strerror(rc);
  }
  return problem;
}

bool Walker::LandsOn(MDB_txn* txn, MDB_dbi dbi, const MDB_val& key, const MDB_val& data) {
  MDB_val probe = key;
  MDB_val found;
  if (dbi != 0) return mdb_get(txn, dbi, &probe, &found) == 0 && found.mv_data == data.mv_data;
  MDB_cursor* cursor = nullptr;  // mdb_get refuses the free list's handle
  if (mdb_cursor_open(txn, dbi, &cursor) != 0) return false;
  const bool lands =
      mdb_cursor_get(cursor, &probe, &found, MDB_SET_KEY) == 0 && found.mv_data == data.mv_data;
  mdb_cursor_close(cursor);
  return lands;
}

std::string Walker::CheckCounts(MDB_txn* txn, const Tree& tree) {
  MDB_stat stat;
  if (mdb_stat(txn, tree.dbi, &stat) != 0) return std::string("no statistics for ") + tree.name;
  if (static_cast<int64_t>(stat.ms_entries) != tree.entries ||
      static_cast<int64_t>(stat.ms_leaf_pages) != tree.leaf_pages ||
      static_cast<int64_t>(stat.ms_overflow_pages) != tree.overflow_pages) {
    return std::string(tree.name) + " holds " + std::to_string(tree.entries) + " entries on " +
           std::to_string(tree.leaf_pages) + "+" + std::to_string(tree.overflow_pages) +
           " pages, its record says " + std::to_string(stat.ms_entries) + " on " +
           std::to_string(stat.ms_leaf_pages) + "+" + std::to_string(stat.ms_overflow_pages);
  }
  return "";
}

std::string Walker::Run(VerifyResult* result) {
  MDB_stat env_stat;
  mdb_env_stat(env_, &env_stat);
  psize_ = env_stat.ms_psize;
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) {
    return std::string("cannot read: ") + mdb_strerror(rc);
  }
  struct Abort {
    MDB_txn* txn;
    ~Abort() { mdb_txn_abort(txn); }
  } abort_txn{txn};
  MDB_envinfo info;
  mdb_env_info(env_, &info);
  // A process writing the file right now (LMDB allows several): its commits would move the
  // counts under the walk. The file is in a healthy writer's hands; leave it be.
  if (info.me_last_txnid != mdb_txn_id(txn)) return "-";
  pages_ = info.me_last_pgno + 1;
  result->pages = static_cast<int64_t>(pages_);
  struct stat st;
  if (fstat(fd_, &st) != 0 || static_cast<uint64_t>(st.st_size) < pages_ * psize_) {
    return "truncated: " + std::to_string(st.st_size) + " of " + std::to_string(pages_ * psize_) +
           " bytes";
  }
  std::string problem = CheckMetas();
  if (!problem.empty()) return problem;
  if (env_stat.ms_entries == 0) return CheckEmpty(txn);
  if (!LocateMap(txn)) return "the main database's page does not name its place in the file";
  owners_.assign(pages_, kNobody);

  Tree trees[4] = {{"the free list", 0, kFirstTree},
                   {"the main database", 1, kFirstTree + 1},
                   {"meta", 0, kFirstTree + 2},
                   {"records", 0, kFirstTree + 3}};
  if (mdb_dbi_open(txn, "meta", 0, &trees[2].dbi) != 0) return "-";  // not ours: Setup says so
  auto meta = [&](const char* name, std::string* value) {
    MDB_val k{std::strlen(name), const_cast<char*>(name)};
    MDB_val d;
    if (mdb_get(txn, trees[2].dbi, &k, &d) != 0) return false;
    value->assign(View(d));
    return true;
  };
  std::string format, rcomp, prefix, count;
  if (!meta("format", &format) || format != "ryoan-kct 2" || !meta("rcomp", &rcomp) ||
      !meta("prefix", &prefix) || !meta("count", &count) || count.size() != 8 ||
      mdb_dbi_open(txn, "records", 0, &trees[3].dbi) != 0) {
    return "-";  // Setup refuses these with its own message
  }
  KeyComparator comparator = KeyComparator::FromName(rcomp);
  if (MDB_cmp_func* compare = CompareFunction(comparator.kind())) {
    mdb_set_compare(txn, trees[3].dbi, compare);
  }
  const size_t group_key = static_cast<size_t>(std::atoll(prefix.c_str())) + 1;

  // The free list first: a page it names must not turn up in a tree.
  int64_t free_pages = 0;
  problem = Walk(txn, &trees[0], [&](const MDB_val& key, const MDB_val& data) -> std::string {
    if (data.mv_size < sizeof(uint64_t) || data.mv_size % sizeof(uint64_t) != 0) {
      return "a free list entry has a bad size";
    }
    const auto* ids = static_cast<const unsigned char*>(data.mv_data);
    const uint64_t n = Load<uint64_t>(ids);
    if ((n + 1) * sizeof(uint64_t) != data.mv_size) return "a free list entry has a bad count";
    const bool last_commit =
        key.mv_size == sizeof(uint64_t) &&
        Load<uint64_t>(static_cast<const unsigned char*>(key.mv_data)) == last_txnid_;
    for (uint64_t i = 1; i <= n; ++i) {
      const uint64_t pgno = Load<uint64_t>(ids + i * sizeof(uint64_t));
      std::string claim = Claim(pgno, kFreeList, nullptr);
      if (!claim.empty()) return "free list: " + claim;
      if (last_commit && pgno == freed_root_) freed_root_seen_ = true;
    }
    free_pages += static_cast<int64_t>(n);
    return "";
  });
  if (problem.empty()) {
    problem = Walk(txn, &trees[1], [](const MDB_val&, const MDB_val&) { return std::string(); });
  }
  if (problem.empty()) {
    problem = Walk(txn, &trees[2], [](const MDB_val&, const MDB_val&) { return std::string(); });
  }
  int64_t records = 0;
  std::vector<RecordTable::Entry> entries;
  if (problem.empty()) {
    problem = Walk(txn, &trees[3], [&](const MDB_val& key, const MDB_val& data) -> std::string {
      int64_t xt;
      std::string_view value;
      const bool good =
          key.mv_size == group_key
              ? RecordTable::DecodeGroup(View(key), View(data), &entries, /*verify=*/true)
              : RecordTable::DecodeDirect(View(key), View(data), &xt, &value);
      if (!good) return "a record fails its checksum";
      records += key.mv_size == group_key ? static_cast<int64_t>(entries.size()) : 1;
      return "";
    });
  }
  for (const Tree& tree : trees) {
    if (problem.empty()) problem = CheckCounts(txn, tree);
  }
  if (problem.empty() && freed_root_ != 0 && !freed_root_seen_) {
    problem = "the older meta page is not the state before the last commit";
  }
  if (!problem.empty()) return problem;

  uint64_t stored = 0;
  for (unsigned char c : count) stored = (stored << 8) | c;
  if (static_cast<int64_t>(stored) != records) {
    return "the record count says " + std::to_string(stored) + ", the walk finds " +
           std::to_string(records);
  }
  // Every page is a meta page, a page of a tree or a free page: nothing leaks, nothing is
  // both. Branch pages are not visible to the walk; their count comes from the records.
  int64_t used = 2 + free_pages;
  for (const Tree& tree : trees) {
    MDB_stat stat;
    mdb_stat(txn, tree.dbi, &stat);
    used +=
        static_cast<int64_t>(stat.ms_branch_pages + stat.ms_leaf_pages + stat.ms_overflow_pages);
  }
  if (used != static_cast<int64_t>(pages_)) {
    return "the trees and the free list account for " + std::to_string(used) + " of " +
           std::to_string(pages_) + " pages";
  }
  result->records = records;
  result->lmdb_entries = trees[3].entries;
  return "";
}

// "" (passed), "-" (nothing to check) or the problem.
std::string Check(const std::string& path, bool subdir, VerifyResult* result) {
  MDB_env* env = nullptr;
  if (mdb_env_create(&env) != 0) return "-";
  mdb_env_set_maxdbs(env, 4);
  unsigned flags = MDB_RDONLY | MDB_NOTLS;
  if (!subdir) flags |= MDB_NOSUBDIR;
  std::string problem = "-";  // LMDB refuses to open it: the real open says why
  if (mdb_env_open(env, path.c_str(), flags, 0644) == 0) {
    mdb_filehandle_t fd;
    mdb_env_get_fd(env, &fd);
    problem = Walker(env, fd).Run(result);
  }
  mdb_env_close(env);
  return problem;
}

Status Broken(const std::string& path, const std::string& why) {
  return Status(Code::kBroken, path + ": broken database file (check at open: " + why + ")");
}

}  // namespace

Status VerifyFileHere(const std::string& path, bool subdir, VerifyResult* result) {
  VerifyResult ignored;
  if (result == nullptr) result = &ignored;
  auto start = std::chrono::steady_clock::now();
  std::string problem = Check(path, subdir, result);
  result->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (problem.empty() || problem == "-") return Status::OK();
  return Broken(path, problem);
}

Status VerifyFile(const std::string& path, bool subdir, VerifyResult* result) {
  VerifyResult ignored;
  if (result == nullptr) result = &ignored;
  struct stat st;
  if (stat(DataFile(path, subdir).c_str(), &st) != 0 || st.st_size == 0) return Status::OK();
  auto start = std::chrono::steady_clock::now();
  int fds[2];
  if (pipe(fds) != 0) return Status::System(path + ": check at open: pipe: " + strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return Status::System(path + ": check at open: fork: " + strerror(errno));
  }
  if (pid == 0) {
    // The child: no destructors, no atexit handlers, no buffered output of the parent.
    close(fds[0]);
    VerifyResult found;
    std::string problem = Check(path, subdir, &found);
    std::string reply = problem.empty() ? "ok " + std::to_string(found.records) + " " +
                                              std::to_string(found.lmdb_entries) + " " +
                                              std::to_string(found.pages)
                        : problem == "-" ? "skip"
                                         : "bad " + problem;
    size_t done = 0;
    while (done < reply.size()) {
      ssize_t n = write(fds[1], reply.data() + done, reply.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string reply;
  char buf[512];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  result->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFSIGNALED(wstatus)) {
    return Broken(
        path, std::string("LMDB crashed on a damaged page (") + strsignal(WTERMSIG(wstatus)) + ")");
  }
  if (reply.rfind("bad ", 0) == 0) return Broken(path, reply.substr(4));
  if (reply.rfind("ok ", 0) == 0) {
    long long records = 0, entries = 0, pages = 0;
    std::sscanf(reply.c_str() + 3, "%lld %lld %lld", &records, &entries, &pages);
    result->records = records;
    result->lmdb_entries = entries;
    result->pages = pages;
    return Status::OK();
  }
  if (reply == "skip") return Status::OK();
  // No answer: the child died some other way (a sanitizer's report of the fault, say).
  return Broken(path, "LMDB crashed on a damaged page (exit status " +
                          std::to_string(WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1) + ")");
}

}  // namespace ryoan::storage::lmdb
