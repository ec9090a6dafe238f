// InputBuffer: the bytes a connection has received and not yet consumed. Small requests live
// in storage inside the connection itself, so an idle or lightly used connection owns no heap
// buffer; a large request moves to the heap until it is consumed.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace ryoan::server {

class InputBuffer {
 public:
  // Bytes the connection itself holds.
  static constexpr size_t kInline = 1536;

  InputBuffer() = default;
  ~InputBuffer();
  InputBuffer(const InputBuffer&) = delete;
  InputBuffer& operator=(const InputBuffer&) = delete;

  std::string_view unread() const { return {data_ + begin_, end_ - begin_}; }
  bool empty() const { return begin_ == end_; }
  void Consume(size_t n);
  // Room for at least `n` more bytes at the end; moves unread bytes to the front or to a
  // bigger buffer as needed. Returns where to write and how much room there is.
  char* Reserve(size_t n, size_t* room);
  void Commit(size_t n) { end_ += n; }
  // Returns to the inline storage when nothing is pending. A heap buffer of moderate size
  // goes to a small per-thread cache for the next connection (or request) that outgrows its
  // inline storage, so that pipelined batches do not allocate each time.
  void ShrinkIfIdle();

 private:
  char inline_[kInline];
  void ReleaseHeap();

  std::unique_ptr<char[]> heap_;
  char* data_ = inline_;
  size_t capacity_ = kInline, begin_ = 0, end_ = 0;
};

}  // namespace ryoan::server
