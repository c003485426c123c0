// The proxy core of one shard: what happens to each SIP message.
//
// RFC 3261 §16 request processing and §18.2.2 response routing, driven by
// the config's routes and destination sets. This unit now implements the
// stateless path (Kamailio's `forward()` and `sl_reply`): requests are
// checked (§16.3), loose-routed (§16.4), answered locally, dropped or sent
// to a destination chosen from a set with our Via pushed (branch computed
// statelessly, §16.11); responses must carry our Via on top, which is
// popped before the response follows the next Via back.
//
// Routes with `stateful = true` go through the StatefulProxy instead
// (stateful_proxy.h: transactions, forking, failover, CANCEL); responses
// whose top Via carries a transaction branch go there too, and stateless
// branches keep this path. Retransmissions and hop-by-hop ACKs of live
// server transactions are absorbed before any routing.
//
// Thread affinity: one ProxyCore per shard, used only on that shard's
// thread; it owns its Message scratch space and destination sets.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sipshard/config/config.h"
#include "sipshard/dispatch/destination_set.h"
#include "sipshard/metrics/shard_counters.h"
#include "sipshard/proxy/router.h"
#include "sipshard/base/timer_wheel.h"
#include "sipshard/proxy/sender.h"
#include "sipshard/proxy/stateful_proxy.h"
#include "sipshard/sip/message.h"
#include "sipshard/sip/message_writer.h"
#include "sipshard/sip/parser.h"
#include "sipshard/transport/socket_address.h"

namespace sipshard::proxy {

// How sipshard names itself on one listen socket: what goes into our Via
// and Record-Route, and what Route/Request-URI values mean "us".
struct ListenIdentity {
  std::string host;  // as written in headers; IPv6 in brackets
  uint16_t port = 5060;
  transport::SocketAddress address;
};

struct ProxyEnvironment {
  uint16_t shard_index = 0;
  std::shared_ptr<const config::Config> config;
  std::vector<ListenIdentity> listens;
  Sender* sender = nullptr;
  metrics::ShardCounters* counters = nullptr;
  // The shard's timer wheel; required when a route is stateful.
  base::TimerWheel* timers = nullptr;
  // Request / reply / failure hooks of stateful routes; may be null.
  StatefulHooks* hooks = nullptr;
};

// A datagram as the proxy sees it.
struct InboundDatagram {
  std::string_view bytes;
  transport::SocketAddress source;
  int listen_index = 0;
};

class ProxyCore {
 public:
  static absl::StatusOr<std::unique_ptr<ProxyCore>> Create(const ProxyEnvironment& env);
  ~ProxyCore();

  // Handles one datagram: parse, route, answer or forward.
  void Handle(const InboundDatagram& datagram);

 private:
  explicit ProxyCore(const ProxyEnvironment& env);

  void HandleRequest(const InboundDatagram& in);
  // Where a locally answered or stateful request's responses go (§18.2.2).
  OutboundPath ReplyPath(const InboundDatagram& in) const;
  void HandleResponse(const InboundDatagram& in);
  void AnswerMalformed(const InboundDatagram& in, sip::ParseError error);
  // Sends a locally generated response to the request in msg_ (§8.2.6).
  void Reply(const InboundDatagram& in, int code, std::string_view reason,
             std::span<const std::string_view> extra_headers = {});
  // Forwards msg_ to `next_hop` with our Via pushed (§16.6, §16.11).
  void Forward(const InboundDatagram& in, const transport::SocketAddress& next_hop,
               bool pop_route, bool record_route);
  bool SendWritten(const sip::MessageWriter& writer, const OutboundPath& path);
  bool IsUs(const sip::Uri& uri) const;
  // Returns the listen socket to send to `destination` from: `preferred` if
  // its address family fits, else the first that does, else -1.
  int ListenIndexFor(const transport::SocketAddress& destination, int preferred) const;
  uint64_t StatelessTransactionHash() const;
  std::string_view LocalToTag();

  ProxyEnvironment env_;
  sip::ParseLimits limits_;
  Router router_;
  std::vector<dispatch::DestinationSet> sets_;
  std::vector<std::string> record_route_uris_;  // per listen socket
  sip::Message msg_;
  char to_tag_[24];
  std::unique_ptr<StatefulProxy> stateful_;  // null without stateful routes
};

}  // namespace sipshard::proxy
