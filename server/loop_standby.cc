#include "server/loop_standby.h"

namespace ryoan::server {

namespace {
thread_local LoopStandby* current_standby = nullptr;
constexpr int kTicksBeforeDozing = 500;  // about a second without inline calls
}  // namespace

LoopStandby::LoopStandby(boost::asio::io_context& io) : io_(io) {
  thread_ = std::thread([this] { Watch(); });
}

LoopStandby::~LoopStandby() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  give_back_.store(true);
  wake_.notify_all();
  thread_.join();
}

LoopStandby* LoopStandby::Current() { return current_standby; }

void LoopStandby::Bind() { current_standby = this; }

void LoopStandby::Enter() {
  sequence_.fetch_add(1, std::memory_order_seq_cst);
  // Only a dozing watcher needs a wake-up: the common case costs no system call.
  if (dozing_.load(std::memory_order_seq_cst)) {
    std::lock_guard lock(mutex_);
    wake_.notify_one();
  }
}

void LoopStandby::Leave() {
  std::unique_lock lock(mutex_);
  sequence_.fetch_add(1, std::memory_order_seq_cst);
  if (!running_loop_) return;
  // The standby serves the loop: ask for it back and wait until its current handler is done.
  give_back_.store(true);
  returned_.wait(lock, [this] { return !running_loop_; });
  give_back_.store(false);
}

void LoopStandby::Watch() {
  // Current() stays null here: while this thread serves the loop, procedures go to workers
  // (an inline call here would have no one to take over from it).
  uint64_t seen = 0;
  int idle_ticks = kTicksBeforeDozing;  // doze until the first inline call
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (idle_ticks >= kTicksBeforeDozing) {
      dozing_.store(true, std::memory_order_seq_cst);
      uint64_t before = seen;
      wake_.wait(lock, [&] { return stop_ || sequence_.load() != before; });
      dozing_.store(false);
      idle_ticks = 0;
      seen = sequence_.load();
      continue;
    }
    wake_.wait_for(lock, kTick);
    if (stop_) break;
    uint64_t now = sequence_.load();
    if (now != seen) idle_ticks = 0;
    if (now == seen && (now & 1) == 0) idle_ticks++;
    if (now != seen || (now & 1) == 0) {
      seen = now;
      continue;
    }
    // The same inline call as a tick ago: run the loop until Leave asks for it back. The
    // check and running_loop_ are under mutex_, as is Leave's change of sequence_, so a call
    // that ends now is either seen here or finds running_loop_ set.
    running_loop_ = true;
    takeovers_.fetch_add(1, std::memory_order_relaxed);
    lock.unlock();
    while (!give_back_.load() && !io_.stopped()) {
      // Short waits: Leave cannot wake this thread through the loop itself, because what
      // the I/O thread posts from inside a handler is queued on that thread.
      io_.run_one_for(std::chrono::milliseconds(1));
    }
    lock.lock();
    running_loop_ = false;
    returned_.notify_all();
    // (A loop that stopped during the call is taken over again next tick, and left at once.)
    seen = sequence_.load();
  }
}

}  // namespace ryoan::server
