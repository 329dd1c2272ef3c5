// SharedFrame: one server frame, built once and shared by every connection
// it goes to. Outbox: where a room or a connection actor puts frames for
// one client.
//
// Contract (SharedFrame):
//   - Immutable after construction; shared as FramePtr (a shared_ptr to
//     const), so a room fans a message out to N members by copying N
//     pointers, never the message.
//   - Json() and Binary() encode lazily, each at most once per frame
//     (std::call_once: pthread_once, which ThreadSanitizer understands -
//     Debian's Abseil is not instrumented), on whichever thread asks
//     first; every caller gets the same bytes. encodings() counts the encodings
//     done (tests).
//   - Json() is protobuf's canonical JSON mapping
//     (google::protobuf::util::MessageToJsonString, default options: field
//     names in lowerCamelCase, defaults omitted, 64-bit integers as
//     strings); Binary() is the serialized protobuf.
//
// Contract (Outbox): Offer() may be called from any thread and never
// waits. kFull means the client's bounded queue overflowed: the outbox has
// started closing the connection as a slow consumer, and the caller should
// forget it. kClosed means the connection is gone.
//
// Example:
//   hub::ServerFrame f;
//   f.mutable_message()->set_text("hi");
//   FramePtr frame = MakeFrame(std::move(f));
//   for (Member& m : members) (void)m.outbox->Offer(frame);  // no copies
//   std::string_view wire = frame->Json();  // encoded on first use
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_FRAME_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_FRAME_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proto/hub.pb.h"

namespace troupe::hub {

class SharedFrame {
 public:
  explicit SharedFrame(ServerFrame frame) : frame_(std::move(frame)) {}
  SharedFrame(const SharedFrame&) = delete;
  SharedFrame& operator=(const SharedFrame&) = delete;

  const ServerFrame& proto() const { return frame_; }
  const std::string& Json() const;
  const std::string& Binary() const;
  int encodings() const { return encodings_.load(std::memory_order_relaxed); }

 private:
  const ServerFrame frame_;
  mutable std::once_flag json_once_;
  mutable std::once_flag binary_once_;
  mutable std::string json_;    // written once, under json_once_
  mutable std::string binary_;  // written once, under binary_once_
  mutable std::atomic<int> encodings_{0};
};

using FramePtr = std::shared_ptr<const SharedFrame>;

inline FramePtr MakeFrame(ServerFrame frame) {
  return std::make_shared<const SharedFrame>(std::move(frame));
}

// An `error` frame answering request `id` (may be empty).
FramePtr ErrorFrame(std::string_view id, std::string_view code,
                    std::string_view detail);

// Parses a client frame from a text (JSON) or binary (protobuf) message.
// InvalidArgument with a readable reason for anything malformed, and for
// a frame that carries no request (none of join, leave, publish, ping).
absl::StatusOr<ClientFrame> ParseClientFrame(bool text,
                                             const std::string& data);

// The error codes of the protocol (Error.code).
namespace error_code {
inline constexpr std::string_view kBadFrame = "bad_frame";
inline constexpr std::string_view kBadRequest = "bad_request";
inline constexpr std::string_view kNameTaken = "name_taken";
inline constexpr std::string_view kAlreadyJoined = "already_joined";
inline constexpr std::string_view kNotAMember = "not_a_member";
inline constexpr std::string_view kRateLimited = "rate_limited";
inline constexpr std::string_view kUnavailable = "unavailable";
}  // namespace error_code

class Outbox {
 public:
  enum class OfferResult : uint8_t { kQueued, kFull, kClosed };

  virtual ~Outbox() = default;
  // Identifies the connection (unique per process); rooms key members by it.
  virtual uint64_t id() const = 0;
  virtual OfferResult Offer(FramePtr frame) = 0;
};

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_FRAME_H_
