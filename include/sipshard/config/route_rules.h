// The compiled pieces of a routing rule: Request-URI regexes, header
// conditions, header names to remove and header templates to add.
//
// Everything here is built once, when the config is loaded (loader.cc), so
// that a shard evaluating a rule parses nothing: a regex is compiled once
// and shared by every snapshot copy, a header name is classified to a
// sip::HeaderId (compact forms included) once, and a template such as
// "X-Route: ${route.name}" is split into literal pieces and variable ids.
// ExpandTemplate() then writes the value into a caller-owned fixed buffer
// without allocating.
//
// Immutable after loading; part of the Config snapshot (config.h), read by
// every shard without locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sipshard/sip/header_id.h"

namespace sipshard::config {

// Most header lines one rule list (add_headers, remove_headers,
// reply_headers, on_reply.*) may hold: the message writer has a fixed
// edit array, and the proxy's own edits need room too.
inline constexpr size_t kMaxRuleHeaders = 8;

// A POSIX-extended-like ECMAScript regex (std::regex), compiled at load.
// Empty pattern: no condition. Matching is a search (anchor with ^...$).
// std::regex is slow and allocates per match, so the router evaluates it
// only for routes that use one (README.md, "Routing rules").
class RouteRegex {
 public:
  RouteRegex() = default;
  // Compiles `pattern`; returns an error message, or empty on success.
  std::string Compile(std::string_view pattern);

  bool empty() const { return pattern_.empty(); }
  const std::string& pattern() const { return pattern_; }
  // Returns whether the regex matches somewhere in `text`. An empty
  // (uncompiled) regex matches everything.
  bool Search(std::string_view text) const;

  // Two regexes are the same rule when their patterns are.
  bool operator==(const RouteRegex& other) const { return pattern_ == other.pattern_; }

 private:
  struct Compiled;
  std::string pattern_;
  std::shared_ptr<const Compiled> compiled_;
};

// A header name as configured, classified: `id` is kOther for names the
// parser does not know, which are then compared case-insensitively.
struct HeaderRef {
  std::string name;  // as written
  sip::HeaderId id = sip::HeaderId::kOther;
  bool operator==(const HeaderRef&) const = default;
};

// One [[routes.match.headers]]-style condition: the header is present (or
// absent, present = false), or one of its fields has exactly `value`.
struct HeaderCondition {
  HeaderRef header;
  bool present = true;
  bool has_value = false;
  std::string value;  // compared byte-exact with the trimmed field value
  bool operator==(const HeaderCondition&) const = default;
};

// What a template may read.
enum class TemplateVar : uint8_t {
  kLiteral,          // not a variable: the piece's text
  kRequestCallId,    // ${request.callid}
  kRequestRuri,      // ${request.ruri}
  kRequestMethod,    // ${request.method}
  kRequestFromUser,  // ${request.from_user}
  kRouteName,        // ${route.name}
  kDstUri,           // ${dst.uri}
  kAttr,             // ${attr.NAME}; the piece's text is NAME
};

struct TemplatePiece {
  TemplateVar var = TemplateVar::kLiteral;
  std::string text;
  bool operator==(const TemplatePiece&) const = default;
};

// "Name: value with ${variables}", compiled.
struct HeaderTemplate {
  std::string text;  // as written, for messages
  HeaderRef header;
  std::vector<TemplatePiece> value;
  bool operator==(const HeaderTemplate&) const = default;
};

// The values a template expands against. Views; absent ones are empty.
struct TemplateValues {
  std::string_view request_callid;
  std::string_view request_ruri;
  std::string_view request_method;
  std::string_view request_from_user;
  std::string_view route_name;
  std::string_view dst_uri;
  // Looks up ${attr.NAME}; null or an unset name expands to nothing.
  std::string_view (*attr)(const void* context, std::string_view name) = nullptr;
  const void* attr_context = nullptr;
};

// Parses "Name: value" with ${...} variables. Returns an error message,
// or empty on success.
std::string CompileHeaderTemplate(std::string_view text, HeaderTemplate& out);

// Classifies a header name. Returns an error message, or empty on success.
std::string CompileHeaderRef(std::string_view name, HeaderRef& out);

// Returns an error message if sipshard must own the header (Via, Call-ID,
// CSeq, ...), so rules may neither add nor remove it; else empty.
std::string CheckHeaderEditable(const HeaderRef& header);

// Writes the expanded value into `out`. Returns the size written, or
// std::string_view::npos when it does not fit. Allocates nothing.
size_t ExpandTemplate(std::span<const TemplatePiece> pieces, const TemplateValues& values,
                      std::span<char> out);

}  // namespace sipshard::config
