#include "sipshard/dispatch/destination_set.h"

#include <netdb.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "sipshard/base/hash.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/message.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/uri.h"

namespace sipshard::dispatch {

absl::StatusOr<transport::SocketAddress> ResolveHost(const std::string& host, uint16_t port,
                                                     int family_hint) {
  if (std::optional<transport::SocketAddress> literal =
          transport::SocketAddress::Parse(host, port)) {
    return *literal;
  }
  addrinfo hints{};
  hints.ai_family = family_hint;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* result = nullptr;
  const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result);
  if (rc != 0 || result == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("cannot resolve host \"", host, "\": ", gai_strerror(rc)));
  }
  std::optional<transport::SocketAddress> address =
      transport::SocketAddress::FromSockaddr(result->ai_addr, result->ai_addrlen);
  freeaddrinfo(result);
  if (!address) return absl::NotFoundError(absl::StrCat("unsupported address for \"", host, "\""));
  return address->WithPort(port);
}

DestinationState FromConfig(config::DestinationState state) {
  switch (state) {
    case config::DestinationState::kActive:
      return DestinationState::kActive;
    case config::DestinationState::kInactive:
      return DestinationState::kInactive;
    case config::DestinationState::kDraining:
      return DestinationState::kDraining;
  }
  return DestinationState::kInactive;
}

std::string_view ToString(DestinationState state) {
  switch (state) {
    case DestinationState::kActive:
      return "active";
    case DestinationState::kInactive:
      return "inactive";
    case DestinationState::kProbing:
      return "probing";
    case DestinationState::kDraining:
      return "draining";
  }
  return "?";
}

// ---- LoadBoard --------------------------------------------------------------

LoadBoard::LoadBoard(size_t shards, size_t destinations)
    : shards_(shards == 0 ? 1 : shards),
      destinations_(destinations),
      lines_per_row_(destinations == 0 ? 1 : (destinations + kCellsPerLine - 1) / kCellsPerLine),
      // Value-initialised: every std::atomic<int32_t> starts at zero.
      lines_(std::make_unique<Line[]>(shards_ * lines_per_row_)) {}

void LoadBoard::SumOthers(size_t except, int32_t* out) const {
  std::fill(out, out + destinations_, 0);
  for (size_t s = 0; s < shards_; ++s) {
    if (s == except) continue;
    for (size_t d = 0; d < destinations_; ++d) out[d] += Read(s, d);
  }
}

// ---- selection keys ---------------------------------------------------------

namespace {

constexpr uint64_t kUserSeed = 0x7573657273656564ULL;  // "userseed"
constexpr uint64_t kHostSeed = 0x686f737473656564ULL;  // "hostseed"

// The user part up to its first ';' (telephone-subscriber parameters).
std::string_view UserOf(std::string_view user) {
  const size_t semi = user.find(';');
  return semi == std::string_view::npos ? user : user.substr(0, semi);
}

// Hash of `host` with ASCII letters folded to lower case, in chunks through
// a stack buffer (no allocation).
uint64_t LowerCaseHash(std::string_view host) {
  char buffer[128];
  uint64_t h = kHostSeed;
  do {
    const size_t n = std::min(host.size(), sizeof buffer);
    for (size_t i = 0; i < n; ++i) buffer[i] = sip::AsciiLower(host[i]);
    h = base::StableHash(std::string_view(buffer, n), h);
    host.remove_prefix(n);
  } while (!host.empty());
  return h;
}

// user@host[:port] of a From/To URI (see SelectionKey); 0 when there is
// nothing to hash.
uint64_t UriIdentityKey(std::string_view text) {
  std::optional<sip::Uri> uri = sip::ParseUri(text);
  if (!uri || (uri->scheme != sip::UriScheme::kSip && uri->scheme != sip::UriScheme::kSips &&
               uri->scheme != sip::UriScheme::kTel)) {
    // Not a URI we understand: the text without parameters, as written.
    const size_t semi = text.find(';');
    if (semi != std::string_view::npos) text = text.substr(0, semi);
    return text.empty() ? 0 : base::StableHash(text, kHostSeed) | 1;
  }
  uint64_t h = base::StableHash(UserOf(uri->user), kUserSeed);
  h = base::HashCombine(h, LowerCaseHash(uri->host));
  if (uri->has_port) {
    const uint16_t scheme_default = uri->scheme == sip::UriScheme::kSips ? 5061 : 5060;
    if (uri->port != scheme_default) h = base::HashCombine(h, uri->port);
  }
  return h | 1;  // never 0: 0 means "fall back"
}

// The user part of a From URI or of the Request-URI; 0 when it is empty.
uint64_t UserKey(std::string_view user) {
  user = UserOf(user);
  return user.empty() ? 0 : base::StableHash(user, kUserSeed) | 1;
}

}  // namespace

