// Reads the TOML configuration file into an immutable Config snapshot.
//
// Runs on the main thread at startup (and, later, on a reload thread), never
// on a shard: it allocates freely and catches toml++'s parse exception. The
// result is handed to the runtime, which shares it read-only
// (std::shared_ptr<const Config>). The schema and every default are
// documented in README.md (Configuration reference); deploy/sipshard.toml is the bundled
// configuration used when no --config is given.
//
// Error reporting is the point of this unit: every message names the file,
// the line and column, and the key's dotted path, e.g.
//   sipshard.toml:12:1: server.shards: expected an integer in 1..256, got "two"
//   sipshard.toml:30:3: routes[1].set: unknown destination set "pbx2"
// Array indexes in paths are 0-based. Problems come in two rounds so that
// one typo cannot cascade into bogus follow-up errors: first every per-key
// problem (TOML syntax, unknown keys, wrong types, ranges, bad enum strings,
// missing required keys); only when there are none, the cross-key rules of
// config/validate.h (duplicate names and ids, unknown sets, unreachable
// routes). All problems of a round are returned, sorted by position and
// joined with newlines, as one InvalidArgument status.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "sipshard/config/config.h"

namespace sipshard::config {

// Loads and validates the file at `path`; messages name it as written.
// NotFound / PermissionDenied when the file cannot be read, InvalidArgument
// for anything wrong inside it.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// Loads and validates a TOML document held in memory; `source_name` stands
// in for the file name in messages.
absl::StatusOr<Config> LoadConfigString(std::string_view toml,
                                        std::string_view source_name = "<string>");

// Returns the values used for every key that is absent. Not runnable on its
// own: a configuration file must declare at least one [[routes]] entry.
Config DefaultConfig();

// Returns the standard reason phrase for a SIP status code (RFC 3261 §21 and
// later RFCs), or the phrase of the class's x00 code for unknown codes, the
// way §8.1.3.2 tells a UAC to treat them ("Server Internal Error" for 599).
std::string_view StandardReasonPhrase(int code);

}  // namespace sipshard::config
