// Configuration snapshot: every tunable of sipshard, as plain values.
//
// config/loader.h builds one Config from a TOML file at startup (and later on
// reload). The runtime wraps it in std::shared_ptr<const Config> and posts the
// pointer to every shard, RCU-style (DESIGN-NOTES §8): after construction
// nobody mutates it, so every thread reads it without locks, and in-flight
// transactions keep the snapshot they started with. Everything a shard needs
// per message is resolved at load time (route → set index, failover code
// bitmap) so that reading it costs no parsing and no allocation.
//
// The default member initializers below ARE the documented defaults
// (README.md (Configuration reference)); the loader starts from them and overwrites only
// the keys present in the file.
#pragma once

#include <sys/socket.h>  // AF_INET, AF_INET6, AF_UNSPEC

#include <array>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sipshard/base/clock.h"
#include "sipshard/config/route_rules.h"

namespace sipshard::config {

// ---- enumerations and their configuration spellings ----------------------

enum class Transport : uint8_t { kUdp };

// How a destination set picks the order of candidates for one request.
enum class Algorithm : uint8_t {
  kHashCallId,
  kHashFromUri,
  kHashFromUser,
  kHashToUri,
  kHashRuriUser,
  kRoundRobin,
  kWeighted,
  kPriority,
  kLeastLoaded,
  kRandom,
};

// Serial: try candidates one after another on failure. Parallel: fork to
// max_attempts candidates at once (RFC 3261 §16.6). Serial groups: fork to
// every candidate of one priority group at once, and to the next group
// when the whole group failed (Kamailio's t_load_contacts /
// t_next_contacts); needs Algorithm::kPriority, the only algorithm that
// groups its candidates.
enum class ForwardMode : uint8_t { kSerial, kParallel, kSerialGroups };

enum class RouteAction : uint8_t { kReply, kForward, kDrop };

// What a stateful route does once failover is exhausted ([routes.on_failure]).
enum class FailureReaction : uint8_t { kRelayBest, kReply };

// Administrative state. Draining destinations keep their dialogs (in-dialog
// requests are routed by Route headers anyway) but get no new calls.
enum class DestinationState : uint8_t { kActive, kInactive, kDraining };

enum class LogLevel : uint8_t { kDebug, kInfo, kWarning, kError };

// The one spelling of each enumerator in TOML, logs and docs. The loader
// parses with these tables, so adding an enumerator means adding a row here.
template <typename Enum>
using EnumName = std::pair<std::string_view, Enum>;

inline constexpr EnumName<Transport> kTransportNames[] = {
    {"udp", Transport::kUdp}};
inline constexpr EnumName<Algorithm> kAlgorithmNames[] = {
    {"hash-callid", Algorithm::kHashCallId},
    {"hash-from-uri", Algorithm::kHashFromUri},
    {"hash-from-user", Algorithm::kHashFromUser},
    {"hash-to-uri", Algorithm::kHashToUri},
    {"hash-ruri-user", Algorithm::kHashRuriUser},
    {"round-robin", Algorithm::kRoundRobin},
    {"weighted", Algorithm::kWeighted},
    {"priority", Algorithm::kPriority},
    {"least-loaded", Algorithm::kLeastLoaded},
    {"random", Algorithm::kRandom},
};
inline constexpr EnumName<ForwardMode> kForwardModeNames[] = {
    {"serial", ForwardMode::kSerial},
    {"parallel", ForwardMode::kParallel},
    {"serial-groups", ForwardMode::kSerialGroups}};
inline constexpr EnumName<RouteAction> kRouteActionNames[] = {
    {"reply", RouteAction::kReply},
    {"forward", RouteAction::kForward},
    {"drop", RouteAction::kDrop}};
inline constexpr EnumName<FailureReaction> kFailureReactionNames[] = {
    {"relay_best", FailureReaction::kRelayBest}, {"reply", FailureReaction::kReply}};
inline constexpr EnumName<DestinationState> kDestinationStateNames[] = {
    {"active", DestinationState::kActive},
    {"inactive", DestinationState::kInactive},
    {"draining", DestinationState::kDraining}};
inline constexpr EnumName<LogLevel> kLogLevelNames[] = {
    {"debug", LogLevel::kDebug},
    {"info", LogLevel::kInfo},
    {"warning", LogLevel::kWarning},
    {"error", LogLevel::kError}};

namespace internal {
template <typename Enum>
constexpr std::string_view NameOf(std::span<const EnumName<Enum>> names, Enum value) {
  for (const auto& [name, candidate] : names) {
    if (candidate == value) return name;
  }
  return "?";
}
}  // namespace internal

// Returns the configuration spelling ("hash-callid", "parallel", ...).
constexpr std::string_view ToString(Transport v) {
  return internal::NameOf<decltype(v)>(kTransportNames, v);
}
constexpr std::string_view ToString(Algorithm v) {
  return internal::NameOf<decltype(v)>(kAlgorithmNames, v);
}
constexpr std::string_view ToString(ForwardMode v) {
  return internal::NameOf<decltype(v)>(kForwardModeNames, v);
}
constexpr std::string_view ToString(RouteAction v) {
  return internal::NameOf<decltype(v)>(kRouteActionNames, v);
}
constexpr std::string_view ToString(FailureReaction v) {
  return internal::NameOf<decltype(v)>(kFailureReactionNames, v);
}
constexpr std::string_view ToString(DestinationState v) {
  return internal::NameOf<decltype(v)>(kDestinationStateNames, v);
}
constexpr std::string_view ToString(LogLevel v) {
  return internal::NameOf<decltype(v)>(kLogLevelNames, v);
}

// ---- small value types ----------------------------------------------------

// A set of SIP status codes in 300..699, built from explicit codes and whole
// classes ("5xx"). A bitmap so that the failover decision on a shard is one
// bit test, not a scan.
class StatusCodeSet {
 public:
  static constexpr int kMin = 300;
  static constexpr int kMax = 699;

