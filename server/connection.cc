#include "server/connection.h"

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <functional>

#include "common/codec.h"
#include "common/numbers.h"
#include "server/binary_handler.h"
#include "server/http_response.h"
#include "server/log.h"
#include "server/loop_standby.h"
#include "server/rest.h"
#include "server/server.h"

namespace ryoan::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t kReadChunk = 64 * 1024;
// A first read of at most 32 KiB gets a 48 KiB buffer (1.5 KiB doubled), which the per-thread
// cache of InputBuffer keeps (up to 64 KiB).
constexpr size_t kFirstReadMax = 32 * 1024;
// A request that keeps trickling in must still bring this much per -tout to keep its time.
constexpr size_t kProgressBytes = 64 * 1024;
constexpr size_t kMaxPendingOutput = 1 << 20;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); i++) {
    char a = s[i];
    if (a >= 'A' && a <= 'Z') a = static_cast<char>(a - 'A' + 'a');
    if (a != prefix[i]) return false;
  }
  return true;
}

// Bytes that URL decoding keeps as they are: every procedure name is made of them.
bool IsPlainRpcName(std::string_view name) {
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  }
  return true;
}

}  // namespace

Connection::Connection(Service& service, ConnectionRegistry& registry, asio::thread_pool& workers,
                       tcp::socket socket)
    : service_(service),
      registry_(registry),
      workers_(workers),
      socket_(std::move(socket)),
      timer_(socket_.get_executor()) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) peer_ = remote.address().to_string() + ":" + std::to_string(remote.port());
  socket_.set_option(tcp::no_delay(true), ec);
  service_.connection_count()++;
}

Connection::~Connection() { service_.connection_count()--; }

void Connection::Start() {
  if (LogEnabled(kLogInfo)) Log(kLogInfo, "connected: expr=" + peer_);
  DoRead();
}

void Connection::Shutdown() {
  asio::post(socket_.get_executor(), [self = shared_from_this()]() {
    if (self->closed_) return;
    self->closing_ = true;
    // A reply being written is finished first; otherwise there is nothing in flight.
    if (!self->writing_ && !self->waiting_) self->Close();
  });
}

// Reading. Small requests are read by the reactor into the inline storage (asio skips that
// read when it knows the socket is drained). A read that fills its room goes on at once
// (ReadRound), so a pipelined batch is read whole and answered with one write. A connection
// whose last round was larger than the inline storage waits for readability without lending
// a buffer to the reactor, then reads into one as large as that round (from the per-thread
// cache): an idle connection holds no heap buffer either way.
void Connection::DoRead() {
  if (reading_ || closed_) return;
  reading_ = true;
  if (!drained_) {
    // Bytes may be waiting already: try at once, through the queue so that a fast sender
    // cannot deepen the stack.
    asio::post(socket_.get_executor(),
               [self = shared_from_this()]() { self->OnReadable(boost::system::error_code()); });
    return;
  }
  if (last_round_ > InputBuffer::kInline) {
    socket_.async_wait(
        tcp::socket::wait_read,
        [self = shared_from_this()](const boost::system::error_code& ec) { self->OnReadable(ec); });
    return;
  }
  // asio reads at once when the last read returned data, which after a reply usually finds
  // nothing yet: let the loop's other ready handlers run first.
  asio::post(socket_.get_executor(), [self = shared_from_this()]() { self->Receive(); });
}

void Connection::Receive() {
  if (closed_) {
    reading_ = false;
    return;
  }
  size_t room = 0;
  char* at = input_.Reserve(input_.empty() ? 1 : 1024, &room);
  socket_.async_read_some(asio::buffer(at, room), [self = shared_from_this(), room](
                                                      const boost::system::error_code& ec,
                                                      size_t n) { self->OnRead(ec, n, room); });
}

void Connection::OnRead(const boost::system::error_code& ec, size_t n, size_t room) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    OnReadEnd(ec);
    return;
  }
  input_.Commit(n);
  bytes_since_arm_ += n;
  if (n == room) {
    ReadRound(n);
    return;
  }
  drained_ = true;
  last_round_ = n;
  Process();
}

void Connection::OnReadable(const boost::system::error_code& ec) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    Close();
    return;
  }
  ReadRound(0);
}

