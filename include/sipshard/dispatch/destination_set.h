// A destination set as one shard sees it: resolved addresses, destination
// states, and the selection algorithms that order the candidates of a request.
//
// Ownership: every shard builds its own DestinationSet from the config at
// start-up (names resolved once, off the data path) and is the only thread
// that touches it: the round-robin cursor, the smooth-weighted counters, the
// PRNG, the destination states and the in-flight counts below are all
// shard-local, so selection takes no lock. State changes (admin, health
// probes) reach each shard's copy by message and are applied with SetState.
// The one shared object is the LoadBoard, through which the copies of one
// set on different shards see each other's in-flight counts (relaxed
// atomics, one writer per row, approximate by design).
//
// Algorithms (config::Algorithm), as Candidates() orders them:
//  - hash-*: weighted rendezvous (highest-random-weight) hashing of one field
//    of the request (SelectionKey). Every destination scores the key, the
//    ranking by score is the failover order. A destination that goes away
//    moves only its own keys, spread over the rest in proportion to their
//    weights, and the mapping is identical on every shard, every restart and
//    every sipshard instance sharing the config (it depends on the
//    destination URIs, not on their position).
//  - round-robin: a per-shard cursor over the eligible destinations.
//  - weighted: smooth weighted round-robin: exact proportions over every
//    window of sum(weights) picks, with the picks of each destination spread
//    as evenly as the weights allow (no bursts, no 100-slot quantisation).
//  - priority: the lowest priority value first; weighted (smoothly) among
//    destinations of equal priority. Failover walks the rest of the group,
//    then the next group; CandidateList::groups tells the groups apart
//    (serial-groups forking starts a whole group at once).
//  - least-loaded: fewest in-flight requests relative to weight, counting
//    this shard's exact count plus the other shards' published counts.
//    Optionally power-of-two-choices (SelectorOptions).
//  - random: weighted random, drawn without replacement, from a per-shard
//    PRNG (deterministic seed).
// Eligible for a new request = state kActive and, when max_calls is set, a
// load below max_calls. Probing, inactive and draining destinations never get
// new requests (in-dialog requests follow their Route headers, not a set).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sipshard/config/config.h"
#include "sipshard/transport/socket_address.h"

namespace sipshard::sip {
struct Message;
}  // namespace sipshard::sip

namespace sipshard::dispatch {

// Indices into a set are one byte (CandidateList); Create rejects larger sets.
inline constexpr size_t kMaxDestinations = 256;

// The runtime state of one destination on one shard. Configs only spell
// active, inactive and draining; kProbing is set by health checking.
enum class DestinationState : uint8_t {
  kActive,    // eligible for new requests
  kInactive,  // administratively off
  kProbing,   // failing health checks: no new requests until a probe succeeds
  kDraining,  // no new requests; existing dialogs continue (Route headers)
};

DestinationState FromConfig(config::DestinationState state);
std::string_view ToString(DestinationState state);

// The destinations a request may try, in order (serial failover) or as a
// group (parallel forking). Indices into DestinationSet::destinations().
// Fixed capacity: max_attempts is at most 16 (config), so no allocation.
//
// groups[i] is the priority group of candidate i: for the priority
// algorithm the rank of its destination's `priority` among the set's
// distinct priorities (0 = the lowest value), so candidates of one group
// are adjacent and groups ascend; every other algorithm puts all
// candidates in group 0. Serial-groups forking starts one run of equal
// groups at a time.
struct CandidateList {
  static constexpr size_t kCapacity = 16;
  uint8_t indices[kCapacity];
  uint8_t groups[kCapacity];
  uint8_t size = 0;

