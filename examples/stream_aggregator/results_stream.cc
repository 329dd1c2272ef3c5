#include "examples/stream_aggregator/results_stream.h"

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "net/close_codes.h"

namespace troupe::aggregator {

ResultsTee::ResultsTee(std::shared_ptr<OutputWriter> output, size_t capacity)
    : output_(std::move(output)) {
  // The first receiver is dropped: subscribers make their own.
  sender_.emplace(MakeBroadcast<std::string>(capacity).value().first);
}

absl::Status ResultsTee::Write(std::string_view bytes) {
  absl::Status written = output_->Write(bytes);
  if (!written.ok()) return written;
  std::lock_guard<std::mutex> lock(mu_);
  // With no subscriber the chunk is handed back and dropped.
  if (sender_.has_value()) (void)sender_->Send(std::string(bytes));
  return absl::OkStatus();
}

absl::Status ResultsTee::Close() {
  absl::Status closed = output_->Close();
  std::lock_guard<std::mutex> lock(mu_);
  sender_.reset();
  return closed;
}

std::optional<BroadcastReceiver<std::string>> ResultsTee::Subscribe() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!sender_.has_value()) return std::nullopt;
  return sender_->Subscribe();
}

Task<void> StreamResults(net::WebSocketConnection ws,
                         std::shared_ptr<ResultsTee> tee, LogFn log) {
  std::optional<BroadcastReceiver<std::string>> results = tee->Subscribe();
  if (!results.has_value()) {
    Task<absl::Status> close =
        ws.Close(net::close_code::kGoingAway, "the run is over");
    (void)co_await std::move(close);
    co_return;
  }
  // Release: pairs with the acquire load in subscribers().
  tee->subscribers_.fetch_add(1, std::memory_order_release);
  bool peer_gone = false;
  for (;;) {
    BroadcastResult<std::string> chunk = co_await results->Recv();
    if (chunk.IsClosed()) break;
    if (chunk.IsLagged()) {
      if (log) {
        log(absl::StrCat("a /results subscriber fell behind: ", chunk.lagged(),
                         " chunks of result lines skipped"));
      }
      continue;
    }
    net::WebSocketMessage message =
        net::WebSocketMessage::Text(chunk.TakeValue());
    const absl::Status sent = co_await ws.Send(std::move(message));
    if (!sent.ok()) {
      peer_gone = true;
      break;
    }
  }
  // Relaxed: a count of subscribers, which nothing else depends on.
  tee->subscribers_.fetch_sub(1, std::memory_order_relaxed);
  if (peer_gone) co_return;
  Task<absl::Status> close =
      ws.Close(net::close_code::kNormal, "end of the results");
  (void)co_await std::move(close);
}

}  // namespace troupe::aggregator
