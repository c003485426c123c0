// The request route: which configured rule handles an out-of-dialog request.
//
// Rules are tried in config order and the first match wins (method,
// Request-URI user prefix and host, source CIDR, header presence/value,
// then the Request-URI regexes, the costly test, last); a rule without
// match conditions catches everything. In-dialog requests never get here: they
// follow Route/Request-URI. Immutable after construction; shard-local copy.
#pragma once

#include "sipshard/config/config.h"
#include "sipshard/sip/message.h"
#include "sipshard/transport/socket_address.h"

namespace sipshard::proxy {

class Router {
 public:
  explicit Router(const config::Config& config) : config_(&config) {}

  // Returns the first matching route, or nullptr when none matches.
  const config::RouteConfig* Match(const sip::Message& request,
                                   const transport::SocketAddress& source) const;

 private:
  const config::Config* config_;
};

}  // namespace sipshard::proxy
