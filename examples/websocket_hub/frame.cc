#include "examples/websocket_hub/frame.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace troupe::hub {

const std::string& SharedFrame::Json() const {
  std::call_once(json_once_, [this] {
    // A message built by the hub always prints; an error here would be a
    // bug in the proto definitions, so there is nothing better to send.
    (void)google::protobuf::util::MessageToJsonString(frame_, &json_);
    encodings_.fetch_add(1, std::memory_order_relaxed);
  });
  return json_;
}

const std::string& SharedFrame::Binary() const {
  std::call_once(binary_once_, [this] {
    (void)frame_.SerializeToString(&binary_);
    encodings_.fetch_add(1, std::memory_order_relaxed);
  });
  return binary_;
}

FramePtr ErrorFrame(std::string_view id, std::string_view code,
                    std::string_view detail) {
  ServerFrame frame;
  frame.set_id(std::string(id));
  Error* error = frame.mutable_error();
  error->set_code(std::string(code));
  error->set_detail(std::string(detail));
  return MakeFrame(std::move(frame));
}

absl::StatusOr<ClientFrame> ParseClientFrame(bool text,
                                             const std::string& data) {
  ClientFrame frame;
  if (text) {
    const auto parsed =
        google::protobuf::util::JsonStringToMessage(data, &frame);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not a ClientFrame in JSON: ",
          std::string(parsed.message().data(), parsed.message().size())));
    }
  } else if (!frame.ParseFromString(data)) {
    return absl::InvalidArgumentError(
        "not a ClientFrame in protobuf binary form");
  }
  if (frame.kind_case() == ClientFrame::KIND_NOT_SET) {
    return absl::InvalidArgumentError(
        "the frame has none of join, leave, publish or ping");
  }
  return frame;
}

}  // namespace troupe::hub
