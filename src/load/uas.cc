#include "sipshard/load/uas.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sipshard/base/hash.h"
#include "sipshard/sip/message_builder.h"
#include "sipshard/sip/parser.h"

namespace sipshard::load {

namespace {

constexpr base::Nanos kNanosPerMilli = 1'000'000;
constexpr base::Nanos kNever = std::numeric_limits<base::Nanos>::max();

absl::string_view AsAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// Appends a header line as received, with its CRLF.
template <size_t N>
void AddLine(TextBuffer<N>* out, std::string_view line) {
  out->Add(line);
  if (line.empty() || line.back() != '\n') out->Add("\r\n");
}

uint64_t ToTag(const sip::Message& msg) {
  return base::HashCombine(base::StableHash(msg.call_id), base::StableHash(msg.from.tag));
}

}  // namespace

std::string_view BehaviorName(Behavior behavior) {
  switch (behavior) {
    case Behavior::kAnswer:
      return "answer";
    case Behavior::kBusy:
      return "busy";
    case Behavior::kFail:
      return "fail";
    case Behavior::kNotFound:
      return "notfound";
    case Behavior::kSilent:
      return "silent";
    case Behavior::kSlow:
      return "slow";
    case Behavior::kMix:
      return "mix";
  }
  return "answer";
}

bool ParseBehavior(std::string_view text, Behavior* out) {
  for (Behavior b : {Behavior::kAnswer, Behavior::kBusy, Behavior::kFail, Behavior::kNotFound,
                     Behavior::kSilent, Behavior::kSlow, Behavior::kMix}) {
    if (text == BehaviorName(b)) {
      *out = b;
      return true;
    }
  }
  return false;
}

absl::StatusOr<EndpointConfig> ParseEndpointSpec(std::string_view spec) {
  std::vector<absl::string_view> parts = absl::StrSplit(AsAbsl(spec), ',');
  EndpointConfig config;
  const std::string_view address_text(parts[0].data(), parts[0].size());
  std::optional<transport::SocketAddress> address = ParseHostPort(address_text);
  if (!address) {
    return absl::InvalidArgumentError(absl::StrCat("bad endpoint address '", parts[0], "'"));
  }
  config.address = *address;
  bool mix_given = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("expected key=value, got '", parts[i], "'"));
    }
    const absl::string_view key = parts[i].substr(0, eq);
    const absl::string_view value = parts[i].substr(eq + 1);
    int32_t number = 0;
    auto bad = [&] {
      return absl::InvalidArgumentError(absl::StrCat("bad value for ", key, ": '", value, "'"));
    };
    if (key == "behavior" || key == "behaviour") {
      if (!ParseBehavior(std::string_view(value.data(), value.size()), &config.behavior)) {
        return bad();
      }
    } else if (key == "ring_ms" || key == "answer_ms" || key == "retry_after" ||
               key == "drop_first") {
      if (!absl::SimpleAtoi(value, &number) || number < 0) return bad();
      if (key == "ring_ms") config.ring_ms = number;
      if (key == "answer_ms") config.answer_ms = number;
      if (key == "retry_after") config.retry_after_s = number;
      if (key == "drop_first") config.drop_first = static_cast<uint32_t>(number);
    } else if (key == "drop_percent") {
      if (!absl::SimpleAtod(value, &config.drop_percent) || config.drop_percent < 0 ||
          config.drop_percent > 100) {
        return bad();
      }
    } else if (key == "mix") {
      mix_given = true;
      uint32_t total = 0;
      for (absl::string_view item : absl::StrSplit(value, '/')) {
        const size_t colon = item.find(':');
        MixEntry entry;
        if (colon == absl::string_view::npos ||
            !ParseBehavior(std::string_view(item.data(), colon), &entry.behavior) ||
            entry.behavior == Behavior::kMix ||
            !absl::SimpleAtoi(item.substr(colon + 1), &entry.percent)) {
          return bad();
        }
        total += entry.percent;
        config.mix.push_back(entry);
      }
      if (total != 100) {
        return absl::InvalidArgumentError(absl::StrCat("mix percentages sum to ", total, ", not 100"));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown endpoint option '", key, "'"));
    }
  }
  if (mix_given && config.behavior == Behavior::kAnswer) config.behavior = Behavior::kMix;
  if (config.behavior == Behavior::kMix && config.mix.empty()) {
    return absl::InvalidArgumentError("behavior=mix needs mix=answer:90/busy:10");
  }
  return config;
}

