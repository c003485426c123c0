// The proxy's response context (RFC 3261 §16.7): per INVITE/non-INVITE
// server transaction, which branches were forked where, the best final
// response so far, the collected authentication challenges, and the
// candidates still to try.
//
// Pure data plus the §16.7 step 6 ranking, so the rules are unit-tested
// table-driven. One ResponseContext per transaction slot, owned by the
// StatefulProxy of the shard (parallel to the TransactionTable's slab, no
// per-transaction allocation). Shard-local.
#pragma once

#include <array>
#include <cstdint>

#include "sipshard/config/config.h"
#include "sipshard/dispatch/destination_set.h"
#include "sipshard/txn/buffer_pool.h"
#include "sipshard/txn/transaction_table.h"

namespace sipshard::proxy {

// Ranks a final response for §16.7 step 6: lower is better. 6xx first
// (pitfall 6), then the lowest class; within 4xx the codes a UAC can act
// on (401, 407, 415, 420, 484) beat the others; a real response beats a
// locally generated one of the same code (pitfall 7).
int ResponseRank(int code, bool local);

// Returns the code to send upstream for a chosen final: 503 becomes 500
// (§16.7 step 6, pitfall 8); everything else is kept.
inline int UpstreamCode(int code) { return code == 503 ? 500 : code; }

// Returns true if a branch that ended with `code` may fail over to the
// next destination under `codes` (pitfall 14): never 2xx or 6xx.
inline bool IsFailoverCode(const config::StatusCodeSet& codes, int code) {
  return code >= 300 && code < 600 && codes.Contains(code);
}

struct ResponseContext {
  // Both null for an in-dialog request relayed to its Route / remote
  // target (one fixed next hop, no failover).
  const config::RouteConfig* route = nullptr;
  dispatch::DestinationSet* set = nullptr;
  dispatch::CandidateList candidates;
  uint8_t next_candidate = 0;  // candidates[next_candidate] is tried next
  uint8_t attempts = 0;        // branches started from candidates
  bool pop_route = false;
  bool strict_route = false;  // §16.4: last Route value → Request-URI
  bool record_route = false;
  bool canceled = false;   // CANCEL received, or lifetime over
  bool got_2xx = false;
  bool got_6xx = false;
  // The best final so far (§16.7 step 6).
  int best_code = 0;
  bool best_local = true;
  txn::PooledBuffer best_response;  // the received bytes when not local
  uint8_t best_branch = 0;          // the branch best_response came from
  // WWW-/Proxy-Authenticate lines of every 401/407 (§16.7 step 7).
  txn::PooledBuffer challenges;
  std::array<uint8_t, txn::Transaction::kMaxBranches> branch_destination{};
  // Branches counted in their destination's load (OnStart, not yet OnEnd).
  uint32_t loaded_branches = 0;

  // Records a final from a branch if it ranks better than the best so far;
  // returns true if it became the best.
  bool Offer(int code, bool local) {
    if (best_code != 0 && ResponseRank(code, local) >= ResponseRank(best_code, best_local)) {
      return false;
    }
    best_code = code;
    best_local = local;
    return true;
  }
};

}  // namespace sipshard::proxy
