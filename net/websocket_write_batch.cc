#include "net/websocket_write_batch.h"

#include <utility>

#include "net/websocket_frame.h"

namespace troupe::net::internal {
namespace {

// A Close frame's reason fits in a control frame after the 2-byte code.
constexpr size_t kMaxCloseReason = kMaxControlPayload - 2;

// The wire payload of a Close frame: the code, then the reason cut to what
// fits, at a UTF-8 code point boundary.
std::string ClosePayload(uint16_t code, std::string_view reason) {
  if (reason.size() > kMaxCloseReason) {
    size_t cut = kMaxCloseReason;
    while (cut > 0 && (static_cast<uint8_t>(reason[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    reason = reason.substr(0, cut);
  }
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason);
  return payload;
}

}  // namespace

void WriteBatch::AddControl(WebSocketCore::Control control,
                            WebSocketWriter& writer) {
  if (control.pong.has_value() && !core_.close_sent()) {
    Append(writer.WriteControl(Opcode::kPong, AsBytes(*control.pong)),
           Piece::kArena);
  }
  if (control.close_code.has_value()) {
    AddClose(*control.close_code, control.close_reason, writer);
  }
  if (control.stop) last_ = true;
}

void WriteBatch::AddItem(WebSocketOutgoing item, WebSocketWriter& writer) {
  switch (item.kind) {
    case WebSocketOutgoing::Kind::kMessage: {
      // Held first, so that the frame's payload can point into it.
      held_.push_back(std::move(item));
      const WebSocketOutgoing& message = held_.back();
      Append(writer.WriteMessage(message.opcode, AsBytes(message.bytes())),
             held_.size() - 1);
      return;
    }
    case WebSocketOutgoing::Kind::kPing:
      Append(writer.WriteControl(Opcode::kPing, AsBytes(item.bytes())),
             Piece::kArena);
      return;
    case WebSocketOutgoing::Kind::kClose:
      AddClose(item.code, item.bytes(), writer);
      return;
    case WebSocketOutgoing::Kind::kWake:
      return;
  }
}

void WriteBatch::AddClose(uint16_t code, std::string_view reason,
                          WebSocketWriter& writer) {
  last_ = true;
  if (!core_.MarkCloseSent()) return;  // one Close frame per connection
  const std::string payload = ClosePayload(code, reason);
  Append(writer.WriteControl(Opcode::kClose, AsBytes(payload)), Piece::kArena);
  has_close_ = true;
}

void WriteBatch::Append(absl::StatusOr<WebSocketWriter::Frame> frame,
                        size_t held) {
  if (!frame.ok()) {
    Fail(frame.status());
    return;
  }
  ++frames_;
  bytes_ += frame->payload.size();
  AppendToArena(frame->header.view());
  if (frame->payload.empty()) return;
  if (held != Piece::kArena) {
    const std::string_view source = held_[held].bytes();
    const auto* first = reinterpret_cast<const char*>(frame->payload.data());
    if (first >= source.data() &&
        first + frame->payload.size() <= source.data() + source.size()) {
      pieces_.push_back(Piece{held, static_cast<size_t>(first - source.data()),
                              frame->payload.size()});
      return;
    }
  }
  // The writer's own buffer (compressed or masked): valid only until its
  // next frame.
  AppendToArena(AsChars(frame->payload));
}

void WriteBatch::AppendToArena(std::string_view bytes) {
  if (bytes.empty()) return;
  if (!pieces_.empty() && pieces_.back().held == Piece::kArena &&
      pieces_.back().offset + pieces_.back().size == arena_.size()) {
    pieces_.back().size += bytes.size();
  } else {
    pieces_.push_back(Piece{Piece::kArena, arena_.size(), bytes.size()});
  }
  arena_.append(bytes);
}

std::span<iovec> WriteBatch::Chunks() {
  // Resolved only now: the arena and held_ may have moved while growing.
  chunks_.clear();
  for (const Piece& piece : pieces_) {
    const char* base = piece.held == Piece::kArena
                           ? arena_.data()
                           : held_[piece.held].bytes().data();
    // iovec is the writev API's and is not const-correct; the bytes are
    // only read.
    chunks_.push_back(
        iovec{const_cast<char*>(base + piece.offset), piece.size});
  }
  return chunks_;
}

namespace {

// Empties `v`, freeing its storage if it grew past `kept` elements.
template <typename Container>
void ClearKeeping(Container& v, size_t kept) {
  if (v.capacity() > kept) {
    Container().swap(v);
  } else {
    v.clear();
  }
}

}  // namespace

void WriteBatch::Reset() {
  // A frame is at most two pieces and two chunks; its header at most
  // kMaxFrameHeaderSize arena bytes, a control frame 125 more.
  ClearKeeping(arena_, kKeptFrames * kMaxFrameHeaderSize + kMaxControlPayload);
  ClearKeeping(held_, kKeptFrames);
  ClearKeeping(pieces_, 2 * kKeptFrames);
  ClearKeeping(chunks_, 2 * kKeptFrames);
  bytes_ = 0;
  frames_ = 0;
  status_ = absl::OkStatus();
  last_ = false;
  has_close_ = false;
}

}  // namespace troupe::net::internal
