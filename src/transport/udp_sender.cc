#include "sipshard/transport/udp_sender.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>

namespace sipshard::transport {

namespace {

constexpr size_t kAlignment = 16;
constexpr size_t kMinArenaBytes = 64 * 1024;

constexpr uint64_t AlignUp(uint64_t value) {
  return (value + kAlignment - 1) & ~uint64_t{kAlignment - 1};
}

constexpr size_t CmsgHeaderBytes() {
  return (sizeof(cmsghdr) + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1);
}
constexpr size_t CmsgSpace(size_t data_length) {
  return CmsgHeaderBytes() +
         ((data_length + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1));
}

// Fills `control` with a pktinfo cmsg choosing `source` as the datagram's
// source address; returns the control length, 0 when none applies.
size_t BuildSourceCmsg(const SocketAddress& source, const SocketAddress& dest,
                       unsigned char* control, size_t capacity) {
  if (source.family() != dest.family() || source.IsWildcard()) return 0;
  cmsghdr header;
  std::memset(&header, 0, sizeof(header));
  if (source.is_ipv4()) {
    in_pktinfo info;
    std::memset(&info, 0, sizeof(info));
    info.ipi_spec_dst = source.ipv4().sin_addr;
    const size_t space = CmsgSpace(sizeof(info));
    if (space > capacity) return 0;
    header.cmsg_level = IPPROTO_IP;
    header.cmsg_type = IP_PKTINFO;
    header.cmsg_len = CmsgHeaderBytes() + sizeof(info);
    std::memset(control, 0, space);
    std::memcpy(control, &header, sizeof(header));
    std::memcpy(control + CmsgHeaderBytes(), &info, sizeof(info));
    return space;
  }
  in6_pktinfo info;
  std::memset(&info, 0, sizeof(info));
  info.ipi6_addr = source.ipv6().sin6_addr;
  info.ipi6_ifindex = source.ipv6().sin6_scope_id;
  const size_t space = CmsgSpace(sizeof(info));
  if (space > capacity) return 0;
  header.cmsg_level = IPPROTO_IPV6;
  header.cmsg_type = IPV6_PKTINFO;
  header.cmsg_len = CmsgHeaderBytes() + sizeof(info);
  std::memset(control, 0, space);
  std::memcpy(control, &header, sizeof(header));
  std::memcpy(control + CmsgHeaderBytes(), &info, sizeof(info));
  return space;
}

}  // namespace

static_assert(CmsgSpace(sizeof(in6_pktinfo)) <= 40);
static_assert(CmsgSpace(sizeof(in_pktinfo)) <= 40);

UdpSender::UdpSender(Uring& ring, const UdpSenderOptions& options)
    : ring_(&ring),
      arena_capacity_(std::bit_ceil(
          std::max<size_t>(options.arena_bytes, kMinArenaBytes))),
      slots_(std::bit_ceil(std::max<size_t>(options.max_in_flight, 1))),
      slot_mask_(slots_.size() - 1) {
  arena_ = std::make_unique<char[]>(arena_capacity_);  // Zeroed: prefaults.
  for (Slot& slot : slots_) std::memset(&slot.header, 0, sizeof(slot.header));
}

bool UdpSender::ReserveInternal(size_t max_bytes) {
  reservation_.open = false;
  const uint64_t needed = AlignUp(max_bytes);
  if (needed > arena_capacity_ ||
      tail_ - head_ >= slots_.size()) {
    ++counters_.pool_exhausted;
    return false;
  }
  const uint64_t offset = alloc_position_ & (arena_capacity_ - 1);
  // A message never wraps: skip the arena's tail end if it does not fit.
  const uint64_t skip = offset + needed > arena_capacity_
                            ? arena_capacity_ - offset
                            : 0;
  if (alloc_position_ + skip + needed - free_position_ > arena_capacity_) {
    ++counters_.pool_exhausted;
    return false;
  }
  reservation_.open = true;
  reservation_.start_position = alloc_position_;
  reservation_.data_position = alloc_position_ + skip;
  reservation_.max_bytes = max_bytes;
  return true;
}

std::span<char> UdpSender::Reserve(size_t max_bytes) {
  if (!ReserveInternal(max_bytes)) return {};
  return std::span<char>(
      arena_.get() + (reservation_.data_position & (arena_capacity_ - 1)),
      max_bytes);
}

bool UdpSender::Send(int socket_fd, const SocketAddress& dest,
                     std::string_view bytes,
                     const SocketAddress* source_local) {
  if (!ReserveInternal(bytes.size())) return false;
  std::memcpy(
      arena_.get() + (reservation_.data_position & (arena_capacity_ - 1)),
      bytes.data(), bytes.size());
  return Commit(bytes.size(), socket_fd, dest, source_local);
}

bool UdpSender::Commit(size_t length, int socket_fd, const SocketAddress& dest,
                       const SocketAddress* source_local) {
  if (!reservation_.open || length > reservation_.max_bytes) {
    reservation_.open = false;
    ++counters_.bad_commits;
    return false;
  }
  reservation_.open = false;
  io_uring_sqe* sqe = ring_->GetSqe();
  if (sqe == nullptr) {
    ++counters_.no_sqe;
    return false;
  }
  const uint64_t sequence = tail_++;
  Slot& slot = slots_[sequence & slot_mask_];
  slot.sequence = sequence;
  slot.in_flight = true;
  slot.dest = dest;
  slot.iov.iov_base =
      arena_.get() + (reservation_.data_position & (arena_capacity_ - 1));
  slot.iov.iov_len = length;
  // Zero-length datagrams are legal UDP; keep them off the arena size math.
  alloc_position_ = reservation_.data_position + AlignUp(length);
  slot.end_position = alloc_position_;

  msghdr& header = slot.header;
  // The kernel only reads msg_name; msghdr just lacks a const member.
  header.msg_name = const_cast<struct sockaddr*>(slot.dest.sockaddr());
  header.msg_namelen = slot.dest.length();
  header.msg_iov = &slot.iov;
  header.msg_iovlen = 1;
  header.msg_control = nullptr;
  header.msg_controllen = 0;
  header.msg_flags = 0;
  if (source_local != nullptr) {
    const size_t control_length =
        BuildSourceCmsg(*source_local, dest, slot.control, kControlBytes);
    if (control_length > 0) {
      header.msg_control = slot.control;
      header.msg_controllen = control_length;
    }
  }
  io_uring_prep_sendmsg(sqe, socket_fd, &header, 0);
  io_uring_sqe_set_data64(sqe, EncodeUserData(CompletionTag::kSend, sequence));
  ++counters_.queued;
  return true;
}

void UdpSender::OnCompletion(int32_t result, uint64_t payload) {
  Slot& slot = slots_[payload & slot_mask_];
  if (!slot.in_flight || slot.sequence != payload) {
    ++counters_.bad_completions;
    return;
  }
  slot.in_flight = false;
  if (result >= 0) {
    ++counters_.sent;
    counters_.bytes += static_cast<uint64_t>(result);
  } else {
    ++counters_.send_errors;
    switch (-result) {
      case ECONNREFUSED:
        ++counters_.errors_refused;
        break;
      case EAGAIN:
      case ENOBUFS:
      case ENOMEM:
        ++counters_.errors_again;
        break;
      case ENETUNREACH:
      case EHOSTUNREACH:
      case EHOSTDOWN:
        ++counters_.errors_unreachable;
        break;
      case EMSGSIZE:
        ++counters_.errors_too_big;
        break;
      default:
        ++counters_.errors_other;
        break;
    }
  }
  Reclaim();
}

void UdpSender::Reclaim() {
  while (head_ != tail_) {
    Slot& oldest = slots_[head_ & slot_mask_];
    if (oldest.in_flight) break;
    free_position_ = oldest.end_position;
    ++head_;
  }
}

}  // namespace sipshard::transport
