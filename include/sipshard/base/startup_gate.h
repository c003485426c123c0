// A one-shot hand-shake between a thread's starter and the thread itself.
//
// Shards and receive threads create their io_uring on their own thread
// (SINGLE_ISSUER), so whoever starts them must wait until that succeeded
// or failed before going on. The thread calls Ready() or Fail() once; the
// starter's Wait() returns the outcome. Used once per thread at start-up,
// never on the data path.
#pragma once

#include <atomic>
#include <utility>

#include "absl/status/status.h"

namespace sipshard::base {

class StartupGate {
 public:
  // Thread side: report success, or the reason it cannot run.
  void Ready() { Publish(kReady); }
  void Fail(absl::Status status) {
    status_ = std::move(status);
    Publish(kFailed);
  }
  bool decided() const { return state_.load(std::memory_order_acquire) != kPending; }

  // Starter side: blocks until Ready() or Fail(), returns the outcome.
  absl::Status Wait() {
    int state;
    while ((state = state_.load(std::memory_order_acquire)) == kPending) {
      state_.wait(kPending, std::memory_order_acquire);
    }
    return state == kReady ? absl::OkStatus() : status_;
  }

 private:
  static constexpr int kPending = 0;
  static constexpr int kReady = 1;
  static constexpr int kFailed = 2;

  void Publish(int state) {
    state_.store(state, std::memory_order_release);
    state_.notify_all();
  }

  std::atomic<int> state_{kPending};
  absl::Status status_;  // written before the release store of kFailed
};

}  // namespace sipshard::base
