#include "sipshard/load/uac.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "sipshard/base/hash.h"
#include "sipshard/sip/name_addr.h"
#include "sipshard/sip/parser.h"

namespace sipshard::load {

namespace {

constexpr base::Nanos kNanosPerMilli = 1'000'000;
constexpr std::string_view kUserAgent = "User-Agent: sipshard-load\r\n";

std::string AsString(std::string_view s) { return std::string(s.data(), s.size()); }

}  // namespace

std::string_view ScenarioName(Scenario scenario) {
  switch (scenario) {
    case Scenario::kCall:
      return "call";
    case Scenario::kOptions:
      return "options";
    case Scenario::kRegister:
      return "register";
    case Scenario::kMessage:
      return "message";
  }
  return "call";
}

bool ParseScenario(std::string_view text, Scenario* out) {
  for (Scenario s : {Scenario::kCall, Scenario::kOptions, Scenario::kRegister, Scenario::kMessage}) {
    if (text == ScenarioName(s)) {
      *out = s;
      return true;
    }
  }
  return false;
}

void UacStats::Merge(const UacStats& other) {
  attempted += other.attempted;
  succeeded += other.succeeded;
  failed += other.failed;
  timeouts += other.timeouts;
  unfinished += other.unfinished;
  bye_failures += other.bye_failures;
  retransmissions += other.retransmissions;
  peer_retransmissions += other.peer_retransmissions;
  late_responses += other.late_responses;
  unexpected += other.unexpected;
  warmup_calls += other.warmup_calls;
  for (size_t i = 0; i < final_codes.size(); ++i) final_codes[i] += other.final_codes[i];
  invite_final.Merge(other.invite_final);
  invite_200.Merge(other.invite_200);
  if (other.first_start != 0 && (first_start == 0 || other.first_start < first_start)) {
    first_start = other.first_start;
  }
  last_start = std::max(last_start, other.last_start);
  last_end = std::max(last_end, other.last_end);
}

UacEngine::UacEngine(const UacConfig& config, PacketSink* sink) : config_(config), sink_(sink) {
  local_hostport_ = config_.local.ToString();
  local_ip_ = config_.local.HostString();
  if (config_.request_uri.empty()) {
    config_.request_uri = absl::StrCat("sip:service@", config_.target.ToString());
  }
  id_suffix_ = absl::StrCat(".", config_.thread_index, ".", absl::Hex(config_.run_id), "@",
                            config_.local.is_ipv6() ? local_hostport_ : local_ip_);
  const char* family = config_.local.is_ipv6() ? "IP6" : "IP4";
  sdp_ = absl::StrCat("v=0\r\no=load 1 1 IN ", family, " ", local_ip_, "\r\ns=-\r\nc=IN ", family,
                      " ", local_ip_,
                      "\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
  msg_.Clear();
}

void UacEngine::Start(base::Nanos now) { origin_ = now; }

base::Nanos UacEngine::NextDeadline() const {
  base::Nanos next = std::numeric_limits<base::Nanos>::max();
  if (offering() && (config_.max_inflight == 0 || inflight_ < config_.max_inflight)) {
    if (config_.rate > 0) {
      next = origin_ + static_cast<base::Nanos>(static_cast<double>(started_) * 1e9 / config_.rate);
    } else if (config_.max_inflight > 0) {
      next = 0;
    }
  }
  if (!timers_.empty()) next = std::min(next, timers_.top().when);
  return next;
}

void UacEngine::Poll(base::Nanos now) {
  // Bounded per turn so that receiving is never starved by a catch-up burst.
  int budget = 4096;
  while (offering() && budget-- > 0 &&
         (config_.max_inflight == 0 || inflight_ < config_.max_inflight)) {
    if (config_.rate > 0) {
      const base::Nanos due =
          origin_ + static_cast<base::Nanos>(static_cast<double>(started_) * 1e9 / config_.rate);
      if (due > now) break;
    } else if (config_.max_inflight == 0) {
      break;  // neither paced nor bounded: refuse to flood
    }
    StartCall(now);
  }
  while (!timers_.empty() && timers_.top().when <= now) {
    const Timer timer = timers_.top();
    timers_.pop();
    Call& call = calls_[timer.slot];
    if (call.state == State::kFree || call.timer_token != timer.token) continue;
    FireTimer(timer.slot, now);
  }
}

void UacEngine::Arm(uint32_t slot, base::Nanos when) {
  Call& call = calls_[slot];
  ++call.timer_token;
  timers_.push(Timer{when, slot, call.timer_token});
}

void UacEngine::StartCall(base::Nanos now) {
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(calls_.size());
    calls_.emplace_back();
  }
  Call& call = calls_[slot];
  call.measured = now >= config_.measure_from;
  if (call.measured) {
    ++stats_.attempted;
    if (stats_.first_start == 0) stats_.first_start = now;
    stats_.last_start = now;
  } else {
    ++stats_.warmup_calls;
  }
  ++started_;
  ++inflight_;
  call.started = now;
  call.got_final = false;
  call.transmissions = 1;
  call.interval_ms = config_.t1_ms;
  call.next_retransmit = now + config_.t1_ms * kNanosPerMilli;
  call.deadline = now + 64 * config_.t1_ms * kNanosPerMilli;
  call.request_to = config_.target;
  if (config_.scenario == Scenario::kCall) {
    call.state = State::kInviting;
    BuildInvite(slot);
  } else {
    call.state = State::kRequesting;
    BuildNonInvite(slot);
  }
  call.request.assign(scratch_.view().data(), scratch_.size());
  sink_->Send(call.request, call.request_to);
  Arm(slot, std::min(call.next_retransmit, call.deadline));
}

void UacEngine::Finish(uint32_t slot, bool success, base::Nanos now) {
  Call& call = calls_[slot];
  if (call.measured) {
    if (success) {
      ++stats_.succeeded;
    } else {
      ++stats_.failed;
    }
    stats_.last_end = std::max(stats_.last_end, now);
  }
  call.state = State::kFree;
  ++call.generation;
  ++call.timer_token;
  free_slots_.push_back(slot);
  --inflight_;
}

void UacEngine::Abort(base::Nanos now) {
  for (uint32_t slot = 0; slot < calls_.size(); ++slot) {
    if (calls_[slot].state == State::kFree) continue;
    if (calls_[slot].measured) ++stats_.unfinished;
    Finish(slot, false, now);
  }
  offering_ = false;
}

void UacEngine::FireTimer(uint32_t slot, base::Nanos now) {
  Call& call = calls_[slot];
  switch (call.state) {
    case State::kFree:
      return;
    case State::kHolding:
      // Hold over: the BYE (built when the 2xx came) starts a non-INVITE
      // client transaction.
      call.state = State::kByeing;
      call.transmissions = 1;
      call.interval_ms = config_.t1_ms;
      call.next_retransmit = now + config_.t1_ms * kNanosPerMilli;
      call.deadline = now + 64 * config_.t1_ms * kNanosPerMilli;
      sink_->Send(call.request, call.request_to);
      Arm(slot, std::min(call.next_retransmit, call.deadline));
      return;
    case State::kProceeding:
      if (now >= call.deadline) {
        // No final within 64·T1 although the UAS is alive: give up, and
        // CANCEL so the UAS stops too (its 487 is ACKed as a late response).
        scratch_.Clear();
        const std::string_view invite = call.request;
        const size_t via_end = invite.find(";rport\r\n");
        const size_t call_id = invite.find("\r\nCall-ID: ");
        const size_t cseq = invite.find("\r\nCSeq: ");
        const size_t from = invite.find("\r\nFrom: ");
        if (via_end != std::string_view::npos && call_id != std::string_view::npos &&
            cseq != std::string_view::npos && from != std::string_view::npos) {
          const size_t via = invite.find("\r\nVia: ");
          scratch_.Add("CANCEL ").Add(config_.request_uri).Add(" SIP/2.0");
          scratch_.Add(invite.substr(via, via_end + 6 - via)).Add("\r\nMax-Forwards: 70");
          scratch_.Add(invite.substr(from, call_id - from));  // From, To
          scratch_.Add(invite.substr(call_id, cseq - call_id));
          scratch_.Add("\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n");
          sink_->Send(scratch_.view(), call.request_to);
        }
        if (call.measured) ++stats_.timeouts;
        Finish(slot, false, now);
      } else {
        Arm(slot, call.deadline);
      }
      return;
    case State::kInviting:
    case State::kByeing:
    case State::kRequesting:
      if (now >= call.deadline) {
        if (call.measured) {
          ++stats_.timeouts;
          if (call.state == State::kByeing) ++stats_.bye_failures;
        }
        Finish(slot, false, now);
        return;
      }
      if (now >= call.next_retransmit) {
        sink_->Send(call.request, call.request_to);
        ++call.transmissions;
        if (call.measured) ++stats_.retransmissions;
        // Timer A doubles without bound (§17.1.1.2); Timer E is capped at
        // T2 (§17.1.2.2).
        call.interval_ms *= 2;
        if (call.state != State::kInviting) call.interval_ms = std::min(call.interval_ms, RetransmitCap());
        call.next_retransmit += call.interval_ms * kNanosPerMilli;
      }
      Arm(slot, std::min(call.next_retransmit, call.deadline));
      return;
  }
}

bool UacEngine::DecodeCallId(std::string_view call_id, uint32_t* slot,
                             uint32_t* generation) const {
  uint64_t values[2] = {0, 0};
  size_t pos = 0;
  for (int field = 0; field < 2; ++field) {
    const size_t begin = pos;
    while (pos < call_id.size() && call_id[pos] >= '0' && call_id[pos] <= '9' && pos - begin < 10) {
      values[field] = values[field] * 10 + static_cast<uint64_t>(call_id[pos] - '0');
      ++pos;
    }
    if (pos == begin) return false;
    if (field == 0) {
      if (pos >= call_id.size() || call_id[pos] != '.') return false;
      ++pos;
    }
  }
  if (call_id.substr(pos) != id_suffix_) return false;
  if (values[0] > std::numeric_limits<uint32_t>::max() ||
      values[1] > std::numeric_limits<uint32_t>::max()) {
    return false;
  }
  *slot = static_cast<uint32_t>(values[0]);
  *generation = static_cast<uint32_t>(values[1]);
  return true;
}

void UacEngine::AppendIdentity(uint32_t slot) {
  // "From: <sip:load@H:P>;tag=<id>\r\n" is written by callers around this:
  // here only the unique id "<slot>.<gen><suffix-without-host>".
  scratch_.Add(uint64_t{slot}).Add(".").Add(uint64_t{calls_[slot].generation});
}

void UacEngine::BuildInvite(uint32_t slot) {
  scratch_.Clear();
  scratch_.Add("INVITE ").Add(config_.request_uri).Add(" SIP/2.0\r\n");
  scratch_.Add("Via: SIP/2.0/UDP ").Add(local_hostport_).Add(";branch=z9hG4bK");
  AppendIdentity(slot);
  scratch_.Add(".").Add(uint64_t{config_.thread_index}).Add(".").AddHex(config_.run_id);
  scratch_.Add(".i;rport\r\nMax-Forwards: 70\r\nFrom: <sip:load@").Add(local_hostport_);
  scratch_.Add(">;tag=");
  AppendIdentity(slot);
  scratch_.Add("t").Add(uint64_t{config_.thread_index}).Add("\r\nTo: <").Add(config_.request_uri);
  scratch_.Add(">\r\nCall-ID: ");
  AppendIdentity(slot);
  scratch_.Add(id_suffix_).Add("\r\nCSeq: 1 INVITE\r\nContact: <sip:load@").Add(local_hostport_);
  scratch_.Add(">\r\n").Add(kUserAgent).Add("Content-Type: application/sdp\r\nContent-Length: ");
  scratch_.Add(uint64_t{sdp_.size()}).Add("\r\n\r\n").Add(sdp_);
}

void UacEngine::BuildNonInvite(uint32_t slot) {
  std::string_view method = "OPTIONS";
  std::string_view request_uri = config_.request_uri;
  std::string register_uri;
  if (config_.scenario == Scenario::kRegister) {
    method = "REGISTER";
    register_uri = absl::StrCat("sip:", config_.target.ToString());
    request_uri = register_uri;
  } else if (config_.scenario == Scenario::kMessage) {
    method = "MESSAGE";
  }
  scratch_.Clear();
  scratch_.Add(method).Add(" ").Add(request_uri).Add(" SIP/2.0\r\n");
  scratch_.Add("Via: SIP/2.0/UDP ").Add(local_hostport_).Add(";branch=z9hG4bK");
  AppendIdentity(slot);
  scratch_.Add(".").Add(uint64_t{config_.thread_index}).Add(".").AddHex(config_.run_id);
  scratch_.Add(".r;rport\r\nMax-Forwards: 70\r\nFrom: <sip:load@").Add(local_hostport_);
  scratch_.Add(">;tag=");
  AppendIdentity(slot);
  scratch_.Add("t").Add(uint64_t{config_.thread_index});
  if (config_.scenario == Scenario::kRegister) {
    scratch_.Add("\r\nTo: <sip:load@").Add(local_hostport_).Add(">");
  } else {
    scratch_.Add("\r\nTo: <").Add(config_.request_uri).Add(">");
  }
  scratch_.Add("\r\nCall-ID: ");
  AppendIdentity(slot);
  scratch_.Add(id_suffix_).Add("\r\nCSeq: 1 ").Add(method).Add("\r\n");
  scratch_.Add("Contact: <sip:load@").Add(local_hostport_).Add(">\r\n").Add(kUserAgent);
  switch (config_.scenario) {
    case Scenario::kRegister:
      scratch_.Add("Expires: 3600\r\nContent-Length: 0\r\n\r\n");
      break;
    case Scenario::kMessage:
      scratch_.Add("Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nsipshard-load");
      break;
    default:
      scratch_.Add("Accept: application/sdp\r\nContent-Length: 0\r\n\r\n");
      break;
  }
}

void UacEngine::OnDatagram(std::string_view bytes, const transport::SocketAddress& /*from*/,
                           base::Nanos now) {
  static const sip::ParseLimits kLimits;
  if (sip::ParseMessage(bytes, kLimits, &msg_) != sip::ParseError::kNone || msg_.is_request) {
    // Nobody should send the generator requests: it plays only a UAC.
    ++stats_.unexpected;
    return;
  }
  OnResponse(msg_, now);
}

void UacEngine::OnResponse(const sip::Message& msg, base::Nanos now) {
  uint32_t slot = 0;
  uint32_t generation = 0;
  if (!DecodeCallId(msg.call_id, &slot, &generation) || slot >= calls_.size()) {
    ++stats_.unexpected;
    return;
  }
  Call& call = calls_[slot];
  if (call.state == State::kFree || call.generation != generation) {
    if (generation < call.generation || call.state == State::kFree) {
      ++stats_.late_responses;
      if (msg.cseq.method == sip::Method::kInvite && msg.status_code >= 200) AckStale(msg);
    } else {
      ++stats_.unexpected;
    }
    return;
  }
  switch (msg.cseq.method) {
    case sip::Method::kInvite:
      if (config_.scenario == Scenario::kCall) {
        OnInviteResponse(slot, msg, now);
        return;
      }
      break;
    case sip::Method::kBye:
      if (call.state == State::kByeing) {
        OnNonInviteResponse(slot, msg, now);
        return;
      }
      if (call.state == State::kHolding) return;  // cannot happen: BYE not sent yet
      break;
    case sip::Method::kOptions:
    case sip::Method::kRegister:
    case sip::Method::kMessage:
      if (call.state == State::kRequesting) {
        OnNonInviteResponse(slot, msg, now);
        return;
      }
      break;
    default:
      break;
  }
  ++stats_.unexpected;
}

void UacEngine::OnInviteResponse(uint32_t slot, const sip::Message& msg, base::Nanos now) {
  Call& call = calls_[slot];
  const int code = msg.status_code;
  if (call.state == State::kHolding || call.state == State::kByeing) {
    if (code >= 200 && code < 300) {
      // The UAS did not see our ACK yet (Timer G): ACK again (§13.2.2.4).
      ++stats_.peer_retransmissions;
      sink_->Send(call.ack, call.request_to);
    }
    return;  // late provisionals are harmless
  }
  if (call.state != State::kInviting && call.state != State::kProceeding) {
    ++stats_.unexpected;
    return;
  }
  if (code < 200) {
    if (call.state == State::kInviting) {
      // A provisional stops Timer A; Timer B still bounds the wait.
      call.state = State::kProceeding;
      Arm(slot, call.deadline);
    }
    return;
  }
  const uint64_t micros = static_cast<uint64_t>((now - call.started) / 1000);
  if (call.measured) {
    if (code < 700) ++stats_.final_codes[static_cast<size_t>(code)];
    stats_.invite_final.Record(micros);
  }
  if (code >= 300) {
    // Non-2xx: the ACK belongs to the INVITE transaction (§17.1.1.3).
    AckStale(msg);
    Finish(slot, false, now);
    return;
  }
  if (call.measured) stats_.invite_200.Record(micros);
  // 2xx: ACK end to end along the route set (§13.2.2.4), BYE after the hold.
  scratch_.Clear();
  scratch_.Add("z9hG4bK");
  AppendIdentity(slot);
  scratch_.Add(".").Add(uint64_t{config_.thread_index}).Add(".").AddHex(config_.run_id);
  const std::string branch_base = AsString(scratch_.view());
  std::string route_header;
  std::string remote_target;
  const transport::SocketAddress dialog_to =
      BuildAck2xx(msg, absl::StrCat(branch_base, ".a"), &call.ack, &route_header, &remote_target);
  sink_->Send(call.ack, dialog_to);
  call.to_value.clear();
  if (const sip::HeaderField* to = msg.Find(sip::HeaderId::kTo)) call.to_value = AsString(to->value);
  call.request_to = dialog_to;
  BuildBye(slot, route_header, remote_target);
  call.request.assign(scratch_.view().data(), scratch_.size());
  call.state = State::kHolding;
  call.deadline = now + config_.hold_ms * kNanosPerMilli;
  Arm(slot, call.deadline);
}

void UacEngine::OnNonInviteResponse(uint32_t slot, const sip::Message& msg, base::Nanos now) {
  Call& call = calls_[slot];
  const int code = msg.status_code;
  if (code < 200) {
    // Proceeding: retransmit at T2 from now on (§17.1.2.2).
    call.interval_ms = RetransmitCap();
    return;
  }
  const bool ok = code < 300;
  if (call.state == State::kByeing) {
    if (!ok && call.measured) ++stats_.bye_failures;
    Finish(slot, ok, now);
    return;
  }
  if (call.measured) {
    const uint64_t micros = static_cast<uint64_t>((now - call.started) / 1000);
    if (code < 700) ++stats_.final_codes[static_cast<size_t>(code)];
    stats_.invite_final.Record(micros);
    if (ok) stats_.invite_200.Record(micros);
  }
  Finish(slot, ok, now);
}

transport::SocketAddress UacEngine::BuildAck2xx(const sip::Message& msg, std::string_view branch,
                                                std::string* out, std::string* route_header,
                                                std::string* remote_target) {
  // Remote target: the 2xx's Contact (§12.1.2); route set: its
  // Record-Route list in reverse order.
  remote_target->clear();
  if (const sip::HeaderField* contact = msg.Find(sip::HeaderId::kContact)) {
    routes_.clear();
    SplitHeaderList(contact->value, &routes_);
    sip::NameAddr name_addr;
    if (!routes_.empty() && sip::ParseNameAddr(routes_.front(), &name_addr)) {
      *remote_target = AsString(name_addr.uri);
    }
  }
  if (remote_target->empty()) *remote_target = config_.request_uri;
  routes_.clear();
  for (uint16_t i = 0; i < msg.header_count; ++i) {
    if (msg.header_fields[i].id == sip::HeaderId::kRecordRoute) {
      SplitHeaderList(msg.header_fields[i].value, &routes_);
    }
  }
  route_header->clear();
  std::optional<transport::SocketAddress> next_hop;
  if (!routes_.empty()) {
    std::reverse(routes_.begin(), routes_.end());
    route_header->append("Route: ");
    for (size_t i = 0; i < routes_.size(); ++i) {
      if (i > 0) route_header->append(", ");
      route_header->append(routes_[i].data(), routes_[i].size());
    }
    route_header->append("\r\n");
    next_hop = ResolveSipUri(routes_.front());
  } else {
    next_hop = ResolveSipUri(*remote_target);
  }
  std::string_view from_value;
  std::string_view to_value;
  if (const sip::HeaderField* from = msg.Find(sip::HeaderId::kFrom)) from_value = from->value;
  if (const sip::HeaderField* to = msg.Find(sip::HeaderId::kTo)) to_value = to->value;
  scratch_.Clear();
  scratch_.Add("ACK ").Add(*remote_target).Add(" SIP/2.0\r\nVia: SIP/2.0/UDP ");
  scratch_.Add(local_hostport_).Add(";branch=").Add(branch).Add(";rport\r\n");
  scratch_.Add(*route_header).Add("Max-Forwards: 70\r\nFrom: ").Add(from_value);
  scratch_.Add("\r\nTo: ").Add(to_value).Add("\r\nCall-ID: ").Add(msg.call_id);
  scratch_.Add("\r\nCSeq: ").Add(uint64_t{msg.cseq.number});
  scratch_.Add(" ACK\r\n").Add(kUserAgent).Add("Content-Length: 0\r\n\r\n");
  out->assign(scratch_.view().data(), scratch_.size());
  return next_hop ? *next_hop : config_.target;
}

void UacEngine::BuildBye(uint32_t slot, std::string_view route_header,
                         std::string_view remote_target) {
  Call& call = calls_[slot];
  scratch_.Clear();
  scratch_.Add("BYE ").Add(remote_target).Add(" SIP/2.0\r\nVia: SIP/2.0/UDP ");
  scratch_.Add(local_hostport_).Add(";branch=z9hG4bK");
  AppendIdentity(slot);
  scratch_.Add(".").Add(uint64_t{config_.thread_index}).Add(".").AddHex(config_.run_id);
  scratch_.Add(".b;rport\r\n").Add(route_header).Add("Max-Forwards: 70\r\nFrom: <sip:load@");
  scratch_.Add(local_hostport_).Add(">;tag=");
  AppendIdentity(slot);
  scratch_.Add("t").Add(uint64_t{config_.thread_index}).Add("\r\nTo: ").Add(call.to_value);
  scratch_.Add("\r\nCall-ID: ");
  AppendIdentity(slot);
  scratch_.Add(id_suffix_).Add("\r\nCSeq: 2 BYE\r\n").Add(kUserAgent);
  scratch_.Add("Content-Length: 0\r\n\r\n");
}

void UacEngine::AckStale(const sip::Message& msg) {
  if (msg.status_code >= 300) {
    // Same branch as the INVITE, To from the response (§17.1.1.3).
    std::string_view from_value;
    std::string_view to_value;
    if (const sip::HeaderField* from = msg.Find(sip::HeaderId::kFrom)) from_value = from->value;
    if (const sip::HeaderField* to = msg.Find(sip::HeaderId::kTo)) to_value = to->value;
    scratch_.Clear();
    scratch_.Add("ACK ").Add(config_.request_uri).Add(" SIP/2.0\r\nVia: SIP/2.0/UDP ");
    scratch_.Add(local_hostport_).Add(";branch=").Add(msg.top_via.branch).Add(";rport\r\n");
    scratch_.Add("Max-Forwards: 70\r\nFrom: ").Add(from_value).Add("\r\nTo: ").Add(to_value);
    scratch_.Add("\r\nCall-ID: ").Add(msg.call_id).Add("\r\nCSeq: ");
    scratch_.Add(uint64_t{msg.cseq.number}).Add(" ACK\r\n").Add(kUserAgent);
    scratch_.Add("Content-Length: 0\r\n\r\n");
    sink_->Send(scratch_.view(), config_.target);
    return;
  }
  // A 2xx for a call we gave up on (timed out or cut off): ACK it so the
  // UAS stops retransmitting; the dialog is left to the UAS.
  std::string to_tag;
  if (const sip::HeaderField* to = msg.Find(sip::HeaderId::kTo)) to_tag = AsString(to->value);
  std::string branch = "z9hG4bKlate";
  branch.append(absl::StrCat(absl::Hex(base::StableHash(to_tag, base::StableHash(msg.call_id)))));
  std::string ack;
  std::string route_header;
  std::string remote_target;
  const transport::SocketAddress to = BuildAck2xx(msg, branch, &ack, &route_header, &remote_target);
  sink_->Send(ack, to);
}

}  // namespace sipshard::load
