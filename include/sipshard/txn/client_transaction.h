// The client side of one branch: INVITE (§17.1.1 with RFC 6026's Accepted
// state) and non-INVITE (§17.1.2) client state machines, plus the CANCEL
// of the branch (§9.1) and the proxy's two failure timeouts.
//
// Timers: A/E retransmit the request (T1 doubling; E capped at T2), the
// deadline timer runs the "no response" timeout (fr_timeout, never longer
// than B/F), then Timer C after a provisional (§16.6 step 11, restarted on
// every 101-199), then D/K/M while Completed/Accepted absorb
// retransmissions. A branch that times out locally (DESIGN-NOTES pitfall
// 10) stays around for D so that a late 2xx is still relayed and a late
// non-2xx is still ACKed. The ACK for a non-2xx final is built here from
// the OUTGOING INVITE (pitfall 2) and resent on every retransmitted final.
//
// Shard-local; embedded in a Transaction of the TransactionTable slab.
#pragma once

#include <cstdint>
#include <string_view>

#include "sipshard/base/timer_wheel.h"
#include "sipshard/sip/message.h"
#include "sipshard/txn/buffer_pool.h"
#include "sipshard/txn/sender.h"

namespace sipshard::txn {

class Transaction;
class TransactionTable;

enum class ClientState : uint8_t {
  kIdle,        // branch unused
  kCalling,     // INVITE sent, nothing heard
  kTrying,      // non-INVITE sent, nothing heard
  kProceeding,  // provisional received
  kCompleted,   // final (non-2xx for INVITE) received, or ended locally
  kAccepted,    // INVITE: 2xx received (RFC 6026)
  kTerminated,
};

std::string_view ClientStateName(ClientState state);

// Why a branch ended without a final response from downstream.
enum class LocalOutcome : uint8_t {
  kNone,
  kTimeout,         // fr_timeout / Timer B / F / C: behaves as 408
  kTransportError,  // send failed: behaves as 503 (§16.9)
};

class ClientTransaction {
 public:
  ClientTransaction();
  ClientTransaction(const ClientTransaction&) = delete;
  ClientTransaction& operator=(const ClientTransaction&) = delete;

  // Sends the request held in request_buffer() (size set by the caller)
  // to `path` and starts the machine. `no_response_timeout` 0 takes the
  // table's fr_timeout. Returns false on a transport error; the branch is
  // then Completed with LocalOutcome::kTransportError.
  bool Start(sip::Method method, const OutboundPath& path, base::Millis no_response_timeout);

  // Processes a response matched to this branch (§17.1.3). Returns true if
  // the TU must see it: every 2xx (retransmissions and late ones included,
  // pitfall 5), provisionals, and the first final; false when absorbed
  // (retransmitted non-2xx: the ACK is resent; a final after a local
  // timeout, pitfall 9).
  bool OnResponse(const sip::Message& response);

  // Handles the response to our CANCEL: stops its retransmission.
  void OnCancelResponse(int status);

  // Requests cancellation (§9.1): sends CANCEL now if a provisional has
  // been received, else remembers it and sends it on the first provisional
  // (pitfall 1). No effect on a branch that has a final response.
  void Cancel();

  ClientState state() const { return state_; }
  sip::Method method() const { return method_; }
  bool is_invite() const { return method_ == sip::Method::kInvite; }
  // True once the branch has a final outcome (response or local).
  bool ended() const {
    return state_ == ClientState::kCompleted || state_ == ClientState::kAccepted ||
           state_ == ClientState::kTerminated;
  }
  bool provisional_received() const { return provisional_received_; }
  bool cancel_requested() const { return cancel_requested_; }
  bool cancel_sent() const { return cancel_sent_; }
  int final_status() const { return final_status_; }
  LocalOutcome local_outcome() const { return local_outcome_; }
  const OutboundPath& path() const { return path_; }
  std::string_view request() const { return request_.view(); }
  PooledBuffer& request_buffer() { return request_; }
  uint8_t index() const { return index_; }

 private:
  friend class TransactionTable;

  void OnRetransmitTimer();  // A, E, CANCEL's E
  void OnDeadlineTimer();    // fr_timeout, B, F, C, CANCEL's F
  void EndLocally(LocalOutcome outcome);
  // Returns the request copy to the pool once nothing can resend it.
  void ReleaseRequest();
  // Enters a Completed/Accepted wait (D, K, M): the transaction's wait
  // timer ends it (TransactionTable::ArmWait).
  void ArmWait(base::Millis wait);
  void SendCancel();
  void SendAck(const sip::Message& response);
  void Terminate();

  Transaction* cell_ = nullptr;
  TransactionTable* table_ = nullptr;
  uint8_t index_ = 0;
  ClientState state_ = ClientState::kIdle;
  sip::Method method_ = sip::Method::kOther;
  LocalOutcome local_outcome_ = LocalOutcome::kNone;
  bool provisional_received_ = false;
  bool cancel_requested_ = false;
  bool cancel_sent_ = false;
  bool cancel_answered_ = false;
  bool waiting_ = false;  // in a D/K/M wait, ended by the transaction's timer
  int final_status_ = 0;
  int last_provisional_ = 0;
  OutboundPath path_;
  PooledBuffer request_;
  PooledBuffer ack_;
  PooledBuffer cancel_;
  base::Millis retransmit_interval_ = 0;
  base::Millis cancel_deadline_ = 0;
  base::TimerNode retransmit_timer_;
  base::TimerNode deadline_timer_;
};

}  // namespace sipshard::txn
