// IoDriver: the I/O reactor. An epoll instance driven by whichever idle
// worker holds the runtime's shared driver - there is no I/O thread. It
// wraps the TimeDriver, so one blocking call waits for sockets and timers:
//
//   Park(max_wait) = epoll_wait(timeout = min(max_wait, next timer)),
//                    then dispatch readiness (waking the tasks waiting on
//                    those sockets), then fire the due timers.
//   Unpark()       = write the eventfd that sits in the epoll set, if the
//                    holder is (about to be) blocked in epoll_wait.
//
// The TimeDriver forwards its own Unpark here (ForwardUnparkTo), so a timer
// registered with an earlier deadline than the one the parked holder waits
// for still wakes it, as does a ManualClock move.
//
// Registration (any thread): Register(fd, initial) adds a non-blocking fd to
// the epoll set, edge-triggered for EPOLLIN | EPOLLOUT | EPOLLRDHUP, and
// returns its ScheduledIo (io_scheduled.h: readiness bits and waiters). The
// IoRegistration handle below does this and undoes it. Deregister(fd, io)
// removes the fd (EPOLL_CTL_DEL) *before* the owner closes it, and retires
// the record: it is freed at the start of the next Park/Poll, because the
// holder may be dispatching an event for it right now (an epoll_wait that
// already returned carries its address). Every Park/Poll runs under the
// SharedDriver lock, so "the next one" starts after that dispatch ended.
// A record that still has waiters then is kept until they are gone.
//
// Unpark state machine (state_, one atomic word):
//   kIdle         the holder is not waiting (between turns, or polling).
//   kWaiting      the holder is in, or about to enter, epoll_wait: a wake-up
//                 must write the eventfd.
//   kDispatching  epoll_wait returned; this Park is going to return, which
//                 is all a wake-up asks for: no write needed.
//   kNotified     a wake-up came while kIdle/kDispatching (no write): the
//                 next Park does not block (epoll_wait with timeout 0).
// Unpark swaps in kNotified and writes the eventfd only if it swapped out
// kWaiting. Park: CAS kIdle -> kWaiting (failing means kNotified: poll
// without blocking), epoll_wait, swap in kDispatching, dispatch and fire
// timers, swap in kIdle. Every transition is an RMW (acq_rel), so the
// holder synchronizes with every Unpark before its final swap: whatever the
// waker did first (queued a task, inserted a timer) is visible to the
// holder's next look. The eventfd is in the set level-triggered and read
// whenever it shows up, so a write that lands after the turn that should
// have consumed it costs one extra non-blocking turn, never a lost wake.
//
// If epoll or the eventfd cannot be created (the process is out of file
// descriptors when the runtime starts) the driver degrades to the plain
// TimeDriver: timers work, Register returns the creation error.
//
// Example (what the Scheduler does; tasks reach it via
// Scheduler::Current()->io_driver()):
//   TimeDriver timers(clock);
//   IoDriver io(&timers);
//   SharedDriver shared(&io);
#ifndef TROUPE_EXECUTOR_IO_DRIVER_H_
#define TROUPE_EXECUTOR_IO_DRIVER_H_

#include <sys/epoll.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/clock.h"
#include "executor/driver.h"
#include "executor/io_readiness.h"
#include "executor/io_scheduled.h"
#include "executor/time_driver.h"

namespace troupe {

class IoDriver final : public Driver {
 public:
  // `time` must outlive this driver; its Unpark is forwarded here.
  explicit IoDriver(TimeDriver* time);
  // Aborts if a socket is still registered: close every socket before the
  // runtime it was opened on is destroyed.
  ~IoDriver() override;
  IoDriver(const IoDriver&) = delete;
  IoDriver& operator=(const IoDriver&) = delete;

  // Any thread. `fd` must be non-blocking; `initial_ready` (Readiness bits)
  // is assumed until the first event, e.g. readable and writable for a
  // fresh connection, so the first operation tries its syscall at once.
  absl::StatusOr<ScheduledIo*> Register(int fd, uint32_t initial_ready);
  // Any thread, before `fd` is closed. A task still linked as a waiter
  // may only be destroyed, never resumed (as at shutdown, where the task
  // owning a socket may be destroyed before the one waiting on it): the
  // record is kept until its last waiter has unlinked.
  void Deregister(int fd, ScheduledIo* io);

