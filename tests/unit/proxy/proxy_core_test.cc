// Unit tests of the stateless proxy core: every row of its behaviour table
// (RFC 3261 §16.3 checks, §16.4 loose routing, §16.6 forwarding, §16.11
// stateless branches, §18.2.2 response routing), observed through a
// FakeSender and the shard counters.
#include "sipshard/proxy/proxy_core.h"

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sipshard/base/timer_wheel.h"
#include "sipshard/config/loader.h"
#include "sipshard/dispatch/destination_set.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/sip/parse_error.h"
#include "tests/testing/fake_sender.h"
#include "tests/testing/udp_peer.h"

namespace sipshard::proxy {
namespace {

using ::sipshard::testing::FakeSender;
using ::sipshard::testing::FirstLine;
using ::sipshard::testing::HeaderValue;
using ::sipshard::testing::HeaderValues;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::StartsWith;
using transport::SocketAddress;

constexpr uint16_t kShard = 0x2a;
constexpr char kOurBranchPrefix[] = "z9hG4bK-sx002a-a";

constexpr char kConfig[] = R"toml(
[server]
listen = ["udp:127.0.0.1:5060", "udp:[::1]:5060"]

[[sets]]
name = "farm"
  [[sets.destinations]]
  uri = "sip:10.0.0.1:5060"
  [[sets.destinations]]
  uri = "sip:10.0.0.2:5070"
  [[sets.destinations]]
  uri = "sip:10.0.0.3:5080"

[[sets]]
name = "v6farm"
  [[sets.destinations]]
  uri = "sip:[2001:db8::1]:5090"

[[sets]]
name = "dead"
  [[sets.destinations]]
  uri = "sip:10.0.1.1"
  state = "inactive"
  [[sets.destinations]]
  uri = "sip:10.0.1.2"
  state = "inactive"

[[routes]]
name = "register"
action = "reply"
reply_code = 200
  [routes.match]
  methods = ["REGISTER"]

[[routes]]
name = "busy"
action = "reply"
reply_code = 486
reply_reason = "Busy Everywhere"
  [routes.match]
  ruri_user_prefix = "busy"

[[routes]]
name = "publish"
action = "drop"
  [routes.match]
  methods = ["PUBLISH"]

[[routes]]
name = "v6"
action = "forward"
set = "v6farm"
  [routes.match]
  ruri_user_prefix = "v6"

[[routes]]
name = "dead"
action = "forward"
set = "dead"
  [routes.match]
  ruri_user_prefix = "dead"

[[routes]]
name = "no-rr"
action = "forward"
set = "farm"
record_route = false
  [routes.match]
  ruri_user_prefix = "norr"

[[routes]]
name = "default"
action = "forward"
set = "farm"
  [routes.match]
  ruri_host = "example.com"
)toml";

// A request as a client sends it; the fields are spliced in verbatim.
struct Request {
  std::string method = "INVITE";
  std::string ruri = "sip:bob@example.com";
  std::string via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;rport";
  std::string max_forwards = "70";  // empty: no Max-Forwards header
  std::string to_tag;
  std::string call_id = "call-1@test";
  std::string cseq_method;  // defaults to `method`
  std::string extra;        // header lines, each ending in CRLF
  std::string body;

  std::string Text() const {
    std::string out = method + " " + ruri + " SIP/2.0\r\nVia: " + via + "\r\n";
    if (!max_forwards.empty()) out += "Max-Forwards: " + max_forwards + "\r\n";
    out += "From: <sip:alice@example.net>;tag=a1\r\nTo: <sip:bob@example.com>";
    if (!to_tag.empty()) out += ";tag=" + to_tag;
    out += "\r\nCall-ID: " + call_id + "\r\nCSeq: 1 " +
           (cseq_method.empty() ? method : cseq_method) + "\r\n" + extra +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    return out;
  }
};

// Builds a backend's answer to a forwarded request: Vias, From, To (tagged),
// Call-ID and CSeq copied (§8.2.6).
std::string Answer(const std::string& request, int code, const std::string& reason) {
  std::string out = "SIP/2.0 " + std::to_string(code) + " " + reason + "\r\n";
  for (const std::string& via : HeaderValues(request, "Via")) out += "Via: " + via + "\r\n";
  out += "From: " + HeaderValue(request, "From") + "\r\n";
  out += "To: " + HeaderValue(request, "To") + ";tag=uas1\r\n";
  out += "Call-ID: " + HeaderValue(request, "Call-ID") + "\r\n";
  out += "CSeq: " + HeaderValue(request, "CSeq") + "\r\nContent-Length: 0\r\n\r\n";
  return out;
}

SocketAddress Addr(const char* host, uint16_t port) {
  std::optional<SocketAddress> a = SocketAddress::Parse(host, port);
  EXPECT_TRUE(a.has_value()) << host;
  return a.value_or(SocketAddress());
}

class ProxyCoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Build(kConfig); }

  // Loads `toml` and creates the core; listens on 127.0.0.1:5060 and,
  // unless `ipv4_only`, [::1]:5060.
  void Build(const std::string& toml, bool ipv4_only = false) {
    absl::StatusOr<config::Config> loaded = config::LoadConfigString(toml);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    config_ = std::make_shared<const config::Config>(std::move(*loaded));
    ProxyEnvironment env;
    env.shard_index = kShard;
    env.config = config_;
    env.listens.push_back(ListenIdentity{"127.0.0.1", 5060, Addr("127.0.0.1", 5060)});
    if (!ipv4_only) env.listens.push_back(ListenIdentity{"[::1]", 5060, Addr("::1", 5060)});
    env.sender = &sender_;
    counters_ = std::make_unique<metrics::ShardCounters>();
    env.counters = counters_.get();
    absl::StatusOr<std::unique_ptr<ProxyCore>> core = ProxyCore::Create(env);
    ASSERT_TRUE(core.ok()) << core.status();
    core_ = std::move(*core);
  }

  // Hands `bytes` to the core as if received from `source` on `listen`.
  void Receive(const std::string& bytes, const SocketAddress& source, int listen = 0) {
    input_ = bytes;  // the core keeps views into it until the next datagram
    core_->Handle(InboundDatagram{input_, source, listen});
  }
  void Receive(const Request& request) { Receive(request.Text(), client_); }

  // Sends `request` and returns the one datagram it produced.
  testing::SentDatagram ForwardOne(const Request& request) {
    const size_t before = sender_.sent().size();
    Receive(request);
    EXPECT_EQ(sender_.sent().size(), before + 1);
    if (sender_.sent().size() != before + 1) return {};
    return sender_.last();
  }

  // The destination the "farm" set picks for a Call-ID.
  SocketAddress FarmChoice(const std::string& call_id) {
    absl::StatusOr<dispatch::DestinationSet> set =
        dispatch::DestinationSet::Create(*config_->FindSet("farm"));
    EXPECT_TRUE(set.ok());
    const dispatch::Destination* d = set->SelectByHash(sip::CallIdHash(call_id));
    EXPECT_NE(d, nullptr);
    return d == nullptr ? SocketAddress() : d->address;
  }

  uint64_t ParseErrors(sip::ParseError e) const {
    return counters_->parse_errors[static_cast<size_t>(e)].value();
  }

  std::shared_ptr<const config::Config> config_;
  FakeSender sender_;
  std::unique_ptr<metrics::ShardCounters> counters_;
  std::unique_ptr<ProxyCore> core_;
  std::string input_;
  // The client's real address differs from its Via sent-by (a NAT).
  SocketAddress client_ = Addr("192.0.2.99", 40000);
};

