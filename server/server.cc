#include "server/server.h"

#include <pthread.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>

#include "server/connection.h"
#include "server/log.h"
#include "server/snapshotter.h"

namespace ryoan::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// One I/O thread per core but one, at most -th: the core left over takes the kernel's side of
// the network (on loopback a send also runs the receiver's TCP path), the worker pool and
// whatever else runs on the machine. On the 2-core bench machine one I/O thread serves more
// than two (bench/RESULTS.md): the two would share the CPUs with each other and the clients.
// RYOAN_IO_THREADS=<n> sets the number.
int IoThreadCount(int threads) {
  if (const char* text = std::getenv("RYOAN_IO_THREADS")) {
    int n = std::atoi(text);
    if (n >= 1) return std::min(n, 256);
  }
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::clamp(cores - 1, 1, threads);
}

}  // namespace

void ConnectionRegistry::Add(const std::shared_ptr<Connection>& connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  connections_.emplace(connection.get(), connection);
}

void ConnectionRegistry::Remove(Connection* connection) {
  std::lock_guard<std::mutex> lock(mutex_);
  connections_.erase(connection);
}

void ConnectionRegistry::ShutdownAll() {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& [ptr, weak] : connections_) {
      if (auto c = weak.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) c->Shutdown();
}

size_t ConnectionRegistry::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return connections_.size();
}

Server::Server(Service& service) : service_(service), registry_(service) {
  int threads = std::max(1, service.options().threads);
  workers_ = std::make_unique<asio::thread_pool>(threads);
  int io_threads = IoThreadCount(threads);
  for (int i = 0; i < io_threads; i++) {
    contexts_.push_back(std::make_unique<asio::io_context>(1));
  }
}

Server::~Server() { Stop(); }

bool Server::Listen(std::string* error) {
  const ServerOptions& options = service_.options();
  asio::io_context& io = *contexts_[0];
  boost::system::error_code ec;
  tcp::endpoint endpoint(tcp::v4(), static_cast<unsigned short>(options.port));
  if (!options.host.empty()) {
    tcp::resolver resolver(io);
    auto results = resolver.resolve(tcp::v4(), options.host, std::to_string(options.port), ec);
    if (ec || results.empty()) {
      *error = "unknown host: " + options.host;
      return false;
    }
    endpoint = results.begin()->endpoint();
  }
  endpoint_text_ = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  Log(kLogSystem, "starting the server: expr=" + endpoint_text_);
  acceptor_ = std::make_unique<tcp::acceptor>(io);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "could not open the server socket: " + endpoint_text_ + ": " + ec.message();
    return false;
  }
  char timeout[32];
  std::snprintf(timeout, sizeof(timeout), "%.1f", options.timeout);
  Log(kLogSystem, "server socket opened: expr=" + endpoint_text_ + " timeout=" + timeout);
  Log(kLogSystem, "listening server socket started: fd=" + std::to_string(listen_fd()));
  return true;
}

int Server::listen_fd() { return acceptor_ ? acceptor_->native_handle() : -1; }

void Server::Start() {
  accept_retry_timer_ = std::make_unique<asio::steady_timer>(*contexts_[0]);
  idle_timer_ = std::make_unique<asio::steady_timer>(*contexts_[0]);
  for (auto& io : contexts_) guards_.emplace_back(io->get_executor());
  Accept();
  auto now = std::chrono::steady_clock::now();
  const ServerOptions& options = service_.options();
  next_sync_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(std::max(0.0, options.sync_interval)));
  next_snapshot_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(std::max(0.0, options.bgs_interval)));
  ScheduleIdleWork();
  Log(kLogSystem, "I/O threads: " + std::to_string(contexts_.size()) +
                      "; worker threads: " + std::to_string(std::max(1, options.threads)));
  for (auto& io : contexts_) {
    standbys_.push_back(std::make_unique<LoopStandby>(*io));
    threads_.emplace_back([ctx = io.get(), standby = standbys_.back().get()]() {
      pthread_setname_np(pthread_self(), "ryoan-io");
      standby->Bind();
      ctx->run();
    });
  }
}

