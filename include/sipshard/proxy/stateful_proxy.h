// Transaction-stateful proxying (RFC 3261 §16 on top of §17): Kamailio's
// t_relay with t_on_reply, t_on_failure and branches, for one shard.
//
// ProxyCore decides per route whether a request is handled statelessly
// or here (route.stateful); responses whose top Via carries a transaction
// branch come here too. The StatefulProxy is the TU of the shard's
// TransactionTable: it creates server transactions, forks client branches
// (serial, parallel or by priority group, §16.6), picks and relays the
// best response (§16.7), CANCELs (§9, §16.10) and runs the hooks.
// Serial-groups sets fork every candidate of one priority group in
// parallel and the next group only once the whole group has ended in a
// failover failure (the failure-hook path below, exactly where serial
// failover moves to its next candidate). The hooks:
//  - request hook: sees the request and the transaction attributes before
//    the first branch is sent;
//  - reply hook (t_on_reply): sees every response before it is relayed and
//    may add or remove headers;
//  - failure hook (t_on_failure): runs when every branch has ended and the
//    best response is a failure by policy (the set's failover codes; local
//    408 and transport errors count as 408 and 503), before anything goes
//    upstream; it may start a new branch or choose the reply. The default
//    (no hook, or kDefault) is failover to the next candidate (serial) or
//    the next priority group (serial-groups).
//
// Thread affinity: shard-local; owned by the shard's ProxyCore.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "sipshard/base/timer_wheel.h"
#include "sipshard/config/config.h"
#include "sipshard/dispatch/destination_set.h"
#include "sipshard/metrics/shard_counters.h"
#include "sipshard/proxy/response_context.h"
#include "sipshard/proxy/route_actions.h"
#include "sipshard/sip/message.h"
#include "sipshard/sip/message_writer.h"
#include "sipshard/sip/parser.h"
#include "sipshard/transport/socket_address.h"
#include "sipshard/txn/sender.h"
#include "sipshard/txn/transaction_table.h"

namespace sipshard::proxy {

struct ListenIdentity;
class HealthMonitor;

// What the request hook sees.
struct RequestHookContext {
  const sip::Message& request;
  txn::Attributes& attributes;
};

// What the reply hook sees: the response and a writer to edit it.
struct ReplyHookContext {
  const sip::Message& response;
  sip::MessageWriter& writer;  // add/remove headers here
  txn::Attributes& attributes;
  size_t branch;
};

enum class FailureAction : uint8_t {
  kDefault,      // built-in policy: next candidate if allowed, else reply
  kNewBranch,    // the hook started a branch (StartNextCandidate succeeded)
  kReply,        // send reply_code / reply_reason upstream
  kRelayBest,    // relay the best response as is (no failover)
};

class StatefulProxy;

struct FailureHookContext {
  StatefulProxy& proxy;
  txn::Transaction& txn;
  txn::Attributes& attributes;
  int best_code;         // the best final so far
  bool best_local;       // locally generated (timeout, transport error)
  bool failover_allowed; // guards of pitfall 14 hold and a candidate is left
  int reply_code = 0;    // for kReply
  std::string_view reply_reason;
};

class StatefulHooks {
 public:
  virtual ~StatefulHooks() = default;
  virtual void OnRequest(RequestHookContext& /*ctx*/) {}
  virtual void OnReply(ReplyHookContext& /*ctx*/) {}
  virtual FailureAction OnFailure(FailureHookContext& /*ctx*/) { return FailureAction::kDefault; }
};

struct StatefulOptions {
  uint16_t shard = 0;
  const config::Config* config = nullptr;
  const std::vector<ListenIdentity>* listens = nullptr;
  const std::vector<std::string>* record_route_uris = nullptr;  // per listen
  std::vector<dispatch::DestinationSet>* sets = nullptr;
  sip::ParseLimits limits;
  txn::Sender* sender = nullptr;
  base::TimerWheel* wheel = nullptr;
  metrics::ShardCounters* counters = nullptr;
  StatefulHooks* hooks = nullptr;  // may be null
  // Passive health and Retry-After reports of every branch; may be null.
  HealthMonitor* health = nullptr;
};

class StatefulProxy final : public txn::TransactionUser {
 public:
  explicit StatefulProxy(const StatefulOptions& options);
  ~StatefulProxy() override;

