#include "sipshard/config/loader.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "sipshard/config/validate.h"

namespace sipshard::config {
namespace {

// Debian's Abseil 20220623 is built with its own absl::string_view (not an
// alias of std::string_view), so std::string_view arguments must be
// converted before they reach absl::StrCat and friends.
absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
template <typename T>
const T& Absl(const T& value) {
  return value;
}
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(Absl(args)...);
}
template <typename... Args>
void Append(std::string* out, const Args&... args) {
  absl::StrAppend(out, Absl(args)...);
}

// A configuration file is a few KiB; the cap only stops a wrong path such as
// a device file from being read forever.
constexpr size_t kMaxConfigFileBytes = 16 * 1024 * 1024;

// Per-key limits. The reference doc (README.md (Configuration reference)) quotes them.
constexpr int64_t kMaxReceiveThreads = 64;
constexpr int64_t kMaxShards = 256;
constexpr int64_t kMaxCpuId = 1023;  // CPU_SETSIZE - 1
constexpr int64_t kMinInboxCapacity = 64;
constexpr int64_t kMaxInboxCapacity = 1 << 20;
constexpr int64_t kMinRecvBuffers = 16;
constexpr int64_t kMaxRecvBuffers = 32768;  // buffer ring entry limit (§7)
constexpr int64_t kMaxSocketBuffer = 1 << 30;
constexpr int64_t kMaxStatsIntervalMs = 3'600'000;
constexpr int64_t kMaxSetId = std::numeric_limits<int32_t>::max();
// A parallel fork keeps one bit per branch (DESIGN-NOTES §6).
constexpr int64_t kMaxAttempts = 16;
constexpr int64_t kMaxWeight = 10000;
constexpr int64_t kMaxPriority = 1000;
constexpr int64_t kMaxCalls = 10'000'000;
constexpr int64_t kMaxDestinationTimeoutMs = 600'000;
constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::max();

// ---- positions and diagnostics ----------------------------------------------

struct Position {
  uint32_t line = 0;
  uint32_t column = 0;
  bool operator<(const Position& o) const {
    return line != o.line ? line < o.line : column < o.column;
  }
};

Position Begin(const toml::source_region& region) {
  return {region.begin.line, region.begin.column};
}

// Where an entry "starts" for messages: the key for `key = value`, the
// header for `[table]` / `[[array]]` (whose node begins before the key).
Position EntryPosition(const toml::key& key, const toml::node& node) {
  Position key_pos = Begin(key.source());
  Position node_pos = Begin(node.source());
  if (node_pos.line == 0) return key_pos;
  return node_pos < key_pos ? node_pos : key_pos;
}

// Collects problems with their positions. Paths are remembered as the
// document is walked so that issues found later on the plain Config
// (config/validate.h) can be traced back to a line.
class Diagnostics {
 public:
  void Remember(const std::string& path, Position position) {
    positions_.try_emplace(path, position);
  }

  void Error(Position position, std::string path, std::string message) {
    entries_.push_back({position, std::move(path), std::move(message)});
  }

  // Reports at the position of `path`, or of its closest remembered parent
  // ("sets[1].id" falls back to "sets[1]" when the id was defaulted).
  void ErrorAtPath(std::string path, std::string message) {
    entries_.push_back({Lookup(path), std::move(path), std::move(message)});
  }

  bool empty() const { return entries_.empty(); }

  absl::Status ToStatus(std::string_view source_name) {
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      if (a.position.has_value() != b.position.has_value()) return a.position.has_value();
      return a.position.has_value() && *a.position < *b.position;
    });
    std::vector<std::string> lines;
    lines.reserve(entries_.size());
    for (const Entry& e : entries_) {
      std::string line(source_name);
      if (e.position) Append(&line, ":", e.position->line, ":", e.position->column);
      Append(&line, ": ");
      if (!e.path.empty()) Append(&line, e.path, ": ");
      Append(&line, e.message);
      lines.push_back(std::move(line));
    }
    return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
  }

 private:
  struct Entry {
    std::optional<Position> position;
    std::string path;
    std::string message;
  };

  std::optional<Position> Lookup(std::string_view path) const {
    while (!path.empty()) {
      if (auto it = positions_.find(Absl(path)); it != positions_.end()) return it->second;
      size_t cut = path.back() == ']' ? path.rfind('[') : path.rfind('.');
      if (cut == std::string_view::npos) break;
      path = path.substr(0, cut);
    }
    return std::nullopt;
  }

  std::vector<Entry> entries_;
  absl::flat_hash_map<std::string, Position> positions_;
};

// ---- rendering values and paths ---------------------------------------------

std::string Quote(std::string_view text) {
  return Cat("\"", absl::Utf8SafeCEscape(Absl(text)), "\"");
}

// Describes a value the way it appears in the file, for "got ..." parts.
std::string Describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return Quote(node.as_string()->get());
    case toml::node_type::integer:
      return Cat(node.as_integer()->get());
    case toml::node_type::floating_point: {
      // Keep the decimal point: "got 2" for 2.0 would read as valid.
      std::string text = Cat(node.as_floating_point()->get());
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
      return text;
    }
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "true" : "false";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

bool IsBareKey(std::string_view key) {
  if (key.empty()) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string JoinPath(std::string_view parent, std::string_view key) {
  std::string rendered = IsBareKey(key) ? std::string(key) : Quote(key);
  return parent.empty() ? rendered : Cat(parent, ".", rendered);
}

std::string IndexPath(std::string_view parent, size_t index) {
  return Cat(parent, "[", index, "]");
}

std::string RangeText(int64_t lo, int64_t hi) {
  return hi == kUnbounded ? Cat(">= ", lo) : Cat("in ", lo, "..", hi);
}

template <typename Enum>
std::string AcceptedList(std::span<const EnumName<Enum>> names) {
  std::vector<std::string> quoted;
  for (const auto& entry : names) quoted.push_back(Quote(entry.first));
  return absl::StrJoin(quoted, ", ");
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// ---- value checks shared by keys and array elements ------------------------
// Each returns an error message, empty when the value is acceptable.

std::string CheckInteger(const toml::node& node, int64_t lo, int64_t hi, int64_t& out) {
  const auto* value = node.as_integer();
  if (value == nullptr || value->get() < lo || value->get() > hi) {
    return Cat("expected an integer ", RangeText(lo, hi), ", got ", Describe(node));
  }
  out = value->get();
  return {};
}

std::string CheckString(const toml::node& node, std::string& out) {
  const auto* value = node.as_string();
  if (value == nullptr) return Cat("expected a string, got ", Describe(node));
  out = value->get();
  return {};
}

bool IsPowerOfTwo(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

bool HasControlCharacters(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Names of sets and routes: [A-Za-z0-9_.-]+, safe in logs and metric labels.
bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
           c == '-';
  });
}

std::optional<uint16_t> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port == 0 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// Parses an IP literal (no brackets); returns its family and canonical text.
std::optional<std::pair<int, std::string>> ParseIp(std::string_view text, int family) {
  std::string copy(text);
  unsigned char bytes[16];
  if (inet_pton(family, copy.c_str(), bytes) != 1) return std::nullopt;
  char canonical[INET6_ADDRSTRLEN];
  if (inet_ntop(family, bytes, canonical, sizeof(canonical)) == nullptr) return std::nullopt;
  return std::make_pair(family, std::string(canonical));
}

// RFC 3261 §25.1 hostname: dot-separated labels of alphanumerics and inner
// hyphens; the last label starts with a letter (so "1.2.3.999" is rejected).
bool IsHostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  size_t start = 0;
  std::string_view last_label;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    std::string_view label =
        host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    last_label = label;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return absl::ascii_isalpha(static_cast<unsigned char>(last_label.front()));
}

