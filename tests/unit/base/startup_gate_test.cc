#include "sipshard/base/startup_gate.h"

#include <thread>

#include "gtest/gtest.h"

namespace sipshard::base {
namespace {

TEST(StartupGateTest, WaitReturnsReadyFromAnotherThread) {
  StartupGate gate;
  EXPECT_FALSE(gate.decided());
  std::thread t([&] { gate.Ready(); });
  EXPECT_TRUE(gate.Wait().ok());
  t.join();
  EXPECT_TRUE(gate.decided());
}

TEST(StartupGateTest, WaitReturnsTheFailure) {
  StartupGate gate;
  std::thread t([&] { gate.Fail(absl::UnavailableError("no io_uring")); });
  const absl::Status status = gate.Wait();
  t.join();
  EXPECT_EQ(status, absl::UnavailableError("no io_uring"));
}

}  // namespace
}  // namespace sipshard::base
