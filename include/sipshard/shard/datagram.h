// A received datagram on its way from a receive thread to a worker shard.
//
// Receive threads copy each datagram out of the kernel's provided-buffer
// ring into a Datagram slot of their own DatagramPool, so the ring buffer is
// recycled at once, and pass the slot pointer through the shard's inbox.
// The shard reads it and hands it back to the pool it came from. Ownership
// moves one way, one owner at a time; the slot memory always belongs to the
// pool of the receive thread that filled it.
#pragma once

#include <cstdint>
#include <string_view>

#include "sipshard/base/clock.h"
#include "sipshard/transport/socket_address.h"

namespace sipshard::shard {

struct Datagram {
  transport::SocketAddress source;
  transport::SocketAddress local;  // the address it arrived on (IP_PKTINFO)
  base::Nanos received_at = 0;
  uint32_t length = 0;
  uint16_t listen_index = 0;
  uint16_t pool_index = 0;  // which receive thread's pool owns the slot
  uint32_t slot_index = 0;
  uint32_t capacity = 0;  // payload bytes the slot can hold

  // The payload follows the header in the same slot.
  char* payload() { return reinterpret_cast<char*>(this + 1); }
  std::string_view bytes() const {
    return std::string_view(reinterpret_cast<const char*>(this + 1), length);
  }
};

}  // namespace sipshard::shard
