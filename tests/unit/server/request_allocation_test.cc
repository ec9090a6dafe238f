// Heap allocations of the HTTP request path, counted: a real Connection on a loopback TCP
// socket, driven by this thread's io_context, answers batches of pipelined requests while a
// replaced global operator new counts every allocation in the process. Once the connection's
// buffers have grown to the requests' sizes, a request of the hot path must allocate nothing
// beyond what the database itself allocates for the same operations (measured by calling
// the storage::DB directly).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdlib>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "server/connection.h"
#include "server/server.h"
#include "server/service.h"
#include "storage/database_spec.h"
#include "storage/db.h"

namespace {
std::atomic<uint64_t> g_allocations{0};

void* Allocate(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* AllocateAligned(size_t n, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  size_t a = static_cast<size_t>(align);
  void* p = std::aligned_alloc(a, (n + a - 1) / a * a);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

// Every allocation of this test binary goes through here.
void* operator new(size_t n) { return Allocate(n); }
void* operator new[](size_t n) { return Allocate(n); }
void* operator new(size_t n, std::align_val_t a) { return AllocateAligned(n, a); }
void* operator new[](size_t n, std::align_val_t a) { return AllocateAligned(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace ryoan::server {
namespace {

namespace asio = boost::asio;

// The number of complete HTTP responses at the start of `data`; *used gets their bytes.
// Allocation-free, so it can run inside a measured loop.
int CountResponses(std::string_view data, size_t* used) {
  int n = 0;
  size_t at = 0;
  for (;;) {
    size_t end = data.find("\r\n\r\n", at);
    if (end == std::string_view::npos) break;
    std::string_view head = data.substr(at, end - at);
    size_t body = 0;
    size_t cl = head.find("Content-Length: ");
    if (cl != std::string_view::npos) {
      for (size_t i = cl + 16; i < head.size() && head[i] >= '0' && head[i] <= '9'; i++) {
        body = body * 10 + static_cast<size_t>(head[i] - '0');
      }
    }
    if (data.size() < end + 4 + body) break;
    at = end + 4 + body;
    n++;
  }
  *used = at;
  return n;
}

class RequestAllocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::DatabaseSpec spec;
    ASSERT_TRUE(storage::ParseDatabaseSpec(":", &spec).ok());
    std::unique_ptr<storage::DB> db;
    ASSERT_TRUE(storage::DB::Open(spec, storage::OpenOptions(), &db).ok());
    db_ = db.get();
    std::vector<std::unique_ptr<storage::DB>> dbs;
    dbs.push_back(std::move(db));
    service_ = std::make_unique<Service>(ServerOptions(), std::move(dbs));
    registry_ = std::make_unique<ConnectionRegistry>(*service_);

    asio::ip::tcp::acceptor acceptor(io_, {asio::ip::make_address("127.0.0.1"), 0});
    client_ = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(client_, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(acceptor.local_endpoint().port());
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(client_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ::fcntl(client_, F_SETFL, ::fcntl(client_, F_GETFL) | O_NONBLOCK);
    asio::ip::tcp::socket socket = acceptor.accept();
    connection_ = std::make_shared<Connection>(*service_, *registry_, workers_, std::move(socket));
    registry_->Add(connection_);
    connection_->Start();
    reply_.resize(1 << 20);
  }

  void TearDown() override {
    if (client_ >= 0) ::close(client_);
    if (connection_) connection_->Shutdown();
    io_.run_for(std::chrono::milliseconds(100));
    connection_.reset();
    workers_.join();
  }

  // Sends one batch of pipelined requests and waits for `replies` responses; returns the
  // statuses' first digits concatenated check: every response must be 2xx. Allocates nothing
  // itself.
  void RoundTrip(std::string_view batch, int replies) {
    size_t sent = 0;
    size_t have = 0;
    int got = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (got < replies) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no reply";
      if (sent < batch.size()) {
        ssize_t n = ::send(client_, batch.data() + sent, batch.size() - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<size_t>(n);
      }
      io_.poll();
      ssize_t n = ::recv(client_, reply_.data() + have, reply_.size() - have, 0);
      if (n > 0) have += static_cast<size_t>(n);
      size_t used = 0;
      got = CountResponses(std::string_view(reply_.data(), have), &used);
    }
    ASSERT_EQ(got, replies);
    // Every reply succeeded (2xx), so the loop measured real work.
    std::string_view all(reply_.data(), have);
    size_t at = 0;
    for (int i = 0; i < replies; i++) {
      at = all.find("HTTP/1.1 ", at);
      ASSERT_NE(at, std::string_view::npos);
      ASSERT_EQ(all[at + 9], '2') << all.substr(at, 60);
      at += 9;
    }
  }

  // Allocations per request of `batch` (holding `replies` requests) once warmed up.
  double AllocationsPerRequest(const std::string& batch, int replies) {
    for (int i = 0; i < 20; i++) RoundTrip(batch, replies);
    uint64_t before = g_allocations.load();
    constexpr int kRounds = 50;
    for (int i = 0; i < kRounds; i++) RoundTrip(batch, replies);
    return static_cast<double>(g_allocations.load() - before) / (kRounds * replies);
  }

  // Allocations per call of `op` on the database alone.
  template <typename Op>
  double DatabaseAllocationsPer(int calls, Op op) {
    for (int i = 0; i < 20; i++) op();
    uint64_t before = g_allocations.load();
    for (int i = 0; i < calls; i++) op();
    return static_cast<double>(g_allocations.load() - before) / calls;
  }

  asio::io_context io_;
  asio::thread_pool workers_{1};
  storage::DB* db_ = nullptr;
  std::unique_ptr<Service> service_;
  std::unique_ptr<ConnectionRegistry> registry_;
  std::shared_ptr<Connection> connection_;
  int client_ = -1;
  std::vector<char> reply_;
};

std::string Key(int i) { return "key" + std::to_string(10000000 + i); }
std::string Value(int i) { return std::string(100 - 8, 'v') + std::to_string(10000000 + i); }

std::string TsvPost(std::string_view path, const std::string& body) {
  return "POST " + std::string(path) +
         " HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/tab-separated-values\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// 16 pipelined requests per batch, as a depth-16 client sends them.
constexpr int kDepth = 16;

TEST_F(RequestAllocationTest, RpcSetAndGetAllocateNothing) {
  std::string sets, gets, query_sets;
  for (int i = 0; i < kDepth; i++) {
    sets += TsvPost("/rpc/set", "key\t" + Key(i) + "\nvalue\t" + Value(i) + "\n");
    gets += "GET /rpc/get?key=" + Key(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    query_sets += "GET /rpc/set?key=" + Key(i) + "&value=" + Value(i) + " HTTP/1.1\r\n\r\n";
  }
  // The database's own share: a Set of an existing key and a Get.
  std::string key = Key(0), value = Value(0), out;
  double db_set = DatabaseAllocationsPer(1000, [&] { (void)db_->Set(key, value); });
  double db_get = DatabaseAllocationsPer(1000, [&] { (void)db_->Get(key, &out, nullptr); });

  double set = AllocationsPerRequest(sets, kDepth);
  double query_set = AllocationsPerRequest(query_sets, kDepth);
  double get = AllocationsPerRequest(gets, kDepth);
  EXPECT_LE(set, db_set) << "database alone: " << db_set;
  EXPECT_LE(query_set, db_set) << "database alone: " << db_set;
  EXPECT_LE(get, db_get) << "database alone: " << db_get;
  std::printf(
      "allocations per request: rpc set %.3f (db %.3f), query set %.3f, get %.3f (db %.3f)\n", set,
      db_set, query_set, get, db_get);
}

TEST_F(RequestAllocationTest, RpcBulkAllocateNothing) {
  constexpr int kRecords = 100;
  std::string set_body, get_body;
  for (int i = 0; i < kRecords; i++) {
    set_body += "_" + Key(i) + "\t" + Value(i) + "\n";
    get_body += "_" + Key(i) + "\t\n";
  }
  std::string sets, gets;
  for (int i = 0; i < 4; i++) {
    sets += TsvPost("/rpc/set_bulk", set_body);
    gets += TsvPost("/rpc/get_bulk", get_body);
  }
  std::string key = Key(0), value = Value(0), out;
  double db_set = DatabaseAllocationsPer(1000, [&] { (void)db_->Set(key, value); });
  double db_get = DatabaseAllocationsPer(1000, [&] { (void)db_->Get(key, &out, nullptr); });

  double set = AllocationsPerRequest(sets, 4);
  double get = AllocationsPerRequest(gets, 4);
  EXPECT_LE(set, db_set * kRecords) << "database alone: " << db_set << " per record";
  EXPECT_LE(get, db_get * kRecords) << "database alone: " << db_get << " per record";
  std::printf("allocations per bulk request of %d: set %.3f, get %.3f (db %.3f/%.3f per record)\n",
              kRecords, set, get, db_set, db_get);
}

TEST_F(RequestAllocationTest, RestPutAndGetAllocateNothing) {
  std::string puts, gets;
  for (int i = 0; i < kDepth; i++) {
    std::string value = Value(i);
    puts += "PUT /" + Key(i) +
            " HTTP/1.1\r\nHost: localhost\r\nContent-Length: " + std::to_string(value.size()) +
            "\r\n\r\n" + value;
    gets += "GET /" + Key(i) + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
  }
  std::string key = Key(0), value = Value(0), out;
  double db_set = DatabaseAllocationsPer(1000, [&] { (void)db_->Set(key, value); });
  double db_get = DatabaseAllocationsPer(1000, [&] { (void)db_->Get(key, &out, nullptr); });

  double put = AllocationsPerRequest(puts, kDepth);
  double get = AllocationsPerRequest(gets, kDepth);
  EXPECT_LE(put, db_set) << "database alone: " << db_set;
  EXPECT_LE(get, db_get) << "database alone: " << db_get;
  std::printf("allocations per request: REST PUT %.3f (db %.3f), GET %.3f (db %.3f)\n", put, db_set,
              get, db_get);
}

}  // namespace
}  // namespace ryoan::server
