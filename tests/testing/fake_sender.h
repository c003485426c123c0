// FakeSender: a proxy::Sender that records every datagram instead of
// sending it, for unit tests of the proxy and transaction layers.
//
// Reserve() hands out a span into one internal buffer; Commit() copies the
// committed bytes and the OutboundPath into `sent()`. Tests can make the
// next reservations or commits fail to exercise the send-failure paths.
// Single-threaded, like the shard-local Sender it stands in for.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "sipshard/proxy/sender.h"

namespace sipshard::testing {

struct SentDatagram {
  std::string bytes;
  proxy::OutboundPath path;
};

class FakeSender : public proxy::Sender {
 public:
  // Reservations larger than `capacity` get an empty span, like a send
  // pool without room.
  explicit FakeSender(size_t capacity = 128 * 1024) : buffer_(capacity) {}

  std::span<char> Reserve(size_t max_bytes) override;
  bool Commit(size_t length, const proxy::OutboundPath& path) override;

  const std::vector<SentDatagram>& sent() const { return sent_; }
  // Returns the last datagram sent; the test must check sent() is non-empty.
  const SentDatagram& last() const { return sent_.back(); }
  void Clear() { sent_.clear(); }

  // Makes every later Reserve() return an empty span (true) or work again.
  void set_reserve_fails(bool fails) { reserve_fails_ = fails; }
  // Makes every later Commit() return false without recording (true).
  void set_commit_fails(bool fails) { commit_fails_ = fails; }

  size_t reserve_calls() const { return reserve_calls_; }
  // Commits without a preceding reservation, or longer than it: always a
  // bug in the code under test.
  size_t misuse_count() const { return misuse_count_; }

 private:
  std::vector<char> buffer_;
  size_t reserved_ = 0;
  bool has_reservation_ = false;
  bool reserve_fails_ = false;
  bool commit_fails_ = false;
  size_t reserve_calls_ = 0;
  size_t misuse_count_ = 0;
  std::vector<SentDatagram> sent_;
};

}  // namespace sipshard::testing
