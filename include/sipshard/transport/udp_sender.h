// UdpSender: queues UDP sends as io_uring sendmsg SQEs on a shard's ring.
//
// The shard hands it bytes (or serializes straight into send memory via
// Reserve/Commit); the sender copies them into memory it owns, prepares a
// sendmsg SQE (with an IP_PKTINFO / IPV6_PKTINFO cmsg when a source address
// is given, so a reply leaves from the address the request arrived on) and
// returns. It never submits: the shard loop submits once per iteration and
// routes kSend completions back to OnCompletion(), which frees the memory.
//
// Send memory is a byte ring ("arena") plus a ring of fixed slot records
// (msghdr, iovec, destination, cmsg) in send order. A send takes the next
// slot and the next contiguous arena bytes (16-byte aligned, skipping the
// tail end when a message would wrap). Completions may arrive out of order;
// memory is reclaimed from the oldest send forward once it has completed.
// Why a byte ring and not fixed-size slots: SIP datagrams range from ~300
// bytes to tens of KB, so fixed slots either waste most of their memory or
// cap the message size; the ring spends exactly what is in flight, and since
// UDP sendmsg completes almost always inline at submit, what is in flight is
// one loop iteration's worth. Both rings are bounded: when either is full,
// Send() returns false and counts pool_exhausted (never blocks or grows).
//
// Thread affinity: shard-local, like the Uring it prepares SQEs on.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "sipshard/transport/socket_address.h"
#include "sipshard/transport/uring.h"

namespace sipshard::transport {

struct UdpSenderOptions {
  // Maximum sends in flight (rounded up to a power of two).
  uint32_t max_in_flight = 4096;
  // Bytes of send memory (rounded up to a power of two, at least 64 KiB so
  // any UDP datagram fits).
  uint32_t arena_bytes = 4u << 20;
};

// Plain counters, shard-local; copy out for metrics.
struct UdpSenderCounters {
  uint64_t queued = 0;          // SQEs prepared
  uint64_t sent = 0;            // completions with result >= 0
  uint64_t bytes = 0;           // bytes the kernel accepted
  uint64_t send_errors = 0;     // completions with result < 0 (sum below)
  uint64_t errors_refused = 0;      // ECONNREFUSED (ICMP port unreachable)
  uint64_t errors_again = 0;        // EAGAIN, ENOBUFS, ENOMEM: socket full
  uint64_t errors_unreachable = 0;  // ENETUNREACH, EHOSTUNREACH, EHOSTDOWN
  uint64_t errors_too_big = 0;      // EMSGSIZE
  uint64_t errors_other = 0;        // EINVAL, EPERM, ...
  uint64_t pool_exhausted = 0;  // Send/Reserve refused: slots or arena full
  uint64_t no_sqe = 0;          // refused: the ring had no SQE to give
  uint64_t bad_completions = 0; // OnCompletion for no in-flight send
  uint64_t bad_commits = 0;     // Commit without reservation or too long
};

class UdpSender {
 public:
  static constexpr size_t kMaxDatagramBytes = 65507;

  // `ring` must outlive the sender (both belong to the shard).
  explicit UdpSender(Uring& ring, const UdpSenderOptions& options = {});
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;

  // Copies `bytes` into send memory and queues a sendmsg of it from
  // `socket_fd` to `dest`; with `source_local` (same family as dest, not a
  // wildcard) the datagram leaves from that address. Returns false, and
  // counts, when the pool is exhausted or no SQE is available.
  bool Send(int socket_fd, const SocketAddress& dest, std::string_view bytes,
            const SocketAddress* source_local = nullptr);

  // In-place variant: returns up to `max_bytes` of contiguous send memory
  // to serialize into, or an empty span (counted) when it is not available.
  // Only one reservation is open at a time; a new Reserve() or Send()
  // silently abandons an uncommitted one.
  std::span<char> Reserve(size_t max_bytes);
  // Queues the first `length` bytes of the open reservation, like Send().
  // `length` must not exceed the reserved size.
  bool Commit(size_t length, int socket_fd, const SocketAddress& dest,
              const SocketAddress* source_local = nullptr);

  // Releases the send named by a kSend completion's payload and counts the
  // result (bytes sent or -errno).
  void OnCompletion(int32_t result, uint64_t payload);
  // Routes a completion if it is a kSend one; returns whether it was.
  bool HandleCompletion(const Completion& completion) {
    if (completion.tag() != CompletionTag::kSend) return false;
    OnCompletion(completion.result, completion.payload());
    return true;
  }

  size_t in_flight() const { return static_cast<size_t>(tail_ - head_); }
  size_t arena_bytes_in_use() const {
    return static_cast<size_t>(alloc_position_ - free_position_);
  }
  size_t arena_capacity() const { return arena_capacity_; }
  size_t slot_capacity() const { return slots_.size(); }
  const UdpSenderCounters& counters() const { return counters_; }

 private:
  // Room for one IPV6_PKTINFO (or the smaller IP_PKTINFO) cmsg.
  static constexpr size_t kControlBytes = 40;

  struct Slot {
    msghdr header;
    iovec iov;
    SocketAddress dest;
    alignas(cmsghdr) unsigned char control[kControlBytes];
    uint64_t sequence = 0;
    uint64_t end_position = 0;  // Arena position just past this send.
    bool in_flight = false;
  };

  struct Reservation {
    bool open = false;
    uint64_t start_position = 0;  // Includes the skipped wrap tail.
    uint64_t data_position = 0;
    size_t max_bytes = 0;
  };

  bool ReserveInternal(size_t max_bytes);
  void Reclaim();

  Uring* ring_;
  std::unique_ptr<char[]> arena_;
  size_t arena_capacity_;
  std::vector<Slot> slots_;
  uint64_t slot_mask_;
  // Arena positions grow forever; physical offset = position & (cap - 1).
  uint64_t alloc_position_ = 0;
  uint64_t free_position_ = 0;
  // Send sequence numbers: [head_, tail_) are in flight, oldest first.
  uint64_t head_ = 0;
  uint64_t tail_ = 0;
  Reservation reservation_;
  UdpSenderCounters counters_;
};

}  // namespace sipshard::transport
