// Connection: one client socket. It reads whatever has arrived, answers every complete
// request in the buffer (pipelined requests in order), and sends all ready replies with one
// write. At most one socket operation is outstanding at a time, which gives natural
// back-pressure: a client that does not read its replies stops being read from.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "common/tsv.h"
#include "server/binary_request.h"
#include "server/http_request.h"
#include "server/http_response.h"
#include "server/input_buffer.h"
#include "server/rest.h"
#include "server/rpc.h"
#include "server/service.h"

namespace ryoan::server {

class ConnectionRegistry;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Service& service, ConnectionRegistry& registry, boost::asio::thread_pool& workers,
             boost::asio::ip::tcp::socket socket);
  ~Connection();

  void Start();
  boost::asio::any_io_executor socket_executor() { return socket_.get_executor(); }
  // Graceful stop: finishes the reply being written, then closes. Thread-safe.
  void Shutdown();

 private:
  void DoRead();
  void Receive();
  void OnRead(const boost::system::error_code& ec, size_t n, size_t room);
  void OnReadable(const boost::system::error_code& ec);
  void ReadRound(size_t round);
  void OnReadEnd(const boost::system::error_code& ec);
  // Answers every complete request in the buffer, then writes, reads or closes.
  void Process();
  void Continue();
  bool HandleBinary(std::string_view data);
  bool FinishBinary(bool healthy, size_t consumed);
  void HandleRequest();
  void HandleRpc(std::string_view name);
  void Execute(std::string_view name);
  void Offload(std::function<void()> work, std::function<void()> finish);
  // Runs a Lua procedure: inline when ProcedurePlacement and the I/O thread's LoopStandby
  // allow it (true: `work` has run), else returns false and the caller offloads. Offloaded
  // work passes `procedure` on to Timed so its time is recorded.
  template <typename Work>
  bool RunInline(std::string_view procedure, Work&& work);
  std::function<void()> Timed(std::string_view procedure, std::function<void()> work);
  void FinishRpc(int status, const RecordMap& output);
  void AppendReply(int status, std::span<HttpHeader> headers, std::string_view body);
  // Frees what a large request left in the reusable buffers; only while idle.
  void ShrinkIfIdle();
  bool WriteNow();
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec, size_t n);
  void Close();
  void ArmTimer();
  void DisarmTimer();
  void OnTimeout();

  Service& service_;
  ConnectionRegistry& registry_;
  boost::asio::thread_pool& workers_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::string peer_;

  InputBuffer input_;
  std::string output_;   // replies ready to send
  std::string sending_;  // replies being written
  HttpRequestParser parser_;
  HttpRequest request_;
  BinaryRequestParser binary_parser_;
  BinaryRequest binary_request_;
  // Reused from request to request, so that the HTTP path allocates nothing per request
  // once they have grown to the requests' sizes (tests/unit/server/request_allocation_test).
  RecordMap rpc_input_;
  RecordMap rpc_output_;
  std::string rpc_name_;
  std::string reply_body_;
  std::string rest_key_;
  HttpReply rest_reply_;
  Session session_;

  bool reading_ = false;
  bool drained_ = false;  // the last read emptied the socket: wait for more before reading
  bool writing_ = false;
  bool waiting_ = false;  // a WAIT or a worker is pending; later requests queue behind it
  bool closing_ = false;  // close once the output is written
  bool closed_ = false;
  bool timer_armed_ = false;
  uint64_t timer_generation_ = 0;
  size_t bytes_since_arm_ = 0;
  size_t last_round_ = 0;  // bytes read in the last round, the size of the next read
};

}  // namespace ryoan::server
