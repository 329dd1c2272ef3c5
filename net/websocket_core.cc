#include "net/websocket_core.h"

namespace troupe::net::internal {

Task<void> DoneSignal::Wait() const { co_await token_.Cancelled(); }

void WebSocketCore::PostPong(std::string payload) {
  std::lock_guard<std::mutex> lock(mu_);
  control_.pong = std::move(payload);
  control_posted_.store(true, std::memory_order_seq_cst);
}

void WebSocketCore::PostClose(uint16_t code, std::string reason) {
  std::lock_guard<std::mutex> lock(mu_);
  control_.close_code = code;
  control_.close_reason = std::move(reason);
  control_.stop = true;
  control_posted_.store(true, std::memory_order_seq_cst);
}

void WebSocketCore::PostStop() {
  std::lock_guard<std::mutex> lock(mu_);
  control_.stop = true;
  control_posted_.store(true, std::memory_order_seq_cst);
}

WebSocketCore::Control WebSocketCore::TakeControl() {
  // Nothing posted (nearly every round): no lock. A post this load misses
  // is not lost: see control_posted().
  if (!control_posted()) return Control();
  std::lock_guard<std::mutex> lock(mu_);
  control_posted_.store(false, std::memory_order_relaxed);
  Control taken = std::move(control_);
  control_ = Control();
  return taken;
}

void WebSocketCore::WakeWriter(const Sender<WebSocketOutgoing>& outgoing) {
  WebSocketOutgoing wake(WebSocketOutgoing::Kind::kWake, Opcode::kClose,
                         std::string());
  wake.mark = write_side.Mark();
  (void)outgoing.TrySend(std::move(wake));
}

WebSocketCore::Delivery WebSocketCore::Deliver(
    const Sender<WebSocketMessage>& incoming, WebSocketMessage& message) {
  std::lock_guard<std::mutex> lock(delivery_mu_);
  // Relaxed under the lock: the store is made under it too.
  if (handler_installed_.load(std::memory_order_relaxed)) {
    return Delivery::kHandler;
  }
  SendResult<WebSocketMessage> sent = incoming.TrySend(std::move(message));
  if (sent.ok()) return Delivery::kQueued;
  const bool full = sent.IsFull();
  message = sent.TakeValue();
  return full ? Delivery::kFull : Delivery::kClosed;
}

bool WebSocketCore::AfterQueued() {
  // The lock orders this check with InstallHandler's: if the install came
  // first, it is seen here; if it comes later, its emptiness check sees
  // the message the waiting Send pushed before this (and declines).
  std::lock_guard<std::mutex> lock(delivery_mu_);
  return handler_installed_.load(std::memory_order_relaxed);
}

WebSocketCore::Install WebSocketCore::InstallHandler(
    WebSocketMessageHandler& handler) {
  std::lock_guard<std::mutex> lock(delivery_mu_);
  if (deliveries_ended_) return Install::kReaderGone;
  // Exact here: the reader's pushes are made under this lock, except a
  // waiting Send's (see AfterQueued).
  if (incoming.Len() != 0) return Install::kMoreQueued;
  handler_ = std::move(handler);
  // Release: publishes handler_ to the reader's lock-free check.
  handler_installed_.store(true, std::memory_order_release);
  return Install::kInstalled;
}

void WebSocketCore::EndDeliveries() {
  WebSocketMessageHandler handler;
  {
    std::lock_guard<std::mutex> lock(delivery_mu_);
    deliveries_ended_ = true;
    handler = std::move(handler_);
  }
  // `handler` (and whatever it captured) goes here, outside the lock.
}

EndOfTask::~EndOfTask() {
  if (core_ == nullptr) return;
  if (side_ == Side::kWriter) {
    core_->write_side.Close();
    core_->writer_done.Fire();
  } else {
    core_->EndDeliveries();
    core_->reader_done.Fire();
  }
}

bool WebSocketCore::MarkCloseSent() {
  std::lock_guard<std::mutex> lock(mu_);
  return !std::exchange(close_sent_, true);
}

bool WebSocketCore::close_sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return close_sent_;
}

void WebSocketCore::MarkCloseWritten() {
  std::lock_guard<std::mutex> lock(mu_);
  close_written_ = true;
}

void WebSocketCore::MarkCloseReceived() {
  std::lock_guard<std::mutex> lock(mu_);
  close_received_ = true;
}

bool WebSocketCore::ArriveAtShutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  ++shutdown_arrivals_;
  if (shutdown_arrivals_ < 2 || shutdown_taken_) return false;
  shutdown_taken_ = true;
  return true;
}

bool WebSocketCore::TakeShutdownDuty() {
  std::lock_guard<std::mutex> lock(mu_);
  return !std::exchange(shutdown_taken_, true);
}

void WebSocketCore::RecordEnd(absl::Status status, uint16_t code,
                              std::string reason) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ended_) return;
  ended_ = true;
  status_ = std::move(status);
  info_.code = code;
  info_.reason = std::move(reason);
}

absl::Status WebSocketCore::FinalStatus() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!ended_) return absl::CancelledError("the connection was aborted");
  return status_;
}

WebSocketCloseInfo WebSocketCore::CloseInfo() const {
  std::lock_guard<std::mutex> lock(mu_);
  WebSocketCloseInfo info = info_;
  info.clean = close_written_ && close_received_;
  return info;
}

}  // namespace troupe::net::internal
