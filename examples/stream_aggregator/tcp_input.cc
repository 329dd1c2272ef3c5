#include "examples/stream_aggregator/tcp_input.h"

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/stream_aggregator/frame_decoder.h"
#include "examples/stream_aggregator/frame_input.h"
#include "executor/join_handle.h"
#include "executor/sleep.h"
#include "net/socket_address.h"

namespace troupe::aggregator {

namespace {

// What a connection's bytes go to once its framing is known.
class ConnectionFeed {
 public:
  explicit ConnectionFeed(InputPort* port) : port_(port) {}

  // Feeds `bytes` (valid until the task completes) to the framing the
  // connection announced, deciding it first if need be.
  Task<absl::Status> Feed(std::string_view bytes) {
    if (framing_ != Framing::kUndecided && !head_.empty()) {
      head_ = std::string();  // fed by the previous call
    }
    if (framing_ == Framing::kUndecided) {
      head_.append(bytes);
      framing_ = DetectFraming(head_);
      if (framing_ == Framing::kUndecided) co_return absl::OkStatus();
      bytes = head_;
      if (framing_ == Framing::kProtobuf) {
        bytes.remove_prefix(kProtobufPreamble.size());
        frames_ = std::make_unique<FrameInput>(port_, kMaxFrameBytes);
      }
    }
    if (framing_ == Framing::kNdjson) co_return co_await port_->FeedText(bytes);
    co_return co_await frames_->Feed(bytes);
  }

  // Whether a malformed frame length has ended the stream.
  bool broken() const { return frames_ != nullptr && frames_->broken(); }

  // End of stream: an undecided connection is NDJSON (its few bytes are a
  // final line); a protobuf one counts a truncated frame.
  Task<absl::Status> Finish() {
    if (framing_ == Framing::kUndecided && !head_.empty()) {
      framing_ = Framing::kNdjson;
      const absl::Status fed = co_await port_->FeedText(head_);
      if (!fed.ok()) co_return fed;
    }
    if (frames_ != nullptr) frames_->Finish();
    co_return absl::OkStatus();
  }

 private:
  InputPort* const port_;
  Framing framing_ = Framing::kUndecided;
  std::string head_;                    // the bytes read while undecided
  std::unique_ptr<FrameInput> frames_;  // once the framing is protobuf
};

}  // namespace

Task<absl::Status> ReadTcpConnection(net::TcpStream stream,
                                     std::unique_ptr<InputPort> port,
                                     CancellationToken stop, LogFn log) {
  std::string buffer(kSocketReadBytes, '\0');
  ConnectionFeed feed(port.get());
  absl::Status status;  // the port's: the pipeline stopped taking events
  while (!stop.IsCancelled()) {
    Task<absl::StatusOr<size_t>> read =
        stream.Read(std::span<char>(buffer.data(), buffer.size()));
    // A Read abandoned by the Timeout has consumed nothing (tcp_stream.h):
    // the bytes stay in the socket for the next Read.
    absl::StatusOr<absl::StatusOr<size_t>> outcome =
        co_await Timeout(kStopPollInterval, std::move(read));
    if (!outcome.ok()) continue;  // no data for a while: check the stop
    if (!outcome->ok()) {
      if (log) {
        log(absl::StrCat("input '", port->name(), "': ",
                         outcome->status().message(), "; closing the input"));
      }
      break;
    }
    if (**outcome == 0) break;  // the peer's end of stream
    status = co_await feed.Feed(std::string_view(buffer.data(), **outcome));
    if (!status.ok()) break;
    if (feed.broken()) {
      // Not rate-limited: at most once per connection.
      if (log) {
        log(absl::StrCat("input '", port->name(),
                         "': malformed frame length; closing the connection"));
      }
      break;
    }
  }
  stream.Close();
  if (status.ok()) status = co_await feed.Finish();
  const absl::Status closed = co_await port->Close();
  co_return status.ok() ? closed : status;
}

Task<absl::Status> ServeTcpInputs(net::TcpListener listener, Pipeline& pipeline,
                                  CancellationToken stop, LogFn log) {
  std::vector<JoinHandle<absl::Status>> connections;
  absl::Status status;
  while (!stop.IsCancelled()) {
    Task<absl::StatusOr<net::TcpStream>> accept = listener.Accept();
    // An abandoned Accept leaves the connection queued (tcp_listener.h).
    absl::StatusOr<absl::StatusOr<net::TcpStream>> accepted =
        co_await Timeout(kStopPollInterval, std::move(accept));
    if (!accepted.ok()) continue;  // nobody connected: check the stop
    if (!accepted->ok()) {
      // Accept does not fail for a lack of descriptors (it waits); what is
      // left is final, so stop accepting.
      status = accepted->status();
      if (log) log(absl::StrCat("--listen: ", status.message()));
      break;
    }
    net::TcpStream stream = **std::move(accepted);
    const absl::StatusOr<net::SocketAddress> peer = stream.PeerAddress();
    std::string name =
        absl::StrCat("tcp ", peer.ok() ? peer->ToString() : "(unknown peer)");
    Task<absl::StatusOr<std::unique_ptr<InputPort>>> open =
        pipeline.OpenInput(std::move(name));
    absl::StatusOr<std::unique_ptr<InputPort>> port = co_await std::move(open);
    if (!port.ok()) {
      stream.Close();  // the pipeline takes no new inputs: it is ending
      continue;
    }
    // Forget the connections that are over (their results are only the
    // pipeline's "stopped taking events", which the run reports itself).
    std::erase_if(connections, [](const JoinHandle<absl::Status>& c) {
      return c.IsFinished();
    });
    connections.push_back(Spawn(
        ReadTcpConnection(std::move(stream), *std::move(port), stop, log)));
  }
  listener.Close();
  for (JoinHandle<absl::Status>& connection : connections) {
    (void)co_await connection;
  }
  co_return status;
}

}  // namespace troupe::aggregator
