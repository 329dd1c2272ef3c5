// The outcomes of broadcast operations.
//
// BroadcastResult<T>: what a receive returns - a value, "lagged by N" (the
// receiver fell more than the capacity behind: N values were overwritten
// before it read them, and it now continues from the oldest value still
// held), closed (every sender is gone and the receiver has seen all), or,
// from TryRecv only, empty (nothing new yet).
//
// BroadcastSendResult<T>: a send either reached the receivers (how many
// there were) or found none, in which case it hands the value back.
//
// Example:
//   BroadcastResult<Quote> r = co_await rx.Recv();
//   if (r.ok()) Show(r.value());
//   else if (r.IsLagged()) Log("missed", r.lagged());
//   else if (r.IsClosed()) co_return;
#ifndef TROUPE_CHANNELS_BROADCAST_RESULT_H_
#define TROUPE_CHANNELS_BROADCAST_RESULT_H_

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"

namespace troupe {

template <typename T>
class [[nodiscard]] BroadcastResult {
 public:
  enum class Kind { kValue, kLagged, kClosed, kEmpty };

  static BroadcastResult Value(T value) {
    return BroadcastResult(Kind::kValue, 0, std::optional<T>(std::move(value)));
  }
  static BroadcastResult Lagged(uint64_t missed) {
    return BroadcastResult(Kind::kLagged, missed, std::nullopt);
  }
  static BroadcastResult Closed() {
    return BroadcastResult(Kind::kClosed, 0, std::nullopt);
  }
  static BroadcastResult Empty() {
    return BroadcastResult(Kind::kEmpty, 0, std::nullopt);
  }

  Kind kind() const { return kind_; }
  bool ok() const { return kind_ == Kind::kValue; }
  explicit operator bool() const { return ok(); }
  bool IsLagged() const { return kind_ == Kind::kLagged; }
  bool IsClosed() const { return kind_ == Kind::kClosed; }
  bool IsEmpty() const { return kind_ == Kind::kEmpty; }
  // How many values were skipped (0 unless IsLagged()).
  uint64_t lagged() const { return lagged_; }

  T& value() {
    assert(ok());
    return *value_;
  }
  T TakeValue() {
    assert(ok());
    return std::move(*value_);
  }

  absl::Status status() const {
    switch (kind_) {
      case Kind::kValue:
        return absl::OkStatus();
      case Kind::kLagged:
        return absl::ResourceExhaustedError(
            "broadcast receiver lagged: " + std::to_string(lagged_) +
            " values were overwritten before it read them");
      case Kind::kClosed:
        return absl::OutOfRangeError(
            "broadcast channel is closed: every sender is gone");
      case Kind::kEmpty:
        return absl::UnavailableError("broadcast channel has no new value");
    }
    return absl::UnknownError("unknown broadcast result");
  }

 private:
  BroadcastResult(Kind kind, uint64_t lagged, std::optional<T> value)
      : kind_(kind), lagged_(lagged), value_(std::move(value)) {}
  Kind kind_;
  uint64_t lagged_;
  std::optional<T> value_;
};

template <typename T>
class [[nodiscard]] BroadcastSendResult {
 public:
  static BroadcastSendResult Sent(std::size_t receivers) {
    return BroadcastSendResult(receivers, std::nullopt);
  }
  static BroadcastSendResult NoReceivers(T value) {
    return BroadcastSendResult(0, std::optional<T>(std::move(value)));
  }

  bool ok() const { return !value_.has_value(); }
  explicit operator bool() const { return ok(); }
  // There was no receiver: nothing was stored.
  bool IsClosed() const { return value_.has_value(); }
  // How many receivers will see the value (0 on failure).
  std::size_t receivers() const { return receivers_; }
  // The value handed back by a failed send.
  T TakeValue() {
    assert(!ok());
    return std::move(*value_);
  }
  absl::Status status() const {
    return ok() ? absl::OkStatus()
                : absl::FailedPreconditionError(
                      "broadcast channel has no receivers");
  }

 private:
  BroadcastSendResult(std::size_t receivers, std::optional<T> value)
      : receivers_(receivers), value_(std::move(value)) {}
  std::size_t receivers_;
  std::optional<T> value_;
};

}  // namespace troupe

#endif  // TROUPE_CHANNELS_BROADCAST_RESULT_H_