  // Absorbs a retransmitted request or a hop-by-hop ACK (§17.2.3 match).
  // Returns true when the request was consumed.
  bool AbsorbRequest(const sip::Message& request);
  // Handles a CANCEL (§16.10). Returns false when it matches no INVITE
  // server transaction (the caller forwards or drops it).
  bool HandleCancel(const sip::Message& cancel, const txn::OutboundPath& reply_path,
                    std::string_view source_ip);
  // Remembers a CANCEL that matched nothing (pitfall 4).
  void RememberCancel(const sip::Message& cancel) { table_.RememberCancel(cancel); }
  // Starts a transaction for a request that `route` forwards statefully.
  // `reply_path` is where responses go (the request's source).
  // `strict_route`: the Request-URI named us (§16.4), so each branch takes
  // the last Route value as its Request-URI.
  void HandleRequest(const sip::Message& request, const config::RouteConfig& route,
                     const txn::OutboundPath& reply_path, std::string_view source_ip,
                     bool pop_route, bool record_route, bool strict_route = false);
  // Relays an in-dialog request statefully to `next_hop` (its Route or
  // remote target, §16.4, §16.6 step 6): one branch, no failover, a local
  // 408 when the peer is silent, retransmissions absorbed. Used when the
  // dialog was record-routed by a stateful route (kStatefulDialogParam).
  // Returns false, having done nothing, when no transaction can be created
  // (table full): the caller relays the request statelessly instead, so
  // established calls are never refused for capacity.
  bool HandleInDialogRequest(const sip::Message& request, const transport::SocketAddress& next_hop,
                             const txn::OutboundPath& reply_path, std::string_view source_ip,
                             bool pop_route, bool strict_route);
  // §16.3 step 4: true when `request` carries a Via we pushed for a live
  // transaction of this shard whose request had the same Request-URI,
  // Call-ID, From tag and CSeq: it came back unchanged (a loop, 482), as
  // opposed to a spiral (a changed Request-URI).
  bool IsLoop(const sip::Message& request);
  // Handles a response with a transaction branch. Returns false when it
  // matches no live branch (the caller forwards it statelessly by Via).
  bool HandleResponse(const sip::Message& response);

  // Starts a branch to the next untried candidate of the transaction's
  // set; with mode "serial-groups", a branch to every candidate of the next
  // priority group. For failure hooks. Returns false if none is left or
  // sending failed.
  bool StartNextCandidate(txn::Transaction& txn);
  // Sends a locally generated final upstream (e.g. from a failure hook).
  void ReplyLocally(txn::Transaction& txn, int code, std::string_view reason,
                    std::span<const std::string_view> extra_headers = {});

  txn::TransactionTable& table() { return table_; }
  ResponseContext& context(const txn::Transaction& txn) { return contexts_[txn.slot()]; }

  // txn::TransactionUser
  void OnBranchTimeout(txn::Transaction& txn, size_t branch) override;
  void OnLifetimeExpired(txn::Transaction& txn) override;
  void OnTerminated(txn::Transaction& txn) override;

 private:
  // Starts the next untried candidate, or with serial groups every
  // candidate of the next group, of the context's candidates; moves on
  // while nothing could be sent. Returns false when no branch started.
  bool StartNextCandidates(txn::Transaction& txn, const sip::Message& request);
  // Forwards `request` (the received one, or its stored copy) as a new
  // branch to `destination` of the context's set.
  bool StartBranch(txn::Transaction& txn, const sip::Message& request, uint8_t destination);
  bool StartBranchTo(txn::Transaction& txn, const sip::Message& request,
                     const transport::SocketAddress& address, base::Millis timeout,
                     uint8_t destination);
  // Creates the server transaction and its context, sends 100 Trying for
  // an INVITE. nullptr when the table refuses (full).
  txn::Transaction* Begin(const sip::Message& request, const txn::OutboundPath& reply_path,
                          std::string_view source_ip);
  const sip::Message* StoredRequest(const txn::Transaction& txn);
  // A branch ended with `code`: in-flight accounting (OnEnd), passive
  // health and Retry-After (HealthMonitor). No-op for set-less branches.
  void ReportOutcome(txn::Transaction& txn, size_t branch, int code, bool local,
                     int64_t retry_after_s);
  void RelayResponse(txn::Transaction& txn, const sip::Message& response, size_t branch,
                     bool store_as_final);
  void CancelBranches(txn::Transaction& txn, int except);
  // Called whenever a branch ends: failure hook, failover or final reply.
  void OnBranchEnded(txn::Transaction& txn);
  void SendBest(txn::Transaction& txn);
  void SendStatelessReply(const sip::Message& request, const txn::OutboundPath& path,
                          std::string_view source_ip, int code, std::string_view reason,
                          std::span<const std::string_view> extra_headers = {});
  std::string_view ToTag(const sip::Message& request);
  int ListenIndexFor(const transport::SocketAddress& destination, int preferred) const;

  StatefulOptions options_;
  txn::TransactionTable table_;
  std::vector<ResponseContext> contexts_;
  sip::Message stored_;  // re-parsed stored request (failover, local replies)
  sip::Message best_;    // re-parsed best response
  txn::PooledBuffer relay_;  // scratch for the response being relayed
  HeaderScratch header_scratch_;  // expanded rule headers of the message being written
  char to_tag_[24];
  char source_ip_[64];
  // The server key AbsorbRequest looked up for the request at
  // absorbed_data_ (a miss), reused by Begin() for the same bytes.
  txn::ServerKey absorbed_key_;
  const char* absorbed_data_ = nullptr;
  size_t absorbed_size_ = 0;
};

}  // namespace sipshard::proxy