uint64_t SelectionKey(config::Algorithm algorithm, const sip::Message& message) {
  uint64_t key = 0;
  switch (algorithm) {
    case config::Algorithm::kHashFromUri:
      key = UriIdentityKey(message.from.uri);
      break;
    case config::Algorithm::kHashToUri:
      key = UriIdentityKey(message.to.uri);
      break;
    case config::Algorithm::kHashFromUser:
      if (std::optional<sip::Uri> uri = sip::ParseUri(message.from.uri)) key = UserKey(uri->user);
      break;
    case config::Algorithm::kHashRuriUser:
      key = UserKey(message.request_uri.user);
      break;
    default:
      break;
  }
  return key != 0 ? key : sip::CallIdHash(message.call_id);
}

// ---- DestinationSet -------------------------------------------------------

absl::StatusOr<DestinationSet> DestinationSet::Create(const config::DestinationSetConfig& config) {
  return Create(config, SelectorOptions());
}

absl::StatusOr<DestinationSet> DestinationSet::Create(const config::DestinationSetConfig& config,
                                                      const SelectorOptions& options) {
  const size_t n = config.destinations.size();
  if (n > kMaxDestinations) {
    return absl::InvalidArgumentError(absl::StrCat("set \"", config.name, "\" has ", n,
                                                   " destinations; at most ", kMaxDestinations,
                                                   " are supported"));
  }
  DestinationSet set;
  set.config_ = &config;
  set.options_ = options;
  for (const config::DestinationConfig& d : config.destinations) {
    absl::StatusOr<transport::SocketAddress> address = ResolveHost(d.host, d.port, d.family);
    if (!address.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("set \"", config.name, "\" destination ",
                                                     d.uri, ": ", address.status().message()));
    }
    Destination dest;
    dest.config = &d;
    dest.address = *address;
    dest.identity_hash = base::StableHash(d.uri, 0x6473743a68617368ULL);
    dest.state = FromConfig(d.state);
    dest.active = dest.state == DestinationState::kActive;
    set.destinations_.push_back(dest);
    set.weights_.push_back(d.weight < 1 ? 1 : d.weight);
    set.caps_.push_back(d.max_calls < 0 ? 0 : d.max_calls);
    if (d.max_calls > 0) set.has_caps_ = true;
    if (set.weights_.back() != set.weights_.front()) set.equal_weights_ = false;
  }

  // Priority groups (one group for every other algorithm: `weighted` is
  // priority without priorities).
  for (size_t i = 0; i < n; ++i) set.priority_order_.push_back(static_cast<uint8_t>(i));
  const bool by_priority = config.algorithm == config::Algorithm::kPriority;
  if (by_priority) {
    std::stable_sort(set.priority_order_.begin(), set.priority_order_.end(),
                     [&config](uint8_t a, uint8_t b) {
                       return config.destinations[a].priority < config.destinations[b].priority;
                     });
  }
  for (size_t k = 0; k < n; ++k) {
    if (k == 0 || (by_priority && config.destinations[set.priority_order_[k]].priority !=
                                      config.destinations[set.priority_order_[k - 1]].priority)) {
      set.group_start_.push_back(static_cast<uint32_t>(k));
    }
  }
  set.group_start_.push_back(static_cast<uint32_t>(n));
  set.current_weight_.assign(n, 0);

  if (set.options_.load_board == nullptr) {
    set.options_.shard_index = 0;
    set.options_.load_board = std::make_shared<LoadBoard>(1, n);
  } else if (set.options_.load_board->destinations() != n ||
             set.options_.shard_index >= set.options_.load_board->shards()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "set \"", config.name, "\": load board for ", set.options_.load_board->shards(),
        " shards x ", set.options_.load_board->destinations(), " destinations does not fit shard ",
        set.options_.shard_index, " of a set of ", n));
  }
  set.local_load_.assign(n, 0);
  set.remote_load_.assign(n, 0);

  // Shards start their rotations at different places, so that at low load
  // the first requests of every shard do not all go to destination 0.
  set.cursor_ = n == 0 ? 0 : set.options_.shard_index % n;
  set.rng_state_ = set.options_.seed != 0
                       ? set.options_.seed
                       : base::HashCombine(static_cast<uint64_t>(config.id) + 0x5e1ec7,
                                           set.options_.shard_index);
  return set;
}