struct Host {
  std::string text;  // canonical IP or lowercase name; IPv6 without brackets
  int family = AF_UNSPEC;
};

// Accepts an IPv4 literal, an IPv6 literal with or without brackets, or a
// host name.
std::optional<Host> ParseHost(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    auto ip = ParseIp(text, AF_INET6);
    if (!ip) return std::nullopt;
    return Host{ip->second, AF_INET6};
  }
  if (text.find(':') != std::string_view::npos) {
    auto ip = ParseIp(text, AF_INET6);
    if (!ip) return std::nullopt;
    return Host{ip->second, AF_INET6};
  }
  if (auto ip = ParseIp(text, AF_INET)) return Host{ip->second, AF_INET};
  if (IsHostname(text)) return Host{absl::AsciiStrToLower(Absl(text)), AF_UNSPEC};
  return std::nullopt;
}

// "udp:HOST:PORT" with HOST an IP literal, IPv6 in brackets.
std::string ParseListenAddress(std::string_view text, ListenAddress& out) {
  auto fail = [&](std::string_view why) {
    return Cat("invalid listen address ", Quote(text), ": ", why);
  };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return fail("expected \"udp:HOST:PORT\"");
  std::string_view transport = text.substr(0, colon);
  bool known = false;
  for (const auto& [name, value] : kTransportNames) {
    if (name == transport) {
      out.transport = value;
      known = true;
    }
  }
  if (!known) {
    return fail(Cat("transport ", Quote(transport), " is not supported (accepted: ",
                             AcceptedList<Transport>(kTransportNames), ")"));
  }
  std::string_view rest = text.substr(colon + 1);
  std::string_view host;
  std::string_view port;
  bool bracketed = !rest.empty() && rest.front() == '[';
  if (bracketed) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail("unterminated \"[\" in IPv6 address");
    host = rest.substr(1, close - 1);
    std::string_view after = rest.substr(close + 1);
    if (after.empty() || after.front() != ':') return fail("missing port after \"]\"");
    port = after.substr(1);
  } else {
    size_t last = rest.rfind(':');
    if (last == std::string_view::npos) return fail("missing port (expected \"udp:HOST:PORT\")");
    host = rest.substr(0, last);
    port = rest.substr(last + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail("IPv6 addresses need brackets, as in \"udp:[::1]:5060\"");
    }
  }
  auto ip = ParseIp(host, bracketed ? AF_INET6 : AF_INET);
  if (!ip) {
    return fail(bracketed ? "not an IPv6 address inside \"[...]\""
                          : "host must be an IP address (IPv6 in brackets)");
  }
  auto port_number = ParsePort(port);
  if (!port_number) return fail("port must be an integer in 1..65535");
  out.family = ip->first;
  out.host = std::move(ip->second);
  out.port = *port_number;
  return {};
}

// A small SIP URI reader for destinations: sip:[user@]host[:port][;params].
// Only what the dispatcher needs is extracted; the full parser lives in sip/.
std::string ParseDestinationUri(std::string_view text, DestinationConfig& out) {
  auto fail = [&](std::string_view why) {
    return Cat("invalid SIP URI ", Quote(text), ": ", why);
  };
  std::string_view rest;
  bool secure = false;
  if (absl::StartsWithIgnoreCase(Absl(text), "sip:")) {
    rest = text.substr(4);
  } else if (absl::StartsWithIgnoreCase(Absl(text), "sips:")) {
    rest = text.substr(5);
    secure = true;
  } else {
    return fail("expected a \"sip:\" URI such as \"sip:10.0.0.5:5060\"");
  }
  if (rest.find('?') != std::string_view::npos) {
    return fail("URI headers (\"?...\") are not allowed");
  }
  if (std::any_of(rest.begin(), rest.end(), [](char c) {
        return absl::ascii_isspace(static_cast<unsigned char>(c)) ||
               static_cast<unsigned char>(c) < 0x20;
      })) {
    return fail("contains whitespace or control characters");
  }
  std::string_view params;
  size_t semicolon = rest.find(';');
  if (semicolon != std::string_view::npos) {
    params = rest.substr(semicolon + 1);
    rest = rest.substr(0, semicolon);
  }
  size_t at = rest.rfind('@');
  std::string_view user;
  if (at != std::string_view::npos) {
    user = rest.substr(0, at);
    if (user.empty()) return fail("empty user part before \"@\"");
    rest = rest.substr(at + 1);
  }
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return fail("unterminated \"[\" in IPv6 reference");
    host = rest.substr(0, close + 1);
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after \"]\"");
      port = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      has_port = true;
    }
  }
  if (host.empty()) return fail("missing host");
  std::optional<Host> parsed_host = ParseHost(host);
  // Bare IPv6 is not valid in a URI: it needs brackets (RFC 3261 §25.1).
  if (!parsed_host || (parsed_host->family == AF_INET6 && host.front() != '[')) {
    return fail(Cat("invalid host ", Quote(host)));
  }
  uint16_t port_number = secure ? 5061 : 5060;
  if (has_port) {
    auto p = ParsePort(port);
    if (!p) return fail("port must be an integer in 1..65535");
    port_number = *p;
  }
  std::string transport = secure ? "tls" : "udp";
  while (!params.empty()) {
    size_t next = params.find(';');
    std::string_view param = params.substr(0, next);
    params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
    if (param.empty()) return fail("empty URI parameter");
    size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    if (absl::EqualsIgnoreCase(Absl(name), "transport")) {
      if (eq == std::string_view::npos) return fail("transport parameter without a value");
      transport = absl::AsciiStrToLower(Absl(param.substr(eq + 1)));
    }
  }
  if (transport != "udp") {
    return fail(Cat(secure ? "\"sips:\" needs TLS; " : "", "transport ",
                             Quote(transport), " is not supported (accepted: ",
                             AcceptedList<Transport>(kTransportNames), ")"));
  }
  out.uri = std::string(text);
  out.user = std::string(user);
  out.host = parsed_host->text;
  out.family = parsed_host->family;
  out.port = port_number;
  out.has_port = has_port;
  out.transport = Transport::kUdp;
  return {};
}

