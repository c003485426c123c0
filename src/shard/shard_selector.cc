#include "sipshard/shard/shard_selector.h"

#include "sipshard/base/hash.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/via_scan.h"
#include "sipshard/txn/branch_id.h"

namespace sipshard::shard {

ShardSelection SelectShard(std::string_view datagram, uint16_t shard_count) {
  size_t start = 0;
  while (start < datagram.size() && (datagram[start] == '\r' || datagram[start] == '\n')) ++start;
  const bool is_response = datagram.substr(start, 4) == "SIP/";
  if (is_response) {
    const std::optional<uint16_t> shard = txn::ShardFromBranch(sip::FindTopViaBranch(datagram));
    if (shard && *shard < shard_count) return {*shard, ShardChoice::kByBranch};
  }
  const std::string_view call_id = sip::FindCallId(datagram);
  if (call_id.empty()) return {0, ShardChoice::kNoCallId};
  return {static_cast<uint16_t>(base::ReduceToRange(sip::CallIdHash(call_id), shard_count)),
          ShardChoice::kByCallId};
}

}  // namespace sipshard::shard
