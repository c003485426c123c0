// UacEngine: the client side of the load generator, one per generator
// thread, driven by an explicit clock so that tests can run it on manual
// time.
//
// The engine starts calls (INVITE → 1xx → 2xx → ACK → hold → BYE → 200, or
// one OPTIONS/REGISTER/MESSAGE transaction) at a paced rate and/or up to a
// bound of calls in flight, retransmits its requests over UDP per RFC 3261
// Timer A/B (INVITE, §17.1.1.2) and Timer E/F (non-INVITE, §17.1.2.2), and
// accounts for every call exactly once: each measured call ends as
// succeeded or failed (a final error code, a transaction timeout or being
// cut off at the end of the run), so attempted == succeeded + failed.
//
// Every datagram it produces goes to a PacketSink; every datagram received
// is handed to OnDatagram(). Identifiers are unique per run, thread, slot
// and slot generation, and the Call-ID encodes the slot, so matching a
// response costs one parse and an array index.
//
// Ownership: the engine owns its calls, timers and statistics and is used
// by exactly one thread. The sink must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <queue>
#include <string>
#include <string_view>
#include <vector>

#include "sipshard/base/clock.h"
#include "sipshard/load/histogram.h"
#include "sipshard/load/packet_io.h"
#include "sipshard/load/sip_text.h"
#include "sipshard/sip/message.h"
#include "sipshard/transport/socket_address.h"

namespace sipshard::load {

enum class Scenario : uint8_t { kCall, kOptions, kRegister, kMessage };

std::string_view ScenarioName(Scenario scenario);
// Parses "call", "options", "register", "message".
bool ParseScenario(std::string_view text, Scenario* out);

struct UacConfig {
  Scenario scenario = Scenario::kCall;
  transport::SocketAddress target;  // where new requests go
  transport::SocketAddress local;   // this engine's bound socket (Via, Contact)
  std::string request_uri;          // empty: "sip:service@<target>"
  base::Millis t1_ms = 500;
  base::Millis t2_ms = 0;  // 0: 8 × T1 (4 s for the default T1, as RFC 3261)
  base::Millis hold_ms = 0;
  double rate = 0;            // calls/s for this engine; 0: not paced
  uint32_t max_inflight = 0;  // 0: unbounded (a rate must be given then)
  uint64_t max_calls = 0;     // 0: until StopOffering()
  uint32_t thread_index = 0;
  uint64_t run_id = 0;  // makes identifiers unique across runs
  // Calls started before this time are warm-up: they run normally but are
  // left out of every statistic except warmup_calls.
  base::Nanos measure_from = 0;
};

struct UacStats {
  uint64_t attempted = 0;
  uint64_t succeeded = 0;
  uint64_t failed = 0;
  uint64_t timeouts = 0;         // transactions that hit Timer B or F
  uint64_t unfinished = 0;       // cut off by Abort() at the end of the run
  uint64_t bye_failures = 0;     // calls answered 2xx whose BYE failed
  uint64_t retransmissions = 0;  // requests we re-sent per Timer A/E
  uint64_t peer_retransmissions = 0;  // duplicate final responses received
  uint64_t late_responses = 0;   // responses for calls already finished
  uint64_t unexpected = 0;       // unparseable, unknown or out-of-state messages
  uint64_t warmup_calls = 0;
  std::array<uint64_t, 700> final_codes{};  // by status code
  LatencyHistogram invite_final;  // µs from first send to the final response
  LatencyHistogram invite_200;    // µs from first send to a 2xx
  base::Nanos first_start = 0;    // first measured call started
  base::Nanos last_start = 0;
  base::Nanos last_end = 0;       // last measured call finished

  void Merge(const UacStats& other);
};

class UacEngine {
 public:
  UacEngine(const UacConfig& config, PacketSink* sink);
  UacEngine(const UacEngine&) = delete;
  UacEngine& operator=(const UacEngine&) = delete;