uint64_t DestinationSet::NextRandom() {
  // SplitMix64: a Weyl sequence through a bijective mixer. Fast and good
  // enough to spread load; not for anything secret.
  rng_state_ += 0x9e3779b97f4a7c15ULL;
  return base::Mix64(rng_state_);
}

void DestinationSet::SetState(size_t index, DestinationState state) {
  Destination& d = destinations_[index];
  const bool was_active = d.active;
  d.state = state;
  d.active = state == DestinationState::kActive;
  // The smooth-weight counters describe the old eligible set; restart them
  // so that the new set gets its exact proportions from here on.
  if (was_active != d.active) std::fill(current_weight_.begin(), current_weight_.end(), 0);
}

void DestinationSet::OnStart(size_t index) {
  ++local_load_[index];
  options_.load_board->Publish(options_.shard_index, index, local_load_[index]);
}

void DestinationSet::OnEnd(size_t index) {
  if (local_load_[index] > 0) --local_load_[index];
  options_.load_board->Publish(options_.shard_index, index, local_load_[index]);
}

void DestinationSet::RefreshLoads() {
  selections_since_refresh_ = 0;
  if (options_.load_board->shards() <= 1) return;
  options_.load_board->SumOthers(options_.shard_index, remote_load_.data());
}

void DestinationSet::MaybeRefreshLoads() {
  if (options_.load_board->shards() <= 1) return;
  if (!has_caps_ && config_->algorithm != config::Algorithm::kLeastLoaded) return;
  if (++selections_since_refresh_ >= options_.load_refresh_interval) RefreshLoads();
}

uint64_t DestinationSet::KeyOf(const SelectionInput& in) const {
  if (in.has_key) return in.key;
  if (in.message != nullptr) return SelectionKey(config_->algorithm, *in.message);
  return 0;
}

namespace {

// Keeps the `max` best of the offered (index, key) pairs in order. `Before`
// says whether key a ranks before key b; among equal keys the earlier offer
// ranks first. Sets are small and max <= 16: insertion into a short array.
template <typename Key, typename Before>
class TopK {
 public:
  TopK(size_t max, Before before)
      : max_(std::min(max, CandidateList::kCapacity)), before_(before) {}

  void Offer(uint8_t index, Key key) {
    size_t pos = size_;
    while (pos > 0 && before_(key, keys_[pos - 1])) --pos;
    if (pos >= max_) return;
    const size_t last = size_ < max_ ? size_ : max_ - 1;
    for (size_t j = last; j > pos; --j) {
      keys_[j] = keys_[j - 1];
      indices_[j] = indices_[j - 1];
    }
    keys_[pos] = key;
    indices_[pos] = index;
    if (size_ < max_) ++size_;
  }

  void AppendTo(CandidateList* out, uint8_t group = 0) const {
    for (size_t i = 0; i < size_; ++i) out->Add(indices_[i], group);
  }

 private:
  size_t max_;
  size_t size_ = 0;
  Before before_;
  Key keys_[CandidateList::kCapacity];
  uint8_t indices_[CandidateList::kCapacity];
};

template <typename Key, typename Before>
TopK<Key, Before> MakeTopK(size_t max, Before before) {
  return TopK<Key, Before>(max, before);
}

// Weighted rendezvous score: w / -ln(u), u uniform in (0,1) from the
// (key, destination) pair. The highest score owns the key. Never change:
// the mapping of every deployed instance depends on it.
double RendezvousScore(uint64_t key, uint64_t identity_hash, int32_t weight) {
  const uint64_t h = base::Mix64(key ^ identity_hash);
  const double u = (static_cast<double>(h >> 11) + 0.5) * 0x1.0p-53;
  return static_cast<double>(weight) / -std::log(u);
}

// With equal weights the score is a monotone function of u alone, so the
// ranking by the 53 bits u is made of is the same ranking, without the log.
uint64_t UnweightedScore(uint64_t key, uint64_t identity_hash) {
  return base::Mix64(key ^ identity_hash) >> 11;
}

size_t Room(size_t max, const CandidateList& out) {
  max = std::min(max, CandidateList::kCapacity);
  return max > out.size ? max - out.size : 0;
}

}  // namespace

