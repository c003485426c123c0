// The control mailbox (shard/mailbox.h): bounded, FIFO per producer, and
// the sleep/wake handshake.
#include "sipshard/shard/mailbox.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sipshard::shard {
namespace {

dispatch::ControlMessage Message(uint16_t destination) {
  dispatch::ControlMessage m;
  m.kind = dispatch::ControlKind::kSetState;
  m.state = dispatch::DestinationState::kProbing;
  m.set_index = 1;
  m.destination_index = destination;
  m.until_ms = 12345;
  return m;
}

TEST(MailboxTest, DeliversInOrderPerProducer) {
  Mailbox mailbox(64, 2);
  auto token = mailbox.MakeProducerToken();
  for (uint16_t i = 0; i < 10; ++i) ASSERT_TRUE(mailbox.TryPush(*token, Message(i)));
  dispatch::ControlMessage out[16];
  ASSERT_EQ(mailbox.PopBulk(out, 16), 10u);
  for (uint16_t i = 0; i < 10; ++i) {
    EXPECT_EQ(out[i].destination_index, i);
    EXPECT_EQ(out[i].set_index, 1);
    EXPECT_EQ(out[i].until_ms, 12345);
    EXPECT_EQ(out[i].state, dispatch::DestinationState::kProbing);
  }
  EXPECT_EQ(mailbox.PopBulk(out, 16), 0u);
}

TEST(MailboxTest, IsBoundedAndRefusesWhenFull) {
  Mailbox mailbox(64, 1);
  auto token = mailbox.MakeProducerToken();
  size_t accepted = 0;
  for (int i = 0; i < 10000; ++i) accepted += mailbox.TryPush(*token, Message(0)) ? 1 : 0;
  EXPECT_GE(accepted, 64u);
  EXPECT_LT(accepted, 10000u);
}

TEST(MailboxTest, WakeupIsClaimedOnlyAfterSleepAndOnlyOnce) {
  Mailbox mailbox(64, 2);
  auto token = mailbox.MakeProducerToken();
  ASSERT_TRUE(mailbox.TryPush(*token, Message(0)));
  EXPECT_FALSE(mailbox.ClaimWakeup());  // awake: nobody wakes it
  // Not empty: the consumer must not sleep.
  EXPECT_FALSE(mailbox.PrepareToSleep());
  dispatch::ControlMessage out[4];
  ASSERT_EQ(mailbox.PopBulk(out, 4), 1u);
  ASSERT_TRUE(mailbox.PrepareToSleep());
  ASSERT_TRUE(mailbox.TryPush(*token, Message(1)));
  EXPECT_TRUE(mailbox.ClaimWakeup());
  EXPECT_FALSE(mailbox.ClaimWakeup());
  mailbox.Awake();
}

TEST(MailboxTest, ManyProducersNothingLost) {
  constexpr int kProducers = 4;
  constexpr int kEach = 2000;
  Mailbox mailbox(kProducers * kEach, kProducers);
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&mailbox, p] {
      auto token = mailbox.MakeProducerToken();
      for (int i = 0; i < kEach; ++i) {
        while (!mailbox.TryPush(*token, Message(static_cast<uint16_t>(p)))) std::this_thread::yield();
      }
    });
  }
  int counts[kProducers] = {};
  int received = 0;
  dispatch::ControlMessage out[64];
  while (received < kProducers * kEach) {
    const size_t n = mailbox.PopBulk(out, 64);
    for (size_t i = 0; i < n; ++i) ++counts[out[i].destination_index];
    received += static_cast<int>(n);
  }
  for (std::thread& t : threads) t.join();
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(counts[p], kEach);
}

TEST(MailboxTest, RingFdIsPublished) {
  Mailbox mailbox(64, 1);
  EXPECT_EQ(mailbox.ring_fd(), -1);
  mailbox.set_ring_fd(7);
  EXPECT_EQ(mailbox.ring_fd(), 7);
}

}  // namespace
}  // namespace sipshard::shard