// "10.0.0.0/8", "::1/128", or a bare address (a single host). Host bits
// below the prefix are cleared rather than rejected.
std::string ParseCidr(std::string_view text, CidrBlock& out) {
  std::string error = Cat(
      "expected an address block like \"10.0.0.0/8\" or \"::1/128\", got ", Quote(text));
  size_t slash = text.find('/');
  std::string_view address = text.substr(0, slash);
  int family = address.find(':') != std::string_view::npos ? AF_INET6 : AF_INET;
  std::string copy(address);
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(family, copy.c_str(), bytes.data()) != 1) return error;
  int max_prefix = family == AF_INET ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        !std::all_of(digits.begin(), digits.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); })) {
      return error;
    }
    prefix = 0;
    for (char c : digits) prefix = prefix * 10 + (c - '0');
    if (prefix > max_prefix) return error;
  }
  size_t length = family == AF_INET ? 4 : 16;
  for (size_t i = 0; i < length; ++i) {
    int bits = std::clamp(prefix - static_cast<int>(i) * 8, 0, 8);
    bytes[i] &= static_cast<uint8_t>(0xff00 >> bits);
  }
  out.text = std::string(text);
  out.family = family;
  out.address = bytes;
  out.prefix_length = prefix;
  return {};
}

// RFC 3261 §25.1 token characters; methods are case-sensitive and every
// standard one is uppercase, so lowercase is almost surely a typo.
bool IsUppercaseMethod(std::string_view method) {
  if (method.empty()) return false;
  return std::all_of(method.begin(), method.end(), [](char c) {
    return absl::ascii_isupper(static_cast<unsigned char>(c)) ||
           absl::ascii_isdigit(static_cast<unsigned char>(c)) ||
           std::string_view("-.!%*_+`'~").find(c) != std::string_view::npos;
  });
}

// ---- reading a table ----------------------------------------------------------

// Reads the keys of one TOML table. Every key not in `accepted` is reported
// on construction, so adding a key to the schema is: list it, read it.
class TableReader {
 public:
  TableReader(Diagnostics& diag, const toml::table& table, std::string path,
              std::initializer_list<std::string_view> accepted)
      : diag_(diag), table_(table), path_(std::move(path)) {
    for (auto&& [key, node] : table_) {
      std::string key_path = JoinPath(path_, key.str());
      Position position = EntryPosition(key, node);
      diag_.Remember(key_path, position);
      if (std::find(accepted.begin(), accepted.end(), key.str()) != accepted.end()) continue;
      std::string message = "unknown key";
      std::string_view best;
      size_t best_distance = 3;  // suggest only near misses
      for (std::string_view candidate : accepted) {
        size_t d = EditDistance(key.str(), candidate);
        if (d < best_distance) {
          best = candidate;
          best_distance = d;
        }
      }
      if (!best.empty()) Append(&message, " (did you mean ", Quote(best), "?)");
      diag_.Error(position, key_path, std::move(message));
    }
  }

  const std::string& path() const { return path_; }
  Position position() const { return Begin(table_.source()); }
  const toml::node* Find(std::string_view key) const { return table_.get(key); }
  std::string PathOf(std::string_view key) const { return JoinPath(path_, key); }

  Position PositionOf(std::string_view key) const {
    auto it = table_.find(key);
    return it == table_.end() ? position() : EntryPosition(it->first, it->second);
  }

  void Error(std::string_view key, std::string message) {
    diag_.Error(PositionOf(key), PathOf(key), std::move(message));
  }

  // Reports a problem of the table as a whole, at its header.
  void TableError(std::string message) { diag_.Error(position(), path_, std::move(message)); }

  // Reports `key` as missing unless present; returns presence.
  bool Require(std::string_view key, std::string_view why = {}) {
    if (Find(key) != nullptr) return true;
    TableError(Cat("missing required key ", Quote(key), why));
    return false;
  }

  template <typename T>
  bool Integer(std::string_view key, int64_t lo, int64_t hi, T& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return false;
    int64_t value = 0;
    if (std::string error = CheckInteger(*node, lo, hi, value); !error.empty()) {
      Error(key, std::move(error));
      return false;
    }
    out = static_cast<T>(value);
    return true;
  }

  template <typename T>
  void PowerOfTwo(std::string_view key, int64_t lo, int64_t hi, T& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return;
    const auto* value = node->as_integer();
    if (value == nullptr || value->get() < lo || value->get() > hi ||
        !IsPowerOfTwo(value->get())) {
      Error(key, Cat("expected a power of two in ", lo, "..", hi, ", got ",
                              Describe(*node)));
      return;
    }
    out = static_cast<T>(value->get());
  }

  void Bool(std::string_view key, bool& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return;
    if (const auto* value = node->as_boolean()) {
      out = value->get();
    } else {
      Error(key, Cat("expected true or false, got ", Describe(*node)));
    }
  }

  bool String(std::string_view key, std::string& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return false;
    if (std::string error = CheckString(*node, out); !error.empty()) {
      Error(key, std::move(error));
      return false;
    }
    return true;
  }

  // Reads a set or route name.
  void Name(std::string_view key, std::string& out) {
    if (!String(key, out) || IsValidName(out)) return;
    Error(key, Cat("expected a name of letters, digits, \"_\", \".\" and \"-\", got ",
                            Quote(out)));
  }