// ---- forwarding ------------------------------------------------------------

TEST_F(ProxyCoreTest, ForwardedInviteIsTheRequestWithExactlyTheProxyEdits) {
  Request invite;
  invite.body = "v=0\r\n";
  invite.extra = "Content-Type: application/sdp\r\n";
  const testing::SentDatagram out = ForwardOne(invite);

  const std::vector<std::string> vias = HeaderValues(out.bytes, "Via");
  ASSERT_EQ(vias.size(), 2u);
  EXPECT_THAT(vias[0], MatchesRegex("SIP/2\\.0/UDP 127\\.0\\.0\\.1:5060;branch=z9hG4bK-sx002a-a"
                                    "[0-9a-f]{32};rport"));
  const std::string expected =
      "INVITE sip:bob@example.com SIP/2.0\r\n"
      "Via: " + vias[0] + "\r\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;rport=40000;received=192.0.2.99\r\n"
      "Max-Forwards: 69\r\n"
      "From: <sip:alice@example.net>;tag=a1\r\n"
      "To: <sip:bob@example.com>\r\n"
      "Call-ID: call-1@test\r\n"
      "CSeq: 1 INVITE\r\n"
      "Content-Type: application/sdp\r\n"
      "Content-Length: 5\r\n"
      "Record-Route: <sip:127.0.0.1:5060;lr>\r\n"
      "\r\n"
      "v=0\r\n";
  EXPECT_EQ(out.bytes, expected);
  EXPECT_EQ(out.path.listen_index, 0);
  EXPECT_EQ(out.path.destination, FarmChoice("call-1@test"));
  EXPECT_EQ(counters_->requests.value(), 1u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 1u);
  EXPECT_EQ(sender_.misuse_count(), 0u);
}

TEST_F(ProxyCoreTest, ClientViaWithoutRportGetsOnlyReceived) {
  Request r;
  r.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1";
  const testing::SentDatagram out = ForwardOne(r);
  EXPECT_THAT(HeaderValues(out.bytes, "Via"),
              ElementsAre(StartsWith("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sx002a-a"),
                          "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;received=192.0.2.99"));
}

TEST_F(ProxyCoreTest, ClientViaMatchingTheSourceIsLeftAloneWithoutRport) {
  Request r;
  r.via = "SIP/2.0/UDP 192.0.2.99:40000;branch=z9hG4bKc1";
  const testing::SentDatagram out = ForwardOne(r);
  EXPECT_EQ(HeaderValues(out.bytes, "Via").at(1), "SIP/2.0/UDP 192.0.2.99:40000;branch=z9hG4bKc1");
}

TEST_F(ProxyCoreTest, MaxForwardsIsDecrementedOrInsertedAs70) {
  Request one;
  one.max_forwards = "1";
  EXPECT_THAT(HeaderValues(ForwardOne(one).bytes, "Max-Forwards"), ElementsAre("0"));

  Request absent;
  absent.max_forwards = "";
  absent.call_id = "no-mf@test";
  EXPECT_THAT(HeaderValues(ForwardOne(absent).bytes, "Max-Forwards"), ElementsAre("70"));
  EXPECT_EQ(counters_->requests_forwarded.value(), 2u);
}

TEST_F(ProxyCoreTest, RecordRouteOnlyOnDialogCreatingInitialRequests) {
  const struct {
    const char* method;
    const char* to_tag;
    bool record_routed;
  } kCases[] = {
      {"INVITE", "", true},    {"SUBSCRIBE", "", true}, {"REFER", "", true},
      {"OPTIONS", "", false},  {"MESSAGE", "", false},  {"BYE", "", false},
      {"ACK", "t1", false},    {"CANCEL", "", false},   {"INFO", "", false},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.method);
    Request r;
    r.method = c.method;
    r.to_tag = c.to_tag;
    const testing::SentDatagram out = ForwardOne(r);
    if (c.record_routed) {
      EXPECT_THAT(HeaderValues(out.bytes, "Record-Route"), ElementsAre("<sip:127.0.0.1:5060;lr>"));
    } else {
      EXPECT_THAT(HeaderValues(out.bytes, "Record-Route"), IsEmpty());
    }
  }
}

TEST_F(ProxyCoreTest, RouteWithRecordRouteOffAddsNone) {
  Request r;
  r.ruri = "sip:norr-1@example.com";
  EXPECT_THAT(HeaderValues(ForwardOne(r).bytes, "Record-Route"), IsEmpty());
}

