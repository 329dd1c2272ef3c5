// Readiness: what the I/O reactor knows about a file descriptor, as bits,
// and the two directions a task can wait for.
//
// Contract:
//   - kReadable / kWritable are edges the kernel reported (EPOLLIN /
//     EPOLLOUT) that nobody has yet found exhausted (EAGAIN). They are
//     cleared by ScheduledIo::ClearReadiness when an operation hits EAGAIN
//     (or transfers fewer bytes than it asked for on a stream socket).
//   - kReadClosed (EPOLLRDHUP, EPOLLHUP), kWriteClosed (EPOLLHUP) and kError
//     (EPOLLERR) are sticky: once reported they stay set, so every later
//     operation runs its syscall and sees the end of stream or the error.
//   - A ReadyEvent is a snapshot: the bits of one interest and the tick
//     (generation) of the readiness word they were read from. Handing it
//     back to ClearReadiness clears only if no new edge arrived since.
//
// Example:
//   uint32_t bits = Readiness::FromEpoll(EPOLLIN | EPOLLRDHUP);
//   // bits == kReadable | kReadClosed, which satisfies Interest::kRead.
#ifndef TROUPE_EXECUTOR_IO_READINESS_H_
#define TROUPE_EXECUTOR_IO_READINESS_H_

#include <sys/epoll.h>

#include <cstdint>

namespace troupe {

enum class Interest : uint8_t { kRead, kWrite };

struct Readiness {
  static constexpr uint32_t kReadable = 1u << 0;
  static constexpr uint32_t kWritable = 1u << 1;
  static constexpr uint32_t kReadClosed = 1u << 2;
  static constexpr uint32_t kWriteClosed = 1u << 3;
  static constexpr uint32_t kError = 1u << 4;
  static constexpr uint32_t kMask = (1u << 5) - 1;

  // The bits that end a wait for `interest`: its edge, its end, an error.
  static constexpr uint32_t Satisfying(Interest interest) {
    return interest == Interest::kRead ? kReadable | kReadClosed | kError
                                       : kWritable | kWriteClosed | kError;
  }
  // The bit an EAGAIN in direction `interest` clears.
  static constexpr uint32_t Clearable(Interest interest) {
    return interest == Interest::kRead ? kReadable : kWritable;
  }

  static constexpr uint32_t FromEpoll(uint32_t events) {
    uint32_t bits = 0;
    if ((events & EPOLLIN) != 0) bits |= kReadable;
    if ((events & EPOLLOUT) != 0) bits |= kWritable;
    if ((events & EPOLLRDHUP) != 0) bits |= kReadClosed;
    if ((events & EPOLLHUP) != 0) bits |= kReadClosed | kWriteClosed;
    if ((events & EPOLLERR) != 0) bits |= kError;
    return bits;
  }
};

struct ReadyEvent {
  uint32_t ready = 0;  // Readiness bits of the interest asked about
  uint64_t tick = 0;   // generation of the readiness word they came from
};

}  // namespace troupe

#endif  // TROUPE_EXECUTOR_IO_READINESS_H_
