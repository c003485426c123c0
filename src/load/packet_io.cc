#include "sipshard/load/packet_io.h"

#include <poll.h>
#include <sys/socket.h>

#include <time.h>

#include <cerrno>
#include <cstring>

namespace sipshard::load {

BatchSender::BatchSender(int fd)
    : fd_(fd),
      arena_(kSlotSize * kSlots),
      headers_(kSlots),
      iovecs_(kSlots),
      addresses_(kSlots) {}

void BatchSender::Send(std::string_view bytes, const transport::SocketAddress& to) {
  if (bytes.size() > kSlotSize || !to.valid()) {
    ++send_errors_;
    return;
  }
  if (queued_ == kSlots) Flush();
  char* slot = arena_.data() + queued_ * kSlotSize;
  std::memcpy(slot, bytes.data(), bytes.size());
  addresses_[queued_] = to;
  iovecs_[queued_] = {slot, bytes.size()};
  mmsghdr& header = headers_[queued_];
  std::memset(&header, 0, sizeof(header));
  header.msg_hdr.msg_iov = &iovecs_[queued_];
  header.msg_hdr.msg_iovlen = 1;
  // sendmmsg() takes a non-const name; the kernel only reads it.
  header.msg_hdr.msg_name = const_cast<struct sockaddr*>(addresses_[queued_].sockaddr());
  header.msg_hdr.msg_namelen = addresses_[queued_].length();
  ++queued_;
}

void BatchSender::Flush() {
  size_t done = 0;
  int waits = 0;
  while (done < queued_) {
    const int n = sendmmsg(fd_, &headers_[done], static_cast<unsigned>(queued_ - done), 0);
    if (n > 0) {
      done += static_cast<size_t>(n);
      sent_ += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && waits < 10) {
      // Socket buffer full: wait (bounded) for room.
      pollfd pfd = {fd_, POLLOUT, 0};
      poll(&pfd, 1, 10);
      ++waits;
      continue;
    }
    // A hard error on the first datagram of the rest: drop it, go on.
    ++send_errors_;
    ++done;
  }
  queued_ = 0;
}

BatchReceiver::BatchReceiver()
    : buffers_(kBatch * kBufferSize), headers_(kBatch), iovecs_(kBatch), sources_(kBatch) {}

bool BatchReceiver::EnableTimestamps(int fd) {
  const int on = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) != 0) return false;
  control_.assign(kBatch * kControlSize, 0);
  timestamps_ = true;
  return true;
}

int64_t BatchReceiver::Timestamp(size_t i) const {
  if (!timestamps_) return 0;
  msghdr& header = const_cast<msghdr&>(headers_[i].msg_hdr);
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    }
  }
  return 0;
}

size_t BatchReceiver::Receive(int fd) {
  for (size_t i = 0; i < kBatch; ++i) {
    iovecs_[i] = {buffers_.data() + i * kBufferSize, kBufferSize};
    mmsghdr& header = headers_[i];
    std::memset(&header, 0, sizeof(header));
    header.msg_hdr.msg_iov = &iovecs_[i];
    header.msg_hdr.msg_iovlen = 1;
    header.msg_hdr.msg_name = &sources_[i];
    header.msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    if (timestamps_) {
      header.msg_hdr.msg_control = control_.data() + i * kControlSize;
      header.msg_hdr.msg_controllen = kControlSize;
    }
  }
  int n;
  do {
    n = recvmmsg(fd, headers_.data(), static_cast<unsigned>(kBatch), MSG_DONTWAIT, nullptr);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? static_cast<size_t>(n) : 0;
}

std::string_view BatchReceiver::Data(size_t i) const {
  size_t length = headers_[i].msg_len;
  if (length > kBufferSize) length = kBufferSize;
  return std::string_view(buffers_.data() + i * kBufferSize, length);
}

transport::SocketAddress BatchReceiver::Source(size_t i) const {
  auto address = transport::SocketAddress::FromSockaddr(
      reinterpret_cast<const struct sockaddr*>(&sources_[i]), headers_[i].msg_hdr.msg_namelen);
  return address ? *address : transport::SocketAddress();
}

}  // namespace sipshard::load
