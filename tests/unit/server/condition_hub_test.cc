#include "server/condition_hub.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>

namespace ryoan::server {
namespace {

using namespace std::chrono_literals;

TEST(ConditionHubTest, SignalWakesOneWaiterAndCountsThoseWaiting) {
  boost::asio::io_context io;
  ConditionHub hub;
  int signaled = 0, timed_out = 0;
  auto callback = [&](bool s) { s ? signaled++ : timed_out++; };
  hub.Wait("q", io.get_executor(), 10s, callback);
  hub.Wait("q", io.get_executor(), 10s, callback);
  EXPECT_EQ(hub.Signal("q", false), 2);
  io.run_for(50ms);
  EXPECT_EQ(signaled, 1);
  EXPECT_EQ(hub.Signal("q", false), 1);
  io.run_for(50ms);
  EXPECT_EQ(signaled, 2);
  EXPECT_EQ(timed_out, 0);
  EXPECT_EQ(hub.Signal("q", false), 0);
}

TEST(ConditionHubTest, BroadcastWakesEveryWaiterOfThatNameOnly) {
  boost::asio::io_context io;
  ConditionHub hub;
  int a = 0, b = 0;
  hub.Wait("a", io.get_executor(), 10s, [&](bool s) { a += s; });
  hub.Wait("a", io.get_executor(), 10s, [&](bool s) { a += s; });
  hub.Wait("b", io.get_executor(), 50ms, [&](bool s) { b += s ? 100 : 1; });
  EXPECT_EQ(hub.Signal("a", true), 2);
  io.run_for(200ms);
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 1);  // timed out, not signaled
}

TEST(ConditionHubTest, TimeoutRunsCallbackOnceAndForgetsTheWaiter) {
  boost::asio::io_context io;
  ConditionHub hub;
  int calls = 0;
  bool last = true;
  hub.Wait("", io.get_executor(), 20ms, [&](bool s) {
    calls++;
    last = s;
  });
  io.run_for(200ms);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(last);
  EXPECT_EQ(hub.Signal("", false), 0);
}

TEST(ConditionHubTest, CancelAllTimesOutEveryWaiter) {
  boost::asio::io_context io;
  ConditionHub hub;
  int timed_out = 0;
  hub.Wait("x", io.get_executor(), 10s, [&](bool s) { timed_out += !s; });
  hub.Wait("y", io.get_executor(), 10s, [&](bool s) { timed_out += !s; });
  hub.CancelAll();
  io.run_for(50ms);
  EXPECT_EQ(timed_out, 2);
}

}  // namespace
}  // namespace ryoan::server