  template <typename Enum>
  bool Enumerated(std::string_view key, std::span<const EnumName<Enum>> names, Enum& out) {
    const toml::node* node = Find(key);
    if (node == nullptr) return false;
    if (const auto* value = node->as_string()) {
      for (const auto& [name, enumerator] : names) {
        if (name == value->get()) {
          out = enumerator;
          return true;
        }
      }
    }
    Error(key, Cat("expected one of ", AcceptedList(names), ", got ", Describe(*node)));
    return false;
  }

  // Returns the sub-table at `key`, reporting any other type.
  const toml::table* Table(std::string_view key, std::string_view expected = "a table") {
    const toml::node* node = Find(key);
    if (node == nullptr) return nullptr;
    if (const auto* table = node->as_table()) return table;
    Error(key, Cat("expected ", expected, ", got ", Describe(*node)));
    return nullptr;
  }

  // Returns the array at `key`, reporting any other type.
  const toml::array* Array(std::string_view key, std::string_view expected) {
    const toml::node* node = Find(key);
    if (node == nullptr) return nullptr;
    if (const auto* array = node->as_array()) return array;
    Error(key, Cat("expected ", expected, ", got ", Describe(*node)));
    return nullptr;
  }

  // Visits the elements of the array at `key` with their paths, remembering
  // each element's position; `visit(node, path, position)`.
  template <typename Visit>
  void ForEach(std::string_view key, std::string_view expected, Visit&& visit) {
    const toml::array* array = Array(key, expected);
    if (array == nullptr) return;
    std::string base = PathOf(key);
    for (size_t i = 0; i < array->size(); ++i) {
      const toml::node& element = *array->get(i);
      std::string element_path = IndexPath(base, i);
      Position element_position = Begin(element.source());
      diag_.Remember(element_path, element_position);
      visit(element, element_path, element_position);
    }
  }

  Diagnostics& diag() { return diag_; }

 private:
  Diagnostics& diag_;
  const toml::table& table_;
  std::string path_;
};

// ---- sections -----------------------------------------------------------------

void ReadServer(Diagnostics& diag, const toml::table& table, ServerConfig& server) {
  TableReader r(diag, table, "server",
                {"listen", "advertised_host", "receive_threads", "shards", "cpu_affinity",
                 "busy_poll", "inbox_capacity", "recv_buffers", "socket_receive_buffer",
                 "socket_send_buffer", "log_level", "stats_interval_ms", "loop_detection"});
  if (r.Find("listen") != nullptr) {
    std::vector<ListenAddress> listen;
    r.ForEach("listen", "an array of strings like [\"udp:127.0.0.1:5060\"]",
              [&](const toml::node& node, const std::string& path, Position position) {
                ListenAddress address;
                std::string text;
                std::string error = CheckString(node, text);
                if (error.empty()) error = ParseListenAddress(text, address);
                if (!error.empty()) {
                  diag.Error(position, path, std::move(error));
                  return;
                }
                listen.push_back(std::move(address));
              });
    server.listen = std::move(listen);
  }
  if (std::string host; r.String("advertised_host", host) && !host.empty()) {
    if (auto parsed = ParseHost(host)) {
      server.advertised_host = parsed->text;
    } else {
      r.Error("advertised_host",
              Cat("expected a host name or IP address, got ", Quote(host)));
    }
  }
  r.Integer("receive_threads", 0, kMaxReceiveThreads, server.receive_threads);
  r.Integer("shards", 1, kMaxShards, server.shards);
  if (const toml::node* node = r.Find("cpu_affinity")) {
    if (const auto* flag = node->as_boolean()) {
      server.cpu_affinity = CpuAffinity{flag->get(), {}};
    } else if (const auto* array = node->as_array()) {
      CpuAffinity affinity{true, {}};
      if (array->empty()) r.Error("cpu_affinity", "expected at least one CPU id");
      r.ForEach("cpu_affinity", "", [&](const toml::node& element, const std::string& path,
                                        Position position) {
        int64_t cpu = 0;
        if (std::string error = CheckInteger(element, 0, kMaxCpuId, cpu); !error.empty()) {
          diag.Error(position, path, Cat(error, " (a CPU id)"));
          return;
        }
        affinity.cpus.push_back(static_cast<int>(cpu));
      });
      server.cpu_affinity = std::move(affinity);
    } else {
      r.Error("cpu_affinity",
              Cat("expected true, false or an array of CPU ids, got ", Describe(*node)));
    }
  }
  r.Bool("busy_poll", server.busy_poll);
  // Rounded up rather than rejected: the operator states a lower bound on
  // slots, and the MPMC queue wants a power of two.
  if (int64_t slots = 0;
      r.Integer("inbox_capacity", kMinInboxCapacity, kMaxInboxCapacity, slots)) {
    uint32_t rounded = 1;
    while (rounded < slots) rounded <<= 1;
    server.inbox_capacity = rounded;
  }
  // Not rounded: the buffer ring's memory is entries × buffer size, so a
  // silent doubling could surprise.
  r.PowerOfTwo("recv_buffers", kMinRecvBuffers, kMaxRecvBuffers, server.recv_buffers);
  r.Integer("socket_receive_buffer", 0, kMaxSocketBuffer, server.socket_receive_buffer);
  r.Integer("socket_send_buffer", 0, kMaxSocketBuffer, server.socket_send_buffer);
  r.Enumerated<LogLevel>("log_level", kLogLevelNames, server.log_level);
  r.Integer("stats_interval_ms", 0, kMaxStatsIntervalMs, server.stats_interval_ms);
  r.Bool("loop_detection", server.loop_detection);
}

void ReadLimits(Diagnostics& diag, const toml::table& table, LimitsConfig& limits) {
  TableReader r(diag, table, "limits", {"max_message_size", "max_headers", "max_header_line"});
  r.Integer("max_message_size", 512, 65535, limits.max_message_size);
  r.Integer("max_headers", 8, 256, limits.max_headers);
  r.Integer("max_header_line", 64, 65535, limits.max_header_line);
}

