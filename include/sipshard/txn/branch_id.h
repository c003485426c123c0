// The Via branch values sipshard generates, and what they encode.
//
// Every branch we put in a Via starts with the RFC 3261 magic cookie and
// our own marker, followed by the owning shard. A response carries our
// branch back in its top Via, so a receive thread can route it to the shard
// that sent the request without trusting the Call-ID (some peers rewrite
// it). Stateless branches (§16.11) add a hash of the incoming transaction
// key, so a retransmitted request gets the same branch downstream, and a
// loop hash of the fields that decide the request's routing (§16.6 step
// 8): when a request comes back carrying our stateless branch with the
// loop hash it has now, it looped (§16.3 step 4; proxy/loop_detection.h).
// Transaction branches (kind 'b') name the client transaction directly:
// slot in the shard's transaction table, the slot's generation (bumped on
// every reuse, DESIGN-NOTES §5 pitfall 15) and the branch index, so a
// response finds its client transaction in O(1) (§17.1.3 still checks the
// CSeq method).
//
//   z9hG4bK-sx<shard:4 hex>-<kind:1 char><payload>
//   stateless:   payload = <transaction hash:16 hex><loop hash:16 hex>
//   transaction: payload = <slot:8 hex><generation:8 hex><branch:2 hex>
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sipshard::txn {

inline constexpr std::string_view kBranchMarker = "z9hG4bK-sx";
// Longest branch any Format*Branch writes (the stateless one: marker,
// shard, '-', kind and 32 hex digits).
inline constexpr size_t kMaxBranchLength = 48;

enum class BranchKind : char {
  kStateless = 'a',
  kTransaction = 'b',
  kProbe = 'p',  // OPTIONS health probe (dispatch health, proxy/health_monitor.h)
};

// What a transaction branch encodes.
struct TransactionBranch {
  uint16_t shard = 0;
  uint32_t slot = 0;
  uint32_t generation = 0;
  uint8_t branch = 0;
};

// Writes a transaction branch into `out` (kMaxBranchLength bytes) and
// returns its length.
size_t FormatTransactionBranch(const TransactionBranch& id, char* out);

// Decodes a branch written by FormatTransactionBranch, or nullopt if the
// branch is not a well-formed transaction branch of ours.
std::optional<TransactionBranch> ParseTransactionBranch(std::string_view branch);

// What a probe branch encodes: the destination probed and the probe's
// sequence number (a late answer to an earlier probe does not count).
//   probe:       payload = <set:4 hex><destination:4 hex><sequence:8 hex>
struct ProbeBranch {
  uint16_t shard = 0;
  uint16_t set = 0;
  uint16_t destination = 0;
  uint32_t sequence = 0;
};

// Writes a probe branch into `out` (kMaxBranchLength bytes); returns its length.
size_t FormatProbeBranch(const ProbeBranch& id, char* out);

// Decodes a branch written by FormatProbeBranch, or nullopt.
std::optional<ProbeBranch> ParseProbeBranch(std::string_view branch);

// What a stateless branch encodes: the shard, the hash of the incoming
// transaction key (the same for retransmissions, and for a CANCEL or an
// ACK for a non-2xx and their INVITE) and the loop hash (§16.6 step 8).
struct StatelessBranch {
  uint16_t shard = 0;
  uint64_t transaction_hash = 0;
  uint64_t loop_hash = 0;
};

// Writes a stateless branch into `out` (kMaxBranchLength bytes) and returns
// its length.
size_t FormatStatelessBranch(const StatelessBranch& id, char* out);
// The same with loop hash 0, for code that needs a stateless branch but
// no loop detection (tests, tools).
inline size_t FormatStatelessBranch(uint16_t shard, uint64_t transaction_hash, char* out) {
  return FormatStatelessBranch(StatelessBranch{shard, transaction_hash, 0}, out);
}

// Decodes a branch written by FormatStatelessBranch, or nullopt.
std::optional<StatelessBranch> ParseStatelessBranch(std::string_view branch);

// Returns the shard encoded in a branch we generated, or nullopt if the
// branch is not ours.
std::optional<uint16_t> ShardFromBranch(std::string_view branch);

// Returns true if the branch carries our marker.
inline bool IsOurBranch(std::string_view branch) {
  return branch.substr(0, kBranchMarker.size()) == kBranchMarker;
}

}  // namespace sipshard::txn
