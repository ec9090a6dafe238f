#include "tools/ktbench/driver.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <numeric>
#include <thread>

#include "tools/ktbench/protocol.h"

namespace ktbench {

namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Phases without a duration (--ops, preload) still end: a run never outlives this.
constexpr double kMaxOpsPhaseSeconds = 900;
constexpr size_t kMinReadSpace = 64 * 1024;

// Contiguous receive buffer: bytes [begin, end) are unparsed.
class InBuffer {
 public:
  std::string_view View() const { return std::string_view(data_.get() + begin_, end_ - begin_); }
  void Consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Space to read into, at least kMinReadSpace bytes.
  char* Space(size_t* n) {
    if (cap_ - end_ < kMinReadSpace) {
      if (begin_ > 0) {
        std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (cap_ - end_ < kMinReadSpace) {
        size_t cap = std::max(cap_ * 2, end_ + kMinReadSpace);
        auto data = std::make_unique<char[]>(cap);
        if (end_ > 0) std::memcpy(data.get(), data_.get(), end_);
        data_ = std::move(data);
        cap_ = cap;
      }
    }
    *n = cap_ - end_;
    return data_.get() + end_;
  }
  void Commit(size_t n) { end_ += n; }
  bool empty() const { return begin_ == end_; }

 private:
  std::unique_ptr<char[]> data_;
  size_t cap_ = 0, begin_ = 0, end_ = 0;
};

struct Slot {
  Op op;
  int count;
  int64_t start_ns;
};

}  // namespace

struct Connection {
  int fd = -1;
  int index = 0;
  bool dead = false;
  std::string out;
  size_t out_off = 0;
  bool want_write = false;
  InBuffer in;
  // Requests in flight, oldest first, in a ring of `depth` slots; slot i's keys are
  // keys[i * bulk, (i + 1) * bulk).
  std::vector<Slot> slots;
  std::vector<uint64_t> keys;
  size_t head = 0, inflight = 0;
  int bulk = 1;
  bool issuing = true;
  int64_t last_progress_ns = 0;
  // Key cursors: the sequential pattern walks the whole key space from its own starting
  // point; preload walks [cursor, range_end) once.
  uint64_t cursor = 0, range_end = 0;

  ~Connection() {
    if (fd >= 0) close(fd);
  }
};

void Stats::Merge(const Stats& o) {
  ops += o.ops;
  records += o.records;
  hits += o.hits;
  misses += o.misses;
  errors += o.errors;
  mismatches += o.mismatches;
  dead_connections += o.dead_connections;
  timed_out = timed_out || o.timed_out;
  seconds = std::max(seconds, o.seconds);
  latency_ns.Merge(o.latency_ns);
  get_latency_ns.Merge(o.get_latency_ns);
  set_latency_ns.Merge(o.set_latency_ns);
}

namespace {

// Shared by the threads of one phase.
struct PhaseState {
  const Phase* phase;
  int64_t start_ns;
  int64_t end_ns;   // stop issuing (duration phases)
  int64_t hard_ns;  // abandon everything still in flight
  std::atomic<uint64_t> issued{0};
  uint64_t step;  // random pattern: stride between the keys of one request, coprime to K
};

// One client thread: its connections, its protocol instance and its figures.
class Worker {
 public:
  Worker(const Options& opts, const Workload& workload, PhaseState* state,
         std::vector<Connection*> conns, uint64_t seed)
      : opts_(opts),
        workload_(workload),
        state_(state),
        conns_(std::move(conns)),
        proto_(MakeProtocol(opts, workload)),
        rng_(seed) {}

