#include "sipshard/transport/udp_receiver.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sipshard::transport {

namespace {

// CMSG_SPACE without the macro (its C casts trip -Wold-style-cast).
constexpr size_t AlignCmsg(size_t length) {
  return (length + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1);
}
constexpr size_t CmsgSpace(size_t data_length) {
  return AlignCmsg(sizeof(cmsghdr)) + AlignCmsg(data_length);
}

// Room for either name family, rounded so the cmsgs that follow the name in
// each buffer stay 8-byte aligned.
constexpr socklen_t kNameBytes = AlignCmsg(sizeof(sockaddr_in6));
// Room for both pktinfo kinds: a dual-stack v6 socket can report either.
constexpr size_t kControlBytes =
    CmsgSpace(sizeof(in6_pktinfo)) + CmsgSpace(sizeof(in_pktinfo));

// A socket that failed this many times in a row without delivering
// anything is left unarmed rather than re-armed in a tight error loop.
constexpr int kMaxConsecutiveFailures = 64;

// Extracts the local (destination) address from IP_PKTINFO/IPV6_PKTINFO.
bool LocalAddressFromCmsgs(io_uring_recvmsg_out* out, msghdr* header,
                           uint16_t local_port, SocketAddress* local) {
  for (cmsghdr* cmsg = io_uring_recvmsg_cmsg_firsthdr(out, header);
       cmsg != nullptr;
       cmsg = io_uring_recvmsg_cmsg_nexthdr(out, header, cmsg)) {
    const unsigned char* data =
        reinterpret_cast<const unsigned char*>(cmsg) +
        AlignCmsg(sizeof(cmsghdr));
    if (cmsg->cmsg_level == IPPROTO_IP && cmsg->cmsg_type == IP_PKTINFO &&
        cmsg->cmsg_len >= AlignCmsg(sizeof(cmsghdr)) + sizeof(in_pktinfo)) {
      in_pktinfo info;
      std::memcpy(&info, data, sizeof(info));
      *local = SocketAddress::FromIpv4(info.ipi_addr, local_port);
      return true;
    }
    if (cmsg->cmsg_level == IPPROTO_IPV6 && cmsg->cmsg_type == IPV6_PKTINFO &&
        cmsg->cmsg_len >= AlignCmsg(sizeof(cmsghdr)) + sizeof(in6_pktinfo)) {
      in6_pktinfo info;
      std::memcpy(&info, data, sizeof(info));
      // The interface index matters only for link-local addresses.
      const bool link_local = IN6_IS_ADDR_LINKLOCAL(&info.ipi6_addr);
      *local = SocketAddress::FromIpv6(info.ipi6_addr, local_port,
                                       link_local ? info.ipi6_ifindex : 0);
      return true;
    }
  }
  return false;
}

}  // namespace

const uint32_t UdpReceiver::kReceiveHeaderBytes =
    static_cast<uint32_t>(sizeof(io_uring_recvmsg_out) + kNameBytes +
                          kControlBytes);

absl::StatusOr<std::unique_ptr<UdpReceiver>> UdpReceiver::Create(
    std::span<const UdpSocket> sockets, const UdpReceiverOptions& options,
    const base::Clock& clock) {
  if (sockets.empty()) {
    return absl::InvalidArgumentError("UdpReceiver: no sockets");
  }
  if (options.buffer_size <= kReceiveHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("UdpReceiver: buffer_size must exceed ",
                     kReceiveHeaderBytes, " header bytes"));
  }
  std::unique_ptr<UdpReceiver> receiver(new UdpReceiver(clock));

  UringOptions ring_options = options.ring;
  if (ring_options.cq_entries == 0) {
    ring_options.cq_entries =
        std::max(4 * ring_options.sq_entries, 2 * options.buffer_count);
  }
  absl::StatusOr<std::unique_ptr<Uring>> ring = Uring::Create(ring_options);
  if (!ring.ok()) return ring.status();
  receiver->ring_ = std::move(*ring);
  if (ring_options.start_disabled) {
    // A receiver arms SQEs immediately, so it needs a live ring.
    if (absl::Status s = receiver->ring_->Enable(); !s.ok()) return s;
  }

  absl::StatusOr<std::unique_ptr<ProvidedBufferRing>> buffers =
      ProvidedBufferRing::Create(*receiver->ring_, options.buffer_group,
                                 options.buffer_count, options.buffer_size);
  if (!buffers.ok()) return buffers.status();
  receiver->buffers_ = std::move(*buffers);

  receiver->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (receiver->wake_fd_ < 0) return absl::ErrnoToStatus(errno, "eventfd");

  receiver->listeners_.resize(sockets.size());
  for (size_t i = 0; i < sockets.size(); ++i) {
    Listener& listener = receiver->listeners_[i];
    if (!sockets[i].is_open()) {
      return absl::InvalidArgumentError(
          absl::StrCat("UdpReceiver: socket ", i, " is not open"));
    }
    listener.fd = sockets[i].fd();
    listener.bound = sockets[i].local_address();
    std::memset(&listener.header, 0, sizeof(listener.header));
    listener.header.msg_namelen = kNameBytes;
    listener.header.msg_controllen = kControlBytes;
  }
  for (int i = 0; i < receiver->listen_count(); ++i) {
    if (!receiver->ArmReceive(i)) {
      return absl::ResourceExhaustedError("UdpReceiver: SQ full while arming");
    }
  }
  if (!receiver->ArmWake()) {
    return absl::ResourceExhaustedError("UdpReceiver: SQ full while arming");
  }
  return receiver;
}

