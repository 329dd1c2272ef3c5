// Order checks shared by the ordering tests: numbered messages, an actor
// that records them (told, or asked) in arrival order, and the check that
// each sender's numbers arrived 0..n-1.
//
// Example:
//   ActorRef<Recorder> r = system.Spawn<Recorder>();
//   co_await r.Send(Numbered{.sender = 0, .seq = 0});
//   ExpectPerSenderOrder(*co_await r.Ask(History{}), 1, 1);
#ifndef TROUPE_TESTS_ACTORS_ORDER_RECORDER_H_
#define TROUPE_TESTS_ACTORS_ORDER_RECORDER_H_

#include <cstddef>
#include <vector>

#include "actors/actor.h"
#include "gtest/gtest.h"

namespace troupe::test {

struct Numbered {
  int sender;
  int seq;
};
// Asked instead of told; answered with its seq.
struct NumberedAsk {
  int sender;
  int seq;
};
struct History {};

// Records every message in arrival order.
class Recorder : public Actor<Recorder> {
 public:
  void Handle(Numbered m) { seen_.push_back(m); }
  int Handle(NumberedAsk m) {
    seen_.push_back(Numbered{m.sender, m.seq});
    return m.seq;
  }
  std::vector<Numbered> Handle(History /*unused*/) const { return seen_; }

 private:
  std::vector<Numbered> seen_;
};

// Checks that every sender's messages are there, each sender's in 0..n-1
// order.
inline void ExpectPerSenderOrder(const std::vector<Numbered>& seen, int senders,
                                 int per_sender) {
  ASSERT_EQ(seen.size(), static_cast<std::size_t>(senders * per_sender));
  std::vector<int> next(senders, 0);
  for (const Numbered& m : seen) {
    ASSERT_GE(m.sender, 0);
    ASSERT_LT(m.sender, senders);
    ASSERT_EQ(m.seq, next[m.sender]) << "sender " << m.sender;
    ++next[m.sender];
  }
}

}  // namespace troupe::test

#endif  // TROUPE_TESTS_ACTORS_ORDER_RECORDER_H_
