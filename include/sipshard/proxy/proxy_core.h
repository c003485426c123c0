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
// server transactions are absorbed before any routing. §16.3 steps 4-5
// (482 for a loop: our own stateless Via with the request's loop hash,
// loop_detection.h, or our Via of a live transaction; 420 for any
// Proxy-Require) run after Max-Forwards, the loop check only with
// `server.loop_detection`; §16.4 strict-router requests get
// the last Route value as Request-URI (route_set.h). In-dialog requests
// whose popped Route (or strict-routed Request-URI) carries our stateful
// Record-Route parameter `sx=t` are relayed statefully; others statelessly.
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
#include "sipshard/proxy/health_monitor.h"
#include "sipshard/proxy/route_actions.h"
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
  // Destination health: one LoadBoard per set (config order), shared by
  // every shard's copy of that set; empty: private one-shard boards.
  std::vector<std::shared_ptr<dispatch::LoadBoard>> load_boards;
  uint16_t shard_count = 1;
  // Reaches the other shards' mailboxes (health_monitor.h); null: this is
  // the only shard.
  ControlBus* control = nullptr;
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
  // Applies a cross-shard control message (destination health).
  void HandleControl(const dispatch::ControlMessage& message);
  // Once per loop turn: retries control messages that found a full mailbox.
  void FlushControl();

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
  // `strict_route`: replace the Request-URI with the last Route value (§16.4).
  // `route`: the rule whose request header edits apply (null in dialog),
  // `dst_uri` the chosen destination's URI for ${dst.uri}.
  void Forward(const InboundDatagram& in, const transport::SocketAddress& next_hop,
               bool pop_route, bool record_route, bool strict_route = false,
               const config::RouteConfig* route = nullptr, std::string_view dst_uri = {});
  // Relays an in-dialog msg_ to `next_hop`: statefully when the dialog was
  // record-routed by a stateful route (`stateful_dialog`) and a transaction
  // can be created, else statelessly.
  void RelayInDialog(const InboundDatagram& in, const transport::SocketAddress& next_hop,
                     bool pop_route, bool strict_route, bool stateful_dialog);
  // §16.3 steps 4 and 5: answers 482 for a loop or 420 for Proxy-Require.
  // Returns true when msg_ was answered, or dropped (a looped ACK or
  // CANCEL, which get no answer).
  bool RejectByChecks(const InboundDatagram& in);
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
  // The same with kStatefulDialogParam, for stateful routes.
  std::vector<std::string> stateful_record_route_uris_;
  sip::Message msg_;
  char to_tag_[24];
  HeaderScratch header_scratch_;  // expanded rule headers of msg_
  std::unique_ptr<StatefulProxy> stateful_;  // null without stateful routes
  std::unique_ptr<HealthMonitor> health_;     // null without a timer wheel
};

}  // namespace sipshard::proxy