UdpReceiver::~UdpReceiver() {
  // Unregister the buffers while the ring lives, then drop the ring, and
  // close the eventfd it polls last.
  buffers_.reset();
  ring_.reset();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void UdpReceiver::Wake() {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: a wake-up is pending anyway.
  [[maybe_unused]] const ssize_t written = write(wake_fd_, &one, sizeof(one));
}

void UdpReceiver::Stop() {
  stop_requested_.store(true, std::memory_order_release);
  Wake();
}

bool UdpReceiver::ArmReceive(int listen_index) {
  Listener& listener = listeners_[static_cast<size_t>(listen_index)];
  io_uring_sqe* sqe = ring_->GetSqe();
  if (sqe == nullptr) return false;
  // MSG_TRUNC makes payloadlen report the real size of a clipped datagram.
  io_uring_prep_recvmsg_multishot(sqe, listener.fd, &listener.header,
                                  MSG_TRUNC);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = buffers_->group_id();
  io_uring_sqe_set_data64(
      sqe, EncodeUserData(CompletionTag::kReceive,
                          static_cast<uint64_t>(listen_index)));
  return true;
}

bool UdpReceiver::ArmWake() {
  io_uring_sqe* sqe = ring_->GetSqe();
  if (sqe == nullptr) return false;
  io_uring_prep_poll_multishot(sqe, wake_fd_, POLLIN);
  io_uring_sqe_set_data64(sqe,
                          EncodeUserData(CompletionTag::kReceiverWake, 0));
  return true;
}

bool UdpReceiver::DecodeReceive(const Completion& completion, base::Nanos now,
                                ReceivedDatagram* datagram) {
  const uint64_t index = completion.payload();
  if (index >= listeners_.size()) {
    ++counters_.errors;
    return false;
  }
  Listener& listener = listeners_[index];
  if (completion.result < 0) {
    if (completion.result == -ENOBUFS) {
      ++counters_.enobufs;
    } else if (completion.result != -ECANCELED) {
      ++counters_.errors;
      ++listener.consecutive_failures;
    }
    return false;
  }
  if (!completion.has_buffer()) {
    ++counters_.errors;
    return false;
  }
  char* buffer = buffers_->Buffer(completion.buffer_id());
  io_uring_recvmsg_out* out =
      io_uring_recvmsg_validate(buffer, completion.result, &listener.header);
  if (out == nullptr) {
    ++counters_.errors;
    return false;
  }
  if ((out->flags & MSG_TRUNC) != 0 ||
      out->namelen > listener.header.msg_namelen) {
    ++counters_.truncated;
    return false;
  }
  std::optional<SocketAddress> source = SocketAddress::FromSockaddr(
      static_cast<const struct sockaddr*>(io_uring_recvmsg_name(out)),
      out->namelen);
  if (!source) {
    ++counters_.errors;
    return false;
  }
  datagram->source = *source;
  if (!LocalAddressFromCmsgs(out, &listener.header, listener.bound.port(),
                             &datagram->local)) {
    ++counters_.missing_pktinfo;
    datagram->local = listener.bound;
  }
  const unsigned length =
      io_uring_recvmsg_payload_length(out, completion.result, &listener.header);
  datagram->payload = std::string_view(
      static_cast<const char*>(io_uring_recvmsg_payload(out, &listener.header)),
      length);
  datagram->listen_index = static_cast<int>(index);
  datagram->received_at = now;
  listener.consecutive_failures = 0;
  ++counters_.received;
  counters_.bytes += length;
  return true;
}

void UdpReceiver::FinishReceive(const Completion& completion) {
  if (completion.has_buffer()) buffers_->Recycle(completion.buffer_id());
  if (completion.more()) return;
  const uint64_t index = completion.payload();
  if (index >= listeners_.size()) return;
  listeners_[index].rearm_pending = true;
  rearms_pending_ = true;
}

void UdpReceiver::HandleWake(const Completion& completion) {
  ++counters_.wakeups;
  uint64_t value;
  // Drain so the next Wake() is a fresh readiness edge for the poll.
  [[maybe_unused]] const ssize_t read_bytes =
      read(wake_fd_, &value, sizeof(value));
  if (!completion.more()) wake_rearm_pending_ = true;
}

void UdpReceiver::FinishBatch() {
  // Buffers first: an -ENOBUFS re-arm must find buffers to pick from.
  buffers_->Publish();
  if (wake_rearm_pending_ && ArmWake()) wake_rearm_pending_ = false;
  if (!rearms_pending_) return;
  rearms_pending_ = false;
  for (size_t i = 0; i < listeners_.size(); ++i) {
    Listener& listener = listeners_[i];
    if (!listener.rearm_pending || listener.disarmed) continue;
    if (listener.consecutive_failures >= kMaxConsecutiveFailures) {
      listener.disarmed = true;
      listener.rearm_pending = false;
      ++counters_.disarmed_sockets;
      continue;
    }
    if (ArmReceive(static_cast<int>(i))) {
      listener.rearm_pending = false;
      ++counters_.rearms;
    } else {
      rearms_pending_ = true;  // Try again after the next batch.
    }
  }
}

}  // namespace sipshard::transport