void Server::Accept() {
  asio::io_context& target = *contexts_[next_context_];
  next_context_ = (next_context_ + 1) % contexts_.size();
  acceptor_->async_accept(target, [this](const boost::system::error_code& ec, tcp::socket socket) {
    if (stopped_ || !acceptor_->is_open()) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // Out of descriptors (or a transient error): keep serving the connections we have,
      // log once, and try again shortly instead of spinning.
      auto now = std::chrono::steady_clock::now();
      if (!accept_error_logged_ || now - last_accept_error_log_ > std::chrono::minutes(1)) {
        Log(kLogError, "accepting a connection failed (retrying every 100 ms): " + ec.message());
        last_accept_error_log_ = now;
        accept_error_logged_ = true;
      }
      accept_retry_timer_->expires_after(std::chrono::milliseconds(100));
      accept_retry_timer_->async_wait([this](const boost::system::error_code& wait_ec) {
        if (!wait_ec && !stopped_) Accept();
      });
      return;
    }
    auto connection =
        std::make_shared<Connection>(service_, registry_, *workers_, std::move(socket));
    registry_.Add(connection);
    asio::post(connection->socket_executor(), [connection]() { connection->Start(); });
    Accept();
  });
}

// Bounded expiry sweeping while the server runs (spec/databases.md 4.5): every 100 ms one
// database gets a few sweeper steps, round-robin, so no request pays for a big sweep.
void Server::ScheduleIdleWork() {
  idle_timer_->expires_after(std::chrono::milliseconds(100));
  idle_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    if (service_.db_count() > 0 && !service_.options().readonly) {
      service_.db(next_sweep_db_ % service_.db_count())->SweepIdle();
      next_sweep_db_++;
    }
    PeriodicWork();
    ScheduleIdleWork();
  });
}

void Server::PeriodicWork() {
  const ServerOptions& options = service_.options();
  auto now = std::chrono::steady_clock::now();
  auto after = [now](double seconds) {
    return now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                     std::chrono::duration<double>(seconds));
  };
  if (options.sync_interval > 0 && !options.readonly && now >= next_sync_ &&
      !sync_running_.exchange(true)) {
    next_sync_ = after(options.sync_interval);
    asio::post(*workers_, [this, hard = options.sync_hard]() {
      SynchronizeDatabases(service_, hard);
      sync_running_ = false;
    });
  }
  if (!options.bgs_dir.empty() && options.bgs_interval > 0 && now >= next_snapshot_ &&
      !snapshot_running_.exchange(true)) {
    next_snapshot_ = after(options.bgs_interval);
    asio::post(*workers_, [this, dir = options.bgs_dir]() {
      SnapshotDatabases(service_, dir);
      snapshot_running_ = false;
    });
  }
}

void Server::Stop() {
  if (stopped_ || threads_.empty()) {
    stopped_ = true;
    return;
  }
  Log(kLogSystem, "server stopped");
  Log(kLogSystem, "finishing the server");
  asio::post(*contexts_[0], [this]() {
    stopped_ = true;
    boost::system::error_code ec;
    if (acceptor_) acceptor_->close(ec);
    if (accept_retry_timer_) accept_retry_timer_->cancel();
    if (idle_timer_) idle_timer_->cancel();
  });
  // Waiters answer 503, then every connection closes once its reply is written.
  service_.conditions().CancelAll();
  registry_.ShutdownAll();
  // The event loops keep running (their work guards held) until every connection has
  // closed: a connection waiting for a worker has no socket operation pending, and its reply
  // arrives as a posted handler.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (registry_.size() > 0 && std::chrono::steady_clock::now() < deadline) {
    registry_.ShutdownAll();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& guard : guards_) guard.reset();
  for (auto& io : contexts_) io->stop();
  for (auto& t : threads_) t.join();
  standbys_.clear();
  workers_->join();
  threads_.clear();
  Log(kLogSystem, "closing the server socket");
}

}  // namespace ryoan::server
