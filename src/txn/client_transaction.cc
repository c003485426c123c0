#include "sipshard/txn/client_transaction.h"

#include <algorithm>

#include "sipshard/sip/message_builder.h"
#include "sipshard/txn/transaction_table.h"

namespace sipshard::txn {

std::string_view ClientStateName(ClientState state) {
  switch (state) {
    case ClientState::kIdle: return "Idle";
    case ClientState::kCalling: return "Calling";
    case ClientState::kTrying: return "Trying";
    case ClientState::kProceeding: return "Proceeding";
    case ClientState::kCompleted: return "Completed";
    case ClientState::kAccepted: return "Accepted";
    case ClientState::kTerminated: return "Terminated";
  }
  return "?";
}

ClientTransaction::ClientTransaction()
    : retransmit_timer_(&base::TimerNode::CallMember<ClientTransaction,
                                                     &ClientTransaction::OnRetransmitTimer>,
                        this),
      deadline_timer_(&base::TimerNode::CallMember<ClientTransaction,
                                                   &ClientTransaction::OnDeadlineTimer>,
                      this) {}

bool ClientTransaction::Start(sip::Method method, const OutboundPath& path,
                              base::Millis no_response_timeout) {
  const TimerValues& t = table_->timers();
  method_ = method;
  path_ = path;
  table_->counters().branches_started.Add();
  state_ = is_invite() ? ClientState::kCalling : ClientState::kTrying;
  if (!table_->sender().Send(request_.view(), path_)) {
    // §16.9: a transport error is a 503 on this branch.
    EndLocally(LocalOutcome::kTransportError);
    return false;
  }
  // §17.1.1.2 Timer A / §17.1.2.2 Timer E: retransmit from T1.
  retransmit_interval_ = t.t1;
  table_->wheel().Arm(retransmit_timer_, retransmit_interval_);
  // The "no response" timeout (Kamailio's fr_timer), never past B / F.
  const base::Millis fr = no_response_timeout > 0 ? no_response_timeout : t.fr_timeout;
  table_->wheel().Arm(deadline_timer_, std::min(fr, is_invite() ? t.TimerB() : t.TimerF()));
  return true;
}

bool ClientTransaction::OnResponse(const sip::Message& response) {
  const TimerValues& t = table_->timers();
  base::TimerWheel& wheel = table_->wheel();
  const int code = response.status_code;
  if (code < 200) {
    const bool first = !provisional_received_;
    provisional_received_ = true;
    if (ended()) {
      // A provisional after we gave up on the branch: it is alive after
      // all, so it must not ring on (§16.8 spirit): CANCEL it.
      if (is_invite() && state_ == ClientState::kCompleted) {
        cancel_requested_ = true;
        SendCancel();
      }
      return false;
    }
    if (state_ == ClientState::kCalling) {
      // §17.1.1.2: any 1xx → Proceeding, Timer A stops.
      state_ = ClientState::kProceeding;
      retransmit_timer_.Cancel();
    } else if (state_ == ClientState::kTrying) {
      // §17.1.2.2: Proceeding; Timer E keeps firing, now every T2.
      state_ = ClientState::kProceeding;
      retransmit_interval_ = t.t2;
    }
    if (is_invite() && !cancel_sent_ && (first || code > 100)) {
      // §16.6 step 11 / §16.7 step 2: Timer C, restarted on 101-199.
      if (first || code >= last_provisional_) wheel.Arm(deadline_timer_, t.fr_inv_timeout);
    }
    last_provisional_ = std::max(last_provisional_, code);
    // §9.1: a CANCEL waits for the branch's first provisional (pitfall 1).
    if (cancel_requested_ && !cancel_sent_) SendCancel();
    return true;
  }
  if (is_invite() && code < 300) {
    // RFC 6026 §7.2: every 2xx goes to the TU, also a retransmission or
    // one after a local timeout (a lost answered call is the worst outcome).
    if (state_ != ClientState::kAccepted) {
      state_ = ClientState::kAccepted;
      final_status_ = code;
      retransmit_timer_.Cancel();
      ReleaseRequest();
      ArmWait(t.TimerM());
    }
    return true;
  }
  if (ended()) {
    // A retransmitted final, or a final after a local timeout (a late 487
    // after our own 408, pitfall 9): absorbed; an INVITE's non-2xx still
    // needs our ACK (§17.1.1.2), hop by hop.
    if (is_invite() && state_ == ClientState::kCompleted) SendAck(response);
    return false;
  }
  final_status_ = code;
  state_ = ClientState::kCompleted;
  if (!cancel_sent_ || cancel_answered_) retransmit_timer_.Cancel();
  if (is_invite()) {
    // §17.1.1.2: 3xx-6xx → Completed, ACK it, Timer D absorbs retransmissions.
    SendAck(response);
    ArmWait(t.TimerD());
  } else {
    // §17.1.2.2: Completed, Timer K = T4 for UDP.
    retransmit_timer_.Cancel();
    ArmWait(t.TimerK());
  }
  ReleaseRequest();
  return true;
}

void ClientTransaction::ReleaseRequest() {
  // A branch with a final response from downstream never sends its request
  // or a CANCEL again (the ACK for a non-2xx is built already): the copy
  // would only hold a buffer through the 32 s wait.
  table_->buffers().Release(&request_);
}

void ClientTransaction::OnCancelResponse(int status) {
  if (status < 200) return;
  cancel_answered_ = true;
  retransmit_timer_.Cancel();
}

void ClientTransaction::Cancel() {
  if (!is_invite() || state_ == ClientState::kIdle || state_ == ClientState::kAccepted ||
      state_ == ClientState::kTerminated || (state_ == ClientState::kCompleted &&
                                             local_outcome_ == LocalOutcome::kNone)) {
    return;
  }
  cancel_requested_ = true;
  // §9.1: only after a provisional; otherwise on the first one.
  if (provisional_received_) SendCancel();
}

void ClientTransaction::SendCancel() {
  if (cancel_sent_) return;
  const sip::Message* invite = table_->ParseStored(request_.view());
  if (invite == nullptr) return;
  std::span<char> out = table_->buffers().Reserve(&cancel_, request_.size + 64);
  const sip::WriteResult written = sip::BuildCancel(*invite, out);
  if (!written.ok()) return;
  cancel_.size = static_cast<uint32_t>(written.size);
  cancel_sent_ = true;
  table_->counters().cancels_sent.Add();
  table_->sender().Send(cancel_.view(), path_);
  const TimerValues& t = table_->timers();
  // The CANCEL is a non-INVITE client transaction of its own: Timer E
  // retransmits it, Timer F bounds it (§17.1.2.2).
  cancel_deadline_ = table_->wheel().now() + t.TimerF();
  retransmit_interval_ = t.t1;
  table_->wheel().Arm(retransmit_timer_, retransmit_interval_);
  // §9.1: no final within 64*T1 after the CANCEL → the branch is over.
  if (!ended()) table_->wheel().Arm(deadline_timer_, t.TimerF());
}

void ClientTransaction::SendAck(const sip::Message& response) {
  if (ack_.empty()) {
    const sip::Message* invite = table_->ParseStored(request_.view());
    if (invite == nullptr) return;
    std::span<char> out =
        table_->buffers().Reserve(&ack_, request_.size + response.data.size() + 64);
    const sip::WriteResult written = sip::BuildNon2xxAck(*invite, response, out);
    if (!written.ok()) {
      table_->buffers().Release(&ack_);
      return;
    }
    ack_.size = static_cast<uint32_t>(written.size);
  }
  table_->counters().acks_sent.Add();
  table_->sender().Send(ack_.view(), path_);
}

void ClientTransaction::OnRetransmitTimer() {
  const TimerValues& t = table_->timers();
  base::TimerWheel& wheel = table_->wheel();
  if (cancel_sent_) {
    if (cancel_answered_ || wheel.now() >= cancel_deadline_) return;
    table_->sender().Send(cancel_.view(), path_);
    table_->counters().requests_retransmitted.Add();
    retransmit_interval_ = std::min(2 * retransmit_interval_, t.t2);
    wheel.Arm(retransmit_timer_, retransmit_interval_);
    return;
  }
  if (state_ == ClientState::kCalling) {
    // §17.1.1.2 Timer A: resend, interval doubles (bounded by Timer B).
    retransmit_interval_ *= 2;
  } else if (state_ == ClientState::kTrying) {
    // §17.1.2.2 Timer E: doubles up to T2.
    retransmit_interval_ = std::min(2 * retransmit_interval_, t.t2);
  } else if (state_ == ClientState::kProceeding && !is_invite()) {
    retransmit_interval_ = t.t2;
  } else {
    return;
  }
  table_->sender().Send(request_.view(), path_);
  table_->counters().requests_retransmitted.Add();
  wheel.Arm(retransmit_timer_, retransmit_interval_);
}

void ClientTransaction::OnDeadlineTimer() {
  if (ended()) return;  // waits (D, K, M) run on the transaction's timer
  // §16.8: Timer C fired after a provisional → CANCEL the branch and treat
  // it as 408; no response at all (fr_timeout, B, F) → 408 (pitfall 11);
  // a CANCELed branch that never answered (§9.1, 64*T1) → over.
  const bool canceled_by_tu = cancel_requested_;
  if (is_invite() && provisional_received_) {
    cancel_requested_ = true;
    SendCancel();
  }
  EndLocally(LocalOutcome::kTimeout);
  final_status_ = canceled_by_tu ? 487 : 408;
  table_->user().OnBranchTimeout(*cell_, index_);
}

void ClientTransaction::EndLocally(LocalOutcome outcome) {
  local_outcome_ = outcome;
  state_ = ClientState::kCompleted;
  if (outcome == LocalOutcome::kTransportError) {
    final_status_ = 503;
  } else {
    final_status_ = 408;
    table_->counters().branch_timeouts.Add();
  }
  // A branch that never answered is still CANCELed if it rings later.
  if (is_invite()) cancel_requested_ = true;
  if (!cancel_sent_) retransmit_timer_.Cancel();
  // Stay for Timer D: a late 2xx is relayed, a late non-2xx ACKed.
  const TimerValues& t = table_->timers();
  ArmWait(is_invite() ? t.TimerD() : t.TimerK());
}

void ClientTransaction::ArmWait(base::Millis wait) {
  deadline_timer_.Cancel();
  waiting_ = true;
  table_->ArmWait(*cell_, wait);
}

void ClientTransaction::Terminate() {
  state_ = ClientState::kTerminated;
  waiting_ = false;
  retransmit_timer_.Cancel();
  deadline_timer_.Cancel();
}

}  // namespace sipshard::txn
