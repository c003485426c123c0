// Uring: a thin RAII wrapper around one liburing 2.3 `io_uring`.
//
// Every io_uring in sipshard goes through this class: one per receive
// thread (multishot recvmsg + provided buffers) and one per worker shard
// (sendmsg, sleep with timeout, msg_ring wake-ups). This is the ONLY header
// that includes <liburing.h>; the rest of the tree sees the ring through
// this class, `Completion` and the user_data helpers. Only the liburing 2.3
// API may be used (see DESIGN-NOTES §7): no io_uring_setup_buf_ring, no
// prep_sendto, no version macros.
//
// Thread affinity: a Uring belongs to the one thread that submits on it.
// Rings are created with SINGLE_ISSUER|DEFER_TASKRUN by default, so they
// must be created on that thread, or created with `start_disabled` and
// enabled there with Enable(). With DEFER_TASKRUN, completions are posted
// only while the owner enters the kernel with GETEVENTS, which is what
// SubmitAndWait() does; peeking alone would starve.
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sipshard::transport {

// Top byte of a CQE's user_data: says which unit a completion belongs to,
// so one ring can carry receives, sends, wake-ups and the owner's own ops.
// The lower 56 bits are a unit-defined payload (listen index, send slot).
enum class CompletionTag : uint8_t {
  kNone = 0,
  kReceive = 1,        // UdpReceiver multishot recvmsg; payload = listen index.
  kReceiverWake = 2,   // UdpReceiver's eventfd poll (Wake/Stop).
  kSend = 3,           // UdpSender sendmsg; payload = send sequence.
  kMessageRing = 4,    // Source side of a msg_ring that failed.
  kWake = 5,           // Target side of a msg_ring wake-up (shard woken).
  kCancel = 6,         // Completion of a cancel request.
  kFirstOwnerTag = 32  // Owners (the shard loop) define tags from here on.
};

inline constexpr int kUserDataPayloadBits = 56;
inline constexpr uint64_t kUserDataPayloadMask =
    (uint64_t{1} << kUserDataPayloadBits) - 1;

// Packs a tag and a 56-bit payload into a CQE user_data value.
constexpr uint64_t EncodeUserData(CompletionTag tag, uint64_t payload) {
  return (uint64_t{static_cast<uint8_t>(tag)} << kUserDataPayloadBits) |
         (payload & kUserDataPayloadMask);
}
constexpr CompletionTag UserDataTag(uint64_t user_data) {
  return static_cast<CompletionTag>(user_data >> kUserDataPayloadBits);
}
constexpr uint64_t UserDataPayload(uint64_t user_data) {
  return user_data & kUserDataPayloadMask;
}

// A copy of the three CQE fields, so callbacks do not hold pointers into the
// CQ ring (the slot is reused as soon as the batch is advanced).
struct Completion {
  uint64_t user_data;
  int32_t result;
  uint32_t flags;

  CompletionTag tag() const { return UserDataTag(user_data); }
  uint64_t payload() const { return UserDataPayload(user_data); }
  // True while a multishot request stays armed; false means re-arm.
  bool more() const { return (flags & IORING_CQE_F_MORE) != 0; }
  bool has_buffer() const { return (flags & IORING_CQE_F_BUFFER) != 0; }
  uint16_t buffer_id() const {
    return static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
  }
};

struct UringOptions {
  // Submission queue entries (rounded up to a power of two by the kernel).
  unsigned sq_entries = 256;
  // Completion queue entries; 0 means 4 × sq_entries. Multishot receive can
  // post many CQEs per SQE, so the CQ must be much larger than the SQ.
  unsigned cq_entries = 0;
  // SINGLE_ISSUER|DEFER_TASKRUN: cheaper completions, no IPIs, but the ring
  // is bound to the creating (or enabling) thread.
  bool single_issuer = true;
  bool defer_taskrun = true;
  // IORING_SETUP_R_DISABLED: create here, Enable() on the owning thread.
  bool start_disabled = false;
};

class Uring {
 public:
  // Creates a ring. Must run on the owning thread unless start_disabled.
  static absl::StatusOr<std::unique_ptr<Uring>> Create(
      const UringOptions& options = {});

  ~Uring();
  Uring(const Uring&) = delete;
  Uring& operator=(const Uring&) = delete;

  // Enables a ring created with start_disabled; call on the owning thread.
  absl::Status Enable();

  // Returns a free SQE. When the SQ is full, submits what is queued and
  // retries once: a full SQ means the loop batched more than the ring holds,
  // and submitting early beats dropping. Returns nullptr only if the kernel
  // refused the submit as well.
  io_uring_sqe* GetSqe();

  // Submits queued SQEs without waiting; returns the count or -errno.
  int Submit();

  // Submits queued SQEs and waits for at least one completion.
  // timeout_ms < 0 waits indefinitely, 0 only flushes pending completions
  // (still entering the kernel, so DEFER_TASKRUN work runs), > 0 bounds the
  // wait. Returns >= 0 on success, -ETIME on timeout, -EINTR, other -errno.
  int SubmitAndWait(int timeout_ms);

  // Calls fn(const Completion&) for every ready CQE, then advances the CQ
  // once for the whole batch. fn may queue new SQEs. Returns the count.
  template <typename Fn>
  unsigned ForEachCompletion(Fn&& fn) {
    unsigned count = 0;
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      const Completion completion{cqe->user_data, cqe->res, cqe->flags};
      ++count;
      fn(completion);
    }
    if (count > 0) io_uring_cq_advance(&ring_, count);
    return count;
  }

  // Queues a msg_ring SQE that posts a CQE {user_data, res = 0} on the ring
  // `target_ring_fd` (another thread's ring): the cross-ring wake-up used by
  // receive threads to wake a sleeping shard. Success posts nothing on this
  // ring (CQE_SKIP_SUCCESS); a failure posts a kMessageRing CQE whose result
  // is -errno. Not submitted here. Returns false if no SQE was available.
  bool PrepareMessageRing(int target_ring_fd, uint64_t user_data);

  int ring_fd() const { return ring_.ring_fd; }
  unsigned sq_entries() const { return ring_.sq.ring_entries; }
  unsigned cq_entries() const { return ring_.cq.ring_entries; }
  // The liburing handle, for transport units that prepare their own SQEs.
  io_uring* raw() { return &ring_; }

 private:
  Uring() = default;

  io_uring ring_{};
  bool initialized_ = false;
};

// Verifies at start-up that the running kernel has everything the transport
// uses: the RECVMSG, SENDMSG, MSG_RING, POLL_ADD and ASYNC_CANCEL opcodes,
// SINGLE_ISSUER|DEFER_TASKRUN rings, EXT_ARG timed waits and provided-buffer
// ring registration. Returns FailedPrecondition naming whatever is missing.
// (Multishot recvmsg, kernel 6.0, has no probe bit; DEFER_TASKRUN implies a
// 6.1+ kernel, which covers it.)
absl::Status CheckKernelSupport();

}  // namespace sipshard::transport
