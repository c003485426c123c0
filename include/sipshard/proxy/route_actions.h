// Executes the header actions of a routing rule on one message: remove
// request/response headers, add header lines built from templates
// (config/route_rules.h), and gather the values templates read.
//
// Used by ProxyCore (stateless forwarding, local replies) and by the
// StatefulProxy (branches, on_reply). Expanded header text goes into a
// HeaderScratch, a fixed buffer that the caller keeps alive until the
// MessageWriter or BuildResponse has serialized: nothing is allocated per
// message. A header whose expansion does not fit is skipped (and counted
// by the caller). Stateless helpers; the scratch is owned by the caller.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "sipshard/config/config.h"
#include "sipshard/sip/message.h"
#include "sipshard/sip/message_writer.h"

namespace sipshard::proxy {

// A bump buffer for expanded header lines of one message.
class HeaderScratch {
 public:
  static constexpr size_t kCapacity = 2048;

  // Expands `header` as "Name: value" (with_name) or just the value.
  // Returns false when it does not fit; `out` is then unchanged.
  bool Expand(const config::HeaderTemplate& header, const config::TemplateValues& values,
              bool with_name, std::string_view* out);
  void Clear() { used_ = 0; }

 private:
  std::array<char, kCapacity> buffer_;
  size_t used_ = 0;
};

// Returns the user part of a SIP/tel URI's text ("sip:alice@x" → "alice"),
// without parsing parameters; empty when there is none.
std::string_view UriUser(std::string_view uri);

// Returns the Request-URI of a stored request's bytes (the second token of
// its first line), without parsing the message.
std::string_view RequestUriOfBytes(std::string_view request_bytes);

// Template values of a request forwarded or answered by `route`. The
// attribute lookup reads the route's configured attrs.
config::TemplateValues RequestValues(const sip::Message& request,
                                     const config::RouteConfig& route,
                                     std::string_view dst_uri);

// Removes every field named by `remove`. Returns the number of failed edits.
int RemoveHeaders(sip::MessageWriter& writer, const sip::Message& msg,
                  std::span<const config::HeaderRef> remove);

// Adds every template of `add`, expanded into `scratch`. Returns the number
// of headers that did not fit (and were skipped).
int AddHeaders(sip::MessageWriter& writer, std::span<const config::HeaderTemplate> add,
               const config::TemplateValues& values, HeaderScratch& scratch);

// Expands `headers` as full lines for BuildResponse's extra_headers into
// `lines`; returns how many were written (skipping those that do not fit).
size_t ExpandHeaderLines(std::span<const config::HeaderTemplate> headers,
                         const config::TemplateValues& values, HeaderScratch& scratch,
                         std::span<std::string_view> lines);

}  // namespace sipshard::proxy
