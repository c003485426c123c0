// Batched UDP I/O for the load generator and the backend farm.
//
// The UAC and UAS engines never touch sockets: they hand every datagram
// they produce to a PacketSink, which lets the unit tests wire a UAC engine
// straight to a UAS engine on a manual clock. On the real loop a
// BatchSender collects datagrams into a fixed arena and sends them with one
// sendmmsg() per loop turn; a BatchReceiver drains a socket with
// recvmmsg(). Each generator/farm thread owns its own sockets, senders and
// receivers; nothing here is shared between threads.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "sipshard/transport/socket_address.h"

namespace sipshard::load {

class PacketSink {
 public:
  virtual ~PacketSink() = default;
  // Sends (or queues) one datagram; `bytes` may be reused after the call.
  virtual void Send(std::string_view bytes, const transport::SocketAddress& to) = 0;
};

// Queues datagrams for one socket and sends them in batches.
class BatchSender final : public PacketSink {
 public:
  static constexpr size_t kSlotSize = 4096;  // larger datagrams are dropped
  static constexpr size_t kSlots = 64;

  explicit BatchSender(int fd);
  BatchSender(const BatchSender&) = delete;
  BatchSender& operator=(const BatchSender&) = delete;

  void Send(std::string_view bytes, const transport::SocketAddress& to) override;
  // Sends everything queued. A full socket buffer is waited out briefly
  // (bounded); datagrams that still cannot be sent are counted and dropped.
  void Flush();

  uint64_t sent() const { return sent_; }
  uint64_t send_errors() const { return send_errors_; }

 private:
  int fd_;
  std::vector<char> arena_;
  std::vector<mmsghdr> headers_;
  std::vector<iovec> iovecs_;
  std::vector<transport::SocketAddress> addresses_;
  size_t queued_ = 0;
  uint64_t sent_ = 0;
  uint64_t send_errors_ = 0;
};

// Receives up to kBatch datagrams per call with recvmmsg().
class BatchReceiver {
 public:
  static constexpr size_t kBatch = 64;
  static constexpr size_t kBufferSize = 4096;

  BatchReceiver();
  BatchReceiver(const BatchReceiver&) = delete;
  BatchReceiver& operator=(const BatchReceiver&) = delete;

  // Asks for kernel receive timestamps (SO_TIMESTAMPNS) on `fd`, so that
  // latency measured by a loop that wakes up on a tick is still exact.
  // Returns false if the socket refused.
  bool EnableTimestamps(int fd);

  // Non-blocking; returns how many datagrams were received (0 when none).
  size_t Receive(int fd);
  // CLOCK_REALTIME arrival time of datagram i in ns, or 0 if unknown.
  int64_t Timestamp(size_t i) const;
  std::string_view Data(size_t i) const;
  // The sender of datagram i (unspecified family if unparseable).
  transport::SocketAddress Source(size_t i) const;
  // True when datagram i did not fit its buffer.
  bool Truncated(size_t i) const { return (headers_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }

 private:
  std::vector<char> buffers_;
  std::vector<mmsghdr> headers_;
  std::vector<iovec> iovecs_;
  std::vector<sockaddr_storage> sources_;
  static constexpr size_t kControlSize = 128;
  std::vector<char> control_;  // kControlSize per datagram, when timestamping
  bool timestamps_ = false;
};

}  // namespace sipshard::load