// Reads until the socket is drained (or a large round is in), then answers what came.
// `round`: bytes this round has read already.
void Connection::ReadRound(size_t round) {
  while (round < kReadChunk) {
    size_t room = 0;
    // Room for a round as large as the last one, plus a byte, so that one of the same size
    // still ends with a short read (which tells that the socket is drained); at most what
    // the per-thread buffer cache keeps, so that a stream of large rounds reuses buffers.
    size_t want = input_.empty() ? std::min(last_round_ + 1, kFirstReadMax) : 1024;
    char* at = input_.Reserve(want, &room);
    boost::system::error_code ec;
    size_t n = socket_.read_some(asio::buffer(at, room), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      drained_ = true;
      break;
    }
    if (ec) {
      // What came before the end is answered first; the next read meets the end again.
      if (round > 0) {
        drained_ = false;
        break;
      }
      OnReadEnd(ec);
      return;
    }
    input_.Commit(n);
    round += n;
    bytes_since_arm_ += n;
    drained_ = n < room;
    if (drained_) break;
  }
  if (round == 0) {
    DoRead();  // a readiness with nothing to read
    return;
  }
  last_round_ = round;
  Process();
}

void Connection::OnReadEnd(const boost::system::error_code& ec) {
  // EOF or reset. A request cut off mid-body gets the spec's 400 if the peer still reads.
  std::string_view rest = input_.unread();
  bool binary = !rest.empty() && (rest[0] == 0 || static_cast<unsigned char>(rest[0]) >= 0x80);
  if (!rest.empty() && !binary && ec == asio::error::eof) {
    AppendHttpTransportError(&output_, 400, "receiving data failed");
    closing_ = true;
    DoWrite();
    return;
  }
  Close();
}

void Connection::Process() {
  // Stop answering once enough replies wait to be sent: the rest are answered after the
  // write, so a client that does not read cannot make replies pile up.
  while (!closing_ && !waiting_ && !input_.empty() && output_.size() < kMaxPendingOutput) {
    std::string_view data = input_.unread();
    unsigned char first = static_cast<unsigned char>(data[0]);
    if (first == 0x00 || first >= 0x80) {
      if (!HandleBinary(data)) break;
      continue;
    }
    size_t consumed = 0;
    HttpRequestParser::Result result = parser_.Parse(data, &request_, &consumed);
    if (result == HttpRequestParser::Result::kNeedMore) {
      if (parser_.TakeContinueRequest()) output_.append(kContinue);
      break;
    }
    if (result == HttpRequestParser::Result::kClose) {
      closing_ = true;  // no response to this request; earlier replies are still sent
      break;
    }
    if (result == HttpRequestParser::Result::kError) {
      AppendHttpTransportError(&output_, parser_.error_status(), parser_.error_message());
      if (LogEnabled(kLogInfo)) {
        Log(kLogInfo, "(" + peer_ + "): " + std::string(request_.request_line) + ": " +
                          std::to_string(parser_.error_status()));
      }
      closing_ = true;
      break;
    }
    input_.Consume(consumed);
    parser_.Reset();
    HandleRequest();
  }
  Continue();
}

// After processing: write what is ready, else keep reading, else close.
void Connection::Continue() {
  FlushLog();  // this round's request lines reach the log before their replies are sent
  if (closed_) return;
  if (input_.empty() && !waiting_) {
    DisarmTimer();
    ShrinkIfIdle();
  } else if (!waiting_) {
    ArmTimer();  // a partial request is pending: it must complete within -tout
  }
  if (!output_.empty() && !writing_ && !WriteNow()) return;
  if (writing_ || closed_) return;
  if (closing_) {
    Close();
    return;
  }
  if (!waiting_) DoRead();
}

