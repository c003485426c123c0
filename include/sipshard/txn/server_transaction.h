// The server side of one transaction: INVITE (§17.2.1 with RFC 6026's
// Accepted state) and non-INVITE (§17.2.2) server state machines.
//
// It remembers the request it received (the key views point into that
// copy) and the last response sent upstream, so retransmitted requests are
// answered without re-routing (§17.2.1, DESIGN-NOTES §5 pitfall 9). Timers
// G (final-response retransmission), H (ACK wait), I (Confirmed), J
// (non-INVITE Completed) and L (Accepted) run on the shard's wheel. It
// never decides what to answer: the proxy (the TU) calls SendResponse.
//
// Shard-local; embedded in a Transaction of the TransactionTable slab.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "sipshard/base/timer_wheel.h"
#include "sipshard/sip/method.h"
#include "sipshard/txn/buffer_pool.h"
#include "sipshard/txn/sender.h"
#include "sipshard/txn/transaction_key.h"

namespace sipshard::txn {

class Transaction;
class TransactionTable;

enum class ServerState : uint8_t {
  kIdle,        // slot unused
  kTrying,      // non-INVITE, nothing sent yet
  kProceeding,  // provisional sent (INVITE starts here: 100 Trying)
  kCompleted,   // final sent (non-2xx for INVITE)
  kConfirmed,   // INVITE: ACK received
  kAccepted,    // INVITE: 2xx sent (RFC 6026)
  kTerminated,
};

std::string_view ServerStateName(ServerState state);

class ServerTransaction {
 public:
  ServerTransaction();
  ServerTransaction(const ServerTransaction&) = delete;
  ServerTransaction& operator=(const ServerTransaction&) = delete;

  // Sends a response upstream and moves the state machine: 1xx keeps
  // Proceeding; INVITE 2xx → Accepted (Timer L); INVITE 3xx-6xx →
  // Completed (Timers G and H); non-INVITE final → Completed (Timer J).
  // A response after the final one (a further 2xx from another fork) is
  // sent as is without changing state. Returns false if sending failed.
  bool SendResponse(std::string_view bytes, int status);

  // Memory of at least `capacity` bytes to build the next response in,
  // so that SendResponse keeps it without a copy (the 100 Trying of every
  // INVITE). Replaces the kept response; empty span if too large. Only for
  // a response that will be kept (a provisional or the first final).
  std::span<char> ResponseBuffer(size_t capacity);

  // Absorbs a retransmitted request (§17.2.1, §17.2.2): resends the most
  // recent response, if any; nothing in Accepted and Confirmed (RFC 6026
  // §7.1: absorbed without a response).
  void OnRetransmission();

  // Handles the ACK for a non-2xx final (§17.2.1): Completed → Confirmed,
  // stops G and H, starts I. Returns true if the ACK belonged here and was
  // absorbed (also in Confirmed), false otherwise (e.g. the ACK for a 2xx).
  bool OnAck();

  ServerState state() const { return state_; }
  bool is_invite() const { return method_ == sip::Method::kInvite; }
  sip::Method method() const { return method_; }
  bool final_sent() const { return final_status_ != 0; }
  int final_status() const { return final_status_; }
  // The request as received (the key points into it).
  std::string_view request() const { return request_.view(); }
  const ServerKey& key() const { return key_; }
  const OutboundPath& reply_path() const { return reply_path_; }
  std::string_view last_response() const { return last_response_.view(); }

 private:
  friend class TransactionTable;

  void OnRetransmitTimer();  // G
  void OnWaitTimer();        // H
  // Enters a Completed/Confirmed/Accepted wait (I, J, L): the
  // transaction's wait timer ends it (TransactionTable::ArmWait).
  void ArmWait(base::Millis wait);
  void Terminate();
  // Keeps `bytes` as the response a retransmitted request gets.
  void Keep(std::string_view bytes);

  Transaction* cell_ = nullptr;
  TransactionTable* table_ = nullptr;
  ServerState state_ = ServerState::kIdle;
  sip::Method method_ = sip::Method::kOther;
  int final_status_ = 0;
  bool waiting_ = false;  // in an I/J/L wait, ended by the transaction's timer
  ServerKey key_;
  OutboundPath reply_path_;
  PooledBuffer request_;
  PooledBuffer last_response_;
  base::Millis retransmit_interval_ = 0;
  base::TimerNode retransmit_timer_;
  base::TimerNode wait_timer_;
};

}  // namespace sipshard::txn
