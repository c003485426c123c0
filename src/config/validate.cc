#include "sipshard/config/validate.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"

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

std::string Indexed(std::string_view array, size_t index) {
  return Cat(array, "[", index, "]");
}

void CheckServer(const ServerConfig& server, std::vector<ConfigIssue>& issues) {
  if (server.listen.empty()) {
    issues.push_back({"server.listen", "at least one listen address is required"});
  }
  absl::flat_hash_map<std::string, size_t> seen;
  for (size_t i = 0; i < server.listen.size(); ++i) {
    std::string text = server.listen[i].ToString();
    auto [it, inserted] = seen.emplace(text, i);
    if (!inserted) {
      issues.push_back({Indexed("server.listen", i),
                        Cat("duplicate listen address \"", text, "\" (also ",
                                     Indexed("server.listen", it->second), ")")});
    }
  }
  const CpuAffinity& affinity = server.cpu_affinity;
  if (affinity.enabled && !affinity.cpus.empty() &&
      affinity.cpus.size() != static_cast<size_t>(server.shards)) {
    issues.push_back(
        {"server.cpu_affinity",
         Cat("lists ", affinity.cpus.size(), " CPU ids but server.shards is ",
                      server.shards, "; give exactly one CPU id per shard")});
  }
}

void CheckTimers(const TimersConfig& timers, std::vector<ConfigIssue>& issues) {
  // §17.1.2.2: retransmissions double from T1 up to T2, so T2 < T1 would make
  // the cap shorter than the first interval.
  if (timers.t2_ms < timers.t1_ms) {
    issues.push_back({"timers.t2_ms", Cat("must be >= timers.t1_ms (", timers.t1_ms,
                                                   "), got ", timers.t2_ms)});
  }
  // Timer C replaces the first-response timeout once a provisional arrived;
  // a shorter one would make provisionals hasten failover.
  if (timers.fr_inv_timeout_ms < timers.fr_timeout_ms) {
    issues.push_back({"timers.fr_inv_timeout_ms",
                      Cat("must be >= timers.fr_timeout_ms (", timers.fr_timeout_ms,
                                   "), got ", timers.fr_inv_timeout_ms)});
  }
}

void CheckSets(std::vector<DestinationSetConfig>& sets, std::vector<ConfigIssue>& issues) {
  std::vector<bool> defaulted_id(sets.size(), false);
  for (size_t i = 0; i < sets.size(); ++i) {
    if (sets[i].id == 0) {
      sets[i].id = static_cast<int>(i + 1);
      defaulted_id[i] = true;
    }
  }
  absl::flat_hash_map<std::string_view, size_t> names;
  absl::flat_hash_map<int, size_t> ids;
  for (size_t i = 0; i < sets.size(); ++i) {
    const DestinationSetConfig& set = sets[i];
    std::string path = Indexed("sets", i);
    if (!set.name.empty()) {
      auto [it, inserted] = names.emplace(set.name, i);
      if (!inserted) {
        issues.push_back({Cat(path, ".name"),
                          Cat("duplicate set name \"", set.name, "\" (also ",
                                       Indexed("sets", it->second), ")")});
      }
    }
    auto [id_it, id_inserted] = ids.emplace(set.id, i);
    if (!id_inserted) {
      issues.push_back(
          {Cat(path, ".id"),
           Cat("duplicate set id ", set.id, " (also ", Indexed("sets", id_it->second),
                        ")",
                        defaulted_id[i] || defaulted_id[id_it->second]
                            ? "; a set without an id gets its 1-based position"
                            : "")});
    }
    if (set.destinations.empty()) {
      issues.push_back({Cat(path, ".destinations"),
                        "at least one destination is required"});
    }
    // Only the priority algorithm orders its candidates in groups; under
    // any other every candidate would be one group, i.e. parallel forking.
    if (set.mode == ForwardMode::kSerialGroups && set.algorithm != Algorithm::kPriority) {
      issues.push_back({Cat(path, ".mode"),
                        Cat("\"", ToString(set.mode), "\" needs algorithm = \"",
                            ToString(Algorithm::kPriority), "\" (it forks one priority group "
                            "at a time), got algorithm = \"", ToString(set.algorithm), "\"")});
    }
    absl::flat_hash_map<std::string_view, size_t> uris;
    for (size_t d = 0; d < set.destinations.size(); ++d) {
      const std::string& uri = set.destinations[d].uri;
      auto [it, inserted] = uris.emplace(uri, d);
      if (!inserted) {
        // A repeated destination would get double load from hashing and
        // double probing; the weight key is the way to express that.
        issues.push_back({Cat(path, ".destinations[", d, "].uri"),
                          Cat("duplicate destination \"", uri, "\" (also ",
                                       path, ".destinations[", it->second, "])")});
      }
    }
  }
}

void CheckRoutes(const std::vector<DestinationSetConfig>& sets,
                 std::vector<RouteConfig>& routes, std::vector<ConfigIssue>& issues) {
  if (routes.empty()) {
    issues.push_back({"routes", "at least one [[routes]] entry is required"});
    return;
  }
  absl::flat_hash_map<std::string_view, int> set_indexes;
  for (size_t i = 0; i < sets.size(); ++i) {
    set_indexes.emplace(sets[i].name, static_cast<int>(i));  // first one wins
  }
  absl::flat_hash_map<std::string_view, size_t> names;
  bool reported_unreachable = false;
  size_t catch_all = routes.size();
  for (size_t i = 0; i < routes.size(); ++i) {
    RouteConfig& route = routes[i];
    std::string path = Indexed("routes", i);
    if (!route.name.empty()) {
      auto [it, inserted] = names.emplace(route.name, i);
      if (!inserted) {
        issues.push_back({Cat(path, ".name"),
                          Cat("duplicate route name \"", route.name, "\" (also ",
                                       Indexed("routes", it->second), ")")});
      }
    }
    route.set_index = RouteConfig::kNoSet;
    if (route.action == RouteAction::kForward) {
      if (route.set.empty()) {
        issues.push_back({Cat(path, ".set"), "a forward route needs a destination set"});
      } else if (auto it = set_indexes.find(route.set); it != set_indexes.end()) {
        route.set_index = it->second;
      } else {
        issues.push_back({Cat(path, ".set"),
                          Cat("unknown destination set \"", route.set, "\"")});
      }
    }
    if (catch_all < i && !reported_unreachable) {
      issues.push_back(
          {path, Cat("unreachable: ", Indexed("routes", catch_all), " (\"",
                              routes[catch_all].name,
                              "\") has no [routes.match] and takes every request; "
                              "move the catch-all route last")});
      reported_unreachable = true;
    }
    if (catch_all == routes.size() && route.match.IsCatchAll()) catch_all = i;
  }
}

}  // namespace

std::vector<ConfigIssue> FinalizeConfig(Config& config) {
  std::vector<ConfigIssue> issues;
  CheckServer(config.server, issues);
  CheckTimers(config.timers, issues);
  CheckSets(config.sets, issues);
  CheckRoutes(config.sets, config.routes, issues);
  return issues;
}

}  // namespace sipshard::config
