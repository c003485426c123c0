#include "sipshard/proxy/stateful_proxy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "sipshard/base/hash.h"
#include "sipshard/proxy/health_monitor.h"
#include "sipshard/proxy/loop_detection.h"
#include "sipshard/proxy/address_text.h"
#include "sipshard/proxy/proxy_core.h"
#include "sipshard/proxy/route_set.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/message_builder.h"
#include "sipshard/sip/text.h"
#include "sipshard/sip/via.h"
#include "sipshard/txn/branch_id.h"

namespace sipshard::proxy {
namespace {

using sip::HeaderId;
using sip::Method;

constexpr size_t kReplySlack = 512;

// ${attr.NAME} in a stateful route's header templates: the transaction's
// attributes (set by the request hook).
std::string_view TransactionAttr(const void* context, std::string_view name) {
  const std::optional<std::string_view> value =
      static_cast<const txn::Attributes*>(context)->Get(name);
  return value ? *value : std::string_view();
}

txn::TableOptions MakeTableOptions(const StatefulOptions& options) {
  txn::TableOptions out;
  out.shard = options.shard;
  const config::Config& c = *options.config;
  out.capacity = static_cast<size_t>(c.transactions.max_per_shard);
  out.timers.t1 = c.timers.t1_ms;
  out.timers.t2 = c.timers.t2_ms;
  out.timers.t4 = c.timers.t4_ms;
  out.timers.fr_timeout = c.timers.fr_timeout_ms;
  out.timers.fr_inv_timeout = c.timers.fr_inv_timeout_ms;
  out.timers.max_inv_lifetime = c.transactions.max_inv_lifetime_ms;
  out.timers.max_noninv_lifetime = c.transactions.max_noninv_lifetime_ms;
  out.timers.completed_wait = c.transactions.wait_ms;
  out.limits = options.limits;
  return out;
}

}  // namespace

StatefulProxy::StatefulProxy(const StatefulOptions& options)
    : options_(options),
      table_(MakeTableOptions(options), options.sender, options.wheel, this, options.counters) {}

StatefulProxy::~StatefulProxy() = default;

bool StatefulProxy::AbsorbRequest(const sip::Message& request) {
  absorbed_data_ = nullptr;
  if (request.method == Method::kCancel) return false;
  txn::Transaction* txn = table_.FindServer(request, &absorbed_key_);
  if (txn == nullptr) {
    absorbed_data_ = request.data.data();
    absorbed_size_ = request.data.size();
    return false;
  }
  if (request.method == Method::kAck) {
    // Pitfall 3: the ACK for our non-2xx is hop by hop and ends here; an
    // ACK for a 2xx is end to end and goes on (statelessly, by Route).
    if (!txn->server().OnAck()) return false;
    options_.counters->acks_absorbed.Add();
    return true;
  }
  // Pitfall 9: a retransmission never re-runs routing.
  txn->server().OnRetransmission();
  return true;
}

bool StatefulProxy::HandleCancel(const sip::Message& cancel, const txn::OutboundPath& reply_path,
                                 std::string_view source_ip) {
  txn::Transaction* txn = table_.FindInviteForCancel(cancel);
  if (txn == nullptr) return false;
  options_.counters->cancels_received.Add();
  // §16.10: the CANCEL is answered 200 at once, hop by hop.
  SendStatelessReply(cancel, reply_path, source_ip, 200, "OK");
  if (txn->server().final_sent()) return true;  // crossed a final (e.g. 200)
  ResponseContext& ctx = context(*txn);
  ctx.canceled = true;
  // §16.10: CANCEL every pending branch (after its first provisional, §9.1).
  CancelBranches(*txn, -1);
  if (txn->branch_count() == 0) ReplyLocally(*txn, 487, "Request Terminated");
  return true;
}

void StatefulProxy::HandleRequest(const sip::Message& request, const config::RouteConfig& route,
                                  const txn::OutboundPath& reply_path, std::string_view source_ip,
                                  bool pop_route, bool record_route, bool strict_route) {
  if (request.method == Method::kInvite && table_.TakeEarlyCancel(request)) {
    // Pitfall 4: its CANCEL came first.
    options_.counters->early_cancels.Add();
    SendStatelessReply(request, reply_path, source_ip, 487, "Request Terminated");
    return;
  }
  txn::Transaction* txn = Begin(request, reply_path, source_ip);
  if (txn == nullptr) {
    // Capacity: new requests are refused; in-dialog requests fall back to
    // stateless relaying (HandleInDialogRequest) and responses keep flowing.
    static constexpr std::string_view kRetryAfter[] = {"Retry-After: 5"};
    SendStatelessReply(request, reply_path, source_ip, 503, "Service Unavailable", kRetryAfter);
    return;
  }
  ResponseContext& ctx = context(*txn);
  ctx.route = &route;
  ctx.set = &(*options_.sets)[static_cast<size_t>(route.set_index)];
  ctx.pop_route = pop_route;
  ctx.strict_route = strict_route;
  ctx.record_route = record_route;
  const config::DestinationSetConfig& set_config = ctx.set->config();
  const size_t max = std::min<size_t>(static_cast<size_t>(set_config.max_attempts),
                                      txn::Transaction::kMaxBranches);
  ctx.set->Candidates(dispatch::SelectionInput::ForMessage(request), max, &ctx.candidates);
  // The rule's attributes first, so that the request hook may override them.
  for (const auto& [key, value] : route.attrs) txn->attributes().Set(key, value);
  if (options_.hooks != nullptr) {
    RequestHookContext hook{request, txn->attributes()};
    options_.hooks->OnRequest(hook);
  }
  if (ctx.candidates.size == 0) {
    options_.counters->no_destination.Add();
    ReplyLocally(*txn, 503, "No Destination Available");
    return;
  }
  if (set_config.mode == config::ForwardMode::kParallel) {
    // §16.6: fork to every candidate at once.
    bool any = false;
    while (ctx.next_candidate < ctx.candidates.size) {
      const uint8_t d = ctx.candidates.indices[ctx.next_candidate++];
      any |= StartBranch(*txn, request, d);
    }
    if (!any) OnBranchEnded(*txn);
    return;
  }
  // Serial: one candidate (or one priority group) at a time; the next on
  // failure.
  if (!StartNextCandidates(*txn, request)) OnBranchEnded(*txn);
}

bool StatefulProxy::StartNextCandidates(txn::Transaction& txn, const sip::Message& request) {
  ResponseContext& ctx = context(txn);
  const bool by_group =
      ctx.set != nullptr && ctx.set->config().mode == config::ForwardMode::kSerialGroups;
  while (ctx.next_candidate < ctx.candidates.size) {
    if (!by_group) {
      const uint8_t d = ctx.candidates.indices[ctx.next_candidate++];
      if (StartBranch(txn, request, d)) return true;
      continue;
    }
    // §16.6 in parallel within the group; a group none of whose branches
    // could be sent counts as failed at once and the next one is tried.
    const uint8_t end = ctx.candidates.GroupEnd(ctx.next_candidate);
    bool any = false;
    while (ctx.next_candidate < end) {
      const uint8_t d = ctx.candidates.indices[ctx.next_candidate++];
      any |= StartBranch(txn, request, d);
    }
    if (any) return true;
  }
  return false;
}

txn::Transaction* StatefulProxy::Begin(const sip::Message& request,
                                      const txn::OutboundPath& reply_path,
                                      std::string_view source_ip) {
  // The key AbsorbRequest computed for these very bytes, if it did.
  const bool same = absorbed_data_ == request.data.data() &&
                    absorbed_size_ == request.data.size() && request.method != Method::kAck;
  absorbed_data_ = nullptr;
  txn::Transaction* txn = table_.Create(request, reply_path, same ? &absorbed_key_ : nullptr);
  if (txn == nullptr) return nullptr;
  if (txn->slot() >= contexts_.size()) contexts_.resize((txn->slot() / 256 + 1) * 256);
  ResponseContext& ctx = context(*txn);
  ctx = ResponseContext{};
  if (request.method == Method::kInvite) {
    // §16.2 / §17.2.1: 100 Trying for every new INVITE, at once, built
    // where the server transaction keeps it for retransmitted INVITEs.
    std::span<char> out = txn->server().ResponseBuffer(request.data.size() + kReplySlack);
    sip::ResponseOptions ro;
    ro.source_ip = source_ip;
    ro.source_port = reply_path.destination.port();
    const sip::WriteResult w = sip::BuildResponse(request, 100, "Trying", ro, out);
    if (w.ok()) txn->server().SendResponse(std::string_view(out.data(), w.size), 100);
  }
  return txn;
}

bool StatefulProxy::HandleInDialogRequest(const sip::Message& request,
                                          const transport::SocketAddress& next_hop,
                                          const txn::OutboundPath& reply_path,
                                          std::string_view source_ip, bool pop_route,
                                          bool strict_route) {
  if (table_.full()) return false;
  txn::Transaction* txn = Begin(request, reply_path, source_ip);
  if (txn == nullptr) return false;
  options_.counters->in_dialog_stateful.Add();
  ResponseContext& ctx = context(*txn);
  ctx.pop_route = pop_route;
  ctx.strict_route = strict_route;
  if (options_.hooks != nullptr) {
    RequestHookContext hook{request, txn->attributes()};
    options_.hooks->OnRequest(hook);
  }
  // §16.6 step 6: the next hop is fixed by the route set; no candidates.
  if (!StartBranchTo(*txn, request, next_hop, 0, 0)) OnBranchEnded(*txn);
  return true;
}

bool StatefulProxy::IsLoop(const sip::Message& request) {
  return AnyViaOfOurs(request, [&](const sip::Via& via) {
    const std::optional<txn::TransactionBranch> id = txn::ParseTransactionBranch(via.branch);
    txn::Transaction* txn = id ? table_.FindLive(*id) : nullptr;
    const sip::Message* sent = txn ? table_.ParseStored(txn->server().request()) : nullptr;
    // §16.3 step 4: the same request again is a loop; a changed
    // Request-URI (or another request of the call) is a spiral.
    return sent != nullptr && sent->request_uri_text == request.request_uri_text &&
           sent->call_id == request.call_id && sent->from.tag == request.from.tag &&
           sent->cseq.number == request.cseq.number && sent->cseq.method == request.cseq.method;
  });
}

int StatefulProxy::ListenIndexFor(const transport::SocketAddress& destination,
                                  int preferred) const {
  const std::vector<ListenIdentity>& listens = *options_.listens;
  if (preferred >= 0 && static_cast<size_t>(preferred) < listens.size() &&
      listens[static_cast<size_t>(preferred)].address.family() == destination.family()) {
    return preferred;
  }
  for (size_t i = 0; i < listens.size(); ++i) {
    if (listens[i].address.family() == destination.family()) return static_cast<int>(i);
  }
  return -1;
}

bool StatefulProxy::StartBranch(txn::Transaction& txn, const sip::Message& request,
                                uint8_t destination) {
  const dispatch::Destination& d = context(txn).set->destinations()[destination];
  return StartBranchTo(txn, request, d.address, d.config->timeout_ms, destination);
}

bool StatefulProxy::StartBranchTo(txn::Transaction& txn, const sip::Message& request,
                                  const transport::SocketAddress& address, base::Millis timeout,
                                  uint8_t destination) {
  ResponseContext& ctx = context(txn);
  const txn::OutboundPath& reply_path = txn.server().reply_path();
  const int listen_index = ListenIndexFor(address, reply_path.listen_index);
  if (listen_index < 0) {
    ctx.Offer(503, true);
    return false;
  }
  const int index = txn.AddBranch();
  if (index < 0) return false;
  ctx.branch_destination[static_cast<size_t>(index)] = destination;
  ++ctx.attempts;
  const ListenIdentity& listen = (*options_.listens)[static_cast<size_t>(listen_index)];
  sip::MessageWriter writer(request);
  // §18.2.1, RFC 3581: where the request really came from.
  writer.AddViaParamsToTop(FormatIp(reply_path.destination, source_ip_, sizeof source_ip_),
                           reply_path.destination.port());
  // §16.6 steps 3-8.
  writer.SetMaxForwards(request.max_forwards < 0 ? 70
                                                 : static_cast<uint32_t>(request.max_forwards - 1));
  if (ctx.pop_route) writer.PopTopRoute();
  if (ctx.strict_route) ApplyStrictRoute(request, writer);  // §16.4
  if (ctx.record_route) {
    writer.AddRecordRoute((*options_.record_route_uris)[static_cast<size_t>(listen_index)]);
  }
  if (ctx.route != nullptr && ctx.set != nullptr) {
    // The rule's request header edits (serialized below, before returning).
    config::TemplateValues values = RequestValues(
        request, *ctx.route, ctx.set->destinations()[destination].config->uri);
    values.attr = &TransactionAttr;
    values.attr_context = &txn.attributes();
    RemoveHeaders(writer, request, ctx.route->remove_headers);
    header_scratch_.Clear();
    AddHeaders(writer, ctx.route->add_headers, values, header_scratch_);
  }
  char branch[txn::kMaxBranchLength];
  const size_t branch_length = table_.FormatBranch(txn, static_cast<size_t>(index), branch);
  sip::ViaValue via;
  via.Format("UDP", listen.host, listen.port, std::string_view(branch, branch_length), true);
  writer.PushVia(via.view());
  txn::ClientTransaction& client = txn.branch(static_cast<size_t>(index));
  txn::PooledBuffer& buffer = client.request_buffer();
  const size_t size = writer.SerializedSize();
  std::span<char> out = table_.buffers().Reserve(&buffer, size);
  const sip::WriteResult written =
      writer.error() == sip::WriteError::kNone ? writer.Serialize(out) : sip::WriteResult{};
  if (out.size() < size || !written.ok() || written.size == 0) {
    options_.counters->send_failures.Add();
    buffer.size = 0;
  } else {
    buffer.size = static_cast<uint32_t>(written.size);
  }
  const bool started =
      client.Start(request.method, txn::OutboundPath{listen_index, address}, timeout);
  if (!started) {
    ctx.Offer(client.final_status(), true);
    ReportOutcome(txn, static_cast<size_t>(index), client.final_status(), true, -1);
    return false;
  }
  if (ctx.set != nullptr) {
    // least-loaded / max_calls: in flight until the branch's final.
    ctx.set->OnStart(destination);
    ctx.loaded_branches |= 1u << static_cast<unsigned>(index);
  }
  options_.counters->requests_forwarded.Add();
  return true;
}

void StatefulProxy::ReportOutcome(txn::Transaction& txn, size_t branch, int code, bool local,
                                  int64_t retry_after_s) {
  ResponseContext& ctx = context(txn);
  if (ctx.set == nullptr || ctx.route == nullptr) return;  // in-dialog: no set
  const uint8_t destination = ctx.branch_destination[branch];
  if ((ctx.loaded_branches & (1u << branch)) != 0) {
    ctx.loaded_branches &= ~(1u << branch);
    ctx.set->OnEnd(destination);
  }
  // A branch we CANCELed says nothing about the destination's health.
  if (options_.health != nullptr && !(local && ctx.canceled)) {
    options_.health->OnBranchOutcome(static_cast<size_t>(ctx.route->set_index), destination, code,
                                     local, retry_after_s);
  }
}

bool StatefulProxy::StartNextCandidate(txn::Transaction& txn) {
  const sip::Message* request = StoredRequest(txn);
  if (request == nullptr) return false;
  return StartNextCandidates(txn, *request);
}

const sip::Message* StatefulProxy::StoredRequest(const txn::Transaction& txn) {
  if (sip::ParseMessage(txn.server().request(), options_.limits, &stored_) !=
      sip::ParseError::kNone) {
    return nullptr;
  }
  return &stored_;
}

bool StatefulProxy::HandleResponse(const sip::Message& response) {
  std::optional<txn::ResponseMatch> match = table_.MatchResponse(response);
  if (!match) return false;
  txn::Transaction& txn = *match->txn;
  txn::ClientTransaction& client = txn.branch(match->branch);
  if (match->cancel) {
    client.OnCancelResponse(response.status_code);
    return true;
  }
  const bool ended_locally = client.local_outcome() != txn::LocalOutcome::kNone;
  if (!client.OnResponse(response)) return true;
  ResponseContext& ctx = context(txn);
  const int code = response.status_code;
  if (code >= 200) {
    // Passive health, Retry-After, in-flight accounting.
    ReportOutcome(txn, match->branch, code, false, code == 503 ? RetryAfterSeconds(response) : -1);
  }
  if (code < 200) {
    // §16.7 step 5 / pitfall 13: 100 is hop by hop; other provisionals go
    // up while no final has.
    if (code > 100 && !txn.server().final_sent()) RelayResponse(txn, response, match->branch, false);
    return true;
  }
  if (code < 300) {
    // Pitfall 5: every 2xx is relayed at once, also after a final or a
    // local timeout; the other branches are CANCELed.
    if (ended_locally || (txn.server().final_sent() && txn.server().final_status() >= 300)) {
      options_.counters->late_2xx_relayed.Add();
    }
    ctx.got_2xx = true;
    RelayResponse(txn, response, match->branch, true);
    CancelBranches(txn, static_cast<int>(match->branch));
    return true;
  }
  if (ctx.Offer(code, false)) {
    table_.buffers().Assign(&ctx.best_response, response.data);
    ctx.best_branch = static_cast<uint8_t>(match->branch);
  }
  if (code == 401 || code == 407) {
    // §16.7 step 7: collect every challenge.
    for (size_t i = 0; i < response.header_count; ++i) {
      const sip::HeaderField& f = response.header_fields[i];
      if (f.id != HeaderId::kWwwAuthenticate && f.id != HeaderId::kProxyAuthenticate) continue;
      txn::PooledBuffer& c = ctx.challenges;
      const size_t need = c.size + f.line.size();
      if (need > txn::BufferPool::kClassSizes.back()) continue;
      txn::PooledBuffer grown;
      std::span<char> out = table_.buffers().Reserve(&grown, need);
      if (c.size > 0) std::memcpy(out.data(), c.data, c.size);
      std::memcpy(out.data() + c.size, f.line.data(), f.line.size());
      grown.size = static_cast<uint32_t>(need);
      table_.buffers().Release(&c);
      c = grown;
    }
  }
  if (code >= 600) {
    // Pitfall 6: 6xx stops everything.
    ctx.got_6xx = true;
    CancelBranches(txn, -1);
  }
  OnBranchEnded(txn);
  return true;
}

void StatefulProxy::RelayResponse(txn::Transaction& txn, const sip::Message& response,
                                  size_t branch, bool is_final) {
  ResponseContext& ctx = context(txn);
  sip::MessageWriter writer(response);
  writer.PopTopVia();  // §16.7 step 3
  const int code = response.status_code;
  if (is_final && (code == 401 || code == 407) && ctx.challenges.size > 0) {
    // §16.7 step 7: the chosen challenge response carries all of them.
    writer.RemoveHeader(HeaderId::kWwwAuthenticate);
    writer.RemoveHeader(HeaderId::kProxyAuthenticate);
    std::string_view rest = ctx.challenges.view();
    while (!rest.empty()) {
      size_t eol = rest.find("\r\n");
      std::string_view line = rest.substr(0, eol);
      rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 2);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = line.substr(0, colon);
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      writer.AddHeader(name, value);
    }
  }
  if (options_.hooks != nullptr) {
    ReplyHookContext hook{response, writer, txn.attributes(), branch};
    options_.hooks->OnReply(hook);
  }
  if (ctx.route != nullptr && !ctx.route->on_reply.empty()) {
    // [routes.on_reply]: the request's values come from the response's
    // copies (§8.2.6.2) and the stored request's first line.
    config::TemplateValues values;
    values.request_callid = response.call_id;
    values.request_method = response.cseq.method_text;
    values.request_from_user = UriUser(response.from.uri);
    values.request_ruri = RequestUriOfBytes(txn.server().request());
    values.route_name = ctx.route->name;
    if (ctx.set != nullptr && branch < txn.branch_count()) {
      values.dst_uri = ctx.set->destinations()[ctx.branch_destination[branch]].config->uri;
    }
    values.attr = &TransactionAttr;
    values.attr_context = &txn.attributes();
    RemoveHeaders(writer, response, ctx.route->on_reply.remove_headers);
    header_scratch_.Clear();
    AddHeaders(writer, ctx.route->on_reply.add_headers, values, header_scratch_);
  }
  const size_t size = writer.SerializedSize();
  std::span<char> out = table_.buffers().Reserve(&relay_, size);
  if (writer.error() != sip::WriteError::kNone || out.size() < size) {
    options_.counters->send_failures.Add();
    return;
  }
  const sip::WriteResult written = writer.Serialize(out);
  if (!written.ok()) {
    options_.counters->send_failures.Add();
    return;
  }
  if (txn.server().SendResponse(std::string_view(out.data(), written.size), code)) {
    options_.counters->responses_forwarded.Add();
  }
}