  void Add(uint8_t index, uint8_t group = 0) {
    if (size < kCapacity) {
      indices[size] = index;
      groups[size] = group;
      ++size;
    }
  }
  // One past the last candidate of the group that candidates[first] is in.
  uint8_t GroupEnd(uint8_t first) const {
    uint8_t end = first;
    while (end < size && groups[end] == groups[first]) ++end;
    return end;
  }
};

struct Destination {
  const config::DestinationConfig* config = nullptr;
  transport::SocketAddress address;
  uint64_t identity_hash = 0;  // from the URI: stable across restarts
  // Eligible for new requests: state == kActive. SetState keeps the two in
  // step; selection reads only `active`.
  bool active = true;
  DestinationState state = DestinationState::kActive;
};

// The in-flight counts of one destination set on every shard: one row per
// shard, rows padded to whole cache lines so that a shard's writes never
// invalidate another shard's row. Each shard stores (relaxed) only into its
// own row; anyone may read any row (relaxed). Shared by the shard copies of
// one set (std::shared_ptr); thread-safe as described, lock-free.
class LoadBoard {
 public:
  LoadBoard(size_t shards, size_t destinations);

  size_t shards() const { return shards_; }
  size_t destinations() const { return destinations_; }

  // Called by shard `shard` only.
  void Publish(size_t shard, size_t destination, int32_t count) {
    Cell(shard, destination).store(count, std::memory_order_relaxed);
  }
  int32_t Read(size_t shard, size_t destination) const {
    return Cell(shard, destination).load(std::memory_order_relaxed);
  }
  // Sums, per destination, the counts of every shard except `except` into
  // `out[0 .. destinations())`.
  void SumOthers(size_t except, int32_t* out) const;

 private:
  static constexpr size_t kCellsPerLine = 64 / sizeof(std::atomic<int32_t>);
  struct alignas(64) Line {
    std::atomic<int32_t> cells[kCellsPerLine];
  };

  std::atomic<int32_t>& Cell(size_t shard, size_t destination) const {
    return lines_[shard * lines_per_row_ + destination / kCellsPerLine]
        .cells[destination % kCellsPerLine];
  }

  size_t shards_;
  size_t destinations_;
  size_t lines_per_row_;
  std::unique_ptr<Line[]> lines_;
};

// How one shard's copy of a set selects. The defaults fit a single shard
// (tests, tools): a private LoadBoard and a seed derived from the set id.
struct SelectorOptions {
  size_t shard_index = 0;
  // Shared by every shard's copy of the set; null: a private one-shard board.
  // Must have shards() > shard_index and destinations() == set size.
  std::shared_ptr<LoadBoard> load_board;
  // PRNG seed (random, power-of-two-choices); 0 derives one from the set id
  // and the shard index, so runs are reproducible.
  uint64_t seed = 0;
  // least-loaded: compare two random eligible destinations instead of
  // scanning all (fewer herd effects when the counts of other shards lag).
  bool two_choices = false;
  // Selections between two reads of the other shards' counts (least-loaded
  // and max_calls). RefreshLoads() reads them on demand (e.g. a timer tick).
  uint32_t load_refresh_interval = 64;
};

// What a selection needs from the request. The hash algorithms take their
// key from `key` when has_key (the caller computed SelectionKey, e.g. the
// Call-ID hash it already chose the shard with), else from `message`. Other
// algorithms ignore both. Neither given: a hash algorithm ranks key 0.
struct SelectionInput {
  const sip::Message* message = nullptr;
  uint64_t key = 0;
  bool has_key = false;

  static SelectionInput ForMessage(const sip::Message& message) {
    SelectionInput in;
    in.message = &message;
    return in;
  }
  static SelectionInput ForKey(uint64_t key) {
    SelectionInput in;
    in.key = key;
    in.has_key = true;
    return in;
  }
};

// Returns the rendezvous key of `message` for a hash algorithm (for any other
// algorithm: the Call-ID hash). The fields are normalised so that the same
// caller / callee always gets the same key:
//  - hash-callid: sip::CallIdHash(Call-ID), byte-exact (the shard key).
//  - hash-from-uri / hash-to-uri: user@host[:port] of the URI: scheme,
//    password, URI parameters and headers, display name and header
//    parameters (tag) are ignored; the host is case-folded; a port equal to
//    the scheme's default is ignored. The user is taken as written, up to a
//    ';' (telephone-subscriber parameters), case-sensitive (RFC 3261 §19.1.4).
//  - hash-from-user / hash-ruri-user: that user part alone, as above.
// An empty field (a URI without a user part, an unparsable URI with no text)
// falls back to the Call-ID hash, so such requests still spread out.
uint64_t SelectionKey(config::Algorithm algorithm, const sip::Message& message);

class DestinationSet {
 public:
  // Resolves every destination's host (numeric or via getaddrinfo, once).
  // `config` must outlive the set.
  static absl::StatusOr<DestinationSet> Create(const config::DestinationSetConfig& config);
  static absl::StatusOr<DestinationSet> Create(const config::DestinationSetConfig& config,
                                               const SelectorOptions& options);

