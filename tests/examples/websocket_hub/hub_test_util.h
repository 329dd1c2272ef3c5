// Shared by the hub's unit tests: RecordingOutbox, an Outbox that keeps
// every frame offered to it (and can play a slow consumer with a small
// capacity), and HubActorTest, the deterministic test mode (a
// current-thread runtime on a manual clock with auto-advance; Settle()
// delivers everything pending) with an ActorSystem and hub metrics.
#ifndef TROUPE_TESTS_EXAMPLES_WEBSOCKET_HUB_HUB_TEST_UTIL_H_
#define TROUPE_TESTS_EXAMPLES_WEBSOCKET_HUB_HUB_TEST_UTIL_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "actors/actor.h"
#include "examples/websocket_hub/frame.h"
#include "examples/websocket_hub/hub_metrics.h"
#include "executor/clock.h"
#include "executor/runtime.h"
#include "gtest/gtest.h"

namespace troupe::hub::test {

class RecordingOutbox final : public Outbox {
 public:
  explicit RecordingOutbox(uint64_t id,
                           size_t capacity = std::numeric_limits<size_t>::max())
      : id_(id), capacity_(capacity) {}

  uint64_t id() const override { return id_; }
  OfferResult Offer(FramePtr frame) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (overflowed_) return OfferResult::kClosed;
    if (frames_.size() >= capacity_) {
      overflowed_ = true;
      return OfferResult::kFull;
    }
    frames_.push_back(std::move(frame));
    return OfferResult::kQueued;
  }

  std::vector<FramePtr> frames() const {
    std::lock_guard<std::mutex> lock(mu_);
    return frames_;
  }
  bool overflowed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return overflowed_;
  }
  // The seq of every `message` frame, in arrival order.
  std::vector<uint64_t> MessageSeqs() const {
    std::vector<uint64_t> seqs;
    for (const FramePtr& f : frames()) {
      if (f->proto().has_message()) seqs.push_back(f->proto().message().seq());
    }
    return seqs;
  }
  // Frames of one kind, in arrival order.
  std::vector<ServerFrame> Of(ServerFrame::KindCase kind) const {
    std::vector<ServerFrame> out;
    for (const FramePtr& f : frames()) {
      if (f->proto().kind_case() == kind) out.push_back(f->proto());
    }
    return out;
  }

 private:
  const uint64_t id_;
  const size_t capacity_;
  mutable std::mutex mu_;
  std::vector<FramePtr> frames_;
  bool overflowed_ = false;
};

class HubActorTest : public ::testing::Test {
 protected:
  HubActorTest()
      : runtime_({.flavor = Flavor::kCurrentThread,
                  .clock = &clock_,
                  .auto_advance = true}),
        system_(runtime_, {.watchdog = false}) {}
  ~HubActorTest() override {
    system_.BlockingShutdown(std::chrono::seconds(5));
  }

  ManualClock clock_;
  Runtime runtime_;
  ActorSystem system_;
  std::shared_ptr<HubMetrics> metrics_ = std::make_shared<HubMetrics>();
};

// 1, 2, ..., n.
inline std::vector<uint64_t> OneTo(uint64_t n) {
  std::vector<uint64_t> v;
  for (uint64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

}  // namespace troupe::hub::test

#endif  // TROUPE_TESTS_EXAMPLES_WEBSOCKET_HUB_HUB_TEST_UTIL_H_
