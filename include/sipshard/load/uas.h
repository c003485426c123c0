// UasEngine: one backend endpoint of the load farm, driven by an explicit
// clock so tests can run it on manual time.
//
// An endpoint answers INVITEs according to its behaviour (answer, busy,
// fail, notfound, silent, slow, or a percentage mix), answers OPTIONS (so
// health probing works against it), BYE, CANCEL (200 + 487 for a pending
// INVITE) and any other request, and absorbs ACKs. It acts as an RFC 3261
// UAS over UDP: a retransmitted request is absorbed (the last response is
// re-sent, nothing is counted twice), a final response to an INVITE is
// retransmitted per Timer G until the ACK arrives (bounded by Timer H,
// 64·T1), responses copy every Via, add a To tag, carry the endpoint's
// Contact and keep Record-Route in dialog-creating responses (§12.1.1),
// and go to the top Via's received/rport (else the datagram's source).
//
// Transactions are keyed by a 64-bit hash of Call-ID, CSeq number and
// method class (INVITE/ACK/CANCEL share one key), so a 2xx's ACK, which
// carries a new branch, still finds its INVITE.
//
// Test knobs: drop_percent drops that share of received datagrams at
// random; drop_first drops the first N copies of every request (not ACK),
// forcing exactly N retransmissions per transaction.
//
// Ownership: one engine per endpoint per farm thread; it owns its
// transactions, timers and counters and is used by that thread only. The
// sink (the socket the endpoint's requests arrive on) must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "sipshard/base/clock.h"
#include "sipshard/load/packet_io.h"
#include "sipshard/load/sip_text.h"
#include "sipshard/sip/message.h"
#include "sipshard/transport/socket_address.h"

namespace sipshard::load {

enum class Behavior : uint8_t { kAnswer, kBusy, kFail, kNotFound, kSilent, kSlow, kMix };

std::string_view BehaviorName(Behavior behavior);
bool ParseBehavior(std::string_view text, Behavior* out);

struct MixEntry {
  Behavior behavior = Behavior::kAnswer;
  uint32_t percent = 0;
};

struct EndpointConfig {
  transport::SocketAddress address;
  Behavior behavior = Behavior::kAnswer;
  int32_t ring_ms = -1;    // -1: behaviour default (0, slow: 1000)
  int32_t answer_ms = -1;  // -1: behaviour default (0, slow: 3000)
  int32_t retry_after_s = -1;  // fail: add Retry-After when ≥ 0
  std::vector<MixEntry> mix;   // behavior kMix; percents sum to 100
  double drop_percent = 0;
  uint32_t drop_first = 0;
};

// Parses "HOST:PORT[,behavior=B][,ring_ms=N][,answer_ms=N][,retry_after=S]
// [,mix=answer:90/busy:10][,drop_percent=P][,drop_first=N]".
absl::StatusOr<EndpointConfig> ParseEndpointSpec(std::string_view spec);

struct EndpointCounters {
  uint64_t invites = 0;
  uint64_t acks = 0;
  uint64_t byes = 0;
  uint64_t options = 0;
  uint64_t cancels = 0;
  uint64_t other = 0;           // other requests, responses, garbage
  uint64_t responses_sent = 0;  // retransmissions included
  uint64_t dropped = 0;         // by drop_percent / drop_first
  uint64_t absorbed = 0;        // retransmitted requests absorbed
  uint64_t timer_g_retransmissions = 0;
  uint64_t ack_timeouts = 0;    // finals never ACKed (Timer H)
  std::array<uint64_t, 700> finals{};  // final responses to INVITEs by code

  void Merge(const EndpointCounters& rhs);
};

class UasEngine {
 public:
  UasEngine(const EndpointConfig& config, base::Millis t1_ms, uint64_t seed, PacketSink* sink);
  UasEngine(const UasEngine&) = delete;
  UasEngine& operator=(const UasEngine&) = delete;

  void OnDatagram(std::string_view bytes, const transport::SocketAddress& from, base::Nanos now);
  // Sends delayed responses and Timer G retransmissions that are due,
  // expires transactions.
  void Poll(base::Nanos now);
  base::Nanos NextDeadline() const;

