// Finds the top Via's branch of a datagram without parsing it.
//
// Receive threads use it on responses: a response whose top Via carries a
// branch we generated goes to the shard encoded in that branch. Same header
// rules as the full parser: first header named "Via" or "v" (any case),
// first element of its comma-separated value, `branch` parameter.
#pragma once

#include <string_view>

namespace sipshard::sip {

// Returns the branch parameter value of the topmost Via element, or an
// empty view if there is none.
std::string_view FindTopViaBranch(std::string_view datagram);

}  // namespace sipshard::sip
