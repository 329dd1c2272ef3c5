#include "net/memory_stream.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "executor/coop.h"

namespace troupe::net {
namespace internal {

void PipeBuffer::TakeWaiter(Waiter** slot, TaskRef* wake) {
  Waiter* waiter = std::exchange(*slot, nullptr);
  if (waiter == nullptr) return;
  // The reference keeps the task alive until the wake after unlocking;
  // `notified` is the last touch of the waiter (it may go away at once).
  *wake = TaskRef::Clone(waiter->task);
  waiter->notified.store(true, std::memory_order_release);
}

bool PipeBuffer::Attempt(Op op, std::span<char> read_into,
                         std::span<const char> data, Waiter* waiter,
                         absl::StatusOr<size_t>* result, TaskRef* wake) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t capacity = ring_.size();
  if (op == Op::kRead) {
    if (size_ == 0 && !write_closed_ && !read_into.empty()) {
      if (waiter != nullptr) {
        assert(reader_ == nullptr && "two reads in flight on one pipe end");
        reader_ = waiter;
      }
      return false;
    }
    size_t n = std::min(size_, read_into.size());
    for (size_t copied = 0; copied < n;) {
      const size_t run = std::min(n - copied, capacity - head_);
      std::memcpy(read_into.data() + copied, ring_.data() + head_, run);
      head_ = (head_ + run) % capacity;
      copied += run;
    }
    size_ -= n;
    if (n > 0) TakeWaiter(&writer_, wake);
    *result = n;
    return true;
  }
  if (write_closed_ || read_closed_) {
    *result = absl::FailedPreconditionError(
        write_closed_ ? "write after ShutdownWrite"
                      : "broken pipe: the peer end is closed");
    return true;
  }
  if (size_ == capacity && !data.empty()) {
    if (waiter != nullptr) {
      assert(writer_ == nullptr && "two writes in flight on one pipe end");
      writer_ = waiter;
    }
    return false;
  }
  const size_t n = std::min(capacity - size_, data.size());
  for (size_t copied = 0; copied < n;) {
    const size_t tail = (head_ + size_) % capacity;
    const size_t run = std::min(n - copied, capacity - tail);
    std::memcpy(ring_.data() + tail, data.data() + copied, run);
    size_ += run;
    copied += run;
  }
  if (n > 0) TakeWaiter(&reader_, wake);
  *result = n;
  return true;
}

void PipeBuffer::Unregister(Op op, Waiter* waiter) {
  std::lock_guard<std::mutex> lock(mu_);
  Waiter*& slot = op == Op::kRead ? reader_ : writer_;
  if (slot == waiter) slot = nullptr;
}

void PipeBuffer::CloseWrite() {
  TaskRef wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    write_closed_ = true;
    TakeWaiter(&reader_, &wake);
  }
  wake.Wake();
}

void PipeBuffer::CloseRead() {
  TaskRef wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    read_closed_ = true;
    size_ = 0;
    TakeWaiter(&writer_, &wake);
  }
  wake.Wake();
}

size_t PipeBuffer::Buffered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return size_;
}

PipeAwaiter::~PipeAwaiter() {
  // Abandoned while waiting (a Timeout, an abort): withdraw. If a waker
  // took the registration first, it only holds a task reference.
  if (parked_) pipe_->Unregister(op_, &waiter_);
}

bool PipeAwaiter::await_ready() {
  if (!ConsumeBudget()) {
    yield_ = true;  // go round the run queue before completing
    return false;
  }
  TaskRef wake;
  const bool done =
      pipe_->Attempt(op_, read_into_, data_, nullptr, &result_, &wake);
  wake.Wake();
  return done;
}

bool PipeAwaiter::await_suspend(std::coroutine_handle<> handle) {
  TaskHeader* self = CurrentTask();
  assert(self != nullptr && "MemoryStream used outside a task");
  self->SetResumePoint(handle, this);
  if (yield_) {
    self->WakeByRef();
    return true;
  }
  return Park();
}

bool PipeAwaiter::Ready() {
  if (yield_) {
    yield_ = false;
    return !Park();
  }
  if (parked_ && !waiter_.notified.load(std::memory_order_acquire)) {
    return false;  // a spurious wake
  }
  parked_ = false;
  return !Park();
}

bool PipeAwaiter::Park() {
  waiter_.task = CurrentTask();
  waiter_.notified.store(false, std::memory_order_relaxed);
  TaskRef wake;
  const bool done =
      pipe_->Attempt(op_, read_into_, data_, &waiter_, &result_, &wake);
  wake.Wake();
  parked_ = !done;
  return !done;
}

}  // namespace internal

MemoryStream& MemoryStream::operator=(MemoryStream&& other) noexcept {
  if (this != &other) {
    Close();
    in_ = std::move(other.in_);
    out_ = std::move(other.out_);
  }
  return *this;
}

MemoryStream::~MemoryStream() { Close(); }

void MemoryStream::Close() {
  if (in_ != nullptr) in_->CloseRead();
  if (out_ != nullptr) out_->CloseWrite();
}

Task<absl::StatusOr<size_t>> MemoryStream::Read(std::span<char> buffer) {
  co_return co_await internal::PipeAwaiter(
      in_.get(), internal::PipeBuffer::Op::kRead, buffer, {});
}

Task<absl::StatusOr<size_t>> MemoryStream::Write(std::span<const char> data) {
  co_return co_await internal::PipeAwaiter(
      out_.get(), internal::PipeBuffer::Op::kWrite, {}, data);
}

absl::StatusOr<size_t> MemoryStream::TryWriteV(std::span<const iovec> chunks) {
  size_t total = 0;
  for (const iovec& chunk : chunks) {
    if (chunk.iov_len == 0) continue;
    const std::span<const char> data(static_cast<const char*>(chunk.iov_base),
                                     chunk.iov_len);
    absl::StatusOr<size_t> n = size_t{0};
    TaskRef wake;
    const bool done = out_->Attempt(internal::PipeBuffer::Op::kWrite, {}, data,
                                    nullptr, &n, &wake);
    wake.Wake();
    if (!n.ok()) {
      // A failure after some bytes went is reported by the next write.
      if (total > 0) return total;
      return n.status();
    }
    if (!done) return total;  // full
    total += *n;
    if (*n < chunk.iov_len) return total;
  }
  return total;
}

Task<absl::Status> MemoryStream::WriteAll(std::span<const char> data) {
  while (!data.empty()) {
    absl::StatusOr<size_t> n = co_await internal::PipeAwaiter(
        out_.get(), internal::PipeBuffer::Op::kWrite, {}, data);
    if (!n.ok()) co_return n.status();
    data = data.subspan(*n);
  }
  co_return absl::OkStatus();
}

Task<absl::Status> MemoryStream::ShutdownWrite() {
  out_->CloseWrite();
  co_return absl::OkStatus();
}

std::pair<MemoryStream, MemoryStream> MakeMemoryPipe(size_t capacity) {
  capacity = std::max<size_t>(capacity, 1);
  auto a_to_b = std::make_shared<internal::PipeBuffer>(capacity);
  auto b_to_a = std::make_shared<internal::PipeBuffer>(capacity);
  return {MemoryStream(b_to_a, a_to_b), MemoryStream(a_to_b, b_to_a)};
}

}  // namespace troupe::net