  StatusCodeSet() = default;
  StatusCodeSet(std::initializer_list<int> codes) {
    for (int code : codes) Add(code);
  }

  // Adds one code; codes outside kMin..kMax are ignored (the loader rejects
  // them before they get here).
  void Add(int code) {
    if (code >= kMin && code <= kMax) bits_.set(static_cast<size_t>(code - kMin));
  }
  // Adds every code of a class: AddClass(5) adds 500..599.
  void AddClass(int leading_digit) {
    for (int code = leading_digit * 100; code < leading_digit * 100 + 100; ++code) {
      Add(code);
    }
  }
  bool Contains(int code) const {
    return code >= kMin && code <= kMax && bits_.test(static_cast<size_t>(code - kMin));
  }
  bool empty() const { return bits_.none(); }
  size_t size() const { return bits_.count(); }
  // Lists the codes in ascending order (for logs and tests, not the data path).
  std::vector<int> Codes() const {
    std::vector<int> codes;
    for (int code = kMin; code <= kMax; ++code) {
      if (Contains(code)) codes.push_back(code);
    }
    return codes;
  }

  bool operator==(const StatusCodeSet&) const = default;

 private:
  std::bitset<kMax - kMin + 1> bits_;
};

// One local socket to receive on. `host` is an IP literal without brackets;
// "0.0.0.0" and "::" are wildcards.
struct ListenAddress {
  Transport transport = Transport::kUdp;
  std::string host;
  uint16_t port = 0;
  int family = AF_INET;  // AF_INET or AF_INET6

