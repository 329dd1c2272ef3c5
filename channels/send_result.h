// SendResult: the outcome of a send. On failure it hands the value back -
// a failed send never loses what it was asked to deliver.
//
// Example:
//   SendResult<Job> r = co_await tx.Send(std::move(job));
//   if (!r.ok()) Retry(r.TakeValue(), r.status());
#ifndef TROUPE_CHANNELS_SEND_RESULT_H_
#define TROUPE_CHANNELS_SEND_RESULT_H_

#include <cassert>
#include <optional>
#include <utility>

#include "absl/status/status.h"

namespace troupe {

enum class SendError {
  kNone,
  kFull,      // TrySend only: no room now
  kClosed,    // the receiver is gone or closed the channel
  kTimedOut,  // SendTimeout only
};

template <typename T>
class [[nodiscard]] SendResult {
 public:
  static SendResult Ok() { return SendResult(SendError::kNone, std::nullopt); }
  static SendResult Fail(SendError error, T value) {
    return SendResult(error, std::optional<T>(std::move(value)));
  }

  bool ok() const { return error_ == SendError::kNone; }
  explicit operator bool() const { return ok(); }
  SendError error() const { return error_; }
  bool IsFull() const { return error_ == SendError::kFull; }
  bool IsClosed() const { return error_ == SendError::kClosed; }
  bool IsTimedOut() const { return error_ == SendError::kTimedOut; }

  // The value handed back by a failed send.
  T& value() {
    assert(!ok());
    return *value_;
  }
  T TakeValue() {
    assert(!ok());
    return std::move(*value_);
  }

  absl::Status status() const {
    switch (error_) {
      case SendError::kNone:
        return absl::OkStatus();
      case SendError::kFull:
        return absl::ResourceExhaustedError("channel is full");
      case SendError::kClosed:
        return absl::FailedPreconditionError(
            "channel is closed: the receiver is gone or closed it");
      case SendError::kTimedOut:
        return absl::DeadlineExceededError("send timed out");
    }
    return absl::UnknownError("unknown send error");
  }

 private:
  SendResult(SendError error, std::optional<T> value)
      : error_(error), value_(std::move(value)) {}
  SendError error_;
  std::optional<T> value_;
};

}  // namespace troupe

#endif  // TROUPE_CHANNELS_SEND_RESULT_H_
