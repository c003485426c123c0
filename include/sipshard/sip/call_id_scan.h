// Finds the Call-ID of a datagram without parsing it, for shard choice.
//
// Receive threads call this on every datagram, so it only walks line starts
// (memchr for '\n') and looks at the first one or two characters of each.
// It follows exactly the rules of the full parser: the first header named
// "Call-ID" or "i" (any case, SP/HT allowed before the colon), value
// trimmed of linear white space, folded lines included. Hence every message
// of a call lands on the same shard whatever header form each peer uses.
#pragma once

#include <cstdint>
#include <string_view>

namespace sipshard::sip {

// Returns the Call-ID value, or an empty view if the header section holds
// none. Only the header section is scanned (stops at the empty line).
std::string_view FindCallId(std::string_view datagram);

// Returns the stable hash the shard choice is made from.
uint64_t CallIdHash(std::string_view call_id);

}  // namespace sipshard::sip
