// Unit tests of the receive threads' shard choice: every message of a call
// lands on one shard, responses to our requests follow our branch.
#include "sipshard/shard/shard_selector.h"

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "sipshard/base/hash.h"
#include "sipshard/sip/call_id_scan.h"
#include "sipshard/txn/branch_id.h"

namespace sipshard::shard {
namespace {

constexpr uint16_t kShards = 8;

std::string Request(const std::string& call_id_line, const std::string& via_branch = "z9hG4bKc") {
  return "INVITE sip:bob@example.com SIP/2.0\r\n"
         "Via: SIP/2.0/UDP 192.0.2.1;branch=" + via_branch + "\r\n"
         "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\n" + call_id_line +
         "CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
}

std::string Response(const std::string& top_branch, const std::string& call_id) {
  return "SIP/2.0 180 Ringing\r\n"
         "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=" + top_branch + "\r\n"
         "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc\r\n"
         "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: " + call_id +
         "\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
}

std::string OurBranch(uint16_t shard, uint64_t hash = 0x1234) {
  char buffer[txn::kMaxBranchLength];
  return std::string(buffer, txn::FormatStatelessBranch(shard, hash, buffer));
}

uint16_t ExpectedShard(std::string_view call_id, uint16_t shards = kShards) {
  return static_cast<uint16_t>(base::ReduceToRange(sip::CallIdHash(call_id), shards));
}

TEST(ShardSelectorTest, CallIdInEveryHeaderFormPicksTheSameShard) {
  const std::string forms[] = {
      "Call-ID: abc-123@host\r\n", "i: abc-123@host\r\n",      "CALL-ID  :   abc-123@host  \r\n",
      "call-id:\r\n  abc-123@host\r\n", "I:abc-123@host\r\n", "Call-Id:\tabc-123@host\t\r\n",
  };
  for (const std::string& form : forms) {
    SCOPED_TRACE(form);
    const ShardSelection s = SelectShard(Request(form), kShards);
    EXPECT_EQ(s.shard, ExpectedShard("abc-123@host"));
    EXPECT_EQ(s.choice, ShardChoice::kByCallId);
  }
}

TEST(ShardSelectorTest, CallsSpreadOverShards) {
  std::set<uint16_t> used;
  for (int i = 0; i < 200; ++i) {
    const ShardSelection s =
        SelectShard(Request("Call-ID: spread-" + std::to_string(i) + "\r\n"), kShards);
    ASSERT_LT(s.shard, kShards);
    used.insert(s.shard);
  }
  EXPECT_EQ(used.size(), kShards);
}

TEST(ShardSelectorTest, LeadingKeepAliveBytesDoNotMatter) {
  const std::string r = Request("Call-ID: lead@x\r\n");
  EXPECT_EQ(SelectShard("\r\n\r\n" + r, kShards).shard, SelectShard(r, kShards).shard);
}

TEST(ShardSelectorTest, ResponseWithOurBranchGoesToTheEncodedShard) {
  for (uint16_t shard = 0; shard < kShards; ++shard) {
    // A peer that rewrites the Call-ID cannot move the response.
    for (const char* call_id : {"original@x", "mangled-by-peer", "zzz"}) {
      const ShardSelection s = SelectShard(Response(OurBranch(shard), call_id), kShards);
      EXPECT_EQ(s.shard, shard) << call_id;
      EXPECT_EQ(s.choice, ShardChoice::kByBranch);
    }
  }
}

TEST(ShardSelectorTest, RequestWithOurBranchStillHashesTheCallId) {
  // Only responses are routed by branch: a request's top Via is the
  // sender's, even if it happens to look like ours (a loop, a spoof).
  const ShardSelection s = SelectShard(Request("Call-ID: req@x\r\n", OurBranch(3)), kShards);
  EXPECT_EQ(s.choice, ShardChoice::kByCallId);
  EXPECT_EQ(s.shard, ExpectedShard("req@x"));
}

TEST(ShardSelectorTest, ShardBeyondTheCountFallsBackToTheCallId) {
  // E.g. a response to a request sent before a restart with more shards.
  const ShardSelection s = SelectShard(Response(OurBranch(kShards), "late@x"), kShards);
  EXPECT_EQ(s.choice, ShardChoice::kByCallId);
  EXPECT_EQ(s.shard, ExpectedShard("late@x"));
  EXPECT_EQ(SelectShard(Response(OurBranch(0xffff), "late@x"), kShards).choice,
            ShardChoice::kByCallId);
}

TEST(ShardSelectorTest, ForeignOrBrokenBranchFallsBackToTheCallId) {
  for (const char* branch : {"z9hG4bKforeign", "z9hG4bK-sx", "z9hG4bK-sx00g1-a", "z9hG4bK-sx0001a"}) {
    SCOPED_TRACE(branch);
    const ShardSelection s = SelectShard(Response(branch, "foreign@x"), kShards);
    EXPECT_EQ(s.choice, ShardChoice::kByCallId);
    EXPECT_EQ(s.shard, ExpectedShard("foreign@x"));
  }
}

TEST(ShardSelectorTest, NoCallIdGoesToShardZero) {
  const std::string no_call_id =
      "INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc\r\n"
      "X-Call-ID: not-it\r\n\r\n";
  for (const std::string& datagram :
       {no_call_id, std::string("\r\n\r\n"), std::string(), std::string("garbage"),
        std::string("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKn\r\n\r\n")}) {
    const ShardSelection s = SelectShard(datagram, kShards);
    EXPECT_EQ(s.shard, 0);
    EXPECT_EQ(s.choice, ShardChoice::kNoCallId) << datagram;
  }
}

TEST(ShardSelectorTest, CallIdInTheBodyDoesNotCount) {
  const std::string r =
      "MESSAGE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc\r\n"
      "Content-Length: 17\r\n\r\nCall-ID: in-body\r\n";
  EXPECT_EQ(SelectShard(r, kShards).choice, ShardChoice::kNoCallId);
}

TEST(ShardSelectorTest, SingleShardTakesEverything) {
  EXPECT_EQ(SelectShard(Request("Call-ID: one\r\n"), 1).shard, 0);
  EXPECT_EQ(SelectShard(Response(OurBranch(0), "x"), 1).choice, ShardChoice::kByBranch);
}

}  // namespace
}  // namespace sipshard::shard
