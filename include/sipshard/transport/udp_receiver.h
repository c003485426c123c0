// UdpReceiver: the receive side of one receive thread.
//
// Owns the thread's io_uring, its provided-buffer ring and one multishot
// recvmsg per listen socket (sockets come from ListenSockets::ForReceiver and
// are not owned). Poll() waits for completions, validates each datagram's
// io_uring_recvmsg_out layout, decodes the source (msg_name) and the local
// address (IP_PKTINFO / IPV6_PKTINFO) and hands a ReceivedDatagram to the
// callback; the buffer goes back to the ring right after the callback.
// Truncated datagrams (MSG_TRUNC) and truncated names are dropped and
// counted; a multishot request that ends (no IORING_CQE_F_MORE, e.g. after
// -ENOBUFS) is re-armed after the batch's buffers are returned.
//
// The owner may queue its own SQEs on ring() from inside the callback (the
// msg_ring wake-ups to shards): they go out with the next Poll()'s submit,
// batched with the wait. Completions carrying other tags are passed to the
// optional `on_other` callback.
//
// Thread affinity: everything except Wake()/Stop() belongs to the receive
// thread, and Create() must run on it (the ring is SINGLE_ISSUER|
// DEFER_TASKRUN). Wake() and Stop() may be called from any thread: they
// write an eventfd the ring polls (multishot POLL_ADD), so a blocked Poll()
// returns within microseconds. An eventfd, not msg_ring, because the stopping
// thread (main, signal handling) has no ring of its own to send from.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sipshard/base/clock.h"
#include "sipshard/transport/buffer_ring.h"
#include "sipshard/transport/socket_address.h"
#include "sipshard/transport/udp_socket.h"
#include "sipshard/transport/uring.h"

namespace sipshard::transport {

// One received datagram, valid only for the duration of the callback:
// `payload` points into a ring buffer that is recycled as soon as the
// callback returns. Copy what must outlive it.
struct ReceivedDatagram {
  std::string_view payload;
  SocketAddress source;
  // The address the datagram was sent to (from pktinfo), with the listen
  // port; falls back to the socket's bound address if pktinfo is absent.
  SocketAddress local;
  int listen_index = 0;
  // Read once per Poll() batch, right after the wait returns.
  base::Nanos received_at = 0;
};

// Plain counters, owned by the receive thread; copy out for metrics.
struct UdpReceiverCounters {
  uint64_t received = 0;         // datagrams handed to the callback
  uint64_t bytes = 0;            // their payload bytes
  uint64_t truncated = 0;        // dropped: MSG_TRUNC or truncated name
  uint64_t enobufs = 0;          // multishot ended for lack of buffers
  uint64_t rearms = 0;           // multishot recvmsg re-armed
  uint64_t errors = 0;           // other failures, bad layouts
  uint64_t missing_pktinfo = 0;  // local address fell back to the bound one
  uint64_t wakeups = 0;          // Wake()/Stop() completions seen
  uint64_t other_completions = 0;  // non-receiver CQEs without a handler
  uint64_t disarmed_sockets = 0;   // sockets given up after repeated errors
};

struct UdpReceiverOptions {
  // Ring sizes. cq_entries 0 means max(4 × sq, 2 × buffer_count): multishot
  // can post one CQE per buffer between two polls.
  UringOptions ring{.sq_entries = 64};
  // Provided buffers: count is a power of two <= 32768. Each buffer holds
  // kReceiveHeaderBytes of recvmsg header, name and pktinfo, then payload;
  // larger datagrams are dropped as truncated.
  uint32_t buffer_count = 2048;
  uint32_t buffer_size = 4096;
  uint16_t buffer_group = 0;
};

class UdpReceiver {
 public:
  // Bytes of each buffer used before the payload: io_uring_recvmsg_out,
  // the source name and room for IP_PKTINFO and IPV6_PKTINFO cmsgs.
  static const uint32_t kReceiveHeaderBytes;

  // Creates the ring, registers the buffers and arms one multishot recvmsg
  // per socket (submitted by the first Poll). Must run on the receive
  // thread. `sockets` and `clock` must outlive the receiver.
  static absl::StatusOr<std::unique_ptr<UdpReceiver>> Create(
      std::span<const UdpSocket> sockets, const UdpReceiverOptions& options = {},
      const base::Clock& clock = base::MonotonicClock::Instance());

