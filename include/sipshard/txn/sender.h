// How the transaction and proxy layers send a datagram, without knowing
// about io_uring.
//
// The proxy and transaction layers build messages and decide where they
// go; the shard decides how bytes leave (io_uring sendmsg batched once per
// loop). Tests substitute a recording fake. `Reserve`/`Commit` let the
// writer serialize straight into send memory: one copy per message. The
// interface lives in txn/ because transactions retransmit on their own
// (timers A, E, G) and txn/ must not depend on proxy/.
//
// Thread affinity: one Sender per shard, used only by that shard's thread.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "sipshard/transport/socket_address.h"

namespace sipshard::txn {

// Where a datagram goes and which of our listen sockets it leaves from.
struct OutboundPath {
  int listen_index = 0;
  transport::SocketAddress destination;
};

class Sender {
 public:
  virtual ~Sender() = default;
  // Returns writable memory of at least `max_bytes`, or an empty span when
  // send memory is exhausted (the caller drops and counts).
  virtual std::span<char> Reserve(size_t max_bytes) = 0;
  // Sends the first `length` bytes of the last reservation. Returns false
  // if the datagram could not be queued.
  virtual bool Commit(size_t length, const OutboundPath& path) = 0;

  // Copies and sends `bytes`.
  bool Send(std::string_view bytes, const OutboundPath& path);
};

}  // namespace sipshard::txn
