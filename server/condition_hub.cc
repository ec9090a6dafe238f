#include "server/condition_hub.h"

#include <boost/asio/post.hpp>

namespace ryoan::server {

void ConditionHub::Finish(const std::shared_ptr<Waiter>& waiter, bool signaled) {
  Callback callback;
  {
    std::lock_guard<std::mutex> lock(waiter->mutex);
    if (waiter->done) return;
    waiter->done = true;
    callback = std::move(waiter->callback);
  }
  // The timer is cancelled from its own executor so it is never touched concurrently.
  boost::asio::post(waiter->executor, [waiter, signaled, callback = std::move(callback)]() {
    waiter->timer->cancel();
    callback(signaled);
  });
}

void ConditionHub::Forget(const std::string& name, const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = waiters_.find(name);
  if (it == waiters_.end()) return;
  it->second.remove(waiter);
  if (it->second.empty()) waiters_.erase(it);
}

void ConditionHub::Wait(const std::string& name, boost::asio::any_io_executor executor,
                        std::chrono::steady_clock::duration timeout, Callback callback) {
  auto waiter = std::make_shared<Waiter>();
  waiter->callback = std::move(callback);
  waiter->executor = executor;
  waiter->timer = std::make_unique<boost::asio::steady_timer>(executor, timeout);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    waiters_[name].push_back(waiter);
  }
  waiter->timer->async_wait([this, name, waiter](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: a signal got there first
    Forget(name, waiter);
    Finish(waiter, false);
  });
}

int64_t ConditionHub::Signal(const std::string& name, bool broadcast) {
  std::list<std::shared_ptr<Waiter>> woken;
  int64_t waiting = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = waiters_.find(name);
    if (it == waiters_.end()) return 0;
    waiting = static_cast<int64_t>(it->second.size());
    if (broadcast) {
      woken.swap(it->second);
    } else {
      woken.splice(woken.end(), it->second, it->second.begin());
    }
    if (it->second.empty()) waiters_.erase(it);
  }
  for (auto& waiter : woken) Finish(waiter, true);
  return waiting;
}

void ConditionHub::CancelAll() {
  std::map<std::string, std::list<std::shared_ptr<Waiter>>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    all.swap(waiters_);
  }
  for (auto& [name, list] : all) {
    for (auto& waiter : list) Finish(waiter, false);
  }
}

}  // namespace ryoan::server
