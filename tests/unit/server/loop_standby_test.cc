#include "server/loop_standby.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <thread>

namespace ryoan::server {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A handler blocks its loop's thread for `block` inside Enter/Leave; meanwhile a timer on
// the same loop must fire soon after it is due, served by the standby thread.
TEST(LoopStandbyTest, OtherHandlersRunWhileAnInlineCallBlocks) {
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  LoopStandby standby(io);
  std::atomic<bool> timer_fired{false};
  Clock::time_point fired_at{};
  Clock::time_point blocked_from{}, blocked_until{};
  std::thread::id loop_thread, timer_thread;

  asio::post(io, [&] {
    loop_thread = std::this_thread::get_id();
    asio::steady_timer* timer = new asio::steady_timer(io, 20ms);
    timer->async_wait([&, timer](const boost::system::error_code&) {
      fired_at = Clock::now();
      timer_thread = std::this_thread::get_id();
      timer_fired = true;
      delete timer;
    });
    blocked_from = Clock::now();
    standby.Enter();
    // A long "procedure": wait (bounded) until the timer handler has run elsewhere.
    auto deadline = Clock::now() + 5s;
    while (!timer_fired && Clock::now() < deadline) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(50ms);
    standby.Leave();
    blocked_until = Clock::now();
    guard.reset();
  });
  std::thread runner([&] {
    standby.Bind();
    io.run();
  });
  runner.join();

  ASSERT_TRUE(timer_fired) << "the loop stalled for the whole call";
  EXPECT_NE(timer_thread, loop_thread);  // served by the standby thread
  EXPECT_LT(fired_at, blocked_until);
  EXPECT_GE(standby.takeovers(), 1u);
  EXPECT_EQ(LoopStandby::Current(), nullptr);  // only the bound thread has one
}

}  // namespace
}  // namespace ryoan::server
