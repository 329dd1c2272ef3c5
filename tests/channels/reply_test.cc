// Tests of channels/reply.h: delivery with and without suspending, a
// dropped sender, a receiver that leaves first, exactly-once destruction of
// the value, and a stress of senders racing receivers that time out.

#include "channels/reply.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "executor/yield.h"
#include "gtest/gtest.h"
#include "tests/runtime_flavours.h"

namespace troupe {
namespace {

// Counts live instances, so that a test sees every value destroyed once.
class Tracked {
 public:
  explicit Tracked(int v) : value_(v) { live_.fetch_add(1); }
  Tracked(Tracked&& other) noexcept : value_(other.value_) {
    live_.fetch_add(1);
  }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  ~Tracked() { live_.fetch_sub(1); }
  int value() const { return value_; }
  static int live() { return live_.load(); }

 private:
  int value_;
  static inline std::atomic<int> live_{0};
};

template <typename F>
class ReplyTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(ReplyTest, test::RuntimeFlavours);

TYPED_TEST(ReplyTest, AValueSentLaterWakesTheAwaitingTask) {
  auto sender = [](ReplySender<std::string> tx) -> Task<void> {
    co_await YieldNow();
    tx.Send("answer");
  };
  auto body =
      [&sender](
          ReplySender<std::string> tx,
          ReplyReceiver<std::string> rx) -> Task<absl::StatusOr<std::string>> {
    JoinHandle<void> h = Spawn(sender(std::move(tx)));
    absl::StatusOr<std::string> v = co_await std::move(rx);
    co_await h;
    co_return v;
  };
  auto reply = MakeReply<std::string>();
  absl::StatusOr<std::string> v = this->runtime_.BlockOn(
      body(std::move(reply.first), std::move(reply.second)));
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "answer");
}

TYPED_TEST(ReplyTest, AValueSentBeforeTheAwaitIsReturnedByIt) {
  auto reply = MakeReply<int>();
  reply.first.Send(7);
  auto body = [](ReplyReceiver<int> rx) -> Task<absl::StatusOr<int>> {
    co_return co_await std::move(rx);
  };
  absl::StatusOr<int> v = this->runtime_.BlockOn(body(std::move(reply.second)));
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
}

TYPED_TEST(ReplyTest, ADroppedSenderCompletesTheReplyAsFailedPrecondition) {
  auto dropper = [](ReplySender<int> tx) -> Task<void> {
    co_await YieldNow();
    tx = ReplySender<int>();
  };
  auto body = [&dropper](ReplySender<int> tx,
                         ReplyReceiver<int> rx) -> Task<absl::StatusOr<int>> {
    JoinHandle<void> h = Spawn(dropper(std::move(tx)));
    absl::StatusOr<int> v = co_await std::move(rx);
    co_await h;
    co_return v;
  };
  auto reply = MakeReply<int>();
  absl::StatusOr<int> v = this->runtime_.BlockOn(
      body(std::move(reply.first), std::move(reply.second)));
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Reply, AValueSentAfterTheReceiverLeftIsDestroyedOnce) {
  {
    auto reply = MakeReply<Tracked>();
    reply.second = ReplyReceiver<Tracked>();
    reply.first.Send(Tracked(1));
  }
  EXPECT_EQ(Tracked::live(), 0);
}

TEST(Reply, AnUnreadValueIsDestroyedWithTheReceiver) {
  {
    auto reply = MakeReply<Tracked>();
    reply.first.Send(Tracked(2));
    EXPECT_EQ(Tracked::live(), 1);
  }
  EXPECT_EQ(Tracked::live(), 0);
}

TYPED_TEST(ReplyTest, AnAwaitAbandonedByATimeoutLeavesTheLateValueToTheSender) {
  // The receiver stays with the caller; the abandoned await withdraws.
  auto wait = [](ReplyReceiver<Tracked>* rx) -> Task<int> {
    absl::StatusOr<Tracked> v = co_await std::move(*rx);
    co_return v.ok() ? v->value() : -1;
  };
  auto body = [&wait](ReplyReceiver<Tracked>* rx) -> Task<bool> {
    absl::StatusOr<int> r =
        co_await Timeout(std::chrono::milliseconds(1), wait(rx));
    co_return r.ok();
  };
  auto reply = MakeReply<Tracked>();
  EXPECT_FALSE(this->runtime_.BlockOn(body(&reply.second)));
  reply.first.Send(Tracked(3));  // nobody waits any more: destroyed here
  EXPECT_EQ(Tracked::live(), 0);
}

// Senders on a plain thread race receivers that give up after a short
// wait, with the sends paced so that values land before the await, while
// the receiver is registered, and after it left: every value is taken or
// destroyed exactly once, nothing leaks (ASan), and
// the hand-over of the block is race-free (TSan). (Whether an odd round
// times out depends on timing; the test asserts only what cannot.)
TEST(Reply, SendersRacingReceiversThatTimeOutLoseNothingAndLeakNothing) {
  constexpr int kRounds = 3000;
  Runtime runtime({.worker_threads = 2});
  std::atomic<int> taken{0};
  std::atomic<int> timed_out{0};
  std::atomic<int> spawned{0};
  std::vector<ReplySender<Tracked>> senders(kRounds);
  std::vector<ReplyReceiver<Tracked>> receivers(kRounds);
  for (int i = 0; i < kRounds; ++i) {
    auto reply = MakeReply<Tracked>();
    senders[i] = std::move(reply.first);
    receivers[i] = std::move(reply.second);
  }
  std::thread sender([&] {
    for (int i = 0; i < kRounds; ++i) {
      while (spawned.load() < i - 4) std::this_thread::yield();
      // 0-40 us, so some values come before the await and some after it
      // gave up.
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::microseconds((i * 7) % 41);
      while (std::chrono::steady_clock::now() < until) {
      }
      senders[i].Send(Tracked(i));
    }
  });
  auto receive = [](ReplyReceiver<Tracked> rx, std::atomic<int>* taken,
                    std::atomic<int>* timed_out, int i) -> Task<void> {
    auto wait = [](ReplyReceiver<Tracked> rx) -> Task<int> {
      absl::StatusOr<Tracked> v = co_await std::move(rx);
      co_return v.ok() ? v->value() : -1;
    };
    // Even rounds wait for their value however slow the machine (so
    // that some are surely taken); odd ones give up after 0-36 us, racing
    // the sender.
    const Duration patience =
        i % 2 == 0 ? Duration(std::chrono::seconds(30))
                   : Duration(std::chrono::microseconds((i * 13) % 37));
    absl::StatusOr<int> r = co_await Timeout(patience, wait(std::move(rx)));
    if (r.ok()) {
      EXPECT_EQ(*r, i);
      taken->fetch_add(1);
    } else {
      timed_out->fetch_add(1);
    }
  };
  std::vector<JoinHandle<void>> handles;
  for (int i = 0; i < kRounds; ++i) {
    handles.push_back(
        runtime.Spawn(receive(std::move(receivers[i]), &taken, &timed_out, i)));
    spawned.store(i + 1);
  }
  sender.join();
  auto join_all = [](std::vector<JoinHandle<void>>* all) -> Task<void> {
    for (JoinHandle<void>& h : *all) co_await h;
  };
  runtime.BlockOn(join_all(&handles));
  // Every even round is taken; how the odd ones end depends on timing.
  EXPECT_GE(taken.load(), kRounds / 2);
  EXPECT_EQ(Tracked::live(), 0);
}

}  // namespace
}  // namespace troupe