  void Run(Stats* stats) {
    stats_ = stats;
    const Phase& phase = *state_->phase;
    const int64_t timeout_ns = static_cast<int64_t>(opts_.timeout * 1e9);
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    for (Connection* c : conns_) {
      if (c->dead) continue;
      c->slots.assign(phase.depth, Slot{});
      c->keys.assign(static_cast<size_t>(phase.depth) * phase.bulk, 0);
      c->bulk = phase.bulk;
      c->head = c->inflight = 0;
      c->issuing = true;
      c->want_write = false;
      c->last_progress_ns = NowNs();
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = c;
      epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd, &ev);
    }
    for (Connection* c : conns_) {
      if (c->dead) continue;
      Fill(c, NowNs());
      Flush(c);
    }
    epoll_event events[64];
    while (true) {
      int64_t now = NowNs();
      bool busy = false;
      for (Connection* c : conns_) {
        if (c->dead) continue;
        if (c->inflight > 0 && now - c->last_progress_ns > timeout_ns) {
          stats_->timed_out = true;
          Kill(c);
          continue;
        }
        if (c->inflight > 0 || (c->issuing && now < state_->end_ns)) busy = true;
      }
      if (!busy) break;
      if (now >= state_->hard_ns) {
        stats_->timed_out = true;
        for (Connection* c : conns_) {
          if (!c->dead) Kill(c);
        }
        break;
      }
      int wait_ms = 50;
      if (now < state_->end_ns) {
        wait_ms = static_cast<int>(std::min<int64_t>(50, (state_->end_ns - now) / 1000000 + 1));
      }
      int n = epoll_wait(epfd_, events, 64, wait_ms);
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Connection*>(events[i].data.ptr);
        if (c->dead) continue;
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) OnReadable(c);
        if (!c->dead && (events[i].events & EPOLLOUT)) Flush(c);
      }
      // Duration phases: once time is up, connections with nothing in flight are finished.
      if (NowNs() >= state_->end_ns) {
        for (Connection* c : conns_) c->issuing = false;
      }
    }
    for (Connection* c : conns_) {
      if (!c->dead) epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
    }
    close(epfd_);
    if (last_completion_ns_ > 0) {
      stats_->seconds = static_cast<double>(last_completion_ns_ - state_->start_ns) / 1e9;
    }
  }

 private:
  bool ClaimRequest(Connection* c, int64_t now) {
    const Phase& phase = *state_->phase;
    if (phase.preload) return c->cursor < c->range_end;
    if (phase.ops > 0) return state_->issued.fetch_add(1, std::memory_order_relaxed) < phase.ops;
    return now < state_->end_ns;
  }

  // Chooses the keys of a new request; returns how many.
  int PickKeys(Connection* c, uint64_t* keys) {
    const Phase& phase = *state_->phase;
    const uint64_t k = workload_.keys();
    if (phase.preload) {
      int n = static_cast<int>(std::min<uint64_t>(phase.bulk, c->range_end - c->cursor));
      for (int i = 0; i < n; ++i) keys[i] = c->cursor++;
      return n;
    }
    if (phase.pattern == Pattern::kSequential) {
      for (int i = 0; i < phase.bulk; ++i) {
        keys[i] = c->cursor;
        c->cursor = c->cursor + 1 == k ? 0 : c->cursor + 1;
      }
      return phase.bulk;
    }
    // Random: a random start and a fixed stride coprime to K gives `bulk` distinct keys
    // without a duplicate check (ktserver's bulk RPCs collapse duplicate keys).
    uint64_t key = rng_.Next() % k;
    for (int i = 0; i < phase.bulk; ++i) {
      keys[i] = key;
      key = (key + state_->step) % k;
    }
    return phase.bulk;
  }

  // Issues requests until `depth` are in flight or the phase stops issuing.
  void Fill(Connection* c, int64_t now) {
    const Phase& phase = *state_->phase;
    while (c->issuing && c->inflight < c->slots.size()) {
      if (!ClaimRequest(c, now)) {
        c->issuing = false;
        break;
      }
      size_t idx = (c->head + c->inflight) % c->slots.size();
      uint64_t* keys = &c->keys[idx * c->bulk];
      int count = PickKeys(c, keys);
      Op op = Op::kSet;
      if (!phase.preload && (phase.mix >= 1.0 || rng_.NextDouble() < phase.mix)) op = Op::kGet;
      if (c->inflight == 0) c->last_progress_ns = now;
      c->slots[idx] = Slot{op, count, now};
      proto_->Encode(Request{op, keys, count}, &c->out);
      ++c->inflight;
    }
  }

  void Flush(Connection* c) {
    while (c->out_off < c->out.size()) {
      ssize_t n = send(c->fd, c->out.data() + c->out_off, c->out.size() - c->out_off, MSG_NOSIGNAL);
      if (n > 0) {
        c->out_off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        SetWantWrite(c, true);
        return;
      }
      Kill(c);
      return;
    }
    c->out.clear();  // keeps its capacity: no allocation in the steady state
    c->out_off = 0;
    SetWantWrite(c, false);
  }

  void SetWantWrite(Connection* c, bool on) {
    if (c->want_write == on) return;
    c->want_write = on;
    epoll_event ev{};
    ev.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    ev.data.ptr = c;
    epoll_ctl(epfd_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void OnReadable(Connection* c) {
    size_t space;
    char* buf = c->in.Space(&space);
    ssize_t n = recv(c->fd, buf, space, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    if (n <= 0) {
      // EOF or reset: whatever is in flight is lost.
      Kill(c);
      return;
    }
    c->in.Commit(static_cast<size_t>(n));
    int64_t now = NowNs();
    c->last_progress_ns = now;
    bool closed = false;
    while (c->inflight > 0 && !c->in.empty()) {
      const Slot& slot = c->slots[c->head];
      Request req{slot.op, &c->keys[c->head * c->bulk], slot.count};
      size_t consumed = 0;
      Reply reply;
      ParseStatus st = proto_->Parse(req, c->in.View(), &consumed, &reply);
      if (st == ParseStatus::kIncomplete) break;
      if (st == ParseStatus::kFatal) {
        Kill(c);
        return;
      }
      c->in.Consume(consumed);
      Complete(c, slot, reply, now);
      c->head = (c->head + 1) % c->slots.size();
      --c->inflight;
      if (reply.closed) {
        closed = true;
        break;
      }
    }
    if (closed || (c->inflight == 0 && !c->in.empty())) {
      // The server is closing, or sent bytes nobody asked for: the stream is unusable.
      if (!closed) ++stats_->errors;
      Kill(c);
      return;
    }
    // Pipelines go out as whole batches of `depth`: refilling each freed slot at once would
    // turn a pipeline into a stream of one-request writes and make the client, not the
    // server, pay a system call per request.
    if (c->inflight == 0) {
      Fill(c, now);
      Flush(c);
    }
  }

  void Complete(Connection*, const Slot& slot, const Reply& reply, int64_t now) {
    const auto ns = static_cast<uint64_t>(std::max<int64_t>(0, now - slot.start_ns));
    stats_->latency_ns.Record(ns);
    (slot.op == Op::kGet ? stats_->get_latency_ns : stats_->set_latency_ns).Record(ns);
    ++stats_->ops;
    stats_->records += static_cast<uint64_t>(slot.count);
    stats_->hits += static_cast<uint64_t>(reply.hits);
    stats_->misses += static_cast<uint64_t>(reply.misses);
    stats_->mismatches += static_cast<uint64_t>(reply.mismatches);
    if (reply.error) ++stats_->errors;
    last_completion_ns_ = now;
  }

  // Drops a connection: requests in flight count as errors, the connection stays dead.
  void Kill(Connection* c) {
    stats_->errors += c->inflight;
    ++stats_->dead_connections;
    c->inflight = 0;
    c->issuing = false;
    c->dead = true;
    epoll_ctl(epfd_, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    c->fd = -1;
  }

  const Options& opts_;
  const Workload& workload_;
  PhaseState* state_;
  std::vector<Connection*> conns_;
  std::unique_ptr<Protocol> proto_;
  Rng rng_;
  Stats* stats_ = nullptr;
  int epfd_ = -1;
  int64_t last_completion_ns_ = 0;
};

int ConnectOne(const addrinfo* ai, double timeout, std::string* error) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      *error = std::string("connect: ") + std::strerror(errno);
      close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int r = poll(&p, 1, static_cast<int>(timeout * 1000));
    int err = 0;
    socklen_t len = sizeof(err);
    if (r <= 0) {
      *error = "connect: timed out";
      close(fd);
      return -1;
    }
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      *error = std::string("connect: ") + std::strerror(err);
      close(fd);
      return -1;
    }
  }
  // Small requests must go out at once, not wait for Nagle.
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

Driver::Driver(const Options& opts, const Workload& workload) : opts_(opts), workload_(workload) {}
Driver::~Driver() = default;

bool Driver::Connect(std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(opts_.port);
  int rc = getaddrinfo(opts_.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0) {
    *error = opts_.host + ": " + gai_strerror(rc);
    return false;
  }
  for (int i = 0; i < opts_.connections; ++i) {
    auto c = std::make_unique<Connection>();
    c->index = i;
    c->fd = ConnectOne(res, opts_.timeout, error);
    if (c->fd < 0) {
      *error = opts_.host + ":" + port + ": " + *error;
      freeaddrinfo(res);
      return false;
    }
    conns_.push_back(std::move(c));
  }
  freeaddrinfo(res);
  return true;
}

std::unique_ptr<Stats> Driver::Run(const Phase& phase) {
  const uint64_t k = workload_.keys();
  const int nconn = static_cast<int>(conns_.size());
  PhaseState state;
  state.phase = &phase;
  state.start_ns = NowNs();
  const bool timed = !phase.preload && phase.ops == 0;
  state.end_ns = timed ? state.start_ns + static_cast<int64_t>(phase.duration * 1e9) : INT64_MAX;
  state.hard_ns =
      state.start_ns +
      static_cast<int64_t>((timed ? phase.duration + opts_.timeout : kMaxOpsPhaseSeconds) * 1e9);
  // A stride near K/phi, made coprime to K, spreads a bulk request over the key space.
  uint64_t step = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(k) * 0.618));
  while (std::gcd(step, k) != 1) ++step;
  state.step = step % k == 0 ? 1 : step;

  for (int i = 0; i < nconn; ++i) {
    Connection* c = conns_[i].get();
    c->cursor = k * static_cast<uint64_t>(i) / static_cast<uint64_t>(nconn);
    c->range_end =
        phase.preload ? k * static_cast<uint64_t>(i + 1) / static_cast<uint64_t>(nconn) : 0;
  }
  const int nthreads = std::min(opts_.threads, nconn);
  std::vector<Stats> per_thread(nthreads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < nthreads; ++t) {
    std::vector<Connection*> mine;
    for (int i = t; i < nconn; i += nthreads) mine.push_back(conns_[i].get());
    workers.push_back(std::make_unique<Worker>(opts_, workload_, &state, std::move(mine),
                                               Mix64(opts_.seed + static_cast<uint64_t>(t))));
  }
  if (nthreads == 1) {
    workers[0]->Run(&per_thread[0]);
  } else {
    std::vector<std::thread> threads;
    for (int t = 0; t < nthreads; ++t) {
      threads.emplace_back([&, t] { workers[t]->Run(&per_thread[t]); });
    }
    for (auto& th : threads) th.join();
  }
  auto total = std::make_unique<Stats>();
  for (const Stats& s : per_thread) total->Merge(s);
  if (total->ops == 0) total->seconds = static_cast<double>(NowNs() - state.start_ns) / 1e9;
  return total;
}

}  // namespace ktbench
