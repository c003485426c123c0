// Recycled byte buffers for the messages a transaction must keep: the
// request it received, the last response it sent upstream, the request and
// the ACK/CANCEL of every branch.
//
// Five size classes (1, 2, 4, 16, 64 KiB): an INVITE with SDP is usually
// 0.8-1.6 KB, and without the 2 KiB class each copy of one took 4 KiB. A buffer is taken from its class's
// free list and returned there when the transaction ends; the heap is only
// touched while the pool warms up, so steady-state traffic allocates
// nothing (the transaction-per-call budget of the issue). Shard-local.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace sipshard::txn {

// A buffer handle: borrowed memory of one size class plus the used size.
struct PooledBuffer {
  char* data = nullptr;
  uint32_t capacity = 0;
  uint32_t size = 0;
  uint8_t size_class = 0;

  std::string_view view() const { return std::string_view(data, size); }
  bool empty() const { return size == 0; }
};

class BufferPool {
 public:
  static constexpr std::array<uint32_t, 5> kClassSizes = {1024, 2048, 4096, 16384, 65536};

  BufferPool() = default;
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Makes `buffer` hold at least `capacity` bytes (keeping it when large
  // enough, else swapping it for a bigger one; contents are not kept) and
  // returns its writable memory with size reset to 0. Empty span when
  // `capacity` exceeds the largest class.
  std::span<char> Reserve(PooledBuffer* buffer, size_t capacity);
  // Copies `bytes` into `buffer` (Reserve + memcpy). False if too large.
  bool Assign(PooledBuffer* buffer, std::string_view bytes);
  // Returns the buffer's memory to its free list; the handle becomes empty.
  void Release(PooledBuffer* buffer);

  // Heap allocations made so far (blocks of buffers); flat in steady state.
  size_t heap_allocations() const { return blocks_.size(); }

 private:
  std::array<std::vector<char*>, kClassSizes.size()> free_;
  std::vector<std::unique_ptr<char[]>> blocks_;
};

}  // namespace sipshard::txn