void ReadTimers(Diagnostics& diag, const toml::table& table, TimersConfig& timers) {
  TableReader r(diag, table, "timers",
                {"t1_ms", "t2_ms", "t4_ms", "fr_timeout_ms", "fr_inv_timeout_ms"});
  r.Integer("t1_ms", 10, 10'000, timers.t1_ms);
  r.Integer("t2_ms", 10, 60'000, timers.t2_ms);
  r.Integer("t4_ms", 10, 60'000, timers.t4_ms);
  r.Integer("fr_timeout_ms", 100, 600'000, timers.fr_timeout_ms);
  r.Integer("fr_inv_timeout_ms", 1'000, 3'600'000, timers.fr_inv_timeout_ms);
}

void ReadTransactions(Diagnostics& diag, const toml::table& table, TransactionsConfig& txn) {
  TableReader r(diag, table, "transactions",
                {"max_per_shard", "max_inv_lifetime_ms", "max_noninv_lifetime_ms", "wait_ms"});
  r.Integer("max_per_shard", 1, 16'777'216, txn.max_per_shard);
  r.Integer("max_inv_lifetime_ms", 1'000, 7'200'000, txn.max_inv_lifetime_ms);
  r.Integer("max_noninv_lifetime_ms", 1'000, 600'000, txn.max_noninv_lifetime_ms);
  r.Integer("wait_ms", 0, 64'000, txn.wait_ms);
}

void ReadAttributes(TableReader& r, DestinationConfig& destination) {
  const toml::table* attrs = r.Table("attrs", "a table of strings like { zone = \"a\" }");
  if (attrs == nullptr) return;
  std::string base = r.PathOf("attrs");
  for (auto&& [key, node] : *attrs) {
    std::string path = JoinPath(base, key.str());
    Position position = EntryPosition(key, node);
    r.diag().Remember(path, position);
    std::string value;
    if (std::string error = CheckString(node, value); !error.empty()) {
      r.diag().Error(position, path, std::move(error));
      continue;
    }
    destination.attrs.emplace(std::string(key.str()), std::move(value));
  }
}

void ReadDestination(Diagnostics& diag, const toml::table& table, std::string path,
                     DestinationConfig& destination) {
  TableReader r(diag, table, std::move(path),
                {"uri", "weight", "priority", "state", "max_calls", "timeout_ms", "attrs"});
  if (std::string uri; r.Require("uri") && r.String("uri", uri)) {
    if (std::string error = ParseDestinationUri(uri, destination); !error.empty()) {
      r.Error("uri", std::move(error));
    }
  }
  if (const toml::node* weight = r.Find("weight")) {
    int64_t value = 0;
    if (std::string error = CheckInteger(*weight, 1, kMaxWeight, value); !error.empty()) {
      if (const auto* i = weight->as_integer(); i != nullptr && i->get() == 0) {
        Append(&error, " (to take a destination out of rotation, set state = \"inactive\")");
      }
      r.Error("weight", std::move(error));
    } else {
      destination.weight = static_cast<int>(value);
    }
  }
  r.Integer("priority", 0, kMaxPriority, destination.priority);
  r.Enumerated<DestinationState>("state", kDestinationStateNames, destination.state);
  r.Integer("max_calls", 0, kMaxCalls, destination.max_calls);
  r.Integer("timeout_ms", 0, kMaxDestinationTimeoutMs, destination.timeout_ms);
  ReadAttributes(r, destination);
}

// Reads an array of status codes and classes ([408, "5xx"]) at `key`, if
// present, into `out` (replacing its default).
void ReadCodeSet(TableReader& r, std::string_view key, StatusCodeSet& out) {
  if (r.Find(key) == nullptr) return;
  StatusCodeSet codes;
  r.ForEach(key, "an array of status codes and classes like [408, \"5xx\"]",
            [&](const toml::node& node, const std::string& element_path, Position position) {
              if (const auto* code = node.as_integer();
                  code != nullptr && code->get() >= StatusCodeSet::kMin &&
                  code->get() <= StatusCodeSet::kMax) {
                codes.Add(static_cast<int>(code->get()));
                return;
              }
              if (const auto* text = node.as_string()) {
                std::string_view s = text->get();
                if (s.size() == 3 && s[0] >= '3' && s[0] <= '6' &&
                    absl::ascii_tolower(static_cast<unsigned char>(s[1])) == 'x' &&
                    absl::ascii_tolower(static_cast<unsigned char>(s[2])) == 'x') {
                  codes.AddClass(s[0] - '0');
                  return;
                }
              }
              r.diag().Error(position, element_path,
                             Cat("expected a status code in 300..699 or a class "
                                 "\"3xx\"..\"6xx\", got ",
                                 Describe(node)));
            });
  out = codes;
}

void ReadProbing(Diagnostics& diag, const toml::table& table, std::string path,
                 ProbingConfig& probing) {
  TableReader r(diag, table, std::move(path),
                {"enabled", "interval_ms", "timeout_ms", "fall", "rise", "accepted_codes"});
  r.Bool("enabled", probing.enabled);
  r.Integer("interval_ms", 10, 3'600'000, probing.interval_ms);
  r.Integer("timeout_ms", 10, 600'000, probing.timeout_ms);
  r.Integer("fall", 1, 100, probing.fall);
  r.Integer("rise", 1, 100, probing.rise);
  ReadCodeSet(r, "accepted_codes", probing.accepted_codes);
  if (probing.timeout_ms > probing.interval_ms && r.Find("timeout_ms") == nullptr) {
    probing.timeout_ms = probing.interval_ms;  // the default shrinks with the interval
  } else if (probing.timeout_ms > probing.interval_ms) {
    r.Error("timeout_ms",
            Cat("timeout_ms (", probing.timeout_ms, ") must not exceed interval_ms (",
                probing.interval_ms, "): one probe per destination is in flight at a time"));
  }
}

void ReadSet(Diagnostics& diag, const toml::table& table, std::string path,
             DestinationSetConfig& set) {
  TableReader r(diag, table, std::move(path),
                {"name", "id", "algorithm", "mode", "max_attempts", "failover_codes",
                 "destinations", "failure_reply_code", "failure_reply_reason", "probing",
                 "passive_fall", "passive_hold_ms", "retry_after_max_ms"});
  if (r.Require("name")) r.Name("name", set.name);
  r.Integer("id", 1, kMaxSetId, set.id);
  r.Enumerated<Algorithm>("algorithm", kAlgorithmNames, set.algorithm);
  r.Enumerated<ForwardMode>("mode", kForwardModeNames, set.mode);
  r.Integer("max_attempts", 1, kMaxAttempts, set.max_attempts);
  ReadCodeSet(r, "failover_codes", set.failover_codes);
  const bool code_ok = r.Integer("failure_reply_code", 300, 699, set.failure_reply_code);
  if (r.String("failure_reply_reason", set.failure_reply_reason)) {
    if (HasControlCharacters(set.failure_reply_reason)) {
      r.Error("failure_reply_reason", "must not contain control characters");
    } else if (r.Find("failure_reply_code") == nullptr) {
      r.Error("failure_reply_reason", "needs failure_reply_code");
    }
  }
  if (code_ok && set.failure_reply_reason.empty()) {
    set.failure_reply_reason = StandardReasonPhrase(set.failure_reply_code);
  }
  if (const toml::table* probing = r.Table("probing", "a table ([sets.probing])")) {
    ReadProbing(diag, *probing, r.PathOf("probing"), set.probing);
  }
  r.Integer("passive_fall", 0, 1000, set.passive_fall);
  r.Integer("passive_hold_ms", 100, 3'600'000, set.passive_hold_ms);
  r.Integer("retry_after_max_ms", 0, 86'400'000, set.retry_after_max_ms);
  if (r.Require("destinations", " (add [[sets.destinations]] entries)")) {
    r.ForEach("destinations", "an array of tables ([[sets.destinations]])",
              [&](const toml::node& node, const std::string& element_path, Position position) {
                DestinationConfig& destination = set.destinations.emplace_back();
                if (const auto* t = node.as_table()) {
                  ReadDestination(diag, *t, element_path, destination);
                } else {
                  diag.Error(position, element_path,
                             Cat("expected a table, got ", Describe(node)));
                }
              });
  }
}

// ---- routing rules: header edits, templates, attributes ------------------------

// Reads an array of "Name: value ${var}" strings into compiled templates.
void ReadHeaderTemplates(TableReader& r, std::string_view key, std::vector<HeaderTemplate>& out) {
  if (const toml::node* node = r.Find(key);
      node != nullptr && node->is_array() && node->as_array()->size() > kMaxRuleHeaders) {
    r.Error(key, Cat("at most ", kMaxRuleHeaders, " header lines, got ", r.Find(key)->as_array()->size()));
  }
  r.ForEach(key, "an array of header lines like [\"X-Route: ${route.name}\"]",
            [&](const toml::node& node, const std::string& path, Position position) {
              std::string text;
              HeaderTemplate compiled;
              std::string error = CheckString(node, text);
              if (error.empty()) error = CompileHeaderTemplate(text, compiled);
              if (!error.empty()) {
                r.diag().Error(position, path, std::move(error));
                return;
              }
              out.push_back(std::move(compiled));
            });
}

// Reads an array of header names to remove.
void ReadHeaderRefs(TableReader& r, std::string_view key, std::vector<HeaderRef>& out) {
  if (const toml::node* node = r.Find(key);
      node != nullptr && node->is_array() && node->as_array()->size() > kMaxRuleHeaders) {
    r.Error(key, Cat("at most ", kMaxRuleHeaders, " header names, got ", r.Find(key)->as_array()->size()));
  }
  r.ForEach(key, "an array of header names like [\"Server\"]",
            [&](const toml::node& node, const std::string& path, Position position) {
              std::string text;
              HeaderRef header;
              std::string error = CheckString(node, text);
              if (error.empty()) error = CompileHeaderRef(text, header);
              if (error.empty()) error = CheckHeaderEditable(header);
              if (!error.empty()) {
                r.diag().Error(position, path, std::move(error));
                return;
              }
              out.push_back(std::move(header));
            });
}

// headers = [{ name = "X-Foo", value = "bar" }, { name = "P-Asserted-Identity", present = true }]
void ReadHeaderConditions(TableReader& r, std::vector<HeaderCondition>& out) {
  r.ForEach("headers",
            "an array of tables like [{ name = \"X-Foo\", value = \"bar\" }]",
            [&](const toml::node& node, const std::string& path, Position position) {
              const auto* table = node.as_table();
              if (table == nullptr) {
                r.diag().Error(position, path, Cat("expected a table, got ", Describe(node)));
                return;
              }
              TableReader h(r.diag(), *table, path, {"name", "value", "present"});
              HeaderCondition condition;
              if (std::string name; h.Require("name") && h.String("name", name)) {
                if (std::string error = CompileHeaderRef(name, condition.header); !error.empty()) {
                  h.Error("name", std::move(error));
                }
              }
              condition.has_value = h.String("value", condition.value);
              if (condition.has_value && HasControlCharacters(condition.value)) {
                h.Error("value", "must not contain control characters");
              }
              const bool has_present = h.Find("present") != nullptr;
              h.Bool("present", condition.present);
              if (condition.has_value && has_present) {
                h.Error("present", "give either \"value\" or \"present\", not both");
              } else if (!condition.has_value && !has_present) {
                h.TableError("needs \"value\" (a field equals it) or \"present\" (true/false)");
              }
              out.push_back(std::move(condition));
            });
}

// attrs = { carrier = "a" }: transaction attributes set by the rule. The
// limits are those of txn::Attributes (fixed storage per transaction).
void ReadRouteAttrs(TableReader& r, std::vector<std::pair<std::string, std::string>>& out) {
  constexpr size_t kMaxEntries = 8;
  constexpr size_t kMaxKey = 23;
  constexpr size_t kMaxValue = 63;
  const toml::table* attrs = r.Table("attrs", "a table of strings like { carrier = \"a\" }");
  if (attrs == nullptr) return;
  const std::string base = r.PathOf("attrs");
  if (attrs->size() > kMaxEntries) {
    r.Error("attrs", Cat("at most ", kMaxEntries, " attributes per route, got ", attrs->size()));
  }
  for (auto&& [key, node] : *attrs) {
    const std::string path = JoinPath(base, key.str());
    const Position position = EntryPosition(key, node);
    r.diag().Remember(path, position);
    std::string value;
    std::string error = CheckString(node, value);
    if (error.empty() && (key.str().size() > kMaxKey || !IsValidName(key.str()))) {
      error = Cat("attribute names are 1..", kMaxKey,
                  " letters, digits, \"_\", \".\" and \"-\"");
    }
    if (error.empty() && value.size() > kMaxValue) {
      error = Cat("attribute values are at most ", kMaxValue, " bytes, got ", value.size());
    }
    if (error.empty() && HasControlCharacters(value)) error = "must not contain control characters";
    if (!error.empty()) {
      r.diag().Error(position, path, std::move(error));
      continue;
    }
    out.emplace_back(std::string(key.str()), std::move(value));
  }
}

void ReadOnReply(Diagnostics& diag, const toml::table& table, std::string path,
                 RouteConfig::OnReply& on_reply) {
  TableReader r(diag, table, std::move(path), {"add_headers", "remove_headers"});
  ReadHeaderTemplates(r, "add_headers", on_reply.add_headers);
  ReadHeaderRefs(r, "remove_headers", on_reply.remove_headers);
}

void ReadOnFailure(Diagnostics& diag, const toml::table& table, std::string path,
                   RouteConfig::OnFailure& on_failure) {
  TableReader r(diag, table, std::move(path), {"action", "reply_code", "reply_reason"});
  on_failure.configured = true;
  const bool action_known =
      r.Require("action") &&
      r.Enumerated<FailureReaction>("action", kFailureReactionNames, on_failure.action);
  const bool code_ok = r.Integer("reply_code", 300, 699, on_failure.reply_code);
  const bool has_reason = r.String("reply_reason", on_failure.reply_reason);
  if (has_reason && HasControlCharacters(on_failure.reply_reason)) {
    r.Error("reply_reason", "must not contain control characters");
  }
  if (!action_known) return;
  if (on_failure.action == FailureReaction::kReply) {
    r.Require("reply_code", " (action \"reply\" needs a status code)");
    if (code_ok && !has_reason) {
      on_failure.reply_reason = StandardReasonPhrase(on_failure.reply_code);
    }
  } else {
    for (std::string_view key : {"reply_code", "reply_reason"}) {
      if (r.Find(key) != nullptr) {
        r.Error(key, "only valid with action = \"reply\", this on_failure's action is "
                     "\"relay_best\"");
      }
    }
  }
}

void ReadMatch(Diagnostics& diag, const toml::table& table, std::string path, RouteMatch& match) {
  TableReader r(diag, table, std::move(path),
                {"methods", "ruri_user_prefix", "ruri_host", "source_cidrs", "ruri_user_regex",
                 "ruri_host_regex", "headers"});
  r.ForEach("methods", "an array of method names like [\"INVITE\"]",
            [&](const toml::node& node, const std::string& element_path, Position position) {
              const auto* text = node.as_string();
              if (text == nullptr || !IsUppercaseMethod(text->get())) {
                diag.Error(position, element_path,
                           Cat("expected an uppercase SIP method token, got ",
                                        Describe(node)));
                return;
              }
              const std::string& method = text->get();
              if (std::find(match.methods.begin(), match.methods.end(), method) ==
                  match.methods.end()) {
                match.methods.push_back(method);
              }
            });
  if (r.String("ruri_user_prefix", match.ruri_user_prefix) &&
      HasControlCharacters(match.ruri_user_prefix)) {
    r.Error("ruri_user_prefix", "must not contain control characters");
  }
  if (std::string host; r.String("ruri_host", host) && !host.empty()) {
    if (auto parsed = ParseHost(host)) {
      match.ruri_host = parsed->text;
    } else {
      r.Error("ruri_host", Cat("expected a host name or IP address, got ", Quote(host)));
    }
  }
  r.ForEach("source_cidrs", "an array of address blocks like [\"10.0.0.0/8\"]",
            [&](const toml::node& node, const std::string& element_path, Position position) {
              CidrBlock block;
              std::string text;
              std::string error = CheckString(node, text);
              if (error.empty()) error = ParseCidr(text, block);
              if (!error.empty()) {
                diag.Error(position, element_path, std::move(error));
                return;
              }
              match.source_cidrs.push_back(std::move(block));
            });
  // Compiled once here; a bad pattern is a load error, never a runtime one.
  for (auto [key, regex] : {std::pair{"ruri_user_regex", &match.ruri_user_regex},
                            std::pair{"ruri_host_regex", &match.ruri_host_regex}}) {
    std::string pattern;
    if (!r.String(key, pattern)) continue;
    std::string error = pattern.empty() ? "must not be empty (leave the key out instead)"
                                        : regex->Compile(pattern);
    if (!error.empty()) r.Error(key, std::move(error));
  }
  ReadHeaderConditions(r, match.headers);
}

void ReadRoute(Diagnostics& diag, const toml::table& table, std::string path, RouteConfig& route) {
  TableReader r(diag, table, std::move(path),
                {"name", "action", "reply_code", "reply_reason", "set", "stateful",
                 "record_route", "match", "reply_headers", "add_headers", "remove_headers",
                 "attrs", "on_reply", "on_failure"});
  if (r.Require("name")) r.Name("name", route.name);
  bool action_known = r.Require("action") &&
                      r.Enumerated<RouteAction>("action", kRouteActionNames, route.action);
  bool code_ok = r.Integer("reply_code", 100, 699, route.reply_code);
  bool has_reason = r.String("reply_reason", route.reply_reason);
  if (has_reason && HasControlCharacters(route.reply_reason)) {
    r.Error("reply_reason", "must not contain control characters");
  }
  r.String("set", route.set);
  r.Bool("stateful", route.stateful);
  r.Bool("record_route", route.record_route);
  if (const toml::table* match = r.Table("match")) {
    ReadMatch(diag, *match, r.PathOf("match"), route.match);
  }
  ReadHeaderTemplates(r, "reply_headers", route.reply_headers);
  ReadHeaderTemplates(r, "add_headers", route.add_headers);
  ReadHeaderRefs(r, "remove_headers", route.remove_headers);
  ReadRouteAttrs(r, route.attrs);
  if (const toml::table* on_reply = r.Table("on_reply")) {
    ReadOnReply(diag, *on_reply, r.PathOf("on_reply"), route.on_reply);
  }
  if (const toml::table* on_failure = r.Table("on_failure")) {
    ReadOnFailure(diag, *on_failure, r.PathOf("on_failure"), route.on_failure);
  }
  if (!action_known) return;

  // Keys of another action are mistakes (a forgotten action change), not
  // harmless extras: report them rather than ignore them.
  auto only_for = [&](std::string_view key, RouteAction owner) {
    if (r.Find(key) == nullptr) return;
    r.Error(key, Cat("only valid with action = ", Quote(ToString(owner)),
                              ", this route's action is ", Quote(ToString(route.action))));
  };
  switch (route.action) {
    case RouteAction::kReply:
      r.Require("reply_code", " (action \"reply\" needs a status code)");
      if (code_ok && !has_reason) route.reply_reason = StandardReasonPhrase(route.reply_code);
      for (std::string_view key : {"set", "stateful", "record_route", "add_headers",
                                   "remove_headers", "on_reply", "on_failure"}) {
        only_for(key, RouteAction::kForward);
      }
      break;
    case RouteAction::kForward:
      r.Require("set", " (action \"forward\" needs a destination set)");
      for (std::string_view key : {"reply_code", "reply_reason", "reply_headers"}) {
        only_for(key, RouteAction::kReply);
      }
      // A stateless route keeps no transaction: nothing sees its replies
      // or knows when its failover is over.
      if (!route.stateful) {
        for (std::string_view key : {"on_reply", "on_failure"}) {
          if (r.Find(key) == nullptr) continue;
          r.Error(key, "needs stateful = true (a stateless route keeps no transaction, so "
                       "nothing sees its replies or failures)");
        }
      }
      break;
    case RouteAction::kDrop:
      for (std::string_view key : {"reply_code", "reply_reason", "reply_headers"}) {
        only_for(key, RouteAction::kReply);
      }
      for (std::string_view key : {"set", "stateful", "record_route", "add_headers",
                                   "remove_headers", "on_reply", "on_failure"}) {
        only_for(key, RouteAction::kForward);
      }
      break;
  }
}

// Reads an array of tables such as [[sets]] into `out`, one element per
// entry even when an entry is broken, so indexes in paths stay aligned.
template <typename T, typename ReadFn>
void ReadArrayOfTables(Diagnostics& diag, TableReader& root, std::string_view key,
                       std::vector<T>& out, ReadFn read) {
  root.ForEach(key, Cat("an array of tables ([[", key, "]])"),
               [&](const toml::node& node, const std::string& path, Position position) {
                 T& item = out.emplace_back();
                 if (const auto* table = node.as_table()) {
                   read(diag, *table, path, item);
                 } else {
                   diag.Error(position, path, Cat("expected a table, got ", Describe(node)));
                 }
               });
}

Config ReadDocument(Diagnostics& diag, const toml::table& root) {
  Config config = DefaultConfig();
  TableReader r(diag, root, "",
                {"server", "limits", "timers", "transactions", "sets", "routes"});
  if (const toml::table* t = r.Table("server")) ReadServer(diag, *t, config.server);
  if (const toml::table* t = r.Table("limits")) ReadLimits(diag, *t, config.limits);
  if (const toml::table* t = r.Table("timers")) ReadTimers(diag, *t, config.timers);
  if (const toml::table* t = r.Table("transactions")) {
    ReadTransactions(diag, *t, config.transactions);
  }
  ReadArrayOfTables(diag, r, "sets", config.sets, ReadSet);
  ReadArrayOfTables(diag, r, "routes", config.routes, ReadRoute);
  return config;
}

struct ReasonPhrase {
  int code;
  std::string_view phrase;
};

// RFC 3261 §21 plus the codes later RFCs registered with IANA.
constexpr ReasonPhrase kReasonPhrases[] = {
    {100, "Trying"},
    {180, "Ringing"},
    {181, "Call Is Being Forwarded"},
    {182, "Queued"},
    {183, "Session Progress"},
    {199, "Early Dialog Terminated"},
    {200, "OK"},
    {202, "Accepted"},
    {204, "No Notification"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Moved Temporarily"},
    {305, "Use Proxy"},
    {380, "Alternative Service"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {410, "Gone"},
    {412, "Conditional Request Failed"},
    {413, "Request Entity Too Large"},
    {414, "Request-URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Unsupported URI Scheme"},
    {417, "Unknown Resource-Priority"},
    {420, "Bad Extension"},
    {421, "Extension Required"},
    {422, "Session Interval Too Small"},
    {423, "Interval Too Brief"},
    {424, "Bad Location Information"},
    {428, "Use Identity Header"},
    {429, "Provide Referrer Identity"},
    {430, "Flow Failed"},
    {433, "Anonymity Disallowed"},
    {436, "Bad Identity-Info"},
    {437, "Unsupported Certificate"},
    {438, "Invalid Identity Header"},
    {439, "First Hop Lacks Outbound Support"},
    {440, "Max-Breadth Exceeded"},
    {469, "Bad Info Package"},
    {470, "Consent Needed"},
    {480, "Temporarily Unavailable"},
    {481, "Call/Transaction Does Not Exist"},
    {482, "Loop Detected"},
    {483, "Too Many Hops"},
    {484, "Address Incomplete"},
    {485, "Ambiguous"},
    {486, "Busy Here"},
    {487, "Request Terminated"},
    {488, "Not Acceptable Here"},
    {489, "Bad Event"},
    {491, "Request Pending"},
    {493, "Undecipherable"},
    {494, "Security Agreement Required"},
    {500, "Server Internal Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Server Time-out"},
    {505, "Version Not Supported"},
    {513, "Message Too Large"},
    {555, "Push Notification Service Not Supported"},
    {580, "Precondition Failure"},
    {600, "Busy Everywhere"},
    {603, "Decline"},
    {604, "Does Not Exist Anywhere"},
    {606, "Not Acceptable"},
    {607, "Unwanted"},
    {608, "Rejected"},
};

}  // namespace

std::string_view StandardReasonPhrase(int code) {
  for (const ReasonPhrase& entry : kReasonPhrases) {
    if (entry.code == code) return entry.phrase;
  }
  int class_code = code / 100 * 100;
  if (class_code != code && class_code >= 100 && class_code <= 600) {
    return StandardReasonPhrase(class_code);
  }
  return "Unknown";
}

Config DefaultConfig() { return Config{}; }

absl::StatusOr<Config> LoadConfigString(std::string_view toml, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(toml, std::string_view(source_name));
  } catch (const toml::parse_error& error) {
    Position position = Begin(error.source());
    return absl::InvalidArgumentError(Cat(source_name, ":", position.line, ":",
                                                   position.column, ": TOML syntax error: ",
                                                   error.description()));
  }
  Diagnostics diag;
  Config config = ReadDocument(diag, root);
  config.source_name = std::string(source_name);
  if (!diag.empty()) return diag.ToStatus(source_name);
  for (ConfigIssue& issue : FinalizeConfig(config)) {
    diag.ErrorAtPath(std::move(issue.path), std::move(issue.message));
  }
  if (!diag.empty()) return diag.ToStatus(source_name);
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, Cat(path, ": cannot open"));
  std::string contents;
  char buffer[16384];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      close(fd);
      return absl::ErrnoToStatus(saved, Cat(path, ": cannot read"));
    }
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
    if (contents.size() > kMaxConfigFileBytes) {
      close(fd);
      return absl::InvalidArgumentError(
          Cat(path, ": larger than ", kMaxConfigFileBytes, " bytes; not a config file?"));
    }
  }
  close(fd);
  return LoadConfigString(contents, path);
}

}  // namespace sipshard::config