void StatefulProxy::CancelBranches(txn::Transaction& txn, int except) {
  for (size_t i = 0; i < txn.branch_count(); ++i) {
    if (static_cast<int>(i) != except) txn.branch(i).Cancel();
  }
}

void StatefulProxy::OnBranchEnded(txn::Transaction& txn) {
  if (txn.server().final_sent() || !txn.AllBranchesEnded()) return;
  ResponseContext& ctx = context(txn);
  if (ctx.best_code == 0) ctx.Offer(ctx.canceled ? 487 : 408, true);
  const bool failover_allowed =
      !ctx.canceled && !ctx.got_6xx && !ctx.got_2xx && ctx.set != nullptr &&
      IsFailoverCode(ctx.set->config().failover_codes, ctx.best_code) &&
      ctx.next_candidate < ctx.candidates.size && txn.branch_count() < txn::Transaction::kMaxBranches;
  FailureAction action = FailureAction::kDefault;
  FailureHookContext hook{*this, txn, txn.attributes(), ctx.best_code, ctx.best_local,
                          failover_allowed, 0, {}};
  if (options_.hooks != nullptr && !ctx.canceled && !ctx.got_6xx) {
    action = options_.hooks->OnFailure(hook);
  }
  switch (action) {
    case FailureAction::kNewBranch:
      if (!txn.AllBranchesEnded()) {
        options_.counters->failovers.Add();
        return;
      }
      break;
    case FailureAction::kReply:
      ReplyLocally(txn, hook.reply_code, hook.reply_reason);
      return;
    case FailureAction::kRelayBest:
      break;
    case FailureAction::kDefault:
      if (failover_allowed && StartNextCandidate(txn)) {
        options_.counters->failovers.Add();
        return;
      }
      if (ctx.route != nullptr && ctx.route->on_failure.configured) {
        // [routes.on_failure]: failover is exhausted (the best code is a
        // failover code and no candidate is left), so the rule decides.
        const config::RouteConfig::OnFailure& on_failure = ctx.route->on_failure;
        if (on_failure.action == config::FailureReaction::kReply && !ctx.canceled &&
            !ctx.got_6xx && !ctx.got_2xx && ctx.set != nullptr &&
            IsFailoverCode(ctx.set->config().failover_codes, ctx.best_code)) {
          ReplyLocally(txn, on_failure.reply_code, on_failure.reply_reason);
          return;
        }
        break;
      }
      if (ctx.set != nullptr && ctx.set->config().failure_reply_code != 0 && !ctx.canceled &&
          !ctx.got_6xx && !ctx.got_2xx &&
          IsFailoverCode(ctx.set->config().failover_codes, ctx.best_code)) {
        // Every attempt failed: the set's configured failure reply.
        ReplyLocally(txn, ctx.set->config().failure_reply_code,
                     ctx.set->config().failure_reply_reason);
        return;
      }
      break;
  }
  SendBest(txn);
}