// One binary request (spec/binary.md). False when more bytes are needed or the connection
// is closing.
bool Connection::HandleBinary(std::string_view data) {
  size_t consumed = 0;
  BinaryRequestParser::Result result = binary_parser_.Parse(data, &binary_request_, &consumed);
  if (result == BinaryRequestParser::Result::kNeedMore) return false;
  if (result == BinaryRequestParser::Result::kDone && binary_request_.magic == kBinaryPlayScript &&
      service_.script() != nullptr) {
    std::string_view procedure =
        data.substr(binary_request_.name_offset, binary_request_.name_size);
    bool healthy = false;
    if (RunInline(procedure, [&] {
          healthy = HandleBinaryRequest(service_, binary_request_, data, &output_);
        })) {
      return FinishBinary(healthy, consumed);
    }
    // A script that may run for long goes to a worker while this connection waits. `data`
    // stays valid meanwhile, because nothing is read or consumed while waiting.
    auto out = std::make_shared<std::string>();
    auto ok = std::make_shared<bool>(false);
    Offload(Timed(procedure,
                  [this, out, ok, data] {
                    *ok = HandleBinaryRequest(service_, binary_request_, data, out.get());
                  }),
            [this, out, ok, consumed] {
              output_.append(*out);
              FinishBinary(*ok, consumed);
            });
    return false;
  }
  bool healthy = false;
  if (result == BinaryRequestParser::Result::kDone) {
    healthy = HandleBinaryRequest(service_, binary_request_, data, &output_);
  } else if (result == BinaryRequestParser::Result::kError) {
    // Records before the malformed one are applied, as the original applies records as it
    // reads them; their reply is replaced by the error byte.
    uint8_t magic = binary_request_.magic;
    if (!binary_request_.records.empty() &&
        (magic == kBinarySetBulk || magic == kBinaryRemoveBulk)) {
      std::string discarded;
      HandleBinaryRequest(service_, binary_request_, data, &discarded);
    }
    if (!binary_request_.no_reply()) output_.push_back(static_cast<char>(kBinaryError));
  }
  return FinishBinary(healthy, consumed);
}

// Logs a binary request and consumes it, or marks the connection for closing.
bool Connection::FinishBinary(bool healthy, size_t consumed) {
  if (LogEnabled(kLogInfo)) {
    LogRequest("(" + peer_ + "): " + std::string(BinaryRequestName(binary_request_.magic)) + ": " +
               (healthy ? "1" : "0"));
  }
  binary_parser_.Reset();
  if (binary_request_.records.capacity() > 4096) {
    std::vector<BinaryRecord>().swap(binary_request_.records);
  }
  if (!healthy) {
    closing_ = true;
    return false;
  }
  input_.Consume(consumed);
  return true;
}

void Connection::HandleRequest() {
  const HttpRequest& req = request_;
  if (req.path.size() >= 5 && req.path.compare(0, 5, "/rpc/") == 0) {
    std::string_view encoded = req.path.substr(5);
    if (IsPlainRpcName(encoded)) {
      HandleRpc(encoded);  // decoding would not change it
      return;
    }
    rpc_name_.clear();
    AppendUrlDecode(encoded, &rpc_name_);
    HandleRpc(rpc_name_);
    return;
  }
  rest_reply_.Clear();
  HandleRest(service_, req, &rest_key_, &rest_reply_);
  std::array<HttpHeader, HttpReply::kMaxHeaders> headers;
  for (size_t i = 0; i < rest_reply_.header_count; i++) {
    headers[i] = {rest_reply_.header_names[i], rest_reply_.header_values[i]};
  }
  AppendReply(rest_reply_.status, std::span(headers.data(), rest_reply_.header_count),
              rest_reply_.body);
}

void Connection::HandleRpc(std::string_view name) {
  const HttpRequest& req = request_;
  rpc_input_.clear();
  if (!req.query.empty()) DecodeForm(req.query, &rpc_input_);
  if (req.has_body && req.has_content_type) {
    std::string_view type = req.content_type;
    static constexpr std::string_view kTsv = "text/tab-separated-values";
    if (type == kTsv) {
      // The common case, exactly: no attributes, so no colenc.
      DecodeTsv(req.body, ColumnEncoding::kNone, &rpc_input_);
    } else if (StartsWithIgnoreCase(type, "application/x-www-form-urlencoded")) {
      DecodeForm(req.body, &rpc_input_);
    } else if (StartsWithIgnoreCase(type, kTsv)) {
      DecodeTsv(req.body, ParseColumnEncoding(type), &rpc_input_);
    }
  }
  const std::string* wait = rpc_input_.Find("WAIT");
  if (wait == nullptr) {
    Execute(name);
    return;
  }
  // WAIT: park this connection (not the thread) until a signal or the timeout.
  double seconds = 0;
  if (const std::string* t = rpc_input_.Find("WAITTIME")) seconds = ParseReal(*t);
  if (!(seconds > 0)) seconds = 30;
  if (seconds > 1e7) seconds = 1e7;
  waiting_ = true;
  DisarmTimer();
  auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds));
  service_.conditions().Wait(*wait, socket_.get_executor(), timeout,
                             [self = shared_from_this(), name = std::string(name)](bool signaled) {
                               self->waiting_ = false;
                               if (self->closed_) return;
                               if (signaled) {
                                 self->Execute(name);
                               } else {
                                 self->rpc_output_.clear();
                                 self->rpc_output_.Set("ERROR", "the condition timed out");
                                 self->FinishRpc(503, self->rpc_output_);
                               }
                               // Requests that queued behind the wait go on now.
                               self->Process();
                             });
}

