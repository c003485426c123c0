#include "sipshard/transport/uring.h"

#include <chrono>
#include <future>
#include <thread>

#include "gtest/gtest.h"
#include "sipshard/transport/buffer_ring.h"

namespace sipshard::transport {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

TEST(UringTest, KernelSupportsEverythingWeUse) {
  absl::Status status = CheckKernelSupport();
  EXPECT_TRUE(status.ok()) << status;
}

TEST(UringTest, UserDataRoundTrips) {
  const uint64_t user_data =
      EncodeUserData(CompletionTag::kSend, 0x00ab'cdef'0123'4567ULL);
  EXPECT_EQ(UserDataTag(user_data), CompletionTag::kSend);
  EXPECT_EQ(UserDataPayload(user_data), 0x00ab'cdef'0123'4567ULL);
  // Payload bits above 56 are dropped, never spill into the tag.
  EXPECT_EQ(UserDataTag(EncodeUserData(CompletionTag::kWake, ~uint64_t{0})),
            CompletionTag::kWake);
  static_assert(UserDataTag(EncodeUserData(CompletionTag::kFirstOwnerTag, 1)) ==
                CompletionTag::kFirstOwnerTag);
}

TEST(UringTest, SizesCompletionQueueAtLeastFourTimesSubmissionQueue) {
  auto ring = Uring::Create({.sq_entries = 32});
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ((*ring)->sq_entries(), 32u);
  EXPECT_GE((*ring)->cq_entries(), 128u);
  EXPECT_GE((*ring)->ring_fd(), 0);
}

TEST(UringTest, GetSqeSubmitsWhenSubmissionQueueIsFull) {
  auto ring_or = Uring::Create({.sq_entries = 4});
  ASSERT_TRUE(ring_or.ok()) << ring_or.status();
  Uring& ring = **ring_or;
  constexpr int kNops = 10;
  for (int i = 0; i < kNops; ++i) {
    io_uring_sqe* sqe = ring.GetSqe();
    ASSERT_NE(sqe, nullptr) << i;
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(
        sqe, EncodeUserData(CompletionTag::kFirstOwnerTag,
                            static_cast<uint64_t>(i)));
  }
  int seen = 0;
  for (int attempt = 0; attempt < 50 && seen < kNops; ++attempt) {
    ring.SubmitAndWait(100);
    seen += static_cast<int>(ring.ForEachCompletion([&](const Completion& c) {
      EXPECT_EQ(c.tag(), CompletionTag::kFirstOwnerTag);
      EXPECT_EQ(c.result, 0);
    }));
  }
  EXPECT_EQ(seen, kNops);
}

TEST(UringTest, TimedWaitTimesOut) {
  auto ring = Uring::Create();
  ASSERT_TRUE(ring.ok()) << ring.status();
  const auto start = steady_clock::now();
  EXPECT_EQ((*ring)->SubmitAndWait(20), -ETIME);
  const auto elapsed = steady_clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(15));
  EXPECT_LT(elapsed, milliseconds(1000));
  EXPECT_GE((*ring)->SubmitAndWait(0), 0);
}

// A receive thread wakes a shard blocked in its ring wait via msg_ring.
TEST(UringTest, MessageRingWakesAnotherThreadsRing) {
  std::promise<int> target_fd;
  std::future<int> target_fd_ready = target_fd.get_future();
  std::promise<void> sender_done;
  std::shared_future<void> sender_finished = sender_done.get_future().share();
  Completion received{};
  int completions = 0;
  steady_clock::duration blocked_for{};

  std::thread shard([&] {
    auto ring = Uring::Create();  // Created on the thread that waits.
    if (!ring.ok()) {
      target_fd.set_value(-1);
      return;
    }
    target_fd.set_value((*ring)->ring_fd());
    const auto start = steady_clock::now();
    for (int attempt = 0; attempt < 50 && completions == 0; ++attempt) {
      (*ring)->SubmitAndWait(100);
      completions += static_cast<int>((*ring)->ForEachCompletion(
          [&](const Completion& c) { received = c; }));
    }
    blocked_for = steady_clock::now() - start;
    sender_finished.wait();  // Keep the target ring alive until sent.
  });

  const int fd = target_fd_ready.get();
  ASSERT_GE(fd, 0);
  std::this_thread::sleep_for(milliseconds(30));  // Let the shard block.
  {
    auto ring = Uring::Create();
    ASSERT_TRUE(ring.ok()) << ring.status();
    ASSERT_TRUE(
        (*ring)->PrepareMessageRing(fd, EncodeUserData(CompletionTag::kWake, 7)));
    EXPECT_EQ((*ring)->Submit(), 1);
    // Success is silent on the source ring (CQE_SKIP_SUCCESS).
    (*ring)->SubmitAndWait(0);
    EXPECT_EQ((*ring)->ForEachCompletion([](const Completion&) {}), 0u);
  }
  sender_done.set_value();
  shard.join();
  EXPECT_EQ(completions, 1);
  EXPECT_EQ(received.tag(), CompletionTag::kWake);
  EXPECT_EQ(received.payload(), 7u);
  EXPECT_EQ(received.result, 0);
  EXPECT_LT(blocked_for, milliseconds(2000));
}

TEST(UringTest, FailedMessageRingPostsErrorOnSourceRing) {
  auto ring_or = Uring::Create();
  ASSERT_TRUE(ring_or.ok()) << ring_or.status();
  Uring& ring = **ring_or;
  // stdin is not an io_uring fd.
  ASSERT_TRUE(ring.PrepareMessageRing(0, EncodeUserData(CompletionTag::kWake, 1)));
  int errors = 0;
  for (int attempt = 0; attempt < 50 && errors == 0; ++attempt) {
    ring.SubmitAndWait(100);
    ring.ForEachCompletion([&](const Completion& c) {
      EXPECT_EQ(c.tag(), CompletionTag::kMessageRing);
      EXPECT_LT(c.result, 0);
      ++errors;
    });
  }
  EXPECT_EQ(errors, 1);
}

TEST(UringTest, DisabledRingIsEnabledOnTheOwningThread) {
  UringOptions options;
  options.start_disabled = true;
  auto ring = Uring::Create(options);
  ASSERT_TRUE(ring.ok()) << ring.status();
  int completions = 0;
  std::thread owner([&] {
    ASSERT_TRUE((*ring)->Enable().ok());
    io_uring_sqe* sqe = (*ring)->GetSqe();
    ASSERT_NE(sqe, nullptr);
    io_uring_prep_nop(sqe);
    for (int attempt = 0; attempt < 50 && completions == 0; ++attempt) {
      (*ring)->SubmitAndWait(100);
      completions +=
          static_cast<int>((*ring)->ForEachCompletion([](const Completion&) {}));
    }
  });
  owner.join();
  EXPECT_EQ(completions, 1);
}

TEST(ProvidedBufferRingTest, ValidatesGeometryAndLaysOutBuffers) {
  auto ring = Uring::Create();
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_FALSE(ProvidedBufferRing::Create(**ring, 0, 3, 2048).ok());
  EXPECT_FALSE(ProvidedBufferRing::Create(**ring, 0, 65536, 2048).ok());
  EXPECT_FALSE(ProvidedBufferRing::Create(**ring, 0, 8, 0).ok());
  auto buffers = ProvidedBufferRing::Create(**ring, 3, 8, 2048);
  ASSERT_TRUE(buffers.ok()) << buffers.status();
  EXPECT_EQ((*buffers)->entries(), 8u);
  EXPECT_EQ((*buffers)->group_id(), 3);
  EXPECT_EQ((*buffers)->Buffer(1) - (*buffers)->Buffer(0), 2048);
  EXPECT_EQ((*buffers)->staged(), 0u);  // All published at creation.
  // A second group on the same ring is independent.
  auto other = ProvidedBufferRing::Create(**ring, 4, 16, 512);
  EXPECT_TRUE(other.ok()) << other.status();
}

}  // namespace
}  // namespace sipshard::transport
