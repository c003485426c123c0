// Unit tests of the transaction layer's building blocks: §17.2.3 keys
// (ACK → INVITE, CANCEL its own, legacy keys apart), transaction branches,
// generations (pitfall 15), attributes and the buffer pool. The state
// machines are driven end to end in tests/unit/proxy/stateful_proxy_test.cc.
#include "sipshard/txn/transaction_table.h"

#include <string>

#include "gtest/gtest.h"
#include "sipshard/sip/parser.h"
#include "sipshard/txn/branch_id.h"
#include "tests/testing/fake_sender.h"

namespace sipshard::txn {
namespace {

std::string Request(const std::string& method, const std::string& branch,
                    const std::string& host = "10.0.0.1:5060") {
  return method + " sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP " + host +
         ";branch=" + branch + "\r\nMax-Forwards: 70\r\nFrom: <sip:a@x>;tag=f1\r\n"
         "To: <sip:bob@example.com>\r\nCall-ID: c1@x\r\nCSeq: 1 " + method +
         "\r\nContent-Length: 0\r\n\r\n";
}

class NullUser : public TransactionUser {
 public:
  void OnBranchTimeout(Transaction&, size_t) override { ++timeouts; }
  void OnLifetimeExpired(Transaction&) override { ++lifetimes; }
  void OnTerminated(Transaction&) override { ++terminated; }
  int timeouts = 0, lifetimes = 0, terminated = 0;
};

class TransactionTableTest : public ::testing::Test {
 protected:
  const sip::Message& Parse(const std::string& text) {
    storage_ = text;
    EXPECT_EQ(sip::ParseMessage(storage_, sip::ParseLimits{}, &msg_), sip::ParseError::kNone);
    return msg_;
  }
  testing::FakeSender sender_;
  base::TimerWheel wheel_{0};
  NullUser user_;
  TableOptions options_;
  std::string storage_;
  sip::Message msg_;
};

TEST(TransactionBranchTest, RoundTripsAndKeepsTheShardMarker) {
  char out[kMaxBranchLength];
  const size_t n = FormatTransactionBranch({0x12, 0xabcdef, 7, 15}, out);
  const std::string_view branch(out, n);
  EXPECT_TRUE(IsOurBranch(branch));
  EXPECT_EQ(ShardFromBranch(branch), 0x12);
  std::optional<TransactionBranch> id = ParseTransactionBranch(branch);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->slot, 0xabcdefu);
  EXPECT_EQ(id->generation, 7u);
  EXPECT_EQ(id->branch, 15);
  char stateless[kMaxBranchLength];
  const size_t m = FormatStatelessBranch(1, 42, stateless);
  EXPECT_FALSE(ParseTransactionBranch(std::string_view(stateless, m)));
}

TEST_F(TransactionTableTest, AckMapsToInviteCancelKeepsItsOwnKey) {
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  Transaction* txn = table.Create(Parse(Request("INVITE", "z9hG4bKa")),
                                  OutboundPath{0, *transport::SocketAddress::Parse("10.0.0.1", 5060)});
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(txn->server().state(), ServerState::kProceeding);
  EXPECT_EQ(table.FindServer(Parse(Request("INVITE", "z9hG4bKa"))), txn);
  EXPECT_EQ(table.FindServer(Parse(Request("ACK", "z9hG4bKa"))), txn);
  EXPECT_EQ(table.FindServer(Parse(Request("CANCEL", "z9hG4bKa"))), nullptr);
  EXPECT_EQ(table.FindInviteForCancel(Parse(Request("CANCEL", "z9hG4bKa"))), txn);
  EXPECT_EQ(table.FindServer(Parse(Request("INVITE", "z9hG4bKb"))), nullptr);
  // Same branch from another sent-by is another transaction (§17.2.3).
  EXPECT_EQ(table.FindServer(Parse(Request("INVITE", "z9hG4bKa", "10.0.0.2:5060"))), nullptr);
  // Default port equals 5060.
  EXPECT_EQ(table.FindServer(Parse(Request("INVITE", "z9hG4bKa", "10.0.0.1"))), txn);
  // Host compares case-insensitively.
  EXPECT_EQ(table.Create(Parse(Request("BYE", "z9hG4bKa", "Host.Example")), {}) != nullptr, true);
  EXPECT_NE(table.FindServer(Parse(Request("BYE", "z9hG4bKa", "host.example"))), nullptr);
  // Also past the 256 bytes the key hashes of a host name.
  const std::string label(60, 'h');
  const std::string long_host = label + "." + label + "." + label + "." + label + "." + label;
  std::string long_upper = long_host;
  long_upper[long_upper.size() - 1] = 'H';
  EXPECT_NE(table.Create(Parse(Request("BYE", "z9hG4bKlong", long_upper)), {}), nullptr);
  EXPECT_NE(table.FindServer(Parse(Request("BYE", "z9hG4bKlong", long_host))), nullptr);
}

TEST_F(TransactionTableTest, LegacyRequestsUseTheSeparateIndex) {
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  Transaction* txn = table.Create(Parse(Request("INVITE", "1234")), {});
  ASSERT_NE(txn, nullptr);
  EXPECT_FALSE(txn->server().key().rfc3261);
  EXPECT_EQ(table.FindServer(Parse(Request("INVITE", "1234"))), txn);
  EXPECT_EQ(table.FindInviteForCancel(Parse(Request("CANCEL", "1234"))), txn);
  // A cookie request with other fields never looks into the legacy index.
  EXPECT_EQ(table.FindServer(Parse(Request("INVITE", "z9hG4bK1234"))), nullptr);
}

TEST_F(TransactionTableTest, CapacityAndGenerationOnReuse) {
  options_.capacity = 1;
  options_.timers.max_noninv_lifetime = 100000;
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  Transaction* txn = table.Create(Parse(Request("OPTIONS", "z9hG4bKa")), {});
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(table.Create(Parse(Request("OPTIONS", "z9hG4bKb")), {}), nullptr);
  const uint32_t generation = txn->generation();
  // A final response: Completed, then Timer J frees the slot.
  txn->server().SendResponse("SIP/2.0 200 OK\r\n\r\n", 200);
  EXPECT_EQ(txn->server().state(), ServerState::kCompleted);
  wheel_.Advance(64 * 500);
  EXPECT_EQ(user_.terminated, 1);
  EXPECT_EQ(table.active(), 0u);
  Transaction* again = table.Create(Parse(Request("OPTIONS", "z9hG4bKb")), {});
  ASSERT_EQ(again, txn);
  EXPECT_EQ(again->generation(), generation + 1);
}

TEST_F(TransactionTableTest, WaitMsShortensTheCompletedWait) {
  // [transactions] wait_ms: Kamailio's wt_timer, traded for capacity.
  options_.timers.completed_wait = 5000;
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  Transaction* txn = table.Create(Parse(Request("OPTIONS", "z9hG4bKa")), {});
  ASSERT_NE(txn, nullptr);
  txn->server().SendResponse("SIP/2.0 200 OK\r\n\r\n", 200);
  wheel_.Advance(4999);
  EXPECT_EQ(user_.terminated, 0);
  EXPECT_EQ(table.active(), 1u);
  // Timer J = wait_ms instead of 64*T1, fired within its slack.
  wheel_.Advance(5000 + TimerValues::WaitSlack(5000));
  EXPECT_EQ(user_.terminated, 1);
  EXPECT_EQ(table.active(), 0u);
}

TEST_F(TransactionTableTest, WaitTimersFireWithinTheirSlackNeverEarly) {
  // Timer L (RFC 6026) = 64*T1 = 32 s: never before, at most its slack after.
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  wheel_.Advance(123);  // an arbitrary phase of the wheel
  Transaction* txn = table.Create(Parse(Request("INVITE", "z9hG4bKa")), {});
  ASSERT_NE(txn, nullptr);
  txn->server().SendResponse("SIP/2.0 200 OK\r\n\r\n", 200);
  EXPECT_EQ(txn->server().state(), ServerState::kAccepted);
  wheel_.Advance(123 + 32000 - 1);
  EXPECT_EQ(txn->server().state(), ServerState::kAccepted);
  wheel_.Advance(123 + 32000 + TimerValues::WaitSlack(32000));
  EXPECT_EQ(user_.terminated, 1);
  EXPECT_EQ(table.active(), 0u);
}

TEST_F(TransactionTableTest, MachinesWaitTogetherUntilTheLatestWaitEnds) {
  // A non-INVITE branch's Timer K (T4 = 5 s) ends with the server's Timer
  // J (32 s): a retransmitted 200 at 10 s is still absorbed by the branch
  // (not passed on to the TU), and the cell goes in one step at J.
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  Transaction* txn = table.Create(Parse(Request("OPTIONS", "z9hG4bKa")), {});
  ASSERT_NE(txn, nullptr);
  ASSERT_EQ(txn->AddBranch(), 0);
  ClientTransaction& branch = txn->branch(0);
  const std::string forwarded = Request("OPTIONS", "z9hG4bKdown");
  ASSERT_TRUE(table.buffers().Assign(&branch.request_buffer(), forwarded));
  ASSERT_TRUE(branch.Start(sip::Method::kOptions, {}, 0));
  const std::string ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKdown\r\n"
                         "From: <sip:a@x>;tag=f1\r\nTo: <sip:bob@example.com>;tag=t\r\n"
                         "Call-ID: c1@x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
  EXPECT_TRUE(branch.OnResponse(Parse(ok)));
  EXPECT_EQ(branch.state(), ClientState::kCompleted);
  txn->server().SendResponse(ok, 200);
  wheel_.Advance(10000);  // past K and its slack
  EXPECT_EQ(branch.state(), ClientState::kCompleted);
  EXPECT_FALSE(branch.OnResponse(Parse(ok)));  // absorbed
  EXPECT_EQ(user_.terminated, 0);
  wheel_.Advance(64 * 500 - 1);
  EXPECT_EQ(table.active(), 1u);
  wheel_.Advance(64 * 500 + TimerValues::WaitSlack(64 * 500));  // Timer J
  EXPECT_EQ(user_.terminated, 1);
  EXPECT_EQ(table.active(), 0u);
}

TEST_F(TransactionTableTest, BranchesComeFromAPoolAndAreRecycled) {
  // Branches live outside the cell; a freed transaction returns them Idle.
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  Transaction* txn = table.Create(Parse(Request("OPTIONS", "z9hG4bKa")), {});
  ASSERT_NE(txn, nullptr);
  for (size_t i = 0; i < Transaction::kMaxBranches; ++i) {
    ASSERT_EQ(txn->AddBranch(), static_cast<int>(i));
    EXPECT_EQ(txn->branch(i).index(), i);
    EXPECT_EQ(txn->branch(i).state(), ClientState::kIdle);
  }
  EXPECT_EQ(txn->AddBranch(), -1);
  const size_t allocations = table.heap_allocations();
  txn->server().SendResponse("SIP/2.0 200 OK\r\n\r\n", 200);
  wheel_.Advance(64 * 500 + TimerValues::WaitSlack(64 * 500));  // Timer J
  ASSERT_EQ(table.active(), 0u);
  // The same slot and branches again: nothing new from the heap.
  txn = table.Create(Parse(Request("OPTIONS", "z9hG4bKb")), {});
  ASSERT_NE(txn, nullptr);
  EXPECT_EQ(txn->branch_count(), 0u);
  ASSERT_EQ(txn->AddBranch(), 0);
  EXPECT_EQ(txn->branch(0).state(), ClientState::kIdle);
  EXPECT_EQ(txn->branch(0).final_status(), 0);
  EXPECT_EQ(table.heap_allocations(), allocations);
}

TEST_F(TransactionTableTest, InviteServerTimersGHAndAck) {
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  Transaction* txn = table.Create(Parse(Request("INVITE", "z9hG4bKa")), {});
  txn->server().SendResponse("SIP/2.0 486 Busy\r\n\r\n", 486);
  EXPECT_EQ(sender_.sent().size(), 1u);
  wheel_.Advance(500);   // G = T1
  wheel_.Advance(1500);  // 2*T1
  wheel_.Advance(3500);  // 4*T1
  wheel_.Advance(7500);  // capped at T2
  EXPECT_EQ(sender_.sent().size(), 5u);
  EXPECT_TRUE(txn->server().OnAck());
  EXPECT_EQ(txn->server().state(), ServerState::kConfirmed);
  wheel_.Advance(20000);
  EXPECT_EQ(sender_.sent().size(), 5u);  // G stopped
  EXPECT_EQ(user_.terminated, 1);         // Timer I
}

TEST_F(TransactionTableTest, TimerHEndsAnUnacknowledgedFinal) {
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  Transaction* txn = table.Create(Parse(Request("INVITE", "z9hG4bKa")), {});
  txn->server().SendResponse("SIP/2.0 486 Busy\r\n\r\n", 486);
  wheel_.Advance(64 * 500);
  EXPECT_EQ(user_.terminated, 1);
}

TEST_F(TransactionTableTest, EarlyCancelIsRememberedOnce) {
  TransactionTable table(options_, &sender_, &wheel_, &user_, nullptr);
  table.RememberCancel(Parse(Request("CANCEL", "z9hG4bKa")));
  EXPECT_TRUE(table.TakeEarlyCancel(Parse(Request("INVITE", "z9hG4bKa"))));
  EXPECT_FALSE(table.TakeEarlyCancel(Parse(Request("INVITE", "z9hG4bKa"))));
}

TEST(AttributesTest, SetGetReplaceAndLimits) {
  Attributes a;
  EXPECT_TRUE(a.Set("carrier", "acme"));
  EXPECT_TRUE(a.SetInt("attempt", 2));
  EXPECT_EQ(a.Get("carrier"), "acme");
  EXPECT_EQ(a.GetInt("attempt"), 2);
  EXPECT_TRUE(a.Set("carrier", "other"));
  EXPECT_EQ(a.Get("carrier"), "other");
  EXPECT_EQ(a.size(), 2u);
  EXPECT_FALSE(a.Set(std::string(30, 'k'), "v"));
  EXPECT_FALSE(a.Set("k", std::string(100, 'v')));
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(a.Set("k" + std::to_string(i), "v"));
  EXPECT_FALSE(a.Set("full", "v"));
  EXPECT_TRUE(a.Remove("k0"));
  EXPECT_FALSE(a.Get("k0"));
}

TEST(BufferPoolTest, RecyclesWithoutNewAllocations) {
  BufferPool pool;
  PooledBuffer b;
  ASSERT_TRUE(pool.Assign(&b, "hello"));
  EXPECT_EQ(b.view(), "hello");
  pool.Release(&b);
  const size_t allocations = pool.heap_allocations();
  for (int i = 0; i < 1000; ++i) {
    PooledBuffer x, y;
    pool.Assign(&x, std::string(900, 'x'));
    pool.Assign(&y, std::string(3000, 'y'));
    pool.Release(&x);
    pool.Release(&y);
  }
  EXPECT_EQ(pool.heap_allocations(), allocations + 1);  // one 4 KiB block
  PooledBuffer huge;
  EXPECT_FALSE(pool.Assign(&huge, std::string(70000, 'h')));
}

}  // namespace
}  // namespace sipshard::txn