void DestinationSet::RankByHash(uint64_t key, size_t max, CandidateList* out) const {
  const size_t n = destinations_.size();
  if (equal_weights_) {
    auto top = MakeTopK<uint64_t>(max, [](uint64_t a, uint64_t b) { return a > b; });
    for (size_t i = 0; i < n; ++i) {
      if (Eligible(i))
        top.Offer(static_cast<uint8_t>(i), UnweightedScore(key, destinations_[i].identity_hash));
    }
    top.AppendTo(out);
  } else {
    auto top = MakeTopK<double>(max, [](double a, double b) { return a > b; });
    for (size_t i = 0; i < n; ++i) {
      if (Eligible(i)) {
        top.Offer(static_cast<uint8_t>(i),
                  RendezvousScore(key, destinations_[i].identity_hash, weights_[i]));
      }
    }
    top.AppendTo(out);
  }
}

void DestinationSet::RoundRobin(size_t max, CandidateList* out) {
  const size_t n = destinations_.size();
  size_t first = n;
  for (size_t step = 0; step < n && Room(max, *out) > 0; ++step) {
    const size_t i = (cursor_ + step) % n;
    if (!Eligible(i)) continue;
    if (first == n) first = i;
    out->Add(static_cast<uint8_t>(i));
  }
  if (first != n) cursor_ = (first + 1) % n;
}

// Smooth weighted round-robin (as nginx does it): every eligible destination
// earns its weight, the richest is picked and pays the total. Over any
// sum(weights) consecutive picks each gets exactly its weight, and its
// picks are spread out. The rest of the group follows, richest first (who
// would be picked next), for failover.
void DestinationSet::SmoothGroup(size_t group, size_t max, CandidateList* out) {
  const size_t begin = group_start_[group];
  const size_t end = group_start_[group + 1];
  int64_t total = 0;
  size_t best = kMaxDestinations;
  for (size_t k = begin; k < end; ++k) {
    const size_t i = priority_order_[k];
    if (!Eligible(i)) continue;
    current_weight_[i] += weights_[i];
    total += weights_[i];
    if (best == kMaxDestinations || current_weight_[i] > current_weight_[best]) best = i;
  }
  if (best == kMaxDestinations) return;
  current_weight_[best] -= total;
  // At most kMaxDestinations groups, so the number fits a byte.
  const uint8_t group_number = static_cast<uint8_t>(group);
  out->Add(static_cast<uint8_t>(best), group_number);
  const size_t room = Room(max, *out);
  if (room == 0) return;
  auto rest = MakeTopK<int64_t>(room, [](int64_t a, int64_t b) { return a > b; });
  for (size_t k = begin; k < end; ++k) {
    const size_t i = priority_order_[k];
    if (i != best && Eligible(i)) rest.Offer(static_cast<uint8_t>(i), current_weight_[i]);
  }
  rest.AppendTo(out, group_number);
}

