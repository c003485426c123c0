// name-addr / addr-spec values: From, To, Contact, Route, Record-Route
// (RFC 3261 §20.10, §20.20, §20.39, §25.1).
//
// Views point into the message buffer. The proxy needs the tags (transaction
// and dialog matching), the URI (routing) and the header parameters.
#pragma once

#include <cstddef>
#include <string_view>

namespace sipshard::sip {

struct NameAddr {
  std::string_view display_name;  // as written; quoted names keep their quotes
  std::string_view uri;           // without the angle brackets
  bool has_angle_brackets = false;
  std::string_view params;  // header parameters after the URI, from ';', or empty
  std::string_view tag;     // the `tag` parameter, if any
  bool is_wildcard = false;  // Contact: *
  std::string_view raw;
};

// Parses one element (already split off a list). Without angle brackets the
// URI ends at the first ';' and what follows are header parameters, as
// §20.10 requires. Returns false on a syntax error.
bool ParseNameAddr(std::string_view element, NameAddr* out);

namespace internal {
// ParseNameAddr for the parser, which knows that `readable` >=
// element.size() bytes may be read from element.data(): same results.
bool ParseNameAddrIn(std::string_view element, size_t readable, NameAddr* out);
}  // namespace internal

}  // namespace sipshard::sip
