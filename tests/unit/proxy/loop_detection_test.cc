// Unit tests of stateless loop detection (§16.3 step 4, §16.6 step 8): which
// request fields the loop hash covers, which it leaves out so that CANCEL
// and ACK keep their INVITE's branch (§16.11), and how IsStatelessLoop
// finds our own Via.
#include "sipshard/proxy/loop_detection.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sipshard/proxy/proxy_core.h"
#include "sipshard/sip/parser.h"
#include "sipshard/txn/branch_id.h"

namespace sipshard::proxy {
namespace {

// The parts of a request the tests vary; Text() splices them in verbatim.
struct Fields {
  std::string method = "INVITE";
  std::string ruri = "sip:bob@example.com";
  std::string vias = "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;rport\r\n";
  std::string max_forwards = "70";
  std::string from_tag = "a1";
  std::string to_tag;
  std::string call_id = "call-1@test";
  std::string cseq = "1";
  std::string cseq_method;  // defaults to `method`
  std::string extra;        // header lines, each ending in CRLF

  std::string Text() const {
    return method + " " + ruri + " SIP/2.0\r\n" + vias + "Max-Forwards: " + max_forwards +
           "\r\nFrom: <sip:alice@example.net>;tag=" + from_tag +
           "\r\nTo: <sip:bob@example.com>" + (to_tag.empty() ? "" : ";tag=" + to_tag) +
           "\r\nCall-ID: " + call_id + "\r\nCSeq: " + cseq + " " +
           (cseq_method.empty() ? method : cseq_method) + "\r\n" + extra +
           "Content-Length: 0\r\n\r\n";
  }
};

// A parsed request that owns its bytes.
class Parsed {
 public:
  explicit Parsed(const Fields& fields) : text_(fields.Text()), msg_(new sip::Message) {
    EXPECT_EQ(sip::ParseMessage(text_, sip::ParseLimits(), msg_.get()), sip::ParseError::kNone)
        << text_;
  }
  const sip::Message& msg() const { return *msg_; }