// Least loaded relative to capacity (weight): a before b when
// load_a / w_a < load_b / w_b. Ties go round-robin from the cursor.
void DestinationSet::LeastLoaded(size_t max, CandidateList* out) {
  const size_t n = destinations_.size();
  struct Rank {
    int64_t load;
    int32_t weight;
  };
  const auto before = [](Rank a, Rank b) { return a.load * b.weight < b.load * a.weight; };
  if (n == 0) return;
  const size_t start = cursor_;
  cursor_ = (cursor_ + 1) % n;

  if (options_.two_choices) {
    // Power of two choices: two distinct random eligible destinations, the
    // less loaded first; the rest by load for failover.
    uint8_t eligible[kMaxDestinations];
    size_t count = 0;
    for (size_t i = 0; i < n; ++i) {
      if (Eligible(i)) eligible[count++] = static_cast<uint8_t>(i);
    }
    if (count == 0) return;
    const uint64_t r = NextRandom();
    size_t a = eligible[base::ReduceToRange(r, static_cast<uint32_t>(count))];
    if (count > 1) {
      size_t j = base::ReduceToRange(r << 32 | r >> 32, static_cast<uint32_t>(count - 1));
      // j is uniform over count - 1 slots; a's own slot stands for the
      // last one, so b is uniform over the others.
      size_t b = eligible[j];
      if (b == a) b = eligible[count - 1];
      if (before(Rank{Load(b), weights_[b]}, Rank{Load(a), weights_[a]})) a = b;
    }
    out->Add(static_cast<uint8_t>(a));
    const size_t room = Room(max, *out);
    if (room == 0) return;
    auto rest = MakeTopK<Rank>(room, before);
    for (size_t k = 0; k < count; ++k) {
      const size_t i = eligible[(start + k) % count];
      if (i != a) rest.Offer(static_cast<uint8_t>(i), Rank{Load(i), weights_[i]});
    }
    rest.AppendTo(out);
    return;
  }

  auto top = MakeTopK<Rank>(max, before);
  for (size_t step = 0; step < n; ++step) {
    const size_t i = (start + step) % n;
    if (Eligible(i)) top.Offer(static_cast<uint8_t>(i), Rank{Load(i), weights_[i]});
  }
  top.AppendTo(out);
}

// Weighted random without replacement: each pick draws from the weights of
// the eligible destinations not picked yet.
void DestinationSet::WeightedRandom(size_t max, CandidateList* out) {
  const size_t n = destinations_.size();
  uint64_t taken[kMaxDestinations / 64] = {};
  const auto is_taken = [&taken](size_t i) { return (taken[i / 64] >> (i % 64)) & 1; };
  int64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (Eligible(i)) total += weights_[i];
  }
  while (total > 0 && Room(max, *out) > 0) {
    int64_t r = base::ReduceToRange(NextRandom(), static_cast<uint32_t>(total));
    size_t pick = n;
    for (size_t i = 0; i < n; ++i) {
      if (is_taken(i) || !Eligible(i)) continue;
      r -= weights_[i];
      if (r < 0) {
        pick = i;
        break;
      }
    }
    if (pick == n) break;  // unreachable: total counts exactly these weights
    taken[pick / 64] |= uint64_t{1} << (pick % 64);
    total -= weights_[pick];
    out->Add(static_cast<uint8_t>(pick));
  }
}

void DestinationSet::Candidates(const SelectionInput& in, size_t max, CandidateList* out) {
  out->size = 0;
  if (max == 0) return;
  MaybeRefreshLoads();
  switch (config_->algorithm) {
    case config::Algorithm::kHashCallId:
    case config::Algorithm::kHashFromUri:
    case config::Algorithm::kHashFromUser:
    case config::Algorithm::kHashToUri:
    case config::Algorithm::kHashRuriUser:
      // One destination (a route to a single SBC is common) has nothing to
      // rank: skip hashing the message's key.
      if (destinations_.size() == 1) {
        if (Eligible(0)) out->Add(0);
        return;
      }
      RankByHash(KeyOf(in), max, out);
      return;
    case config::Algorithm::kRoundRobin:
      RoundRobin(max, out);
      return;
    case config::Algorithm::kWeighted:
    case config::Algorithm::kPriority:
      for (size_t g = 0; g + 1 < group_start_.size() && Room(max, *out) > 0; ++g) {
        SmoothGroup(g, max, out);
      }
      return;
    case config::Algorithm::kLeastLoaded:
      LeastLoaded(max, out);
      return;
    case config::Algorithm::kRandom:
      WeightedRandom(max, out);
      return;
  }
}

const Destination* DestinationSet::Select(const SelectionInput& in) {
  CandidateList one;
  Candidates(in, 1, &one);
  return one.size == 0 ? nullptr : &destinations_[one.indices[0]];
}

const Destination* DestinationSet::SelectByHash(uint64_t key) const {
  CandidateList one;
  RankByHash(key, 1, &one);
  return one.size == 0 ? nullptr : &destinations_[one.indices[0]];
}

void DestinationSet::Candidates(uint64_t key, size_t max, CandidateList* out) const {
  out->size = 0;
  RankByHash(key, max, out);
}

}  // namespace sipshard::dispatch