  bool IsWildcard() const { return host == "0.0.0.0" || host == "::"; }
  // Formats as written in the config: "udp:127.0.0.1:5060", "udp:[::1]:5060".
  std::string ToString() const {
    std::string out(config::ToString(transport));
    out += ':';
    if (family == AF_INET6) {
      out += '[';
      out += host;
      out += ']';
    } else {
      out += host;
    }
    out += ':';
    out += std::to_string(port);
    return out;
  }
  bool operator==(const ListenAddress&) const = default;
};

// Shard thread pinning. Disabled: the kernel schedules. Enabled with no CPU
// list: the runtime pins shard i to the i-th allowed CPU. With a list: shard
// i runs on cpus[i] (the loader checks there is one entry per shard).
struct CpuAffinity {
  bool enabled = false;
  std::vector<int> cpus;
  bool operator==(const CpuAffinity&) const = default;
};

// An address block for source matching, masked to its prefix length.
struct CidrBlock {
  std::string text;                 // as written
  int family = AF_INET;             // AF_INET or AF_INET6
  std::array<uint8_t, 16> address{};  // network byte order; 4 used for IPv4
  int prefix_length = 0;

  // Returns whether `bytes` (4 or 16 bytes, network order, of `addr_family`)
  // lies inside the block.
  bool Contains(int addr_family, const uint8_t* bytes) const {
    if (addr_family != family) return false;
    int full = prefix_length / 8;
    if (std::memcmp(bytes, address.data(), static_cast<size_t>(full)) != 0) return false;
    int rest = prefix_length % 8;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (bytes[full] & mask) == address[static_cast<size_t>(full)];
  }
  bool operator==(const CidrBlock&) const = default;
};

// ---- sections ---------------------------------------------------------------

struct ServerConfig {
  std::vector<ListenAddress> listen = {
      ListenAddress{Transport::kUdp, "127.0.0.1", 5060, AF_INET}};
  // Host for our Via / Record-Route when listening on a wildcard address;
  // empty means "the local address the request arrived on". Bare (IPv6
  // without brackets).
  std::string advertised_host;
  int receive_threads = 1;
  int shards = 2;
  CpuAffinity cpu_affinity;
  bool busy_poll = false;
  // Per-shard inbox slots; always a power of two (the loader rounds up).
  uint32_t inbox_capacity = 16384;
  // Provided-buffer-ring entries per receive thread; a power of two.
  uint32_t recv_buffers = 1024;
  // SO_RCVBUF / SO_SNDBUF requests in bytes; 0 keeps the kernel default.
  int socket_receive_buffer = 8 * 1024 * 1024;
  int socket_send_buffer = 4 * 1024 * 1024;
  LogLevel log_level = LogLevel::kInfo;
  // 0 disables the periodic per-shard counter log.
  base::Millis stats_interval_ms = 0;
  // RFC 3261 §16.3 step 4 (optional there): answer 482 to a request that
  // carries our own Via for the same routing fields, on stateless and
  // stateful routes. Off: only Max-Forwards ends a loop.
  bool loop_detection = true;