void EndpointCounters::Merge(const EndpointCounters& rhs) {
  invites += rhs.invites;
  acks += rhs.acks;
  byes += rhs.byes;
  options += rhs.options;
  cancels += rhs.cancels;
  other += rhs.other;
  responses_sent += rhs.responses_sent;
  dropped += rhs.dropped;
  absorbed += rhs.absorbed;
  timer_g_retransmissions += rhs.timer_g_retransmissions;
  ack_timeouts += rhs.ack_timeouts;
  for (size_t i = 0; i < finals.size(); ++i) finals[i] += rhs.finals[i];
}

UasEngine::UasEngine(const EndpointConfig& config, base::Millis t1_ms, uint64_t seed,
                     PacketSink* sink)
    : config_(config),
      t1_ms_(t1_ms),
      t2_ms_(8 * t1_ms),
      sink_(sink),
      rng_(base::Mix64(seed) | 1) {
  contact_line_ = absl::StrCat("Contact: <sip:farm@", config_.address.ToString(), ">\r\n");
  const char* family = config_.address.is_ipv6() ? "IP6" : "IP4";
  const std::string ip = config_.address.HostString();
  sdp_ = absl::StrCat("v=0\r\no=farm 1 1 IN ", family, " ", ip, "\r\ns=-\r\nc=IN ", family, " ",
                      ip, "\r\nt=0 0\r\nm=audio 4002 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
  msg_.Clear();
}

bool UasEngine::RandomDrop() {
  if (config_.drop_percent <= 0) return false;
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return static_cast<double>(rng_ % 1'000'000) < config_.drop_percent * 10'000;
}

Behavior UasEngine::Choose(std::string_view call_id) const {
  if (config_.behavior != Behavior::kMix) return config_.behavior;
  uint32_t point = base::ReduceToRange(base::StableHash(call_id, 0x5eed), 100);
  for (const MixEntry& entry : config_.mix) {
    if (point < entry.percent) return entry.behavior;
    point -= entry.percent;
  }
  return Behavior::kAnswer;
}

int UasEngine::FinalCode(Behavior behavior) const {
  switch (behavior) {
    case Behavior::kBusy:
      return 486;
    case Behavior::kFail:
      return 503;
    case Behavior::kNotFound:
      return 404;
    case Behavior::kSilent:
      return 0;
    default:
      return 200;
  }
}

uint64_t UasEngine::TxnKey(const sip::Message& msg) {
  // INVITE, its ACK and its CANCEL share the CSeq number and one key.
  uint64_t method_class = 0;
  if (msg.method != sip::Method::kInvite && msg.method != sip::Method::kAck &&
      msg.method != sip::Method::kCancel) {
    method_class = msg.method == sip::Method::kOther ? base::StableHash(msg.method_text) | 1
                                                     : static_cast<uint64_t>(msg.method) + 1;
  }
  return base::HashCombine(base::StableHash(msg.call_id),
                           (uint64_t{msg.cseq.number} << 16) ^ method_class);
}

transport::SocketAddress UasEngine::ReplyAddress(const sip::Message& msg,
                                                 const transport::SocketAddress& from) const {
  // §18.2.2 with RFC 3581: received/rport when present, else the source.
  const sip::Via& via = msg.top_via;
  transport::SocketAddress address = from;
  if (!via.received.empty()) {
    if (auto parsed = transport::SocketAddress::Parse(via.received, from.port())) address = *parsed;
  }
  if (via.has_rport && via.rport > 0 && via.rport < 65536) {
    address = address.WithPort(static_cast<uint16_t>(via.rport));
  }
  return address;
}

void UasEngine::OnDatagram(std::string_view bytes, const transport::SocketAddress& from,
                           base::Nanos now) {
  if (RandomDrop()) {
    ++counters_.dropped;
    return;
  }
  static const sip::ParseLimits kLimits;
  if (sip::ParseMessage(bytes, kLimits, &msg_) != sip::ParseError::kNone || !msg_.is_request) {
    ++counters_.other;
    return;
  }
  OnRequest(msg_, from, now);
}

void UasEngine::OnRequest(const sip::Message& msg, const transport::SocketAddress& from,
                          base::Nanos now) {
  const uint64_t key = TxnKey(msg);
  switch (msg.method) {
    case sip::Method::kAck:
      ++counters_.acks;
      OnAck(key);
      return;
    case sip::Method::kInvite:
      OnInvite(key, msg, from, now);
      return;
    case sip::Method::kCancel:
      ++counters_.cancels;
      OnCancel(key, msg, from, now);
      return;
    default:
      OnNonInvite(key, msg, from, now);
      return;
  }
}

void UasEngine::OnInvite(uint64_t key, const sip::Message& msg,
                         const transport::SocketAddress& from, base::Nanos now) {
  auto [it, inserted] = txns_.try_emplace(key);
  Txn& txn = it->second;
  if (!inserted && txn.state != TxnState::kDropping) {
    // A retransmission: the last response again, nothing counted (§17.2.1).
    ++counters_.absorbed;
    if (!txn.last_response.empty()) {
      sink_->Send(txn.last_response, txn.reply_to);
      ++counters_.responses_sent;
    }
    return;
  }
  txn.is_invite = true;
  if (txn.copies_dropped < config_.drop_first) {
    ++txn.copies_dropped;
    ++counters_.dropped;
    txn.state = TxnState::kDropping;
    txn.expire_at = now + 64 * t1_ms_ * kNanosPerMilli;
    Arm(key, &txn, txn.expire_at);
    return;
  }
  ++counters_.invites;
  txn.reply_to = ReplyAddress(msg, from);
  const Behavior behavior = Choose(msg.call_id);
  if (behavior == Behavior::kSilent) {
    txn.state = TxnState::kSilent;
    txn.expire_at = now + 64 * t1_ms_ * kNanosPerMilli;
    Arm(key, &txn, txn.expire_at);
    return;
  }
  CaptureHead(msg, key, true, &txn);
  txn.state = TxnState::kProceeding;
  txn.expire_at = 0;
  txn.final_code = FinalCode(behavior);
  const bool slow = behavior == Behavior::kSlow;
  base::Millis ring_ms = -1;  // -1: no 180
  base::Millis answer_ms = config_.answer_ms >= 0 ? config_.answer_ms : (slow ? 3000 : 0);
  if (txn.final_code == 200) {
    ring_ms = config_.ring_ms >= 0 ? config_.ring_ms : (slow ? 1000 : 0);
    if (ring_ms > answer_ms) ring_ms = -1;
  }
  SendTxnResponse(&txn, 100, now);
  txn.ring_at = 0;
  txn.final_at = 0;
  if (ring_ms == 0) {
    SendTxnResponse(&txn, 180, now);
  } else if (ring_ms > 0) {
    txn.ring_at = now + ring_ms * kNanosPerMilli;
  }
  if (answer_ms == 0 && txn.ring_at == 0) {
    SendTxnResponse(&txn, txn.final_code, now);
  } else {
    txn.final_at = now + answer_ms * kNanosPerMilli;
  }
  Arm(key, &txn, NextTxnEvent(txn));
}

void UasEngine::OnAck(uint64_t key) {
  auto it = txns_.find(key);
  if (it == txns_.end() || !it->second.is_invite) return;
  if (it->second.state == TxnState::kCompleted) txns_.erase(it);  // confirmed
}

void UasEngine::OnCancel(uint64_t key, const sip::Message& msg,
                         const transport::SocketAddress& from, base::Nanos now) {
  const transport::SocketAddress reply_to = ReplyAddress(msg, from);
  auto it = txns_.find(key);
  if (it == txns_.end() || it->second.state == TxnState::kDropping) {
    AnswerNonInvite(msg, reply_to, 481);
    return;
  }
  AnswerNonInvite(msg, reply_to, 200);  // §9.2
  Txn& txn = it->second;
  if (txn.state == TxnState::kProceeding) {
    txn.ring_at = 0;
    txn.final_at = 0;
    SendTxnResponse(&txn, 487, now);
    Arm(key, &txn, NextTxnEvent(txn));
  } else if (txn.state == TxnState::kSilent) {
    txns_.erase(it);  // never answered: nothing to terminate
  }
}

void UasEngine::OnNonInvite(uint64_t key, const sip::Message& msg,
                            const transport::SocketAddress& from, base::Nanos now) {
  // Expire absorbed transactions first (Timer J), in time order.
  while (!non_invite_expiry_.empty() && non_invite_expiry_.front().first <= now) {
    non_invite_.erase(non_invite_expiry_.front().second);
    non_invite_expiry_.pop_front();
  }
  auto [it, inserted] = non_invite_.try_emplace(key);
  NonInviteTxn& txn = it->second;
  if (inserted) non_invite_expiry_.emplace_back(now + 64 * t1_ms_ * kNanosPerMilli, key);
  const transport::SocketAddress reply_to = ReplyAddress(msg, from);
  if (txn.final_code >= 0) {
    ++counters_.absorbed;
    if (txn.final_code > 0) AnswerNonInvite(msg, reply_to, txn.final_code);
    return;
  }
  if (txn.copies_dropped < config_.drop_first) {
    ++txn.copies_dropped;
    ++counters_.dropped;
    return;
  }
  int code = 200;
  switch (msg.method) {
    case sip::Method::kBye:
      ++counters_.byes;
      break;
    case sip::Method::kOptions:
      ++counters_.options;
      if (config_.behavior == Behavior::kSilent) code = 0;
      break;
    default:
      ++counters_.other;
      code = FinalCode(Choose(msg.call_id));
      break;
  }
  txn.final_code = code;
  if (code > 0) AnswerNonInvite(msg, reply_to, code);
}

void UasEngine::AnswerNonInvite(const sip::Message& msg, const transport::SocketAddress& reply_to,
                                int code) {
  scratch_.Clear();
  scratch_.Add("SIP/2.0 ").Add(static_cast<uint64_t>(code)).Add(" ");
  scratch_.Add(sip::DefaultReasonPhrase(code)).Add("\r\n");
  for (uint16_t i = 0; i < msg.header_count; ++i) {
    const sip::HeaderField& field = msg.header_fields[i];
    switch (field.id) {
      case sip::HeaderId::kVia:
      case sip::HeaderId::kFrom:
      case sip::HeaderId::kCallId:
      case sip::HeaderId::kCSeq:
        AddLine(&scratch_, field.line);
        break;
      case sip::HeaderId::kTo:
        if (msg.to.tag.empty()) {
          scratch_.Add("To: ").Add(field.value).Add(";tag=").AddHex(ToTag(msg)).Add("\r\n");
        } else {
          AddLine(&scratch_, field.line);
        }
        break;
      case sip::HeaderId::kContact:
        if (msg.method == sip::Method::kRegister && code < 300) AddLine(&scratch_, field.line);
        break;
      default:
        break;
    }
  }
  if (msg.method == sip::Method::kOptions && code < 300) {
    scratch_.Add(contact_line_);
    scratch_.Add("Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, REGISTER\r\n");
    scratch_.Add("Accept: application/sdp\r\n");
  }
  if (code == 503 && config_.retry_after_s >= 0) {
    scratch_.Add("Retry-After: ").Add(static_cast<uint64_t>(config_.retry_after_s)).Add("\r\n");
  }
  scratch_.Add("Content-Length: 0\r\n\r\n");
  if (scratch_.overflow()) return;
  sink_->Send(scratch_.view(), reply_to);
  ++counters_.responses_sent;
}

void UasEngine::CaptureHead(const sip::Message& msg, uint64_t /*key*/, bool with_dialog,
                            Txn* txn) {
  scratch_.Clear();
  for (uint16_t i = 0; i < msg.header_count; ++i) {
    const sip::HeaderField& field = msg.header_fields[i];
    switch (field.id) {
      case sip::HeaderId::kVia:
      case sip::HeaderId::kFrom:
      case sip::HeaderId::kCallId:
      case sip::HeaderId::kCSeq:
        AddLine(&scratch_, field.line);
        break;
      case sip::HeaderId::kTo:
        if (msg.to.tag.empty()) {
          scratch_.Add("To: ").Add(field.value).Add(";tag=").AddHex(ToTag(msg)).Add("\r\n");
        } else {
          AddLine(&scratch_, field.line);
        }
        break;
      default:
        break;
    }
  }
  txn->head.assign(scratch_.view().data(), scratch_.size());
  txn->dialog.clear();
  if (with_dialog) {
    // Record-Route is copied into responses that create the dialog (§12.1.1).
    scratch_.Clear();
    for (uint16_t i = 0; i < msg.header_count; ++i) {
      if (msg.header_fields[i].id == sip::HeaderId::kRecordRoute) {
        AddLine(&scratch_, msg.header_fields[i].line);
      }
    }
    scratch_.Add(contact_line_);
    txn->dialog.assign(scratch_.view().data(), scratch_.size());
  }
}

void UasEngine::BuildResponse(const Txn& txn, int code, bool with_dialog, bool with_sdp) {
  scratch_.Clear();
  scratch_.Add("SIP/2.0 ").Add(static_cast<uint64_t>(code)).Add(" ");
  scratch_.Add(sip::DefaultReasonPhrase(code)).Add("\r\n").Add(txn.head);
  if (with_dialog) scratch_.Add(txn.dialog);
  if (code == 503 && config_.retry_after_s >= 0) {
    scratch_.Add("Retry-After: ").Add(static_cast<uint64_t>(config_.retry_after_s)).Add("\r\n");
  }
  if (with_sdp) {
    scratch_.Add("Content-Type: application/sdp\r\nContent-Length: ");
    scratch_.Add(uint64_t{sdp_.size()}).Add("\r\n\r\n").Add(sdp_);
  } else {
    scratch_.Add("Content-Length: 0\r\n\r\n");
  }
}

void UasEngine::SendTxnResponse(Txn* txn, int code, base::Nanos now) {
  const bool success = code >= 200 && code < 300;
  BuildResponse(*txn, code, code > 100 && code < 300, success);
  txn->last_response.assign(scratch_.view().data(), scratch_.size());
  sink_->Send(txn->last_response, txn->reply_to);
  ++counters_.responses_sent;
  if (code >= 200) {
    // Completed: retransmit per Timer G until the ACK, give up at Timer H.
    if (code < 700) ++counters_.finals[static_cast<size_t>(code)];
    txn->state = TxnState::kCompleted;
    txn->interval_ms = t1_ms_;
    txn->retransmit_at = now + t1_ms_ * kNanosPerMilli;
    txn->expire_at = now + 64 * t1_ms_ * kNanosPerMilli;
  }
}

void UasEngine::Arm(uint64_t key, Txn* txn, base::Nanos when) {
  ++txn->timer_token;
  if (when != kNever) timers_.push(Timer{when, key, txn->timer_token});
}

base::Nanos UasEngine::NextTxnEvent(const Txn& txn) const {
  base::Nanos next = kNever;
  if (txn.expire_at != 0) next = std::min(next, txn.expire_at);
  if (txn.state == TxnState::kProceeding) {
    if (txn.ring_at != 0) next = std::min(next, txn.ring_at);
    if (txn.final_at != 0) next = std::min(next, txn.final_at);
  }
  if (txn.state == TxnState::kCompleted) next = std::min(next, txn.retransmit_at);
  return next;
}

void UasEngine::FireTxn(uint64_t key, Txn* txn, base::Nanos now) {
  if (txn->expire_at != 0 && now >= txn->expire_at) {
    if (txn->state == TxnState::kCompleted) ++counters_.ack_timeouts;
    txns_.erase(key);
    return;
  }
  if (txn->state == TxnState::kProceeding) {
    if (txn->ring_at != 0 && now >= txn->ring_at) {
      txn->ring_at = 0;
      SendTxnResponse(txn, 180, now);
    }
    if (txn->final_at != 0 && now >= txn->final_at) {
      txn->final_at = 0;
      SendTxnResponse(txn, txn->final_code, now);
    }
  } else if (txn->state == TxnState::kCompleted && now >= txn->retransmit_at) {
    sink_->Send(txn->last_response, txn->reply_to);
    ++counters_.responses_sent;
    ++counters_.timer_g_retransmissions;
    txn->interval_ms = std::min(2 * txn->interval_ms, t2_ms_);
    txn->retransmit_at += txn->interval_ms * kNanosPerMilli;
  }
  Arm(key, txn, NextTxnEvent(*txn));
}

void UasEngine::Poll(base::Nanos now) {
  while (!timers_.empty() && timers_.top().when <= now) {
    const Timer timer = timers_.top();
    timers_.pop();
    auto it = txns_.find(timer.key);
    if (it == txns_.end() || it->second.timer_token != timer.token) continue;
    FireTxn(timer.key, &it->second, now);
  }
  while (!non_invite_expiry_.empty() && non_invite_expiry_.front().first <= now) {
    non_invite_.erase(non_invite_expiry_.front().second);
    non_invite_expiry_.pop_front();
  }
}

base::Nanos UasEngine::NextDeadline() const {
  base::Nanos next = kNever;
  if (!timers_.empty()) next = timers_.top().when;
  if (!non_invite_expiry_.empty()) next = std::min(next, non_invite_expiry_.front().first);
  return next;
}

}  // namespace sipshard::load
