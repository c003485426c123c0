#include "sipshard/proxy/proxy_core.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "sipshard/base/hash.h"
#include "sipshard/proxy/address_text.h"
#include "sipshard/proxy/loop_detection.h"
#include "sipshard/proxy/route_actions.h"
#include "sipshard/proxy/route_set.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/message_builder.h"
#include "sipshard/sip/message_writer.h"
#include "sipshard/sip/text.h"
#include "sipshard/txn/branch_id.h"

namespace sipshard::proxy {
namespace {

using sip::HeaderId;
using sip::Method;

// Room for a locally generated response beyond the copied headers.
constexpr size_t kReplySlack = 512;

// Formats the numeric host of `address` without allocating.
std::string_view FormatIp(const transport::SocketAddress& address, char (&buffer)[INET6_ADDRSTRLEN]) {
  return proxy::FormatIp(address, buffer, sizeof buffer);
}

std::string_view StripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// Returns the second Via element of the message (the hop before ours).
bool FindSecondVia(const sip::Message& msg, std::string_view* element) {
  int seen = 0;
  for (size_t i = 0; i < msg.header_count; ++i) {
    if (msg.header_fields[i].id != HeaderId::kVia) continue;
    sip::ListSplitter elements(msg.header_fields[i].value);
    std::string_view e;
    while (elements.Next(&e)) {
      if (++seen == 2) {
        *element = e;
        return true;
      }
    }
  }
  return false;
}

bool IsDialogCreating(Method method) {
  return method == Method::kInvite || method == Method::kSubscribe || method == Method::kRefer;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProxyCore>> ProxyCore::Create(const ProxyEnvironment& env) {
  std::unique_ptr<ProxyCore> core(new ProxyCore(env));
  bool stateful = false;
  for (const config::RouteConfig& route : env.config->routes) {
    stateful |= route.action == config::RouteAction::kForward && route.stateful;
  }
  for (size_t i = 0; i < env.config->sets.size(); ++i) {
    dispatch::SelectorOptions selector;
    selector.shard_index = env.shard_index;
    if (i < env.load_boards.size()) selector.load_board = env.load_boards[i];
    absl::StatusOr<dispatch::DestinationSet> runtime =
        dispatch::DestinationSet::Create(env.config->sets[i], selector);
    if (!runtime.ok()) return runtime.status();
    core->sets_.push_back(std::move(*runtime));
  }
  if (env.timers != nullptr) {
    HealthMonitorOptions health;
    health.shard = env.shard_index;
    health.shard_count = std::max<uint16_t>(env.shard_count, 1);
    health.config = env.config.get();
    health.sets = &core->sets_;
    health.listens = &core->env_.listens;
    health.sender = env.sender;
    health.wheel = env.timers;
    health.counters = env.counters;
    health.bus = env.control;
    core->health_ = std::make_unique<HealthMonitor>(health);
  }
  if (stateful) {
    if (env.timers == nullptr) {
      return absl::InvalidArgumentError("stateful routes need the shard's timer wheel");
    }
    StatefulOptions options;
    options.shard = env.shard_index;
    options.config = env.config.get();
    options.listens = &core->env_.listens;
    options.record_route_uris = &core->stateful_record_route_uris_;
    options.sets = &core->sets_;
    options.limits = core->limits_;
    options.sender = env.sender;
    options.wheel = env.timers;
    options.counters = env.counters;
    options.hooks = env.hooks;
    options.health = core->health_.get();
    core->stateful_ = std::make_unique<StatefulProxy>(options);
  }
  return core;
}

ProxyCore::~ProxyCore() = default;

void ProxyCore::HandleControl(const dispatch::ControlMessage& message) {
  if (health_ != nullptr) health_->Apply(message);
}

void ProxyCore::FlushControl() {
  if (health_ != nullptr) health_->Flush();
}

ProxyCore::ProxyCore(const ProxyEnvironment& env) : env_(env), router_(*env.config) {
  limits_.max_message_size = static_cast<size_t>(env.config->limits.max_message_size);
  limits_.max_headers = static_cast<size_t>(env.config->limits.max_headers);
  limits_.max_header_line = static_cast<size_t>(env.config->limits.max_header_line);
  for (const ListenIdentity& listen : env_.listens) {
    record_route_uris_.push_back(absl::StrCat("sip:", listen.host, ":", listen.port, ";lr"));
    stateful_record_route_uris_.push_back(
        absl::StrCat(record_route_uris_.back(), ";", std::string(kStatefulDialogParam), "=",
                     std::string(kStatefulDialogValue)));
  }
}

void ProxyCore::Handle(const InboundDatagram& in) {
  const sip::ParseError error = sip::ParseMessage(in.bytes, limits_, &msg_);
  if (error == sip::ParseError::kEmpty) {
    env_.counters->keepalives.Add();
    return;
  }
  if (error != sip::ParseError::kNone) {
    env_.counters->parse_errors[static_cast<size_t>(error)].Add();
    // ACK never gets a response (§17.2.1), even a malformed one.
    if (sip::IsAnswerable(msg_, error) && msg_.method != Method::kAck) {
      AnswerMalformed(in, error);
    } else {
      env_.counters->dropped_malformed.Add();
    }
    return;
  }
  if (msg_.is_request) {
    HandleRequest(in);
  } else {
    HandleResponse(in);
  }
}

void ProxyCore::AnswerMalformed(const InboundDatagram& in, sip::ParseError error) {
  const sip::ParseErrorInfo& info = sip::Describe(error);
  env_.counters->bad_requests_answered.Add();
  Reply(in, info.status_code, info.reason);
}

bool ProxyCore::IsUs(const sip::Uri& uri) const {
  if (uri.scheme != sip::UriScheme::kSip && uri.scheme != sip::UriScheme::kSips) return false;
  const std::string_view host = uri.HostAddress();
  const uint16_t port = uri.PortOrDefault();
  for (const ListenIdentity& listen : env_.listens) {
    if (port != listen.port) continue;
    if (sip::EqualsIgnoreCase(host, StripBrackets(listen.host))) return true;
    std::optional<transport::SocketAddress> literal = transport::SocketAddress::Parse(host, port);
    if (literal && *literal == listen.address) return true;
  }
  return false;
}

int ProxyCore::ListenIndexFor(const transport::SocketAddress& destination, int preferred) const {
  if (env_.listens[static_cast<size_t>(preferred)].address.family() == destination.family()) {
    return preferred;
  }
  for (size_t i = 0; i < env_.listens.size(); ++i) {
    if (env_.listens[i].address.family() == destination.family()) return static_cast<int>(i);
  }
  return -1;
}

OutboundPath ProxyCore::ReplyPath(const InboundDatagram& in) const {
  // §18.2.2 for unreliable transports: the source address, and the source
  // port when the client asked for rport, else the sent-by port.
  const bool via_ok = !msg_.top_via.host.empty();
  const uint16_t port = (!via_ok || msg_.top_via.has_rport) ? in.source.port()
                                                             : msg_.top_via.PortOrDefault();
  return OutboundPath{in.listen_index, in.source.WithPort(port)};
}

void ProxyCore::HandleRequest(const InboundDatagram& in) {
  env_.counters->requests.Add();
  char source_ip[INET6_ADDRSTRLEN];
  if (stateful_ != nullptr) {
    // §17.2.3 before anything else: a retransmission or the hop-by-hop ACK
    // of a live server transaction never re-runs routing (pitfalls 3, 9).
    if (stateful_->AbsorbRequest(msg_)) return;
    // §16.10: a CANCEL matching an INVITE server transaction.
    if (msg_.method == Method::kCancel &&
        stateful_->HandleCancel(msg_, ReplyPath(in), FormatIp(in.source, source_ip))) {
      return;
    }
  }
  // §16.3 step 3: a request that has used up its hops is answered here.
  if (msg_.max_forwards == 0) {
    env_.counters->too_many_hops.Add();
    if (msg_.method != Method::kAck) Reply(in, 483, "Too Many Hops");
    return;
  }

  if (RejectByChecks(in)) return;

  // §16.4: a Request-URI naming us with a Route set came from a strict
  // router: the last Route value is the real Request-URI.
  RouteSet routes = FindRoutes(msg_);
  const sip::Uri* target = &msg_.request_uri;
  std::optional<sip::Uri> strict_target;
  bool strict_route = false;
  // Our Record-Route of a stateful route marks the dialog (route_set.h).
  bool stateful_dialog = false;
  if (routes.count > 0 && msg_.request_uri.user.empty() && IsUs(msg_.request_uri)) {
    strict_target = sip::ParseUri(LastRouteUri(msg_));
    if (!strict_target) {
      if (msg_.method != Method::kAck) Reply(in, 400, "Bad Route");
      return;
    }
    strict_route = true;
    stateful_dialog = msg_.request_uri.Param(kStatefulDialogParam) == kStatefulDialogValue;
    target = &*strict_target;
    if (--routes.count < 2) routes.second = {};
    if (routes.count == 0) routes.first = {};
  }
  // §16.4: a Route naming us was put there by our Record-Route: drop it.
  // What remains decides the next hop, and the dispatcher is not consulted.
  bool pop_route = false;
  if (!routes.first.empty()) {
    sip::NameAddr top;
    std::optional<sip::Uri> uri;
    if (sip::ParseNameAddr(routes.first, &top) && (uri = sip::ParseUri(top.uri)) && IsUs(*uri)) {
      pop_route = true;
      stateful_dialog |= uri->Param(kStatefulDialogParam) == kStatefulDialogValue;
      routes.first = routes.second;
    }
  }
  if (!routes.first.empty()) {
    sip::NameAddr next;
    std::optional<sip::Uri> uri;
    if (!sip::ParseNameAddr(routes.first, &next) || !(uri = sip::ParseUri(next.uri))) {
      if (msg_.method != Method::kAck) Reply(in, 400, "Bad Route");
      return;
    }
    const std::string_view maddr = uri->Param("maddr");
    const std::string_view host = maddr.empty() ? uri->HostAddress() : maddr;
    std::optional<transport::SocketAddress> hop =
        transport::SocketAddress::Parse(host, uri->PortOrDefault());
    if (!hop) {
      env_.counters->no_destination.Add();
      if (msg_.method != Method::kAck) Reply(in, 503, "Cannot Resolve Route");
      return;
    }
    RelayInDialog(in, *hop, pop_route, strict_route, stateful_dialog);
    return;
  }

  const bool in_dialog = !msg_.to.tag.empty();
  if (in_dialog) {
    // No Route left: the Request-URI is the remote target (§16.6 step 6).
    std::optional<transport::SocketAddress> hop;
    if (!IsUs(*target)) {
      hop = transport::SocketAddress::Parse(target->HostAddress(), target->PortOrDefault());
    }
    // An ACK that carried our Route is the ACK for a 2xx of a dialog we
    // record-routed: it goes end to end to the callee's Contact, never to
    // the dispatcher (which may pick another backend after a failover).
    if (hop && (msg_.method != Method::kAck || pop_route || strict_route)) {
      RelayInDialog(in, *hop, pop_route, strict_route, stateful_dialog);
      return;
    }
    if (msg_.method != Method::kAck) {
      env_.counters->no_route.Add();
      Reply(in, 404, "Not Here");
      return;
    }
    // Any other ACK is the ACK for a non-2xx of a stateless route: it
    // follows its INVITE's path through the route table below.
  }

  // OPTIONS addressed to the balancer itself: an upstream balancer's probe.
  if (msg_.method == Method::kOptions && msg_.request_uri.user.empty() && IsUs(msg_.request_uri)) {
    env_.counters->local_replies.Add();
    static constexpr std::string_view kHeaders[] = {
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, UPDATE, INFO, MESSAGE, "
        "SUBSCRIBE, NOTIFY, REFER",
        "Accept: application/sdp"};
    Reply(in, 200, "OK", kHeaders);
    return;
  }

  // Out of dialog (and ACKs for non-2xx, which follow their INVITE's path).
  const config::RouteConfig* route = router_.Match(msg_, in.source);
  if (route == nullptr) {
    env_.counters->no_route.Add();
    if (msg_.method != Method::kAck) Reply(in, 404, "No Route");
    return;
  }
  switch (route->action) {
    case config::RouteAction::kReply:
      env_.counters->local_replies.Add();
      if (msg_.method == Method::kAck) return;
      if (route->reply_headers.empty()) {
        Reply(in, route->reply_code, route->reply_reason);
      } else {
        std::array<std::string_view, config::kMaxRuleHeaders> lines;
        header_scratch_.Clear();
        const size_t n = ExpandHeaderLines(route->reply_headers, RequestValues(msg_, *route, {}),
                                           header_scratch_, lines);
        Reply(in, route->reply_code, route->reply_reason, std::span(lines.data(), n));
      }
      return;
    case config::RouteAction::kDrop:
      env_.counters->route_drops.Add();
      return;
    case config::RouteAction::kForward:
      break;
  }
  if (route->stateful && stateful_ != nullptr && msg_.method != Method::kAck) {
    if (msg_.method == Method::kCancel) {
      // Pitfall 4: no INVITE for this CANCEL (yet): remember it, create no
      // state, answer nothing; the UAC retransmits it.
      env_.counters->early_cancels.Add();
      stateful_->RememberCancel(msg_);
      return;
    }
    stateful_->HandleRequest(msg_, *route, ReplyPath(in), FormatIp(in.source, source_ip),
                             pop_route,
                             route->record_route && IsDialogCreating(msg_.method) && !in_dialog,
                             strict_route);
    return;
  }
  const dispatch::DestinationSet& set = sets_[static_cast<size_t>(route->set_index)];
  // Stateless forwarding keeps no memory of where a call went, so every
  // request of a call (INVITE, CANCEL, ACK) must land on the same
  // destination by itself: rendezvous hashing of the set's hash field
  // (hash-* algorithms), else of the Call-ID, guarantees it.
  const dispatch::Destination* destination =
      set.SelectByHash(dispatch::SelectionKey(set.config().algorithm, msg_));
  if (destination == nullptr) {
    env_.counters->no_destination.Add();
    if (msg_.method != Method::kAck) Reply(in, 503, "No Destination Available");
    return;
  }
  Forward(in, destination->address, pop_route,
          route->record_route && IsDialogCreating(msg_.method) && !in_dialog, strict_route,
          route, destination->config->uri);
}

void ProxyCore::RelayInDialog(const InboundDatagram& in, const transport::SocketAddress& next_hop,
                              bool pop_route, bool strict_route, bool stateful_dialog) {
  // ACK (for a 2xx: end to end, pitfall 3) and unmatched CANCELs are never
  // transactions of ours; a full table falls back to stateless relaying.
  if (stateful_dialog && stateful_ != nullptr && msg_.method != Method::kAck &&
      msg_.method != Method::kCancel) {
    char source_ip[INET6_ADDRSTRLEN];
    if (stateful_->HandleInDialogRequest(msg_, next_hop, ReplyPath(in),
                                         FormatIp(in.source, source_ip), pop_route,
                                         strict_route)) {
      return;
    }
  }
  Forward(in, next_hop, pop_route, /*record_route=*/false, strict_route);
}

bool ProxyCore::RejectByChecks(const InboundDatagram& in) {
  // ACK gets no response, and a CANCEL follows its INVITE, which was checked.
  const bool ack_or_cancel = msg_.method == Method::kAck || msg_.method == Method::kCancel;
  if (env_.config->server.loop_detection) {
    // §16.3 step 4: our own Via for this very request means it looped.
    if (IsStatelessLoop(msg_, env_.listens)) {
      env_.counters->loops_detected.Add();
      // A looped ACK or CANCEL (its INVITE looped too, and got the 482) is
      // dropped rather than sent round until Max-Forwards runs out.
      if (!ack_or_cancel) Reply(in, 482, "Loop Detected");
      return true;
    }
    if (!ack_or_cancel && stateful_ != nullptr && stateful_->IsLoop(msg_)) {
      env_.counters->loops_detected.Add();
      Reply(in, 482, "Loop Detected");
      return true;
    }
  }
  if (ack_or_cancel) return false;
  // §16.3 step 5: we support no extensions, so every Proxy-Require option
  // tag is unsupported: 420 listing them in Unsupported.
  if (msg_.Find(HeaderId::kProxyRequire) == nullptr) return false;
  char line[512];
  constexpr std::string_view kName = "Unsupported: ";
  std::memcpy(line, kName.data(), kName.size());
  size_t n = kName.size();
  bool any = false;
  for (size_t i = 0; i < msg_.header_count; ++i) {
    if (msg_.header_fields[i].id != HeaderId::kProxyRequire) continue;
    sip::ListSplitter tags(msg_.header_fields[i].value);
    std::string_view tag;
    while (tags.Next(&tag)) {
      if (tag.empty() || n + tag.size() + 2 > sizeof line) continue;
      if (any) {
        line[n++] = ',';
        line[n++] = ' ';
      }
      std::memcpy(line + n, tag.data(), tag.size());
      n += tag.size();
      any = true;
    }
  }
  if (!any) return false;
  env_.counters->bad_extensions.Add();
  const std::string_view headers[] = {std::string_view(line, n)};
  Reply(in, 420, "Bad Extension", headers);
  return true;
}

uint64_t ProxyCore::StatelessTransactionHash() const {
  // §16.11: the same incoming transaction must map to the same outgoing
  // branch, and CANCEL/ACK-for-non-2xx must map to their INVITE's branch.
  const sip::Via& via = msg_.top_via;
  uint64_t h = base::StableHash(via.host, via.port);
  if (via.has_magic_cookie()) return base::HashCombine(h, base::StableHash(via.branch));
  h = base::HashCombine(h, base::StableHash(via.branch));
  h = base::HashCombine(h, base::StableHash(msg_.call_id));
  h = base::HashCombine(h, base::StableHash(msg_.from.tag));
  h = base::HashCombine(h, base::StableHash(msg_.request_uri_text));
  return base::HashCombine(h, msg_.cseq.number);
}

void ProxyCore::Forward(const InboundDatagram& in, const transport::SocketAddress& next_hop,
                        bool pop_route, bool record_route, bool strict_route,
                        const config::RouteConfig* route, std::string_view dst_uri) {
  const int listen_index = ListenIndexFor(next_hop, in.listen_index);
  if (listen_index < 0) {
    env_.counters->no_destination.Add();
    if (msg_.method != Method::kAck) Reply(in, 503, "No Route To Destination Family");
    return;
  }
  const ListenIdentity& listen = env_.listens[static_cast<size_t>(listen_index)];
  sip::MessageWriter writer(msg_);
  char ip_buffer[INET6_ADDRSTRLEN];
  // §18.2.1 and RFC 3581: record where the request really came from.
  writer.AddViaParamsToTop(FormatIp(in.source, ip_buffer), in.source.port());
  writer.SetMaxForwards(msg_.max_forwards < 0 ? 70 : static_cast<uint32_t>(msg_.max_forwards - 1));
  if (pop_route) writer.PopTopRoute();
  if (strict_route) ApplyStrictRoute(msg_, writer);  // §16.4
  if (record_route) writer.AddRecordRoute(record_route_uris_[static_cast<size_t>(listen_index)]);
  if (route != nullptr) {
    // The rule's request header edits; expanded text lives in
    // header_scratch_ until SendWritten below has serialized.
    RemoveHeaders(writer, msg_, route->remove_headers);
    header_scratch_.Clear();
    AddHeaders(writer, route->add_headers, RequestValues(msg_, *route, dst_uri), header_scratch_);
  }
  char branch[txn::kMaxBranchLength];
  const size_t branch_length = txn::FormatStatelessBranch(
      txn::StatelessBranch{env_.shard_index, StatelessTransactionHash(), StatelessLoopHash(msg_)},
      branch);
  sip::ViaValue via;
  via.Format("UDP", listen.host, listen.port, std::string_view(branch, branch_length), true);
  writer.PushVia(via.view());
  if (SendWritten(writer, OutboundPath{listen_index, next_hop})) {
    env_.counters->requests_forwarded.Add();
  }
}

bool ProxyCore::SendWritten(const sip::MessageWriter& writer, const OutboundPath& path) {
  if (writer.error() != sip::WriteError::kNone) {
    env_.counters->send_failures.Add();
    return false;
  }
  const size_t size = writer.SerializedSize();
  std::span<char> out = env_.sender->Reserve(size);
  if (out.size() < size) {
    env_.counters->send_failures.Add();
    return false;
  }
  const sip::WriteResult written = writer.Serialize(out);
  if (!written.ok()) {
    env_.counters->send_failures.Add();
    return false;
  }
  return env_.sender->Commit(written.size, path);
}

void ProxyCore::HandleResponse(const InboundDatagram& in) {
  env_.counters->responses.Add();
  // §16.7 step 1 / §16.11: a response is ours only if our Via is on top.
  if (!txn::IsOurBranch(msg_.top_via.branch)) {
    env_.counters->responses_not_ours.Add();
    return;
  }
  // Answers to our OPTIONS health probes end here.
  if (health_ != nullptr && health_->HandleProbeResponse(msg_)) return;
  // Transaction branches belong to the StatefulProxy; one that matches no
  // live branch (a late 2xx after the transaction ended) is relayed
  // statelessly by Via below (§16.7 step 1).
  if (stateful_ != nullptr && stateful_->HandleResponse(msg_)) return;
  std::string_view element;
  sip::Via next;
  if (!FindSecondVia(msg_, &element) || !sip::ParseVia(element, &next)) {
    env_.counters->responses_unroutable.Add();
    return;
  }
  // §18.2.2 with RFC 3581: received and rport, else sent-by.
  const std::string_view host = next.received.empty() ? next.HostAddress() : next.received;
  const uint16_t port = next.rport > 0 ? static_cast<uint16_t>(next.rport) : next.PortOrDefault();
  std::optional<transport::SocketAddress> destination = transport::SocketAddress::Parse(host, port);
  if (!destination) {
    env_.counters->responses_unroutable.Add();
    return;
  }
  const int listen_index = ListenIndexFor(*destination, in.listen_index);
  if (listen_index < 0) {
    env_.counters->responses_unroutable.Add();
    return;
  }
  sip::MessageWriter writer(msg_);
  writer.PopTopVia();
  if (SendWritten(writer, OutboundPath{listen_index, *destination})) {
    env_.counters->responses_forwarded.Add();
  }
}

std::string_view ProxyCore::LocalToTag() {
  // Stateless replies must be identical for retransmissions (§16.11 spirit,
  // §8.2.6.2): derive the tag from the request instead of remembering it.
  uint64_t h = base::StableHash(msg_.call_id);
  h = base::HashCombine(h, base::StableHash(msg_.from.tag));
  h = base::HashCombine(h, base::StableHash(msg_.top_via.branch));
  h = base::HashCombine(h, msg_.cseq.number);
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  to_tag_[n++] = 's';
  to_tag_[n++] = 'x';
  for (int shift = 60; shift >= 0; shift -= 4) to_tag_[n++] = kHex[(h >> shift) & 0xf];
  return std::string_view(to_tag_, n);
}

void ProxyCore::Reply(const InboundDatagram& in, int code, std::string_view reason,
                      std::span<const std::string_view> extra_headers) {
  char ip_buffer[INET6_ADDRSTRLEN];
  sip::ResponseOptions options;
  options.to_tag = LocalToTag();
  options.source_ip = FormatIp(in.source, ip_buffer);
  options.source_port = in.source.port();
  options.extra_headers = extra_headers;
  // §18.2.2 for unreliable transports: the source address, and the source
  // port when the client asked for rport, else the sent-by port.
  const bool via_ok = !msg_.top_via.host.empty();
  const uint16_t port = (!via_ok || msg_.top_via.has_rport) ? in.source.port()
                                                             : msg_.top_via.PortOrDefault();
  const transport::SocketAddress destination = in.source.WithPort(port);

  size_t extra_size = 0;
  for (std::string_view line : extra_headers) extra_size += line.size() + 2;
  std::span<char> out = env_.sender->Reserve(msg_.data.size() + kReplySlack + extra_size);
  if (out.empty()) {
    env_.counters->send_failures.Add();
    return;
  }
  const sip::WriteResult written = sip::BuildResponse(msg_, code, reason, options, out);
  if (!written.ok()) {
    env_.counters->send_failures.Add();
    return;
  }
  env_.sender->Commit(written.size, OutboundPath{in.listen_index, destination});
}

}  // namespace sipshard::proxy