  ~UdpReceiver();
  UdpReceiver(const UdpReceiver&) = delete;
  UdpReceiver& operator=(const UdpReceiver&) = delete;

  // Submits queued SQEs, waits up to `wait_timeout_ms` (< 0: forever) for
  // completions, and handles the whole batch: on_datagram(const
  // ReceivedDatagram&) for each datagram, on_other(const Completion&) for
  // CQEs that are not the receiver's. Returns the datagrams delivered.
  // After Stop() it no longer blocks.
  template <typename OnDatagram, typename OnOther>
  int Poll(int wait_timeout_ms, OnDatagram&& on_datagram, OnOther&& on_other);

  template <typename OnDatagram>
  int Poll(int wait_timeout_ms, OnDatagram&& on_datagram) {
    return Poll(wait_timeout_ms, on_datagram,
                [this](const Completion&) { ++counters_.other_completions; });
  }

  // Makes a blocked (or the next) Poll() return promptly. Any thread.
  void Wake();
  // Sets the stop flag, then wakes. Any thread.
  void Stop();
  bool stop_requested() const {
    return stop_requested_.load(std::memory_order_acquire);
  }

  // The receive thread's ring, for the owner's own SQEs (msg_ring wakes).
  Uring& ring() { return *ring_; }
  const UdpReceiverCounters& counters() const { return counters_; }
  int listen_count() const { return static_cast<int>(listeners_.size()); }
  uint32_t max_payload_bytes() const {
    return buffers_->buffer_size() - kReceiveHeaderBytes;
  }

 private:
  struct Listener {
    int fd = -1;
    SocketAddress bound;
    // Layout template for every multishot completion; the kernel reads it
    // at arm time, and Poll reads it to find name/cmsg/payload offsets.
    msghdr header{};
    bool rearm_pending = false;
    bool disarmed = false;
    int consecutive_failures = 0;
  };

  explicit UdpReceiver(const base::Clock& clock) : clock_(&clock) {}

  bool ArmReceive(int listen_index);
  bool ArmWake();
  // Decodes a kReceive completion into `datagram`; false if it carries no
  // deliverable datagram (error, truncation). Never recycles.
  bool DecodeReceive(const Completion& completion, base::Nanos now,
                     ReceivedDatagram* datagram);
  // Recycles the completion's buffer and notes a needed re-arm.
  void FinishReceive(const Completion& completion);
  void HandleWake(const Completion& completion);
  // Publishes recycled buffers, then queues the pending re-arms.
  void FinishBatch();

  const base::Clock* clock_;
  // Declared before buffers_ so the buffer ring is unregistered first.
  std::unique_ptr<Uring> ring_;
  std::unique_ptr<ProvidedBufferRing> buffers_;
  std::vector<Listener> listeners_;
  int wake_fd_ = -1;
  bool wake_rearm_pending_ = false;
  bool rearms_pending_ = false;
  std::atomic<bool> stop_requested_{false};
  UdpReceiverCounters counters_;
};

template <typename OnDatagram, typename OnOther>
int UdpReceiver::Poll(int wait_timeout_ms, OnDatagram&& on_datagram,
                      OnOther&& on_other) {
  const int wait = ring_->SubmitAndWait(stop_requested() ? 0 : wait_timeout_ms);
  if (wait < 0 && wait != -ETIME && wait != -EINTR && wait != -EAGAIN &&
      wait != -EBUSY) {
    ++counters_.errors;
  }
  const base::Nanos now = clock_->NowNanos();
  int delivered = 0;
  ring_->ForEachCompletion([&](const Completion& completion) {
    switch (completion.tag()) {
      case CompletionTag::kReceive: {
        ReceivedDatagram datagram;
        if (DecodeReceive(completion, now, &datagram)) {
          ++delivered;
          on_datagram(static_cast<const ReceivedDatagram&>(datagram));
        }
        FinishReceive(completion);
        break;
      }
      case CompletionTag::kReceiverWake:
        HandleWake(completion);
        break;
      default:
        on_other(completion);
        break;
    }
  });
  FinishBatch();
  return delivered;
}

}  // namespace sipshard::transport
