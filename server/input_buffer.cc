#include "server/input_buffer.h"

#include <cstring>
#include <vector>

namespace ryoan::server {

namespace {

// Heap buffers kept per thread: at most kCached, each at most kCachedBytes (a few MiB per
// thread at worst).
constexpr size_t kCached = 32;
constexpr size_t kCachedBytes = 64 * 1024;

struct CachedBuffer {
  std::unique_ptr<char[]> data;
  size_t capacity;
};

std::vector<CachedBuffer>& Cache() {
  thread_local std::vector<CachedBuffer> cache = [] {
    std::vector<CachedBuffer> v;
    v.reserve(kCached);
    return v;
  }();
  return cache;
}

}  // namespace

InputBuffer::~InputBuffer() { ReleaseHeap(); }

void InputBuffer::ReleaseHeap() {
  if (!heap_) return;
  auto& cache = Cache();
  if (capacity_ <= kCachedBytes && cache.size() < kCached) {
    cache.push_back({std::move(heap_), capacity_});
  }
  heap_.reset();
}

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
      std::unique_ptr<char[]> heap;
      auto& cache = Cache();
      for (size_t i = cache.size(); i-- > 0;) {
        if (cache[i].capacity >= capacity) {
          capacity = cache[i].capacity;
          heap = std::move(cache[i].data);
          cache[i] = std::move(cache.back());
          cache.pop_back();
          break;
        }
      }
      if (!heap) heap = std::make_unique_for_overwrite<char[]>(capacity);
      if (unread > 0) std::memcpy(heap.get(), data_ + begin_, unread);
      ReleaseHeap();
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
    ReleaseHeap();
    data_ = inline_;
    capacity_ = kInline;
    begin_ = end_ = 0;
  }
}

}  // namespace ryoan::server