// Runs a procedure: in place when it is quick, else on a worker thread while this
// connection waits, so that a full scan never stalls the other connections of this thread.
void Connection::Execute(std::string_view name) {
  const Procedure* procedure = FindProcedure(name);
  if (procedure == nullptr || !procedure->blocking) {
    rpc_output_.clear();
    int status = RunRpc(service_, session_, name, procedure, rpc_input_, &rpc_output_);
    FinishRpc(status, rpc_output_);
    return;
  }
  std::string_view script_name;
  if (procedure->handler == RpcPlayScript) {
    const std::string* n = rpc_input_.Find("name");
    script_name = n != nullptr ? std::string_view(*n) : std::string_view();
    int status = 0;
    rpc_output_.clear();
    if (RunInline(script_name,
                  [&] { status = RunRpc(service_, session_, name, rpc_input_, &rpc_output_); })) {
      FinishRpc(status, rpc_output_);
      return;
    }
  }
  auto output = std::make_shared<RecordMap>();
  auto status = std::make_shared<int>(0);
  std::function<void()> work = [this, name = std::string(name), output, status] {
    *status = RunRpc(service_, session_, name, rpc_input_, output.get());
  };
  if (procedure->handler == RpcPlayScript) work = Timed(script_name, std::move(work));
  Offload(std::move(work), [this, output, status] { FinishRpc(*status, *output); });
}

template <typename Work>
bool Connection::RunInline(std::string_view procedure, Work&& work) {
  LoopStandby* standby = LoopStandby::Current();
  // Inline only with a standby for this loop, and with no write in flight (its completion
  // must not run on the standby while this connection is busy here).
  if (standby == nullptr || writing_ || !service_.placement().Inline(procedure)) return false;
  waiting_ = true;  // a Shutdown run by the standby meanwhile only marks the connection
  DisarmTimer();
  auto start = std::chrono::steady_clock::now();
  standby->Enter();
  work();
  standby->Leave();
  service_.placement().Record(procedure, true, std::chrono::steady_clock::now() - start);
  waiting_ = false;
  return true;
}

std::function<void()> Connection::Timed(std::string_view procedure, std::function<void()> work) {
  return [this, name = std::string(procedure), work = std::move(work)] {
    auto start = std::chrono::steady_clock::now();
    work();
    service_.placement().Record(name, false, std::chrono::steady_clock::now() - start);
  };
}

// Runs `work` on a worker thread while this connection waits (nothing is read, parsed or
// consumed meanwhile), then `finish` on the connection's own thread, and goes on with the
// requests queued behind it. Both run while the connection is kept alive.
void Connection::Offload(std::function<void()> work, std::function<void()> finish) {
  waiting_ = true;
  DisarmTimer();
  asio::post(workers_, [self = shared_from_this(), work = std::move(work),
                        finish = std::move(finish)]() mutable {
    work();
    asio::post(self->socket_.get_executor(), [self, finish = std::move(finish)]() {
      self->waiting_ = false;
      if (self->closed_) return;
      finish();
      self->Process();
    });
  });
}

void Connection::FinishRpc(int status, const RecordMap& output) {
  reply_body_.clear();
  ColumnEncoding enc = ChooseOutputEncoding(output);
  EncodeTsv(output, enc, &reply_body_);
  HttpHeader type{"Content-Type", TsvContentType(enc)};
  AppendReply(status, std::span(&type, 1), reply_body_);
}

