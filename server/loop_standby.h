// LoopStandby: lets an I/O thread run a short procedure (a Lua call) in place, without
// letting a procedure that turns out long stall the other connections of that thread.
//
// Each I/O thread has one standby thread. The I/O thread brackets an inline call with
// Enter()/Leave(). If a call is still running after about kTakeOverAfter, the standby
// thread takes over the I/O thread's event loop and serves the other connections until the
// call ends; Leave() then waits for it to hand the loop back. Only one of the two threads
// ever runs handlers of the loop at a time (the I/O thread is inside the call while the
// standby runs them), so connections keep their single-threaded discipline. The connection
// making the call must have no socket operation outstanding during it.
//
// The standby thread checks about every kTick while inline calls happen, and sleeps without
// ticking after a second without any.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace ryoan::server {

class LoopStandby {
 public:
  static constexpr std::chrono::milliseconds kTick{2};
  // The longest an inline call holds the loop alone: two ticks, plus scheduling delay.
  static constexpr std::chrono::milliseconds kTakeOverAfter{2 * kTick};

  explicit LoopStandby(boost::asio::io_context& io);
  ~LoopStandby();
  LoopStandby(const LoopStandby&) = delete;
  LoopStandby& operator=(const LoopStandby&) = delete;

  // The standby of the loop the calling thread runs (set by Bind on the I/O thread); null
  // elsewhere, including on a standby thread serving a loop: no inline calls there.
  static LoopStandby* Current();
  // Marks the calling thread as this loop's I/O thread.
  void Bind();

  void Enter();
  void Leave();
  // Times the loop was taken over (for tests and the log).
  uint64_t takeovers() const { return takeovers_.load(std::memory_order_relaxed); }

 private:
  void Watch();

  boost::asio::io_context& io_;
  // Odd while an inline call runs; changed by Leave only under mutex_.
  std::atomic<uint64_t> sequence_{0};
  std::atomic<bool> dozing_{false};  // the watcher waits on wake_ without ticking
  std::atomic<bool> give_back_{false};
  std::atomic<uint64_t> takeovers_{0};
  std::mutex mutex_;
  std::condition_variable wake_;      // Enter -> dozing watcher, ~LoopStandby -> watcher
  std::condition_variable returned_;  // watcher -> Leave, after handing the loop back
  bool running_loop_ = false;         // under mutex_
  bool stop_ = false;                 // under mutex_
  std::thread thread_;
};

}  // namespace ryoan::server
