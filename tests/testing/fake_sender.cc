#include "tests/testing/fake_sender.h"

#include <cstring>

namespace sipshard::testing {

std::span<char> FakeSender::Reserve(size_t max_bytes) {
  ++reserve_calls_;
  if (reserve_fails_ || max_bytes > buffer_.size()) {
    has_reservation_ = false;
    return {};
  }
  // Scribble over the buffer so that stale bytes from an earlier datagram
  // can never pass for output the caller failed to write.
  std::memset(buffer_.data(), '#', max_bytes);
  reserved_ = max_bytes;
  has_reservation_ = true;
  return std::span<char>(buffer_.data(), max_bytes);
}

bool FakeSender::Commit(size_t length, const proxy::OutboundPath& path) {
  if (!has_reservation_ || length > reserved_) {
    ++misuse_count_;
    return false;
  }
  has_reservation_ = false;
  if (commit_fails_) return false;
  sent_.push_back(SentDatagram{std::string(buffer_.data(), length), path});
  return true;
}

}  // namespace sipshard::testing
