// Cross-key rules of the configuration: what no single key can check alone.
//
// The loader (config/loader.h) checks each key where it reads it: type,
// range, syntax, unknown and missing keys. What spans several keys lives
// here and works on a plain Config, so it also applies to configs built in
// code (tests, tools): unique set/route names and set ids, route → set
// references (resolved to indexes so shards never look names up),
// unreachable routes, per-shard CPU lists, timer ordering. Issues name the
// key by its dotted path ("routes[1].set"); the loader maps paths back to
// file lines. Runs once per snapshot, off the data path; no shared state.
#pragma once

#include <string>
#include <vector>

#include "sipshard/config/config.h"

namespace sipshard::config {

// One problem found in a Config, addressed by the key's dotted path with
// 0-based array indexes ("sets[0].destinations[2].uri").
struct ConfigIssue {
  std::string path;
  std::string message;
  bool operator==(const ConfigIssue&) const = default;
};

// Completes a Config whose keys are individually valid: gives sets without
// an id (0) their 1-based position, resolves each forwarding route's set
// name to RouteConfig::set_index, and checks the cross-key rules. Returns
// every issue found, in config order; empty means `config` is ready to use.
std::vector<ConfigIssue> FinalizeConfig(Config& config);

}  // namespace sipshard::config