  const EndpointCounters& counters() const { return counters_; }
  const EndpointConfig& config() const { return config_; }
  size_t transaction_count() const { return txns_.size() + non_invite_.size(); }

 private:
  enum class TxnState : uint8_t {
    kDropping,    // copies being dropped (drop_first), not yet processed
    kProceeding,  // INVITE: provisional sent, final pending
    kCompleted,   // INVITE: final sent, waiting for the ACK (Timer G/H)
    kSilent,      // INVITE: never answered, kept to absorb retransmissions
    kDone,        // non-INVITE answered, kept to absorb retransmissions
  };
  struct Txn {
    TxnState state = TxnState::kDropping;
    bool is_invite = false;
    uint32_t copies_dropped = 0;
    uint32_t timer_token = 0;
    int final_code = 0;
    base::Nanos ring_at = 0;    // 180 due (0: sent or none)
    base::Nanos final_at = 0;   // final due (0: sent)
    base::Nanos retransmit_at = 0;
    base::Millis interval_ms = 0;
    base::Nanos expire_at = 0;
    transport::SocketAddress reply_to;
    std::string head;          // Via...CSeq lines of the response, To tagged
    std::string dialog;        // Record-Route lines + Contact
    std::string last_response;
  };
  // A non-INVITE transaction after its response: kept 64·T1 (Timer J) to
  // absorb retransmissions, re-answered statelessly with the same code.
  struct NonInviteTxn {
    uint32_t copies_dropped = 0;
    int final_code = -1;  // -1: still dropping; 0: never answered
  };
  struct Timer {
    base::Nanos when;
    uint64_t key;
    uint32_t token;
    bool operator>(const Timer& other) const { return when > other.when; }
  };

  void OnRequest(const sip::Message& msg, const transport::SocketAddress& from, base::Nanos now);
  void OnInvite(uint64_t key, const sip::Message& msg, const transport::SocketAddress& from,
                base::Nanos now);
  void OnAck(uint64_t key);
  static uint64_t TxnKey(const sip::Message& msg);
  void OnCancel(uint64_t key, const sip::Message& msg, const transport::SocketAddress& from,
                base::Nanos now);
  void OnNonInvite(uint64_t key, const sip::Message& msg, const transport::SocketAddress& from,
                   base::Nanos now);
  // Answers a non-INVITE request statelessly (deterministic To tag).
  void AnswerNonInvite(const sip::Message& msg, const transport::SocketAddress& reply_to,
                       int code);
  Behavior Choose(std::string_view call_id) const;
  int FinalCode(Behavior behavior) const;
  // Fills txn.head/dialog from the request.
  void CaptureHead(const sip::Message& msg, uint64_t key, bool with_dialog, Txn* txn);
  // Builds "SIP/2.0 code reason" + head [+ dialog] [+ extras] into scratch_.
  void BuildResponse(const Txn& txn, int code, bool with_dialog, bool with_sdp);
  void SendTxnResponse(Txn* txn, int code, base::Nanos now);
  void Arm(uint64_t key, Txn* txn, base::Nanos when);
  base::Nanos NextTxnEvent(const Txn& txn) const;
  void FireTxn(uint64_t key, Txn* txn, base::Nanos now);
  transport::SocketAddress ReplyAddress(const sip::Message& msg,
                                        const transport::SocketAddress& from) const;
  bool RandomDrop();

  EndpointConfig config_;
  base::Millis t1_ms_;
  base::Millis t2_ms_;
  PacketSink* sink_;
  uint64_t rng_;
  std::string contact_line_;  // "Contact: <sip:farm@H:P>\r\n"
  std::string sdp_;
  absl::flat_hash_map<uint64_t, Txn> txns_;
  absl::flat_hash_map<uint64_t, NonInviteTxn> non_invite_;
  std::deque<std::pair<base::Nanos, uint64_t>> non_invite_expiry_;  // in time order
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  EndpointCounters counters_;
  sip::Message msg_;
  TextBuffer<8192> scratch_;
};

}  // namespace sipshard::load
