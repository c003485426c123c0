// Chooses the worker shard that owns a datagram, before any parsing.
//
// Every message of a call must reach the same shard, since that shard owns
// the call's transactions without locks. Responses to requests we sent
// carry our branch in their top Via, which names the shard directly (safe
// against peers that rewrite Call-IDs); everything else hashes the Call-ID.
// Datagrams without a Call-ID go to shard 0 so they still get their 400.
// Pure function, called on receive threads.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipshard::shard {

enum class ShardChoice : uint8_t { kByCallId, kByBranch, kNoCallId };

struct ShardSelection {
  uint16_t shard = 0;
  ShardChoice choice = ShardChoice::kByCallId;
};

ShardSelection SelectShard(std::string_view datagram, uint16_t shard_count);

}  // namespace sipshard::shard
