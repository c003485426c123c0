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

bool HeaderNameIs(const sip::HeaderField& field, const config::HeaderRef& header) {
  if (header.id != sip::HeaderId::kOther) return field.id == header.id;
  return field.id == sip::HeaderId::kOther && sip::EqualsIgnoreCase(field.name, header.name);
}

bool HeaderConditionHolds(const sip::Message& request, const config::HeaderCondition& c) {
  bool present = false;
  for (size_t i = 0; i < request.header_count; ++i) {
    const sip::HeaderField& field = request.header_fields[i];
    if (!HeaderNameIs(field, c.header)) continue;
    if (!c.has_value) {
      present = true;
      break;
    }
    if (field.value == c.value) return true;
  }
  return c.has_value ? false : present == c.present;
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
    bool headers_hold = true;
    for (const config::HeaderCondition& c : m.headers) {
      if (!HeaderConditionHolds(request, c)) {
        headers_hold = false;
        break;
      }
    }
    if (!headers_hold) continue;
    // The regexes last: std::regex is the expensive test (README.md).
    if (!m.ruri_user_regex.empty() && !m.ruri_user_regex.Search(request.request_uri.user)) {
      continue;
    }
    if (!m.ruri_host_regex.empty() &&
        !m.ruri_host_regex.Search(request.request_uri.HostAddress())) {
      continue;
    }
    return &route;
  }
  return nullptr;
}

}  // namespace sipshard::proxy
