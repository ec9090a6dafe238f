// Server: the listener and the threads. Each I/O thread (one per core but one, at most -th:
// IoThreadCount in server.cc) runs its own io_context; accepted connections are dealt
// round-robin to them and stay there, so a quick request is parsed, executed and answered on
// one thread with no hand-off. Procedures that may take unbounded time go to a pool of -th
// worker threads.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/loop_standby.h"
#include "server/service.h"

namespace ryoan::server {

class Connection;

// The set of open connections, for graceful shutdown and the connection count.
class ConnectionRegistry {
 public:
  explicit ConnectionRegistry(Service& service) : service_(service) {}
  void Add(const std::shared_ptr<Connection>& connection);
  void Remove(Connection* connection);
  void ShutdownAll();
  size_t size();

 private:
  Service& service_;
  std::mutex mutex_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;
};

class Server {
 public:
  explicit Server(Service& service);
  ~Server();

  // Resolves -host and binds -port. False with a message on failure.
  bool Listen(std::string* error);
  // Starts the I/O threads and accepting (after Listen).
  void Start();
  // Stops accepting, answers in-flight requests, closes every connection and joins the
  // threads. Idempotent.
  void Stop();
  std::string endpoint_text() const { return endpoint_text_; }
  int listen_fd();

 private:
  void Accept();
  void ScheduleIdleWork();
  // Timer tick (spec/ktserver-cli.md 5): starts -asi synchronization and -bgs snapshots on the
  // worker pool when due, one of each at a time.
  void PeriodicWork();

  Service& service_;
  ConnectionRegistry registry_;
  std::vector<std::unique_ptr<boost::asio::io_context>> contexts_;
  std::vector<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  // One per I/O thread: lets Lua procedures run inline (LoopStandby, ProcedurePlacement).
  std::vector<std::unique_ptr<LoopStandby>> standbys_;
  // Runs procedures that may take unbounded time (spec: -th worker threads).
  std::unique_ptr<boost::asio::thread_pool> workers_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::unique_ptr<boost::asio::steady_timer> accept_retry_timer_;
  std::unique_ptr<boost::asio::steady_timer> idle_timer_;
  size_t next_context_ = 0;
  size_t next_sweep_db_ = 0;
  std::chrono::steady_clock::time_point next_sync_{};
  std::chrono::steady_clock::time_point next_snapshot_{};
  std::atomic<bool> sync_running_{false};
  std::atomic<bool> snapshot_running_{false};
  // Accept failures (out of descriptors) are logged at most once a minute.
  std::chrono::steady_clock::time_point last_accept_error_log_{};
  bool accept_error_logged_ = false;
  std::atomic<bool> stopped_{false};
  std::string endpoint_text_;
};

}  // namespace ryoan::server