  // Fills `out` with up to `max` eligible destinations (capped at
  // CandidateList::kCapacity), in the order the set's algorithm tries them.
  // Empty when none is eligible. Advances the algorithm's per-shard state
  // (cursor, smooth-weight counters, PRNG) by one request.
  void Candidates(const SelectionInput& in, size_t max, CandidateList* out);
  // The first candidate, or nullptr.
  const Destination* Select(const SelectionInput& in);

  // Rendezvous over the eligible destinations whatever the algorithm (the
  // stateless path needs the same answer for every request of a call).
  // SelectByHash(key) is the first of Candidates(key, ...).
  const Destination* SelectByHash(uint64_t key) const;
  void Candidates(uint64_t key, size_t max, CandidateList* out) const;

  // Applies a state change that arrived by message. Index < size().
  void SetState(size_t index, DestinationState state);

  // In-flight accounting for least-loaded and max_calls: the caller counts a
  // request (transaction or call, its choice) from OnStart to OnEnd, on the
  // shard that selected it. OnEnd never drops a count below zero.
  void OnStart(size_t index);
  void OnEnd(size_t index);
  // This shard's exact count plus the other shards' counts as last read.
  int64_t Load(size_t index) const {
    return static_cast<int64_t>(local_load_[index]) + remote_load_[index];
  }
  int32_t LocalLoad(size_t index) const { return local_load_[index]; }
  // Reads the other shards' counts now.
  void RefreshLoads();

  size_t size() const { return destinations_.size(); }
  const config::DestinationSetConfig& config() const { return *config_; }
  const std::vector<Destination>& destinations() const { return destinations_; }
  // Writing `active` directly bypasses SetState (kept for tests).
  std::vector<Destination>& mutable_destinations() { return destinations_; }

 private:
  bool Eligible(size_t index) const {
    const Destination& d = destinations_[index];
    if (!d.active) return false;
    const int32_t cap = caps_[index];
    return cap == 0 || Load(index) < cap;
  }
  uint64_t NextRandom();
  uint64_t KeyOf(const SelectionInput& in) const;
  void MaybeRefreshLoads();

  void RankByHash(uint64_t key, size_t max, CandidateList* out) const;
  void RoundRobin(size_t max, CandidateList* out);
  // Smooth weighted round-robin over group `g` of priority_order_; appends
  // with group number `g`.
  void SmoothGroup(size_t group, size_t max, CandidateList* out);
  void LeastLoaded(size_t max, CandidateList* out);
  void WeightedRandom(size_t max, CandidateList* out);

  const config::DestinationSetConfig* config_ = nullptr;
  std::vector<Destination> destinations_;
  // Hot copies of the config, by index.
  std::vector<int32_t> weights_;
  std::vector<int32_t> caps_;  // max_calls, 0 = none
  bool equal_weights_ = true;
  bool has_caps_ = false;

  // weighted / priority: destination indices by (priority, index), and where
  // each priority group starts (one group for `weighted`; sentinel at end).
  std::vector<uint8_t> priority_order_;
  std::vector<uint32_t> group_start_;
  std::vector<int64_t> current_weight_;  // smooth weighted round-robin

  size_t cursor_ = 0;  // round-robin; also the least-loaded tie rotation
  uint64_t rng_state_ = 0;

  SelectorOptions options_;
  std::vector<int32_t> local_load_;
  std::vector<int32_t> remote_load_;
  uint32_t selections_since_refresh_ = 0;
};

// Resolves a host name or literal to an address (start-up only: may block).
absl::StatusOr<transport::SocketAddress> ResolveHost(const std::string& host, uint16_t port,
                                                     int family_hint);

}  // namespace sipshard::dispatch