 private:
  std::string text_;
  std::unique_ptr<sip::Message> msg_;
};

uint64_t LoopHash(const Fields& fields) { return StatelessLoopHash(Parsed(fields).msg()); }

std::string OurBranch(uint64_t loop_hash, uint16_t shard = 3) {
  char buffer[txn::kMaxBranchLength];
  return std::string(buffer, txn::FormatStatelessBranch(
                                 txn::StatelessBranch{shard, 0x1234, loop_hash}, buffer));
}

std::vector<ListenIdentity> Listens() {
  return {ListenIdentity{"127.0.0.1", 5060, *transport::SocketAddress::Parse("127.0.0.1", 5060)},
          ListenIdentity{"[::1]", 5062, *transport::SocketAddress::Parse("::1", 5062)}};
}

TEST(StatelessLoopHashTest, IgnoresWhatEveryHopChangesAndWhatCancelAndAckChange) {
  const Fields invite;
  const uint64_t h = LoopHash(invite);

  Fields hop = invite;  // one hop further: Vias, Max-Forwards, Record-Route
  hop.vias = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=" + OurBranch(h) + ";rport\r\n" + hop.vias;
  hop.max_forwards = "69";
  hop.extra = "Record-Route: <sip:127.0.0.1:5060;lr>\r\n";
  EXPECT_EQ(LoopHash(hop), h);

  // §16.11: the CANCEL and the ACK for a non-2xx must get the INVITE's
  // branch, although their method, the ACK's To tag and the credentials
  // differ.
  Fields cancel = invite;
  cancel.method = "CANCEL";
  EXPECT_EQ(LoopHash(cancel), h);
  Fields ack = invite;
  ack.method = "ACK";
  ack.to_tag = "uas1";
  EXPECT_EQ(LoopHash(ack), h);
  Fields credentials = invite;
  credentials.extra = "Proxy-Authorization: Digest username=\"alice\"\r\n";
  EXPECT_EQ(LoopHash(credentials), h);
}

TEST(StatelessLoopHashTest, ChangesWithEveryRoutingField) {
  const Fields base;
  const uint64_t h = LoopHash(base);
  std::vector<Fields> changed(6, base);
  changed[0].ruri = "sip:carol@example.com";
  changed[1].call_id = "call-2@test";
  changed[2].from_tag = "a2";
  changed[3].cseq = "2";
  changed[4].extra = "Route: <sip:192.0.2.60;lr>\r\n";
  changed[5].extra = "Route: <sip:192.0.2.61;lr>\r\n";
  std::vector<uint64_t> hashes = {h};
  for (const Fields& f : changed) {
    const uint64_t other = LoopHash(f);
    for (uint64_t seen : hashes) EXPECT_NE(other, seen) << f.Text();
    hashes.push_back(other);
  }
}

TEST(StatelessLoopHashTest, OnlyTheTopRouteValueCounts) {
  Fields one;
  one.extra = "Route: <sip:192.0.2.60;lr>\r\n";
  Fields more = one;
  more.extra = "Route: <sip:192.0.2.60;lr>, <sip:192.0.2.70;lr>\r\nRoute: <sip:192.0.2.80;lr>\r\n";
  EXPECT_EQ(LoopHash(one), LoopHash(more));
  Fields second_first = one;  // the first value popped: another top Route
  second_first.extra = "Route: <sip:192.0.2.70;lr>\r\n";
  EXPECT_NE(LoopHash(one), LoopHash(second_first));
}

TEST(IsStatelessLoopTest, FindsOurViaWithTheSameLoopHashAnywhereInTheViaList) {
  const uint64_t h = LoopHash(Fields());
  const std::string client = "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1;rport";
  const std::string ours = "SIP/2.0/UDP 127.0.0.1:5060;branch=" + OurBranch(h) + ";rport=5060";
  const std::string down = "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKd1";
  for (const std::string& vias : {
           "Via: " + ours + "\r\nVia: " + client + "\r\n",                    // on top
           "Via: " + down + "\r\nVia: " + ours + "\r\nVia: " + client + "\r\n",  // below
           "Via: " + down + ", " + ours + ", " + client + "\r\n",             // one line
           "v: " + down + "\r\nv: " + ours + "\r\n",                          // compact form
       }) {
    Fields f;
    f.vias = vias;
    EXPECT_TRUE(IsStatelessLoop(Parsed(f).msg(), Listens())) << vias;
  }
  // The IPv6 listen identity, written with brackets.
  Fields v6;
  v6.vias = "Via: SIP/2.0/UDP [::1]:5062;branch=" + OurBranch(h) + "\r\nVia: " + client + "\r\n";
  EXPECT_TRUE(IsStatelessLoop(Parsed(v6).msg(), Listens()));
}

TEST(IsStatelessLoopTest, AnythingElseIsNoLoop) {
  const uint64_t h = LoopHash(Fields());
  const std::string client = "\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKc1\r\n";
  char transaction[txn::kMaxBranchLength];
  const std::string transaction_branch(
      transaction, txn::FormatTransactionBranch(txn::TransactionBranch{3, 1, 1, 0}, transaction));
  for (const std::string& top : {
           "SIP/2.0/UDP 127.0.0.1:5060;branch=" + OurBranch(h + 1),  // a spiral
           "SIP/2.0/UDP 192.0.2.77:5060;branch=" + OurBranch(h),    // another proxy
           "SIP/2.0/UDP 127.0.0.1:5061;branch=" + OurBranch(h),     // another port
           "SIP/2.0/UDP 127.0.0.1:5060;branch=" + transaction_branch,  // stateful: IsLoop
           "SIP/2.0/UDP 127.0.0.1:5060;branch=" + OurBranch(h).substr(0, 32),  // old layout
           std::string("SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKother"),
       }) {
    Fields f;
    f.vias = "Via: " + top + client;
    EXPECT_FALSE(IsStatelessLoop(Parsed(f).msg(), Listens())) << top;
  }
  EXPECT_FALSE(IsStatelessLoop(Parsed(Fields()).msg(), Listens()));
  Fields ours;
  ours.vias = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=" + OurBranch(h) + client;
  EXPECT_FALSE(IsStatelessLoop(Parsed(ours).msg(), {}));  // no listen identity is us
}

}  // namespace
}  // namespace sipshard::proxy