TEST_F(ProxyCoreTest, ExistingRecordRouteKeepsOursOnTop) {
  Request r;
  r.extra = "Record-Route: <sip:198.51.100.7;lr>\r\n";
  EXPECT_THAT(HeaderValues(ForwardOne(r).bytes, "Record-Route"),
              ElementsAre("<sip:127.0.0.1:5060;lr>", "<sip:198.51.100.7;lr>"));
}

TEST_F(ProxyCoreTest, DestinationIsTheSetsRendezvousChoiceForTheCallId) {
  std::set<std::string> used;
  for (int i = 0; i < 30; ++i) {
    Request r;
    r.call_id = "spread-" + std::to_string(i) + "@test";
    const testing::SentDatagram out = ForwardOne(r);
    EXPECT_EQ(out.path.destination, FarmChoice(r.call_id)) << r.call_id;
    used.insert(out.path.destination.ToString());
  }
  // Three destinations, thirty calls: each one gets some (deterministic).
  EXPECT_EQ(used.size(), 3u);
}

TEST_F(ProxyCoreTest, SameCallIdSameDestinationWhateverElseChanges) {
  Request a;
  a.call_id = "stick@test";
  Request b = a;
  b.method = "OPTIONS";
  b.via = "SIP/2.0/UDP 192.0.2.11:5099;branch=z9hG4bKother";
  b.ruri = "sip:carol@example.com";
  const SocketAddress first = ForwardOne(a).path.destination;
  const SocketAddress second = ForwardOne(b).path.destination;
  EXPECT_EQ(first, second);
}

TEST_F(ProxyCoreTest, InviteCancelAndAckOfOneCallShareDestinationAndBranch) {
  Request invite;
  const testing::SentDatagram inv = ForwardOne(invite);
  Request cancel = invite;
  cancel.method = "CANCEL";
  const testing::SentDatagram can = ForwardOne(cancel);
  Request ack = invite;  // the ACK for a non-2xx final response (§17.1.1.3)
  ack.method = "ACK";
  ack.to_tag = "uas1";
  const testing::SentDatagram ac = ForwardOne(ack);

  const std::string branch = HeaderValues(inv.bytes, "Via").at(0);
  EXPECT_EQ(HeaderValues(can.bytes, "Via").at(0), branch);
  EXPECT_EQ(HeaderValues(ac.bytes, "Via").at(0), branch);
  EXPECT_EQ(can.path.destination, inv.path.destination);
  EXPECT_EQ(ac.path.destination, inv.path.destination);

  // A different client transaction gets a different branch.
  Request other = invite;
  other.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc2;rport";
  EXPECT_NE(HeaderValues(ForwardOne(other).bytes, "Via").at(0), branch);
}

