// ParkingBranch: the waiting half of a select branch (select_awaiter.h)
// for a source that parks one intrusive node per waiter - an mpsc
// receiver, a broadcast receiver, a watch receiver. It provides Register,
// Notified, Deregister and target(); the branch adds Poll and Take.
//
// `Op` (the branch's op, kept by value) adapts the source:
//   bool Park(Waiter* w) const    parks `w` unless the source has
//                                 something now; true if parked
//   void Unpark(Waiter* w) const  withdraws `w`; a no-op once it was woken
// `Waiter` has a WaitTarget `target` and an atomic<bool> `notified` that
// the waker stores (release) as its last touch of the node (waker.h).
//
// Example:
//   class MyBranch : public ParkingBranch<ListWaiter, MyOp> {
//    public:
//     explicit MyBranch(const MyOp& op) : ParkingBranch(op) {}
//     bool Poll();
//     Output Take();
//   };
#ifndef TROUPE_CHANNELS_PARKING_BRANCH_H_
#define TROUPE_CHANNELS_PARKING_BRANCH_H_

#include <atomic>

#include "channels/waker.h"
#include "executor/task_header.h"

namespace troupe::internal {

template <typename Waiter, typename Op>
class ParkingBranch {
 public:
  explicit ParkingBranch(const Op& op) : op_(op) {}
  ParkingBranch(const ParkingBranch&) = delete;
  ParkingBranch& operator=(const ParkingBranch&) = delete;
  ~ParkingBranch() { Deregister(); }

  // `task` may be null: a plain thread then waits on target()'s word.
  bool Register(TaskHeader* task) {
    waiter_.target.task = task;
    parked_ = op_.Park(&waiter_);
    return parked_;
  }
  bool Notified() const {
    // Acquire pairs with the waker's release store of `notified`.
    return parked_ && waiter_.notified.load(std::memory_order_acquire);
  }
  void Deregister() {
    if (!parked_) return;
    parked_ = false;
    op_.Unpark(&waiter_);
  }
  WaitTarget& target() { return waiter_.target; }

 protected:
  const Op& op() const { return op_; }

 private:
  const Op op_;
  Waiter waiter_;
  bool parked_ = false;
};

}  // namespace troupe::internal

#endif  // TROUPE_CHANNELS_PARKING_BRANCH_H_
