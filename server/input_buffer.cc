#include "server/input_buffer.h"

#include <cstring>

namespace ryoan::server {

void InputBuffer::Consume(size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

char* InputBuffer::Reserve(size_t n, size_t* room) {
  if (capacity_ - end_ < n) {
    size_t unread = end_ - begin_;
    if (capacity_ - unread >= n) {
      std::memmove(data_, data_ + begin_, unread);
    } else {
      size_t capacity = capacity_ * 2;
      while (capacity - unread < n) capacity *= 2;
      auto heap = std::make_unique<char[]>(capacity);
      if (unread > 0) std::memcpy(heap.get(), data_ + begin_, unread);
      heap_ = std::move(heap);
      data_ = heap_.get();
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = unread;
  }
  *room = capacity_ - end_;
  return data_ + end_;
}

void InputBuffer::ShrinkIfIdle() {
  if (begin_ == end_ && heap_) {
    heap_.reset();
    data_ = inline_;
    capacity_ = kInline;
    begin_ = end_ = 0;
  }
}

}  // namespace ryoan::server