void StatefulProxy::SendBest(txn::Transaction& txn) {
  ResponseContext& ctx = context(txn);
  int code = ctx.best_code == 0 ? 408 : ctx.best_code;
  // §16.10: a CANCELed INVITE ends with 487, whatever we made up locally.
  if (ctx.canceled && ctx.best_local) code = 487;
  if (ctx.best_local || code == 503 || ctx.best_response.empty() ||
      sip::ParseMessage(ctx.best_response.view(), options_.limits, &best_) !=
          sip::ParseError::kNone) {
    // Pitfall 8: never relay a 503: answer 500.
    if (code == 408) options_.counters->timeouts_408.Add();
    ReplyLocally(txn, UpstreamCode(code), code == 503 ? "Service Unavailable Downstream" : "");
    return;
  }
  RelayResponse(txn, best_, ctx.best_branch, true);
}

void StatefulProxy::ReplyLocally(txn::Transaction& txn, int code, std::string_view reason,
                                 std::span<const std::string_view> extra_headers) {
  const sip::Message* request = StoredRequest(txn);
  if (request == nullptr) return;
  const txn::OutboundPath& path = txn.server().reply_path();
  sip::ResponseOptions ro;
  ro.to_tag = ToTag(*request);
  ro.source_ip = FormatIp(path.destination, source_ip_, sizeof source_ip_);
  ro.source_port = path.destination.port();
  ro.extra_headers = extra_headers;
  std::span<char> out = table_.buffers().Reserve(&relay_, request->data.size() + kReplySlack);
  const sip::WriteResult w = sip::BuildResponse(*request, code, reason, ro, out);
  if (!w.ok()) {
    options_.counters->send_failures.Add();
    return;
  }
  options_.counters->local_replies.Add();
  txn.server().SendResponse(std::string_view(out.data(), w.size), code);
}