  bool operator==(const ServerConfig&) const = default;
};

struct LimitsConfig {
  int max_message_size = 65535;
  int max_headers = 64;
  int max_header_line = 8192;
  bool operator==(const LimitsConfig&) const = default;
};

// RFC 3261 timer bases (§17, Table 4) and the proxy's two failover timeouts
// (DESIGN-NOTES §5, pitfall 10).
struct TimersConfig {
  base::Millis t1_ms = 500;
  base::Millis t2_ms = 4000;
  base::Millis t4_ms = 5000;
  // No final or provisional response on a branch within this → fail over.
  base::Millis fr_timeout_ms = 5000;
  // Timer C (§16.6 step 11): after a provisional, wait this long for a final.
  base::Millis fr_inv_timeout_ms = 180000;
  bool operator==(const TimersConfig&) const = default;
};

// The transaction layer of each shard (txn/transaction_table.h).
struct TransactionsConfig {
  // Transactions per shard; when full, a new request is answered
  // 503 with Retry-After (in-dialog requests and responses keep flowing).
  int max_per_shard = 65536;
  // Total lifetime caps (DESIGN-NOTES §5 pitfall 10): a transaction that
  // has no final response by then is answered (408, or the best so far).
  base::Millis max_inv_lifetime_ms = 300000;
  base::Millis max_noninv_lifetime_ms = 32000;
  // How long a completed transaction stays to absorb retransmissions
  // (Timers D, J, L, M); 0 = the RFC values (32 s / 64*T1). Kamailio's
  // wt_timer plays the same role (5 s by default): lower values trade
  // late-retransmission absorption for table capacity.
  base::Millis wait_ms = 0;
  bool operator==(const TransactionsConfig&) const = default;
};

struct DestinationConfig {
  std::string uri;   // as written, e.g. "sip:10.0.0.5:5080;transport=udp"
  std::string user;  // user part, empty when absent
  std::string host;  // IP literal (bare) or host name
  uint16_t port = 5060;
  bool has_port = false;  // false: port is the scheme default
  Transport transport = Transport::kUdp;
  // AF_INET / AF_INET6 for IP literals; AF_UNSPEC for host names, which the
  // runtime resolves at startup (never on the data path).
  int family = AF_UNSPEC;
  int weight = 1;
  int priority = 0;  // lower is tried first
  DestinationState state = DestinationState::kActive;
  int max_calls = 0;           // 0 = unlimited
  base::Millis timeout_ms = 0;  // 0 = TimersConfig::fr_timeout_ms
  std::map<std::string, std::string, std::less<>> attrs;

  bool operator==(const DestinationConfig&) const = default;
};

// The probe answers (3xx-6xx) that count as "alive" by default: every
// final response except 408 and 5xx. A 2xx always counts.
inline StatusCodeSet DefaultProbeAcceptedCodes() {
  StatusCodeSet codes;
  codes.AddClass(3);
  codes.AddClass(4);
  codes.AddClass(6);
  StatusCodeSet out;
  for (int code : codes.Codes()) {
    if (code != 408) out.Add(code);
  }
  return out;
}

// Active health checks of a set ([sets.probing]): OPTIONS keepalives sent
// to every destination by its owner shard (proxy/health_monitor.h).
struct ProbingConfig {
  bool enabled = false;
  base::Millis interval_ms = 5000;  // one probe per destination per interval
  base::Millis timeout_ms = 2000;   // no final answer by then: a failure
  int fall = 3;  // consecutive failures: active -> probing (no new requests)
  int rise = 2;  // consecutive successes: probing -> active
  // Final answers besides 2xx that count as success (3xx..6xx).
  StatusCodeSet accepted_codes = DefaultProbeAcceptedCodes();
  bool operator==(const ProbingConfig&) const = default;
};

struct DestinationSetConfig {
  std::string name;
  // Stable numeric id (metrics labels, probing ownership). 0 in a Config
  // built in code means "assign the 1-based position" (FinalizeConfig).
  int id = 0;
  Algorithm algorithm = Algorithm::kHashCallId;
  ForwardMode mode = ForwardMode::kSerial;
  int max_attempts = 3;
  StatusCodeSet failover_codes = {408, 500, 502, 503, 504};
  std::vector<DestinationConfig> destinations;
  // Stateful routes, when every attempt failed with a failover code (the
  // candidates or max_attempts are exhausted): answer this instead of
  // relaying the best response (e.g. 500 "All destinations failed").
  // 0: relay the best response (a 503 goes up as 500).
  int failure_reply_code = 0;
  std::string failure_reply_reason;  // the standard phrase when empty
  ProbingConfig probing;
  // Passive health: this many consecutive failed branches (408, 5xx,
  // transport error) seen by any shard take a destination out (probing).
  // 0 disables passive health.
  int passive_fall = 0;
  // Without probing, how long a passively failed destination stays out.
  base::Millis passive_hold_ms = 30000;
  // A 503 with Retry-After takes the destination out that long, capped at
  // this. 0 ignores Retry-After.
  base::Millis retry_after_max_ms = 300000;

