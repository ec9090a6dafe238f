// ConditionHub: named conditions for the RPC WAIT / SIGNAL parameters (spec/http-rpc.md
// 7.3, 7.4). Waiting never blocks a thread: a waiter is a callback, run exactly once, on its
// own executor, either by a signal (signaled = true) or by its timeout or shutdown (false).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace ryoan::server {

class ConditionHub {
 public:
  using Callback = std::function<void(bool signaled)>;

  // Registers a waiter on `name`; `callback` runs on `executor` exactly once.
  void Wait(const std::string& name, boost::asio::any_io_executor executor,
            std::chrono::steady_clock::duration timeout, Callback callback);
  // Wakes one waiter (or all with `broadcast`); returns how many were waiting on `name`.
  int64_t Signal(const std::string& name, bool broadcast);
  // Wakes every waiter as timed out (server shutdown).
  void CancelAll();

 private:
  struct Waiter {
    std::mutex mutex;
    bool done = false;
    Callback callback;
    std::unique_ptr<boost::asio::steady_timer> timer;
    boost::asio::any_io_executor executor;
  };
  static void Finish(const std::shared_ptr<Waiter>& waiter, bool signaled);
  void Forget(const std::string& name, const std::shared_ptr<Waiter>& waiter);

  std::mutex mutex_;
  std::map<std::string, std::list<std::shared_ptr<Waiter>>> waiters_;
};

}  // namespace ryoan::server