  void Park(std::optional<Duration> max_wait) override;
  void Poll() override;
  void Unpark() override;

  TimeDriver& time_driver() { return *time_; }
  // OK, or FailedPrecondition saying why the reactor is unavailable.
  absl::Status status() const;

  // Registered descriptors and eventfd writes so far (tests, metrics).
  int64_t Registrations() const {
    return registrations_.load(std::memory_order_relaxed);
  }
  uint64_t EventfdWakes() const {
    return eventfd_wakes_.load(std::memory_order_relaxed);
  }

 private:
  static constexpr uint32_t kIdle = 0;
  static constexpr uint32_t kWaiting = 1;
  static constexpr uint32_t kDispatching = 2;
  static constexpr uint32_t kNotified = 3;
  static constexpr int kMaxEvents = 256;
  static constexpr uint64_t kWakeToken = 0;  // the eventfd's epoll data

  // epoll_wait into events_, and the dispatch of what it returned: wake
  // the eventfd or set readiness (holder only).
  int Wait(int timeout_ms);
  void Dispatch(int n);
  void DrainEventfd();
  void ReleaseRetired();

  TimeDriver* const time_;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  std::string init_error_;  // why epoll is unavailable, if it is
  std::atomic<uint32_t> state_{kIdle};
  // Deregistered records waiting to be freed: a lock-free stack through
  // ScheduledIo::next_released (push: release CAS; take all: acquire
  // exchange by the holder).
  std::atomic<ScheduledIo*> retired_{nullptr};
  // Retired records that still had waiters when last looked at (holder
  // only, linked the same way).
  ScheduledIo* lingering_ = nullptr;
  std::atomic<int64_t> registrations_{0};
  std::atomic<uint64_t> eventfd_wakes_{0};
  std::array<epoll_event, kMaxEvents> events_{};  // holder only
};

// Owns one descriptor's registration: created by Create, undone (with the
// record retired) by Reset or the destructor - which the owner calls before
// closing the fd. Move-only. The awaiting side of a socket:
//   ReadyEvent ev = co_await registration.Ready(Interest::kRead);
//   ... EAGAIN: registration.ClearReadiness(Interest::kRead, ev);
class IoRegistration {
 public:
  IoRegistration() = default;
  static absl::StatusOr<IoRegistration> Create(IoDriver& driver, int fd,
                                               uint32_t initial_ready);
  IoRegistration(IoRegistration&& other) noexcept;
  IoRegistration& operator=(IoRegistration&& other) noexcept;
  IoRegistration(const IoRegistration&) = delete;
  IoRegistration& operator=(const IoRegistration&) = delete;
  ~IoRegistration() { Reset(); }

  void Reset();
  bool valid() const { return io_ != nullptr; }

  ReadyAwaiter Ready(Interest interest) const {
    return ReadyAwaiter(io_, interest);
  }
  void ClearReadiness(Interest interest, const ReadyEvent& seen) const {
    io_->ClearReadiness(interest, seen);
  }
  // What the reactor believes about `interest` now, for a caller that
  // tries its syscall without waiting (e.g. a write-through send): if
  // .ready is 0 the syscall would only say EAGAIN; after an EAGAIN hand
  // the snapshot to ClearReadiness.
  ReadyEvent Peek(Interest interest) const { return io_->Load(interest); }
  // Tasks waiting on this descriptor right now.
  int WaitingTasks() const { return io_ != nullptr ? io_->WaiterCount() : 0; }
  // Whether an operation for `interest` would try its syscall at once
  // (readiness not found exhausted since the last edge; or closed, failed).
  bool BelievedReady(Interest interest) const {
    return io_ != nullptr && io_->Load(interest).ready != 0;
  }

 private:
  IoRegistration(IoDriver* driver, ScheduledIo* io, int fd)
      : driver_(driver), io_(io), fd_(fd) {}

  IoDriver* driver_ = nullptr;
  ScheduledIo* io_ = nullptr;
  int fd_ = -1;
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_IO_DRIVER_H_