  bool operator==(const DestinationSetConfig&) const = default;
};

// Conditions of a route; all given conditions must hold. Empty fields are
// not conditions, so an empty RouteMatch matches every request.
struct RouteMatch {
  std::vector<std::string> methods;  // uppercase method tokens; any of them
  std::string ruri_user_prefix;      // byte-exact prefix of the R-URI user
  std::string ruri_host;             // lowercase, IPv6 without brackets
  std::vector<CidrBlock> source_cidrs;  // any of them
  RouteRegex ruri_user_regex;        // searched in the R-URI user
  RouteRegex ruri_host_regex;        // searched in the R-URI host
  std::vector<HeaderCondition> headers;  // all of them

  bool IsCatchAll() const {
    return methods.empty() && ruri_user_prefix.empty() && ruri_host.empty() &&
           source_cidrs.empty() && ruri_user_regex.empty() && ruri_host_regex.empty() &&
           headers.empty();
  }
  bool operator==(const RouteMatch&) const = default;
};

struct RouteConfig {
  static constexpr int kNoSet = -1;

  std::string name;
  RouteAction action = RouteAction::kForward;
  // action == kReply
  int reply_code = 0;
  std::string reply_reason;  // the standard phrase when not configured
  // action == kForward
  std::string set;            // destination set name, as written
  int set_index = kNoSet;     // resolved index into Config::sets
  bool stateful = false;
  bool record_route = true;
  RouteMatch match;
  // action == kReply: extra header lines of the local reply (templates).
  std::vector<HeaderTemplate> reply_headers;
  // action == kForward: request header edits before forwarding.
  std::vector<HeaderTemplate> add_headers;
  std::vector<HeaderRef> remove_headers;
  // Transaction attributes set by the rule (${attr.NAME}), in config order.
  std::vector<std::pair<std::string, std::string>> attrs;
  // Stateful forward routes only: edits of every response relayed upstream.
  struct OnReply {
    std::vector<HeaderTemplate> add_headers;
    std::vector<HeaderRef> remove_headers;
    bool empty() const { return add_headers.empty() && remove_headers.empty(); }
    bool operator==(const OnReply&) const = default;
  } on_reply;
  // Stateful forward routes only: the answer once failover is exhausted
  // (every candidate tried, or the best code is no failover code).
  struct OnFailure {
    bool configured = false;  // [routes.on_failure] given: beats the set's failure_reply_code
    FailureReaction action = FailureReaction::kRelayBest;
    int reply_code = 0;
    std::string reply_reason;
    bool operator==(const OnFailure&) const = default;
  } on_failure;

  // Returns the value of a rule attribute, or empty.
  std::string_view Attr(std::string_view key) const {
    for (const auto& [k, v] : attrs) {
      if (k == key) return v;
    }
    return {};
  }

  bool operator==(const RouteConfig&) const = default;
};

// The whole snapshot. Routes are ordered: the first matching route wins, and
// a request matching none is answered "404 No Route".
struct Config {
  ServerConfig server;
  LimitsConfig limits;
  TimersConfig timers;
  TransactionsConfig transactions;
  std::vector<DestinationSetConfig> sets;
  std::vector<RouteConfig> routes;
  // Where this snapshot came from (file path or "<string>"), for logs.
  std::string source_name;

  // Returns the set called `name`, or nullptr. Linear: sets are few and
  // this is for setup code; shards use RouteConfig::set_index.
  const DestinationSetConfig* FindSet(std::string_view name) const {
    for (const DestinationSetConfig& set : sets) {
      if (set.name == name) return &set;
    }
    return nullptr;
  }
  const RouteConfig* FindRoute(std::string_view name) const {
    for (const RouteConfig& route : routes) {
      if (route.name == name) return &route;
    }
    return nullptr;
  }

  bool operator==(const Config&) const = default;
};

}  // namespace sipshard::config