void StatefulProxy::SendStatelessReply(const sip::Message& request, const txn::OutboundPath& path,
                                       std::string_view source_ip, int code,
                                       std::string_view reason,
                                       std::span<const std::string_view> extra_headers) {
  sip::ResponseOptions ro;
  ro.to_tag = ToTag(request);
  ro.source_ip = source_ip;
  ro.source_port = path.destination.port();
  ro.extra_headers = extra_headers;
  std::span<char> out = options_.sender->Reserve(request.data.size() + kReplySlack);
  if (out.empty()) {
    options_.counters->send_failures.Add();
    return;
  }
  const sip::WriteResult w = sip::BuildResponse(request, code, reason, ro, out);
  if (!w.ok()) {
    options_.counters->send_failures.Add();
    return;
  }
  options_.counters->local_replies.Add();
  options_.sender->Commit(w.size, path);
}

std::string_view StatefulProxy::ToTag(const sip::Message& request) {
  // Deterministic, so a retransmitted request gets the same tag (§8.2.6.2).
  uint64_t h = base::StableHash(request.call_id);
  h = base::HashCombine(h, base::StableHash(request.from.tag));
  h = base::HashCombine(h, base::StableHash(request.top_via.branch));
  h = base::HashCombine(h, request.cseq.number);
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  to_tag_[n++] = 's';
  to_tag_[n++] = 't';
  for (int shift = 60; shift >= 0; shift -= 4) to_tag_[n++] = kHex[(h >> shift) & 0xf];
  return std::string_view(to_tag_, n);
}

void StatefulProxy::OnBranchTimeout(txn::Transaction& txn, size_t branch) {
  ResponseContext& ctx = context(txn);
  ctx.Offer(txn.branch(branch).final_status(), true);
  ReportOutcome(txn, branch, txn.branch(branch).final_status(), true, -1);
  OnBranchEnded(txn);
}

void StatefulProxy::OnLifetimeExpired(txn::Transaction& txn) {
  ResponseContext& ctx = context(txn);
  CancelBranches(txn, -1);
  if (ctx.best_code == 0) ctx.Offer(408, true);
  SendBest(txn);
}

void StatefulProxy::OnTerminated(txn::Transaction& txn) {
  ResponseContext& ctx = context(txn);
  for (size_t i = 0; ctx.loaded_branches != 0 && i < txn::Transaction::kMaxBranches; ++i) {
    if ((ctx.loaded_branches & (1u << i)) != 0) ctx.set->OnEnd(ctx.branch_destination[i]);
    ctx.loaded_branches &= ~(1u << i);
  }
  table_.buffers().Release(&ctx.best_response);
  table_.buffers().Release(&ctx.challenges);
  ctx = ResponseContext{};
}

}  // namespace sipshard::proxy