void Connection::AppendReply(int status, std::span<HttpHeader> headers, std::string_view body) {
  const HttpRequest& req = request_;
  bool head = req.method == HttpMethod::kHead;
  bool close = !req.keep_alive || closing_;
  AppendHttpResponse(&output_, status, close, head, headers, body);
  if (close) closing_ = true;
  if (LogEnabled(kLogInfo)) {
    LogRequest("(" + peer_ + "): " + std::string(req.request_line) + ": " + std::to_string(status));
  }
}

void Connection::ShrinkIfIdle() {
  constexpr size_t kKeep = 64 * 1024;
  input_.ShrinkIfIdle();
  parser_.ShrinkIfLarge();
  if (request_.headers.capacity() > 64) request_.headers = {};
  if (reply_body_.capacity() > kKeep) std::string().swap(reply_body_);
  if (output_.empty() && output_.capacity() > kKeep) std::string().swap(output_);
  rest_reply_.Clear();
  rpc_input_.clear();  // bounds what the maps keep (RecordMap::clear)
  rpc_output_.clear();
}

// Most replies fit the socket buffer: a direct non-blocking send avoids a round through the
// reactor and a timer. Returns true when everything was sent.
bool Connection::WriteNow() {
  boost::system::error_code ec;
  size_t n = socket_.write_some(asio::buffer(output_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    n = 0;
  } else if (ec) {
    Close();
    return false;
  }
  if (n == output_.size()) {
    output_.clear();
    return true;
  }
  output_.erase(0, n);
  DoWrite();
  return false;
}

void Connection::DoWrite() {
  if (writing_ || closed_ || output_.empty()) return;
  sending_.swap(output_);
  output_.clear();
  writing_ = true;
  ArmTimer();
  asio::async_write(socket_, asio::buffer(sending_),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t n) {
                      self->OnWrite(ec, n);
                    });
}

void Connection::OnWrite(const boost::system::error_code& ec, size_t) {
  writing_ = false;
  if (closed_) return;
  if (ec) {
    Close();
    return;
  }
  if (sending_.capacity() > kReadChunk * 4) {
    std::string().swap(sending_);
  } else {
    sending_.clear();
  }
  DisarmTimer();
  // Replies are sent before more input is read: a client that never reads cannot make the
  // server buffer without bound. Requests already buffered are answered now.
  Process();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  DisarmTimer();
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  session_.cursors.clear();
  if (LogEnabled(kLogInfo)) Log(kLogInfo, "disconnecting: expr=" + peer_);
  registry_.Remove(this);
}

void Connection::ArmTimer() {
  double tout = service_.options().timeout;
  if (tout <= 0) return;
  // Keep the deadline while a request trickles in slowly; renew it on real progress.
  if (timer_armed_ && bytes_since_arm_ < kProgressBytes && !writing_) return;
  bytes_since_arm_ = 0;
  timer_armed_ = true;
  uint64_t generation = ++timer_generation_;
  timer_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(tout)));
  timer_.async_wait([self = shared_from_this(), generation](const boost::system::error_code& ec) {
    if (ec || generation != self->timer_generation_ || !self->timer_armed_) return;
    if (LogEnabled(kLogInfo)) Log(kLogInfo, "aborted a request: expr=" + self->peer_);
    self->OnTimeout();
  });
}

// A request that did not arrive in time gets the spec's "receiving data failed" (HTTP only;
// a stalled binary frame or reply is simply dropped with the connection).
void Connection::OnTimeout() {
  std::string_view rest = input_.unread();
  bool http = !rest.empty() && rest[0] != 0 && static_cast<unsigned char>(rest[0]) < 0x80;
  if (writing_ || !http) {
    Close();
    return;
  }
  timer_armed_ = false;
  closing_ = true;
  AppendHttpTransportError(&output_, 400, "receiving data failed");
  if (WriteNow()) Close();
}

void Connection::DisarmTimer() {
  if (!timer_armed_) return;
  timer_armed_ = false;
  ++timer_generation_;
  timer_.cancel();
}

}  // namespace ryoan::server
