#include "net/permessage_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"

namespace troupe::net {
namespace {

constexpr std::array<uint8_t, 4> kTail = {0x00, 0x00, 0xff, 0xff};
// Output is grown in steps of at least this many bytes.
constexpr size_t kMinOutputStep = 4096;

bool ValidWindowBits(int bits) { return bits >= 8 && bits <= 15; }

uInt ClampToUInt(size_t n) {
  return static_cast<uInt>(
      std::min<size_t>(n, std::numeric_limits<uInt>::max()));
}

}  // namespace

DeflateDirection DeflateParams::Sender(Role role) const {
  if (role == Role::kServer) {
    return {server_max_window_bits, server_no_context_takeover};
  }
  return {client_max_window_bits, client_no_context_takeover};
}

DeflateDirection DeflateParams::Receiver(Role role) const {
  return Sender(role == Role::kServer ? Role::kClient : Role::kServer);
}

// ---------------------------------------------------------------- deflate --

struct MessageDeflater::Stream {
  z_stream z{};
  ~Stream() { deflateEnd(&z); }
};

MessageDeflater::MessageDeflater(std::unique_ptr<Stream> stream,
                                 bool no_context_takeover)
    : stream_(std::move(stream)), no_context_takeover_(no_context_takeover) {}
MessageDeflater::MessageDeflater(MessageDeflater&&) noexcept = default;
MessageDeflater& MessageDeflater::operator=(MessageDeflater&&) noexcept =
    default;
MessageDeflater::~MessageDeflater() = default;

absl::StatusOr<MessageDeflater> MessageDeflater::Create(
    DeflateDirection direction, int level, int mem_level) {
  if (!ValidWindowBits(direction.window_bits) || level < 0 || level > 9 ||
      mem_level < 1 || mem_level > 9) {
    return absl::InvalidArgumentError("invalid deflate parameters");
  }
  auto stream = std::make_unique<Stream>();
  // Negative window bits select raw DEFLATE. zlib rejects 8 for raw
  // deflate; 9 is compatible with an 8-bit window (see the header).
  const int bits = std::max(direction.window_bits, 9);
  if (deflateInit2(&stream->z, level, Z_DEFLATED, -bits, mem_level,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    // deflateEnd on a stream that failed to initialise is a no-op.
    return absl::ResourceExhaustedError("deflateInit2 failed");
  }
  return MessageDeflater(std::move(stream), direction.no_context_takeover);
}

absl::Status MessageDeflater::Compress(std::span<const uint8_t> message,
                                       std::vector<uint8_t>* out) {
  out->clear();
  if (message.empty()) {
    // An empty stored block once the receiver re-adds 00 00 ff ff; leaves
    // the shared window untouched.
    out->push_back(0x00);
    return absl::OkStatus();
  }
  z_stream& z = stream_->z;
  z.next_in = const_cast<Bytef*>(message.data());
  z.avail_in = ClampToUInt(message.size());
  size_t remaining = message.size() - z.avail_in;
  const size_t step = std::max<size_t>(
      kMinOutputStep, deflateBound(&z, static_cast<uLong>(message.size())));
  size_t used = 0;
  for (;;) {
    if (out->size() - used < 64) out->resize(used + step);
    z.next_out = out->data() + used;
    z.avail_out = ClampToUInt(out->size() - used);
    const uInt before = z.avail_out;
    const int rc = deflate(&z, Z_SYNC_FLUSH);
    used += before - z.avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return absl::InternalError(absl::StrCat("deflate failed: ", rc));
    }
    if (z.avail_in == 0 && remaining > 0) {
      const uInt more = ClampToUInt(remaining);
      remaining -= more;
      z.avail_in = more;
      continue;
    }
    // Done when all input is in and the flush fitted in the buffer.
    if (z.avail_in == 0 && z.avail_out != 0) break;
  }
  out->resize(used);
  if (used < kTail.size() ||
      !std::equal(kTail.begin(), kTail.end(), out->end() - kTail.size())) {
    return absl::InternalError("deflate output lacks the sync-flush tail");
  }
  out->resize(used - kTail.size());
  if (no_context_takeover_ && deflateReset(&z) != Z_OK) {
    return absl::InternalError("deflateReset failed");
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------- inflate --

struct MessageInflater::Stream {
  z_stream z{};
  int window_bits = 15;
  ~Stream() { inflateEnd(&z); }
};

MessageInflater::MessageInflater(std::unique_ptr<Stream> stream,
                                 bool no_context_takeover)
    : stream_(std::move(stream)), no_context_takeover_(no_context_takeover) {}
MessageInflater::MessageInflater(MessageInflater&&) noexcept = default;
MessageInflater& MessageInflater::operator=(MessageInflater&&) noexcept =
    default;
MessageInflater::~MessageInflater() = default;

absl::StatusOr<MessageInflater> MessageInflater::Create(
    DeflateDirection direction) {
  if (!ValidWindowBits(direction.window_bits)) {
    return absl::InvalidArgumentError("invalid inflate window bits");
  }
  auto stream = std::make_unique<Stream>();
  // A window larger than the peer's is always safe; 9 tolerates peers that
  // (like zlib) deflate with 9 bits after agreeing on 8.
  stream->window_bits = std::max(direction.window_bits, 9);
  if (inflateInit2(&stream->z, -stream->window_bits) != Z_OK) {
    return absl::ResourceExhaustedError("inflateInit2 failed");
  }
  return MessageInflater(std::move(stream), direction.no_context_takeover);
}

absl::Status MessageInflater::ResetStream(bool keep_window) {
  z_stream& z = stream_->z;
  std::vector<uint8_t> window;
  if (keep_window) {
    // A peer may end a DEFLATE stream (BFINAL) and still rely on the window
    // for the next message: carry it across the reset.
    window.resize(size_t{1} << stream_->window_bits);
    uInt size = 0;
    if (inflateGetDictionary(&z, window.data(), &size) != Z_OK) {
      return absl::InternalError("inflateGetDictionary failed");
    }
    window.resize(size);
  }
  if (inflateReset(&z) != Z_OK) {
    return absl::InternalError("inflateReset failed");
  }
  if (!window.empty() &&
      inflateSetDictionary(&z, window.data(), ClampToUInt(window.size())) !=
          Z_OK) {
    return absl::InternalError("inflateSetDictionary failed");
  }
  return absl::OkStatus();
}

absl::Status MessageInflater::Run(std::span<const uint8_t> compressed,
                                  std::vector<uint8_t>* out, size_t max_size) {
  z_stream& z = stream_->z;
  // We allow one byte beyond max_size to tell "exactly max_size" apart from
  // "more than max_size".
  const size_t cap =
      max_size == std::numeric_limits<size_t>::max() ? max_size : max_size + 1;
  const size_t step = std::max(kMinOutputStep, compressed.size() * 4);
  while (true) {
    if (z.avail_in == 0 && !compressed.empty()) {
      const uInt take = ClampToUInt(compressed.size());
      z.next_in = const_cast<Bytef*>(compressed.data());
      z.avail_in = take;
      compressed = compressed.subspan(take);
    }
    const size_t old_size = out->size();
    if (old_size >= cap) {
      return absl::ResourceExhaustedError("message too big after inflating");
    }
    const size_t room = std::min(step, cap - old_size);
    out->resize(old_size + room);
    z.next_out = out->data() + old_size;
    z.avail_out = ClampToUInt(room);
    const uInt before = z.avail_out;
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    out->resize(old_size + (before - z.avail_out));
    if (out->size() > max_size) {
      return absl::ResourceExhaustedError("message too big after inflating");
    }
    if (rc == Z_STREAM_END) {
      // The peer ended the DEFLATE stream; what follows (if anything) starts
      // a new one.
      if (absl::Status s = ResetStream(/*keep_window=*/!no_context_takeover_);
          !s.ok()) {
        return s;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR) {
      // No progress possible: all input consumed and output flushed.
      if (z.avail_in == 0 && compressed.empty()) break;
      if (z.avail_out == 0) continue;
      return absl::DataLossError("inflate made no progress");
    }
    if (rc != Z_OK) {
      return absl::DataLossError(
          absl::StrCat("invalid compressed data: ",
                       z.msg != nullptr ? z.msg : "inflate error"));
    }
    if (z.avail_in == 0 && compressed.empty() && z.avail_out != 0) break;
  }
  z.next_in = nullptr;
  return absl::OkStatus();
}

absl::Status MessageInflater::Inflate(std::span<const uint8_t> compressed,
                                      std::vector<uint8_t>* out,
                                      size_t max_size) {
  if (compressed.empty()) return absl::OkStatus();
  message_has_input_ = true;
  return Run(compressed, out, max_size);
}

absl::Status MessageInflater::FinishMessage(std::vector<uint8_t>* out,
                                            size_t max_size) {
  const bool had_input = message_has_input_;
  message_has_input_ = false;
  if (had_input) {
    if (absl::Status s = Run(kTail, out, max_size); !s.ok()) return s;
  }
  if (no_context_takeover_) return ResetStream(/*keep_window=*/false);
  return absl::OkStatus();
}

absl::Status MessageInflater::Decompress(std::span<const uint8_t> compressed,
                                         std::vector<uint8_t>* out,
                                         size_t max_size) {
  out->clear();
  if (absl::Status s = Inflate(compressed, out, max_size); !s.ok()) return s;
  return FinishMessage(out, max_size);
}

}  // namespace troupe::net
