#include "sipshard/proxy/router.h"

#include "sipshard/sip/text.h"

namespace sipshard::proxy {
namespace {

bool SourceMatches(const config::RouteMatch& match, const transport::SocketAddress& source) {
  if (match.source_cidrs.empty()) return true;
  const uint8_t* bytes = source.is_ipv4()
                             ? reinterpret_cast<const uint8_t*>(&source.ipv4().sin_addr)
                             : reinterpret_cast<const uint8_t*>(&source.ipv6().sin6_addr);
  for (const config::CidrBlock& cidr : match.source_cidrs) {
    if (cidr.Contains(source.family(), bytes)) return true;
  }
  return false;
}

bool MethodMatches(const config::RouteMatch& match, std::string_view method) {
  if (match.methods.empty()) return true;
  for (const std::string& m : match.methods) {
    if (m == method) return true;
  }
  return false;
}

}  // namespace

const config::RouteConfig* Router::Match(const sip::Message& request,
                                         const transport::SocketAddress& source) const {
  for (const config::RouteConfig& route : config_->routes) {
    const config::RouteMatch& m = route.match;
    if (!MethodMatches(m, request.method_text)) continue;
    if (!m.ruri_user_prefix.empty() &&
        request.request_uri.user.substr(0, m.ruri_user_prefix.size()) != m.ruri_user_prefix) {
      continue;
    }
    if (!m.ruri_host.empty() && !sip::EqualsIgnoreCase(request.request_uri.HostAddress(), m.ruri_host)) {
      continue;
    }
    if (!SourceMatches(m, source)) continue;
    return &route;
  }
  return nullptr;
}

}  // namespace sipshard::proxy
