#include "sipshard/proxy/route_set.h"

#include <optional>

#include "sipshard/sip/name_addr.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/uri.h"

namespace sipshard::proxy {

RouteSet FindRoutes(const sip::Message& msg) {
  RouteSet out;
  for (size_t i = 0; i < msg.header_count; ++i) {
    if (msg.header_fields[i].id != sip::HeaderId::kRoute) continue;
    sip::ListSplitter elements(msg.header_fields[i].value);
    std::string_view e;
    while (elements.Next(&e)) {
      if (out.count == 0) out.first = e;
      if (out.count == 1) out.second = e;
      out.last = e;
      ++out.count;
    }
  }
  return out;
}

std::string_view LastRouteUri(const sip::Message& msg) {
  const RouteSet routes = FindRoutes(msg);
  sip::NameAddr last;
  if (routes.count == 0 || !sip::ParseNameAddr(routes.last, &last) ||
      !sip::ParseUri(last.uri).has_value()) {
    return {};
  }
  return last.uri;
}

bool ApplyStrictRoute(const sip::Message& msg, sip::MessageWriter& writer) {
  const std::string_view uri = LastRouteUri(msg);
  if (uri.empty()) return false;
  return writer.PopLastRoute() == sip::WriteError::kNone &&
         writer.SetRequestUri(uri) == sip::WriteError::kNone;
}

}  // namespace sipshard::proxy
