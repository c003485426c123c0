// ProvidedBufferRing: a registered io_uring provided-buffer ring (kernel
// 5.19+, liburing 2.3 API) that multishot recvmsg picks receive buffers from.
//
// Memory: the ring of io_uring_buf entries and the buffers themselves are
// both mmap'ed (page-aligned, as the kernel requires for the ring) once at
// start-up; buffer `bid` lives at buffers + bid * buffer_size. The kernel
// consumes buffers from the head; the owner hands them back with Recycle()
// and makes them visible with Publish(). Buffers go back in any order, and
// the tail is advanced independently of the CQ (2.3's
// io_uring_buf_ring_cq_advance ties both counts together, which is wrong as
// soon as non-buffer CQEs share the ring).
//
// Thread affinity: owned by the thread that owns the Uring (a receive
// thread). Destroy it before the Uring: the destructor unregisters.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "sipshard/transport/uring.h"

namespace sipshard::transport {

class ProvidedBufferRing {
 public:
  static constexpr uint32_t kMaxEntries = 32768;

  // Maps and registers `entries` buffers (a power of two, <= 32768) of
  // `buffer_size` bytes under `group_id`, all initially available.
  static absl::StatusOr<std::unique_ptr<ProvidedBufferRing>> Create(
      Uring& ring, uint16_t group_id, uint32_t entries, uint32_t buffer_size);

  ~ProvidedBufferRing();
  ProvidedBufferRing(const ProvidedBufferRing&) = delete;
  ProvidedBufferRing& operator=(const ProvidedBufferRing&) = delete;

  // Returns the memory of buffer `bid` (buffer_size() bytes).
  char* Buffer(uint16_t bid) {
    return buffers_ + static_cast<size_t>(bid) * buffer_size_;
  }

  // Stages buffer `bid` for return to the kernel; visible after Publish().
  void Recycle(uint16_t bid) {
    io_uring_buf_ring_add(ring_entries_, Buffer(bid), buffer_size_, bid,
                          mask_, static_cast<int>(staged_));
    ++staged_;
  }

  // Makes every staged buffer visible to the kernel (one release store).
  void Publish() {
    if (staged_ == 0) return;
    io_uring_buf_ring_advance(ring_entries_, static_cast<int>(staged_));
    staged_ = 0;
  }

  uint16_t group_id() const { return group_id_; }
  uint32_t entries() const { return entries_; }
  uint32_t buffer_size() const { return buffer_size_; }
  uint32_t staged() const { return staged_; }

 private:
  ProvidedBufferRing() = default;

  Uring* ring_ = nullptr;
  io_uring_buf_ring* ring_entries_ = nullptr;
  size_t ring_bytes_ = 0;
  char* buffers_ = nullptr;
  size_t buffer_bytes_ = 0;
  uint32_t entries_ = 0;
  uint32_t buffer_size_ = 0;
  int mask_ = 0;
  uint32_t staged_ = 0;
  uint16_t group_id_ = 0;
  bool registered_ = false;
};

}  // namespace sipshard::transport
