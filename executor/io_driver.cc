#include "executor/io_driver.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "executor/errno_status.h"

namespace troupe {
namespace {

// epoll_wait's timeout in milliseconds, rounded up so that a timer is
// never found not-yet-due when the wait ends (which would spin through
// zero-timeout turns until its tick comes).
int EpollTimeoutMs(std::optional<Duration> wait) {
  if (!wait.has_value()) return -1;
  if (wait->count() <= 0) return 0;
  const int64_t ms = (wait->count() + 999'999) / 1'000'000;
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

std::string ErrnoText(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

IoDriver::IoDriver(TimeDriver* time) : time_(time) {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) {
    init_error_ = ErrnoText("epoll_create1");
    return;
  }
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: read whenever it shows up
  ev.data.u64 = kWakeToken;
  if (event_fd_ < 0 ||
      epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0) {
    init_error_ = ErrnoText("eventfd");
    if (event_fd_ >= 0) close(event_fd_);
    close(epoll_fd_);
    event_fd_ = epoll_fd_ = -1;
    return;
  }
  time_->ForwardUnparkTo(this);
}

IoDriver::~IoDriver() {
  if (epoll_fd_ < 0) return;
  time_->ForwardUnparkTo(nullptr);
  ReleaseRetired();
  const int64_t live = registrations_.load(std::memory_order_acquire);
  if (live != 0 || lingering_ != nullptr) {
    std::fprintf(stderr,
                 "troupe: %lld socket(s) still registered with the I/O "
                 "reactor of a runtime being destroyed (close every socket "
                 "before its runtime goes)\n",
                 static_cast<long long>(live));
    std::abort();
  }
  close(event_fd_);
  close(epoll_fd_);
}

absl::Status IoDriver::status() const {
  if (epoll_fd_ >= 0) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "the runtime's I/O reactor is unavailable (" + init_error_ + ")");
}

absl::StatusOr<ScheduledIo*> IoDriver::Register(int fd,
                                                uint32_t initial_ready) {
  if (epoll_fd_ < 0) return status();
  auto* io = new ScheduledIo(initial_ready);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = io;
  // The record is fully built before the kernel can hand its address to
  // the holder: epoll_ctl happens-before the epoll_wait that returns it.
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    delete io;
    return internal::ErrnoStatus(err, "registering a socket with epoll");
  }
  registrations_.fetch_add(1, std::memory_order_relaxed);
  return io;
}

void IoDriver::Deregister(int fd, ScheduledIo* io) {
  // After this no epoll_wait returns `io`; one that already did is being
  // dispatched in the current turn, hence the retirement.
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  ScheduledIo* head = retired_.load(std::memory_order_relaxed);
  do {
    io->next_released = head;
    // Release: the owner's last uses of `io` happen-before its deletion.
  } while (!retired_.compare_exchange_weak(head, io, std::memory_order_release,
                                           std::memory_order_relaxed));
  registrations_.fetch_sub(1, std::memory_order_release);
}

void IoDriver::ReleaseRetired() {
  if (lingering_ == nullptr &&
      retired_.load(std::memory_order_relaxed) == nullptr) {
    return;
  }
  ScheduledIo* io = std::exchange(lingering_, nullptr);
  // Acquire pairs with Deregister's release CAS.
  ScheduledIo* retired = retired_.exchange(nullptr, std::memory_order_acquire);
  while (retired != nullptr) {
    ScheduledIo* const next = retired->next_released;
    retired->next_released = io;
    io = retired;
    retired = next;
  }
  while (io != nullptr) {
    ScheduledIo* const next = io->next_released;
    if (io->WaiterCount() > 0) {
      // A waiter is still linked (its frame is about to be destroyed, as
      // at shutdown, when the task owning the socket may go first): it
      // unlinks under the record's lock, so keep the record until then.
      io->next_released = lingering_;
      lingering_ = io;
    } else {
      delete io;
    }
    io = next;
  }
}

void IoDriver::Park(std::optional<Duration> max_wait) {
  if (epoll_fd_ < 0) {
    time_->Park(max_wait);
    return;
  }
  ReleaseRetired();
  const std::optional<Duration> wait = time_->BeginPark(max_wait);
  uint32_t expected = kIdle;
  // Failing means kNotified: a wake-up is pending, so only poll.
  const bool may_block = state_.compare_exchange_strong(
      expected, kWaiting, std::memory_order_acq_rel, std::memory_order_acquire);
  const int n = Wait(may_block ? EpollTimeoutMs(wait) : 0);
  time_->EndPark();
  // acq_rel: synchronizes with an Unpark that wrote the eventfd (it
  // swapped out kWaiting and in kNotified, which this reads).
  state_.exchange(kDispatching, std::memory_order_acq_rel);
  Dispatch(n);
  time_->Poll();
  // Consumes any wake-up that came during the turn: this Park returns. A
  // wake-up may be a manual clock's Advance that came after the Poll above
  // read the time (acq_rel: reading kNotified here means its new time is
  // visible): fire what it made due now, or a worker that parks again
  // would wait forever for a timer that is already due - a manual clock
  // gives epoll no timeout.
  if (state_.exchange(kIdle, std::memory_order_acq_rel) == kNotified) {
    time_->Poll();
  }
}

void IoDriver::Poll() {
  // Busy workers poll every few dozen tasks: with no socket registered
  // (most timer-only workloads) skip the syscall. A registration racing
  // with this load is seen by the next Poll or Park.
  if (epoll_fd_ < 0 || (registrations_.load(std::memory_order_relaxed) == 0 &&
                        lingering_ == nullptr &&
                        retired_.load(std::memory_order_relaxed) == nullptr)) {
    time_->Poll();
    return;
  }
  ReleaseRetired();
  // Not a park: a wake-up meanwhile stays pending for the next Park.
  Dispatch(Wait(0));
  time_->Poll();
}

int IoDriver::Wait(int timeout_ms) {
  const int n = epoll_wait(epoll_fd_, events_.data(), kMaxEvents, timeout_ms);
  return n < 0 ? 0 : n;  // EINTR: a signal; the caller re-checks everything
}

void IoDriver::Dispatch(int n) {
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events_[static_cast<std::size_t>(i)];
    if (ev.data.u64 == kWakeToken) {
      DrainEventfd();
    } else {
      static_cast<ScheduledIo*>(ev.data.ptr)
          ->SetReadiness(Readiness::FromEpoll(ev.events));
    }
  }
}

void IoDriver::DrainEventfd() {
  uint64_t value;
  // Non-blocking; EAGAIN means a racing drain or write-to-come: both fine.
  (void)!read(event_fd_, &value, sizeof(value));
}

void IoDriver::Unpark() {
  if (epoll_fd_ < 0) {
    time_->Unpark();
    return;
  }
  // swap, not CAS: whatever the state, it must end up kNotified (or be
  // consumed by the swap that follows it); only kWaiting needs the write.
  // Both operations are async-signal-safe.
  if (state_.exchange(kNotified, std::memory_order_acq_rel) == kWaiting) {
    eventfd_wakes_.fetch_add(1, std::memory_order_relaxed);
    const uint64_t one = 1;
    (void)!write(event_fd_, &one, sizeof(one));
  }
}

// ---- IoRegistration ---------------------------------------------------------

absl::StatusOr<IoRegistration> IoRegistration::Create(IoDriver& driver, int fd,
                                                      uint32_t initial_ready) {
  absl::StatusOr<ScheduledIo*> io = driver.Register(fd, initial_ready);
  if (!io.ok()) return io.status();
  return IoRegistration(&driver, *io, fd);
}

IoRegistration::IoRegistration(IoRegistration&& other) noexcept
    : driver_(std::exchange(other.driver_, nullptr)),
      io_(std::exchange(other.io_, nullptr)),
      fd_(std::exchange(other.fd_, -1)) {}

IoRegistration& IoRegistration::operator=(IoRegistration&& other) noexcept {
  if (this != &other) {
    Reset();
    driver_ = std::exchange(other.driver_, nullptr);
    io_ = std::exchange(other.io_, nullptr);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void IoRegistration::Reset() {
  if (io_ == nullptr) return;
  driver_->Deregister(fd_, std::exchange(io_, nullptr));
  driver_ = nullptr;
  fd_ = -1;
}

}  // namespace troupe
