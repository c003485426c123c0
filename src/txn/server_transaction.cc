#include "sipshard/txn/server_transaction.h"

#include <algorithm>

#include "sipshard/txn/transaction_table.h"

namespace sipshard::txn {

std::string_view ServerStateName(ServerState state) {
  switch (state) {
    case ServerState::kIdle: return "Idle";
    case ServerState::kTrying: return "Trying";
    case ServerState::kProceeding: return "Proceeding";
    case ServerState::kCompleted: return "Completed";
    case ServerState::kConfirmed: return "Confirmed";
    case ServerState::kAccepted: return "Accepted";
    case ServerState::kTerminated: return "Terminated";
  }
  return "?";
}

ServerTransaction::ServerTransaction()
    : retransmit_timer_(&base::TimerNode::CallMember<ServerTransaction,
                                                     &ServerTransaction::OnRetransmitTimer>,
                        this),
      wait_timer_(
          &base::TimerNode::CallMember<ServerTransaction, &ServerTransaction::OnWaitTimer>,
          this) {}

bool ServerTransaction::SendResponse(std::string_view bytes, int status) {
  const TimerValues& t = table_->timers();
  base::TimerWheel& wheel = table_->wheel();
  const bool sent = table_->sender().Send(bytes, reply_path_);
  if (state_ == ServerState::kTerminated || final_sent()) {
    // A further 2xx from another fork (pitfall 5): relayed, state unchanged.
    return sent;
  }
  if (status < 200) {
    // §17.2.1 / §17.2.2: a provisional keeps (or moves to) Proceeding and
    // is what a retransmitted request gets.
    state_ = ServerState::kProceeding;
    Keep(bytes);
    return sent;
  }
  final_status_ = status;
  cell_->lifetime_timer_.Cancel();
  if (!is_invite()) {
    // §17.2.2: Completed, Timer J = 64*T1 absorbs retransmissions.
    state_ = ServerState::kCompleted;
    Keep(bytes);
    ArmWait(t.TimerJ());
  } else if (status < 300) {
    // RFC 6026 §7.1: 2xx → Accepted; the proxy does not retransmit 2xx,
    // retransmitted INVITEs are absorbed silently until Timer L.
    state_ = ServerState::kAccepted;
    table_->buffers().Release(&last_response_);
    ArmWait(t.TimerL());
  } else {
    // §17.2.1: 3xx-6xx → Completed; Timer G retransmits, Timer H gives up
    // waiting for the ACK.
    state_ = ServerState::kCompleted;
    Keep(bytes);
    retransmit_interval_ = t.TimerG();
    wheel.Arm(retransmit_timer_, retransmit_interval_);
    wheel.Arm(wait_timer_, t.TimerH());
  }
  return sent;
}

std::span<char> ServerTransaction::ResponseBuffer(size_t capacity) {
  return table_->buffers().Reserve(&last_response_, capacity);
}

void ServerTransaction::Keep(std::string_view bytes) {
  if (bytes.data() == last_response_.data && bytes.size() <= last_response_.capacity) {
    last_response_.size = static_cast<uint32_t>(bytes.size());  // built in place
  } else {
    table_->buffers().Assign(&last_response_, bytes);
  }
}

void ServerTransaction::OnRetransmission() {
  table_->counters().retransmissions_absorbed.Add();
  switch (state_) {
    case ServerState::kTrying:
    case ServerState::kProceeding:
    case ServerState::kCompleted:
      // §17.2.1 / §17.2.2: resend the most recent response, if any.
      if (!last_response_.empty()) {
        table_->sender().Send(last_response_.view(), reply_path_);
        table_->counters().responses_retransmitted.Add();
      }
      return;
    default:
      // Accepted (RFC 6026), Confirmed: absorbed without a response.
      return;
  }
}

bool ServerTransaction::OnAck() {
  if (!is_invite()) return false;
  if (state_ == ServerState::kConfirmed) return true;
  if (state_ != ServerState::kCompleted) return false;
  // §17.2.1: ACK in Completed → Confirmed; G and H stop, Timer I absorbs
  // further ACKs.
  state_ = ServerState::kConfirmed;
  retransmit_timer_.Cancel();
  ArmWait(table_->timers().TimerI());
  return true;
}

void ServerTransaction::OnRetransmitTimer() {
  if (state_ != ServerState::kCompleted || !is_invite()) return;
  // §17.2.1 Timer G: resend the final, interval doubling up to T2.
  table_->sender().Send(last_response_.view(), reply_path_);
  table_->counters().responses_retransmitted.Add();
  retransmit_interval_ = std::min(2 * retransmit_interval_, table_->timers().t2);
  table_->wheel().Arm(retransmit_timer_, retransmit_interval_);
}

void ServerTransaction::OnWaitTimer() {
  // Timer H: the ACK never came; the machine is done.
  if (state_ == ServerState::kCompleted && is_invite()) table_->counters().ack_timeouts.Add();
  Terminate();
  table_->MaybeFree(*cell_);
}

void ServerTransaction::ArmWait(base::Millis wait) {
  wait_timer_.Cancel();  // Timer H, when the ACK came
  waiting_ = true;
  table_->ArmWait(*cell_, wait);
}

void ServerTransaction::Terminate() {
  state_ = ServerState::kTerminated;
  waiting_ = false;
  retransmit_timer_.Cancel();
  wait_timer_.Cancel();
}

}  // namespace sipshard::txn