TEST_F(ProxyCoreTest, BranchWithoutMagicCookieStillMatchesCancelToInvite) {
  // RFC 2543 clients: the stateless key is built from the whole request.
  Request invite;
  invite.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=old1";
  Request cancel = invite;
  cancel.method = "CANCEL";
  Request second_call = invite;
  second_call.call_id = "call-2@test";
  const std::string a = HeaderValues(ForwardOne(invite).bytes, "Via").at(0);
  const std::string b = HeaderValues(ForwardOne(cancel).bytes, "Via").at(0);
  const std::string c = HeaderValues(ForwardOne(second_call).bytes, "Via").at(0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST_F(ProxyCoreTest, RetransmissionIsForwardedByteForByteIdentical) {
  Request invite;
  const testing::SentDatagram first = ForwardOne(invite);
  const testing::SentDatagram again = ForwardOne(invite);
  EXPECT_EQ(first.bytes, again.bytes);
  EXPECT_EQ(first.path.destination, again.path.destination);
  EXPECT_EQ(first.path.listen_index, again.path.listen_index);
}

TEST_F(ProxyCoreTest, ShardIndexIsEncodedInTheBranch) {
  EXPECT_THAT(HeaderValues(ForwardOne(Request()).bytes, "Via").at(0),
              HasSubstr(std::string(";branch=") + kOurBranchPrefix));
}

TEST_F(ProxyCoreTest, Ipv6DestinationLeavesFromTheIpv6ListenSocket) {
  Request r;
  r.ruri = "sip:v6-user@example.com";
  const testing::SentDatagram out = ForwardOne(r);
  EXPECT_EQ(out.path.listen_index, 1);
  EXPECT_EQ(out.path.destination, Addr("2001:db8::1", 5090));
  EXPECT_THAT(HeaderValues(out.bytes, "Via").at(0),
              StartsWith("SIP/2.0/UDP [::1]:5060;branch=z9hG4bK-sx002a-a"));
  EXPECT_THAT(HeaderValues(out.bytes, "Record-Route"), ElementsAre("<sip:[::1]:5060;lr>"));
}

TEST_F(ProxyCoreTest, Ipv6ClientToIpv4DestinationLeavesFromTheIpv4Socket) {
  Request r;
  r.via = "SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKv6c;rport";
  Receive(r.Text(), Addr("2001:db8::9", 5060), /*listen=*/1);
  ASSERT_EQ(sender_.sent().size(), 1u);
  const testing::SentDatagram& out = sender_.last();
  EXPECT_EQ(out.path.listen_index, 0);
  EXPECT_EQ(out.path.destination, FarmChoice("call-1@test"));
  EXPECT_THAT(HeaderValues(out.bytes, "Via"),
              ElementsAre(StartsWith("SIP/2.0/UDP 127.0.0.1:5060;branch="),
                          "SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKv6c;rport=5060;"
                          "received=2001:db8::9"));
}

TEST_F(ProxyCoreTest, NoListenSocketOfTheDestinationFamilyGets503) {
  Build(kConfig, /*ipv4_only=*/true);
  Request r;
  r.ruri = "sip:v6-user@example.com";
  Receive(r);
  ASSERT_EQ(sender_.sent().size(), 1u);
  EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 503 No Route To Destination Family");
  EXPECT_EQ(counters_->no_destination.value(), 1u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 0u);
}

TEST_F(ProxyCoreTest, SendFailuresAreCounted) {
  sender_.set_reserve_fails(true);
  Receive(Request());
  EXPECT_THAT(sender_.sent(), IsEmpty());
  EXPECT_EQ(counters_->send_failures.value(), 1u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 0u);

  sender_.set_reserve_fails(false);
  sender_.set_commit_fails(true);
  Receive(Request());
  EXPECT_EQ(counters_->requests_forwarded.value(), 0u);
  EXPECT_EQ(sender_.misuse_count(), 0u);
}

// ---- §16.3 checks and malformed input ----------------------------------------

TEST_F(ProxyCoreTest, MaxForwardsZeroGets483ToTheSourceAddress) {
  Request r;
  r.max_forwards = "0";
  Receive(r);
  ASSERT_EQ(sender_.sent().size(), 1u);
  const testing::SentDatagram& out = sender_.last();
  EXPECT_EQ(FirstLine(out.bytes), "SIP/2.0 483 Too Many Hops");
  // rport in the request: source IP and source port (RFC 3581 §4).
  EXPECT_EQ(out.path.destination, client_);
  EXPECT_EQ(out.path.listen_index, 0);
  EXPECT_THAT(HeaderValues(out.bytes, "Via"),
              ElementsAre("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;rport=40000;"
                          "received=192.0.2.99"));
  EXPECT_THAT(HeaderValue(out.bytes, "To"), MatchesRegex("<sip:bob@example.com>;tag=sx[0-9a-f]{16}"));
  EXPECT_EQ(HeaderValue(out.bytes, "Call-ID"), "call-1@test");
  EXPECT_EQ(HeaderValue(out.bytes, "CSeq"), "1 INVITE");
  EXPECT_EQ(counters_->too_many_hops.value(), 1u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 0u);
}

TEST_F(ProxyCoreTest, ReplyWithoutRportGoesToSourceIpAndSentByPort) {
  Request r;
  r.max_forwards = "0";
  r.via = "SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKc1";
  Receive(r);
  ASSERT_EQ(sender_.sent().size(), 1u);
  EXPECT_EQ(sender_.last().path.destination, Addr("192.0.2.99", 5070));
}

TEST_F(ProxyCoreTest, AckWithMaxForwardsZeroIsNotAnswered) {
  Request r;
  r.method = "ACK";
  r.to_tag = "t";
  r.max_forwards = "0";
  Receive(r);
  EXPECT_THAT(sender_.sent(), IsEmpty());
  EXPECT_EQ(counters_->too_many_hops.value(), 1u);
}

// ---- §16.3 step 4: loops through stateless forwarding --------------------------

// `forwarded` as a downstream element at 10.0.0.1:5060 sends it back to us:
// its own Via on top (on its own line, or in front of ours on one line),
// everything else as we sent it.
std::string BackFromDownstream(const std::string& forwarded, bool one_via_line = false) {
  const size_t via = forwarded.find("\r\nVia: ") + 2;
  const std::string down = "SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKdown1";
  if (one_via_line) {
    return forwarded.substr(0, via) + "Via: " + down + ", " + forwarded.substr(via + 5);
  }
  return forwarded.substr(0, via) + "Via: " + down + "\r\n" + forwarded.substr(via);
}

TEST_F(ProxyCoreTest, StatelessRequestThatComesBackUnchangedGets482) {
  const std::string fwd = ForwardOne(Request()).bytes;
  for (bool one_via_line : {false, true}) {
    SCOPED_TRACE(one_via_line);
    const size_t before = sender_.sent().size();
    Receive(BackFromDownstream(fwd, one_via_line), Addr("10.0.0.1", 5060));
    ASSERT_EQ(sender_.sent().size(), before + 1);
    const testing::SentDatagram& out = sender_.last();
    EXPECT_EQ(FirstLine(out.bytes), "SIP/2.0 482 Loop Detected");
    // To the hop it came from: no rport in its Via, so its sent-by port.
    EXPECT_EQ(out.path.destination, Addr("10.0.0.1", 5060));
  }
  // Straight back to us (our Via on top, with rport): Max-Forwards went
  // down, the loop is still found.
  Receive(fwd, FarmChoice("call-1@test"));
  EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 482 Loop Detected");
  EXPECT_EQ(sender_.last().path.destination, FarmChoice("call-1@test"));
  EXPECT_EQ(counters_->loops_detected.value(), 3u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 1u);
  EXPECT_EQ(counters_->local_replies.value(), 0u);
}

TEST_F(ProxyCoreTest, StatelessLoopOverTheIpv6ListenIsFound) {
  Request r;
  r.ruri = "sip:v6-user@example.com";
  const testing::SentDatagram fwd = ForwardOne(r);
  ASSERT_EQ(fwd.path.listen_index, 1);
  ASSERT_THAT(HeaderValues(fwd.bytes, "Via").at(0), StartsWith("SIP/2.0/UDP [::1]:5060;"));
  Receive(fwd.bytes, Addr("2001:db8::1", 5090), 1);
  EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 482 Loop Detected");
  EXPECT_EQ(counters_->loops_detected.value(), 1u);
}

TEST_F(ProxyCoreTest, StatelessSpiralWithAnotherRequestUriIsForwarded) {
  const std::string fwd = ForwardOne(Request()).bytes;
  std::string spiral = BackFromDownstream(fwd);
  spiral.replace(spiral.find("sip:bob@example.com"), 19, "sip:carol@example.com");
  Receive(spiral, Addr("10.0.0.1", 5060));
  ASSERT_EQ(sender_.sent().size(), 2u);
  const testing::SentDatagram& out = sender_.last();
  EXPECT_EQ(FirstLine(out.bytes), "INVITE sip:carol@example.com SIP/2.0");
  // Our new Via on top of the downstream one, our earlier one and the client's.
  const std::vector<std::string> vias = HeaderValues(out.bytes, "Via");
  ASSERT_EQ(vias.size(), 4u);
  EXPECT_THAT(vias[0], StartsWith(std::string("SIP/2.0/UDP 127.0.0.1:5060;branch=") +
                                  kOurBranchPrefix));
  EXPECT_NE(vias[0].substr(0, vias[0].find(";rport")), vias[2].substr(0, vias[2].find(";rport")));
  EXPECT_EQ(counters_->loops_detected.value(), 0u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 2u);
}

TEST_F(ProxyCoreTest, TheTopRouteIsPartOfTheStatelessLoopCheck) {
  // A preloaded Route to another proxy, which pops it and sends the request
  // back to us: the routing changed (a spiral). The same request with the
  // Route still on top has looped.
  Request r;
  r.extra = "Route: <sip:192.0.2.60;lr>\r\n";
  const std::string fwd = ForwardOne(r).bytes;
  std::string popped = fwd;
  popped.erase(popped.find("Route: <sip:192.0.2.60;lr>\r\n"), 28);
  Receive(popped, Addr("192.0.2.60", 5060));
  EXPECT_EQ(FirstLine(sender_.last().bytes), "INVITE sip:bob@example.com SIP/2.0");
  EXPECT_EQ(counters_->requests_forwarded.value(), 2u);
  Receive(fwd, Addr("192.0.2.60", 5060));
  EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 482 Loop Detected");
  EXPECT_EQ(counters_->loops_detected.value(), 1u);
}

TEST_F(ProxyCoreTest, StatelessBranchSentByAnotherProxyIsNotALoop) {
  // Another sipshard (same branch format) at another address or port.
  const std::string fwd = ForwardOne(Request()).bytes;
  const std::string ours = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=";
  for (const char* other : {"Via: SIP/2.0/UDP 192.0.2.77:5060;branch=",
                            "Via: SIP/2.0/UDP 127.0.0.1:5070;branch="}) {
    SCOPED_TRACE(other);
    std::string theirs = fwd;
    theirs.replace(theirs.find(ours), ours.size(), other);
    const size_t before = sender_.sent().size();
    Receive(theirs, Addr("192.0.2.77", 5060));
    ASSERT_EQ(sender_.sent().size(), before + 1);
    EXPECT_EQ(FirstLine(sender_.last().bytes), "INVITE sip:bob@example.com SIP/2.0");
  }
  EXPECT_EQ(counters_->loops_detected.value(), 0u);
}

TEST_F(ProxyCoreTest, LoopedAckAndCancelAreDroppedUnanswered) {
  for (const char* method : {"CANCEL", "ACK"}) {
    SCOPED_TRACE(method);
    Request r;
    r.method = method;
    if (r.method == "ACK") r.to_tag = "uas1";
    const std::string fwd = ForwardOne(r).bytes;
    const size_t before = sender_.sent().size();
    Receive(BackFromDownstream(fwd), Addr("10.0.0.1", 5060));
    EXPECT_EQ(sender_.sent().size(), before);
  }
  EXPECT_EQ(counters_->loops_detected.value(), 2u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 2u);
}

TEST_F(ProxyCoreTest, LoopDetectionOffForwardsTheLoopedRequest) {
  std::string toml = kConfig;
  toml.replace(toml.find("[server]\n"), 9, "[server]\nloop_detection = false\n");
  Build(toml);
  const std::string fwd = ForwardOne(Request()).bytes;
  Receive(BackFromDownstream(fwd), Addr("10.0.0.1", 5060));
  ASSERT_EQ(sender_.sent().size(), 2u);
  EXPECT_EQ(FirstLine(sender_.last().bytes), "INVITE sip:bob@example.com SIP/2.0");
  EXPECT_THAT(HeaderValues(sender_.last().bytes, "Max-Forwards"), ElementsAre("68"));
  EXPECT_EQ(counters_->loops_detected.value(), 0u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 2u);
}

TEST_F(ProxyCoreTest, MalformedRequestsGetTheDescribedAnswer) {
  const struct {
    sip::ParseError error;
    std::string text;
  } kCases[] = {
      {sip::ParseError::kCSeqMethodMismatch,
       [] {
         Request r;
         r.cseq_method = "BYE";
         return r.Text();
       }()},
      {sip::ParseError::kMissingCallId,
       "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKm\r\n"
       "From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"},
      {sip::ParseError::kUnsupportedVersion,
       "INVITE sip:bob@example.com SIP/7.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKv\r\n"
       "From: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: v7\r\nCSeq: 1 INVITE\r\n"
       "Content-Length: 0\r\n\r\n"},
  };
  for (const auto& c : kCases) {
    const sip::ParseErrorInfo& info = sip::Describe(c.error);
    SCOPED_TRACE(info.name);
    sender_.Clear();
    Receive(c.text, client_);
    ASSERT_EQ(sender_.sent().size(), 1u);
    EXPECT_EQ(FirstLine(sender_.last().bytes),
              "SIP/2.0 " + std::to_string(info.status_code) + " " + std::string(info.reason));
    EXPECT_EQ(ParseErrors(c.error), 1u);
  }
  EXPECT_EQ(counters_->bad_requests_answered.value(), 3u);
  EXPECT_EQ(counters_->dropped_malformed.value(), 0u);
  EXPECT_EQ(counters_->requests.value(), 0u);
}

TEST_F(ProxyCoreTest, UnanswerableInputIsDroppedAndCounted) {
  Receive("\x01\x02 this is not SIP\r\n\r\n", client_);
  Receive("SIP/2.0 200 OK\r\nVia: broken\r\n\r\n", client_);
  Request ack;  // a malformed ACK is never answered (§17.2.1)
  ack.method = "ACK";
  ack.cseq_method = "INVITE";
  Receive(ack);
  EXPECT_THAT(sender_.sent(), IsEmpty());
  EXPECT_EQ(counters_->dropped_malformed.value(), 3u);
  EXPECT_EQ(counters_->bad_requests_answered.value(), 0u);
  EXPECT_EQ(ParseErrors(sip::ParseError::kBadStartLine), 1u);
  EXPECT_EQ(ParseErrors(sip::ParseError::kCSeqMethodMismatch), 1u);
}

TEST_F(ProxyCoreTest, KeepAliveIsCountedAndIgnored) {
  Receive("\r\n\r\n", client_);
  Receive("\r\n", client_);
  EXPECT_THAT(sender_.sent(), IsEmpty());
  EXPECT_EQ(counters_->keepalives.value(), 2u);
  EXPECT_EQ(counters_->dropped_malformed.value(), 0u);
  EXPECT_EQ(counters_->requests.value(), 0u);
}

// ---- routes: reply, drop, none, no destination -------------------------------

TEST_F(ProxyCoreTest, ReplyRouteAnswersWithAStableToTag) {
  Request reg;
  reg.method = "REGISTER";
  Receive(reg);
  Receive(reg);  // retransmission
  ASSERT_EQ(sender_.sent().size(), 2u);
  const std::string first = sender_.sent()[0].bytes;
  EXPECT_EQ(FirstLine(first), "SIP/2.0 200 OK");
  EXPECT_THAT(HeaderValue(first, "To"), MatchesRegex("<sip:bob@example.com>;tag=sx[0-9a-f]{16}"));
  EXPECT_EQ(sender_.sent()[1].bytes, first);
  EXPECT_EQ(sender_.sent()[0].path.destination, client_);
  EXPECT_EQ(counters_->local_replies.value(), 2u);

  // Another request (new CSeq/branch) gets another tag.
  Request next = reg;
  next.via = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc9;rport";
  Receive(next);
  ASSERT_EQ(sender_.sent().size(), 3u);
  EXPECT_NE(HeaderValue(sender_.last().bytes, "To"), HeaderValue(first, "To"));
}

TEST_F(ProxyCoreTest, ReplyRouteUsesTheConfiguredReason) {
  Request r;
  r.ruri = "sip:busy-1@example.com";
  Receive(r);
  ASSERT_EQ(sender_.sent().size(), 1u);
  EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 486 Busy Everywhere");
}

TEST_F(ProxyCoreTest, ReplyRouteNeverAnswersAnAck) {
  Request ack;
  ack.method = "ACK";
  ack.ruri = "sip:busy-1@example.com";
  ack.to_tag = "x";
  Receive(ack);
  EXPECT_THAT(sender_.sent(), IsEmpty());
}

TEST_F(ProxyCoreTest, DropRouteSendsNothing) {
  Request r;
  r.method = "PUBLISH";
  Receive(r);
  EXPECT_THAT(sender_.sent(), IsEmpty());
  EXPECT_EQ(counters_->route_drops.value(), 1u);
  EXPECT_EQ(counters_->requests.value(), 1u);
}

TEST_F(ProxyCoreTest, NoMatchingRouteGets404NoRoute) {
  Request r;
  r.ruri = "sip:bob@elsewhere.example.org";
  Receive(r);
  ASSERT_EQ(sender_.sent().size(), 1u);
  EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 404 No Route");
  EXPECT_EQ(counters_->no_route.value(), 1u);

  Request ack = r;
  ack.method = "ACK";
  ack.to_tag = "x";
  Receive(ack);
  EXPECT_EQ(sender_.sent().size(), 1u);
  EXPECT_EQ(counters_->no_route.value(), 2u);
}

TEST_F(ProxyCoreTest, AllDestinationsInactiveGets503) {
  Request r;
  r.ruri = "sip:dead-1@example.com";
  Receive(r);
  ASSERT_EQ(sender_.sent().size(), 1u);
  EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 503 No Destination Available");
  EXPECT_EQ(counters_->no_destination.value(), 1u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 0u);
}

TEST_F(ProxyCoreTest, OptionsToTheBalancerIsAnsweredWithAllow) {
  for (const char* ruri : {"sip:127.0.0.1:5060", "sip:127.0.0.1", "sip:[::1]:5060"}) {
    SCOPED_TRACE(ruri);
    sender_.Clear();
    Request r;
    r.method = "OPTIONS";
    r.ruri = ruri;
    Receive(r);
    ASSERT_EQ(sender_.sent().size(), 1u);
    const std::string& out = sender_.last().bytes;
    EXPECT_EQ(FirstLine(out), "SIP/2.0 200 OK");
    EXPECT_EQ(HeaderValue(out, "Allow"),
              "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, UPDATE, INFO, MESSAGE, "
              "SUBSCRIBE, NOTIFY, REFER");
    EXPECT_EQ(HeaderValue(out, "Accept"), "application/sdp");
    EXPECT_EQ(HeaderValue(out, "Content-Length"), "0");
  }
  EXPECT_EQ(counters_->local_replies.value(), 3u);
  EXPECT_EQ(counters_->requests_forwarded.value(), 0u);
}

TEST_F(ProxyCoreTest, OptionsToAUserOrAnotherPortIsRouted) {
  Request user;
  user.method = "OPTIONS";
  user.ruri = "sip:bob@127.0.0.1:5060";
  Receive(user);  // routed: no route matches host 127.0.0.1
  Request port;
  port.method = "OPTIONS";
  port.ruri = "sip:127.0.0.1:5061";
  Receive(port);
  ASSERT_EQ(sender_.sent().size(), 2u);
  EXPECT_EQ(FirstLine(sender_.sent()[0].bytes), "SIP/2.0 404 No Route");
  EXPECT_EQ(FirstLine(sender_.sent()[1].bytes), "SIP/2.0 404 No Route");
  EXPECT_EQ(counters_->local_replies.value(), 0u);
}

// ---- §16.4 loose routing ---------------------------------------------------------

TEST_F(ProxyCoreTest, InDialogRouteNamingUsIsPoppedAndRequestUriFollowed) {
  Request bye;
  bye.method = "BYE";
  bye.to_tag = "uas1";
  bye.ruri = "sip:bob@192.0.2.50:5090";
  bye.extra = "Route: <sip:127.0.0.1:5060;lr>\r\n";
  const testing::SentDatagram out = ForwardOne(bye);
  EXPECT_EQ(out.path.destination, Addr("192.0.2.50", 5090));
  EXPECT_EQ(FirstLine(out.bytes), "BYE sip:bob@192.0.2.50:5090 SIP/2.0");
  EXPECT_THAT(HeaderValues(out.bytes, "Route"), IsEmpty());
  EXPECT_THAT(HeaderValues(out.bytes, "Record-Route"), IsEmpty());
  EXPECT_THAT(HeaderValues(out.bytes, "Max-Forwards"), ElementsAre("69"));
  EXPECT_EQ(HeaderValues(out.bytes, "Via").size(), 2u);
}

TEST_F(ProxyCoreTest, NextRouteAfterOursIsFollowedAndKept) {
  for (const char* routes :
       {"Route: <sip:127.0.0.1:5060;lr>, <sip:192.0.2.60:5070;lr>\r\n",
        "Route: <sip:127.0.0.1;lr>\r\nRoute: <sip:192.0.2.60:5070;lr>\r\n"}) {
    SCOPED_TRACE(routes);
    Request bye;
    bye.method = "BYE";
    bye.to_tag = "uas1";
    bye.ruri = "sip:bob@192.0.2.50:5090";
    bye.extra = routes;
    const testing::SentDatagram out = ForwardOne(bye);
    EXPECT_EQ(out.path.destination, Addr("192.0.2.60", 5070));
    EXPECT_THAT(HeaderValues(out.bytes, "Route"), ElementsAre("<sip:192.0.2.60:5070;lr>"));
    EXPECT_EQ(FirstLine(out.bytes), "BYE sip:bob@192.0.2.50:5090 SIP/2.0");
  }
}

TEST_F(ProxyCoreTest, RouteNotNamingUsIsFollowedUntouched) {
  Request r;  // an initial request with a preloaded Route (§16.4)
  r.extra = "Route: <sip:192.0.2.60;lr>\r\n";
  const testing::SentDatagram out = ForwardOne(r);
  EXPECT_EQ(out.path.destination, Addr("192.0.2.60", 5060));
  EXPECT_THAT(HeaderValues(out.bytes, "Route"), ElementsAre("<sip:192.0.2.60;lr>"));
  // Routed by Route, not by the route table: no Record-Route either.
  EXPECT_THAT(HeaderValues(out.bytes, "Record-Route"), IsEmpty());
}

TEST_F(ProxyCoreTest, RouteMaddrWins) {
  Request r;
  r.extra = "Route: <sip:proxy.example.com:5070;maddr=192.0.2.61;lr>\r\n";
  EXPECT_EQ(ForwardOne(r).path.destination, Addr("192.0.2.61", 5070));
}

TEST_F(ProxyCoreTest, UnresolvableRouteGets503) {
  Request r;
  r.extra = "Route: <sip:proxy.example.com;lr>\r\n";
  Receive(r);
  ASSERT_EQ(sender_.sent().size(), 1u);
  EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 503 Cannot Resolve Route");
  EXPECT_EQ(counters_->no_destination.value(), 1u);
}

TEST_F(ProxyCoreTest, UnparsableRouteGets400) {
  Request r;
  r.extra = "Route: <sip:>\r\n";
  Receive(r);
  ASSERT_EQ(sender_.sent().size(), 1u);
  EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 400 Bad Route");
}

TEST_F(ProxyCoreTest, InDialogWithoutRouteFollowsTheRequestUri) {
  Request bye;
  bye.method = "BYE";
  bye.to_tag = "uas1";
  bye.ruri = "sip:bob@[2001:db8::77]:5092";
  const testing::SentDatagram out = ForwardOne(bye);
  EXPECT_EQ(out.path.destination, Addr("2001:db8::77", 5092));
  EXPECT_EQ(out.path.listen_index, 1);
}

TEST_F(ProxyCoreTest, AckForA2xxFollowsTheContactNotTheDispatcher) {
  // After a failover the callee is not the Call-ID's rendezvous choice: the
  // ACK for its 200 must still reach it (pitfall 3: end to end).
  Request ack;
  ack.method = "ACK";
  ack.to_tag = "uas1";
  ack.ruri = "sip:bob@192.0.2.77:5092";
  ack.extra = "Route: <sip:127.0.0.1:5060;lr>\r\n";
  const testing::SentDatagram out = ForwardOne(ack);
  EXPECT_EQ(out.path.destination, Addr("192.0.2.77", 5092));
  EXPECT_NE(out.path.destination, FarmChoice(ack.call_id));
  EXPECT_TRUE(HeaderValues(out.bytes, "Route").empty());
}

TEST_F(ProxyCoreTest, AckForANon2xxWithoutOurRouteFollowsItsInvite) {
  // A stateless route's INVITE went to the Call-ID's choice; its hop-by-hop
  // ACK (To tag, no Route) must go there too, whatever its Request-URI.
  Build(R"toml(
[[sets]]
name = "farm"
  [[sets.destinations]]
  uri = "sip:10.0.0.1:5060"
  [[sets.destinations]]
  uri = "sip:10.0.0.2:5060"
  [[sets.destinations]]
  uri = "sip:10.0.0.3:5060"

[[routes]]
name = "all"
action = "forward"
set = "farm"
)toml");
  Request ack;
  ack.method = "ACK";
  ack.to_tag = "uas1";
  ack.ruri = "sip:bob@192.0.2.77:5092";
  EXPECT_EQ(ForwardOne(ack).path.destination, FarmChoice(ack.call_id));
}

TEST_F(ProxyCoreTest, InDialogToAHostNameOrToUsGets404NotHere) {
  for (const char* ruri : {"sip:bob@pbx.example.com", "sip:bob@127.0.0.1:5060"}) {
    SCOPED_TRACE(ruri);
    sender_.Clear();
    Request bye;
    bye.method = "BYE";
    bye.to_tag = "uas1";
    bye.ruri = ruri;
    Receive(bye);
    ASSERT_EQ(sender_.sent().size(), 1u);
    EXPECT_EQ(FirstLine(sender_.last().bytes), "SIP/2.0 404 Not Here");
  }
  EXPECT_EQ(counters_->no_route.value(), 2u);
}

// ---- responses (§18.2.2, RFC 3581) -------------------------------------------

TEST_F(ProxyCoreTest, ResponseLosesOurViaAndGoesToReceivedAndRport) {
  const testing::SentDatagram invite = ForwardOne(Request());
  sender_.Clear();
  Receive(Answer(invite.bytes, 180, "Ringing"), invite.path.destination);
  ASSERT_EQ(sender_.sent().size(), 1u);
  const testing::SentDatagram& out = sender_.last();
  EXPECT_EQ(FirstLine(out.bytes), "SIP/2.0 180 Ringing");
  EXPECT_THAT(HeaderValues(out.bytes, "Via"),
              ElementsAre("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;rport=40000;"
                          "received=192.0.2.99"));
  EXPECT_EQ(out.path.destination, client_);
  EXPECT_EQ(out.path.listen_index, 0);
  EXPECT_EQ(counters_->responses.value(), 1u);
  EXPECT_EQ(counters_->responses_forwarded.value(), 1u);
}

std::string ResponseWithVias(const std::string& vias) {
  return "SIP/2.0 200 OK\r\n" + vias +
         "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: r@test\r\n"
         "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
}

TEST_F(ProxyCoreTest, ResponseRoutingUsesReceivedRportElseSentBy) {
  const std::string ours = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sx002a-a0123\r\n";
  const struct {
    const char* next_via;
    SocketAddress expected;
    int listen_index;
  } kCases[] = {
      {"SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKx", Addr("192.0.2.10", 5062), 0},
      {"SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKx", Addr("192.0.2.10", 5060), 0},
      {"SIP/2.0/UDP host.example.com:5062;branch=z9hG4bKx;received=192.0.2.12",
       Addr("192.0.2.12", 5062), 0},
      {"SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKx;received=192.0.2.12;rport=7000",
       Addr("192.0.2.12", 7000), 0},
      {"SIP/2.0/UDP 192.0.2.10:5062;rport=7001;branch=z9hG4bKx", Addr("192.0.2.10", 7001), 0},
      {"SIP/2.0/UDP [2001:db8::5]:5064;branch=z9hG4bKx", Addr("2001:db8::5", 5064), 1},
      {"SIP/2.0/UDP [2001:db8::5];branch=z9hG4bKx;received=2001:db8::6;rport=7002",
       Addr("2001:db8::6", 7002), 1},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.next_via);
    sender_.Clear();
    Receive(ResponseWithVias(ours + "Via: " + c.next_via + "\r\n"), Addr("10.0.0.1", 5060));
    ASSERT_EQ(sender_.sent().size(), 1u);
    EXPECT_EQ(sender_.last().path.destination, c.expected);
    EXPECT_EQ(sender_.last().path.listen_index, c.listen_index);
    EXPECT_THAT(HeaderValues(sender_.last().bytes, "Via"), ElementsAre(c.next_via));
  }
}

TEST_F(ProxyCoreTest, ResponseWithBothViasOnOneLineLosesOnlyOurs) {
  Receive(ResponseWithVias("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sx002a-a0123, "
                           "SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKx\r\n"),
          Addr("10.0.0.1", 5060));
  ASSERT_EQ(sender_.sent().size(), 1u);
  EXPECT_EQ(sender_.last().path.destination, Addr("192.0.2.10", 5062));
  EXPECT_THAT(HeaderValues(sender_.last().bytes, "Via"),
              ElementsAre("SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKx"));
}

TEST_F(ProxyCoreTest, ResponseNotOursIsDropped) {
  Receive(ResponseWithVias("Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKx\r\n"
                           "Via: SIP/2.0/UDP 192.0.2.11;branch=z9hG4bKy\r\n"),
          Addr("10.0.0.1", 5060));
  EXPECT_THAT(sender_.sent(), IsEmpty());
  EXPECT_EQ(counters_->responses_not_ours.value(), 1u);
  EXPECT_EQ(counters_->responses_forwarded.value(), 0u);
}

TEST_F(ProxyCoreTest, ResponseWithNowhereToGoIsUnroutable) {
  const std::string ours = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sx002a-a0123\r\n";
  Receive(ResponseWithVias(ours), Addr("10.0.0.1", 5060));
  // A host name cannot be resolved on the data path.
  Receive(ResponseWithVias(ours + "Via: SIP/2.0/UDP client.example.com;branch=z9hG4bKx\r\n"),
          Addr("10.0.0.1", 5060));
  EXPECT_THAT(sender_.sent(), IsEmpty());
  EXPECT_EQ(counters_->responses_unroutable.value(), 2u);
}

TEST_F(ProxyCoreTest, ResponseToIpv6ClientWithoutIpv6SocketIsUnroutable) {
  Build(kConfig, /*ipv4_only=*/true);
  Receive(ResponseWithVias("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-sx002a-a0123\r\n"
                           "Via: SIP/2.0/UDP [2001:db8::5];branch=z9hG4bKx\r\n"),
          Addr("10.0.0.1", 5060));
  EXPECT_THAT(sender_.sent(), IsEmpty());
  EXPECT_EQ(counters_->responses_unroutable.value(), 1u);
}

// ---- creation ---------------------------------------------------------------------

constexpr char kStatefulConfig[] = R"toml(
[[sets]]
name = "farm"
  [[sets.destinations]]
  uri = "sip:10.0.0.1"

[[routes]]
name = "all"
action = "forward"
set = "farm"
stateful = true
)toml";

class ProxyCoreCreateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<config::Config> loaded = config::LoadConfigString(kStatefulConfig);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    env_.config = std::make_shared<const config::Config>(std::move(*loaded));
    env_.listens.push_back(ListenIdentity{"127.0.0.1", 5060, Addr("127.0.0.1", 5060)});
    env_.sender = &sender_;
    env_.counters = &counters_;
  }

  FakeSender sender_;
  metrics::ShardCounters counters_;
  ProxyEnvironment env_;
};

TEST_F(ProxyCoreCreateTest, StatefulRouteWithoutTimerWheelIsRefused) {
  absl::StatusOr<std::unique_ptr<ProxyCore>> core = ProxyCore::Create(env_);
  ASSERT_FALSE(core.ok());
  EXPECT_EQ(core.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(core.status().message(), "stateful routes need the shard's timer wheel");
}

TEST_F(ProxyCoreCreateTest, StatefulRouteWithTimerWheelIsAccepted) {
  base::TimerWheel wheel(0);
  env_.timers = &wheel;
  absl::StatusOr<std::unique_ptr<ProxyCore>> core = ProxyCore::Create(env_);
  EXPECT_TRUE(core.ok()) << core.status();
}

}  // namespace
}  // namespace sipshard::proxy