  // Anchors the pacing schedule; call once before the first Poll().
  void Start(base::Nanos now);
  // Starts the calls that are due (pacing, in-flight bound, call budget)
  // and fires expired timers.
  void Poll(base::Nanos now);
  void OnDatagram(std::string_view bytes, const transport::SocketAddress& from, base::Nanos now);
  // No new calls from now on; calls in flight continue.
  void StopOffering() { offering_ = false; }
  // Ends every call in flight as failed (unfinished).
  void Abort(base::Nanos now);

  // The next time Poll() has something to do, or INT64_MAX.
  base::Nanos NextDeadline() const;
  bool offering() const { return offering_ && !(config_.max_calls && started_ >= config_.max_calls); }
  // True when nothing more will start and nothing is in flight.
  bool Done() const { return !offering() && inflight_ == 0; }

  uint64_t started() const { return started_; }
  uint32_t inflight() const { return inflight_; }
  const UacStats& stats() const { return stats_; }
  const UacConfig& config() const { return config_; }

 private:
  enum class State : uint8_t {
    kFree,
    kInviting,     // INVITE sent, retransmitting (Timer A/B)
    kProceeding,   // 1xx received, waiting for the final (Timer B)
    kHolding,      // 2xx ACKed, waiting hold_ms
    kByeing,       // BYE sent (Timer E/F)
    kRequesting,   // non-INVITE scenario request sent (Timer E/F)
  };
  struct Call {
    uint32_t generation = 0;
    State state = State::kFree;
    bool measured = false;
    bool got_final = false;
    uint32_t timer_token = 0;
    uint32_t transmissions = 0;
    base::Nanos started = 0;
    base::Nanos next_retransmit = 0;
    base::Nanos deadline = 0;  // Timer B / F, or the end of the hold
    base::Millis interval_ms = 0;
    std::string request;   // the request of the current transaction
    std::string ack;       // the ACK of a 2xx, re-sent on a retransmitted 2xx
    std::string to_value;  // the To value of the final response (with tag)
    transport::SocketAddress request_to;  // where `request` goes
  };
  struct Timer {
    base::Nanos when;
    uint32_t slot;
    uint32_t token;
    bool operator>(const Timer& other) const { return when > other.when; }
  };

  void StartCall(base::Nanos now);
  void Arm(uint32_t slot, base::Nanos when);
  void FireTimer(uint32_t slot, base::Nanos now);
  void Finish(uint32_t slot, bool success, base::Nanos now);
  void SendRequest(uint32_t slot);
  void OnResponse(const sip::Message& msg, base::Nanos now);
  void OnInviteResponse(uint32_t slot, const sip::Message& msg, base::Nanos now);
  void OnNonInviteResponse(uint32_t slot, const sip::Message& msg, base::Nanos now);
  // ACKs a final response to an INVITE of a call we no longer track.
  void AckStale(const sip::Message& msg);
  // Builds the ACK for a 2xx into `out` and returns where it must go.
  transport::SocketAddress BuildAck2xx(const sip::Message& msg, std::string_view branch_suffix,
                                       std::string* out, std::string* route_header,
                                       std::string* remote_target);
  void BuildInvite(uint32_t slot);
  void BuildNonInvite(uint32_t slot);
  void BuildBye(uint32_t slot, std::string_view route_header, std::string_view remote_target);
  void AppendIdentity(uint32_t slot);  // From, Call-ID into scratch_
  // Parses our Call-ID; returns false if it is not one of this engine's.
  bool DecodeCallId(std::string_view call_id, uint32_t* slot, uint32_t* generation) const;
  base::Millis RetransmitCap() const { return config_.t2_ms > 0 ? config_.t2_ms : 8 * config_.t1_ms; }

  UacConfig config_;
  PacketSink* sink_;
  std::string local_hostport_;  // "127.0.0.1:40000"
  std::string local_ip_;
  std::string id_suffix_;       // ".<thread>.<run>@<ip>"
  std::string sdp_;
  std::vector<Call> calls_;
  std::vector<uint32_t> free_slots_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  bool offering_ = true;
  base::Nanos origin_ = 0;
  uint64_t started_ = 0;
  uint32_t inflight_ = 0;
  UacStats stats_;
  sip::Message msg_;
  TextBuffer<8192> scratch_;
  std::vector<std::string_view> routes_;
};

}  // namespace sipshard::load
