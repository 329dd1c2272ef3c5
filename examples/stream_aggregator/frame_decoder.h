// The binary framing of a --listen connection: detection by its preamble,
// and an incremental decoder of its length-prefixed frames.
//
// Wire format (documented for users in README.md, "Binary protobuf over
// TCP"):
//   connection = preamble frame*
//   preamble   = the 4 bytes 00 54 50 42 ("\0TPB"), kProtobufPreamble
//   frame      = length payload
//   length     = the payload's size as a base-128 varint (protobuf's
//                encoding of a uint64: 7 bits per byte, least significant
//                group first, high bit set on every byte but the last)
//   payload    = `length` bytes of a serialized troupe.aggregator.Event
// This is exactly what protobuf's SerializeDelimitedToZeroCopyStream (C++)
// and writeDelimitedTo (Java) write after the preamble. A connection whose
// first bytes are not the preamble is newline-delimited JSON: no JSON text
// line can begin with a NUL byte, so the preamble never takes an NDJSON
// stream's bytes (one that begins with a NUL byte but not the whole
// preamble stays NDJSON).
//
// FrameDecoder turns the bytes after the preamble, in chunks split
// anywhere, into items: a complete frame's payload; a frame whose length
// exceeds the limit (reported as soon as its length is read, its payload
// then discarded so the stream goes on); or a malformed length - a varint
// of more than 10 bytes, after which the stream cannot be resynchronised,
// so the decoder takes no more bytes. A length whose value does not fit in
// 64 bits (a 10th byte above 1) is a too-long frame. A payload is buffered
// only while it spans chunks, so the decoder holds at most
// `max_frame_bytes` bytes.
//
// Thread contract: a value used by one thread at a time.
//
// Example:
//   FrameDecoder decoder(/*max_frame_bytes=*/1 << 20);
//   std::string_view bytes = chunk;
//   for (FrameItem item = decoder.Next(&bytes);
//        item.kind != FrameItem::kNeedMore; item = decoder.Next(&bytes)) {
//     if (item.kind == FrameItem::kFrame) Use(item.payload);
//   }
//   // At the end of the stream: decoder.mid_frame() says whether a final
//   // frame was cut short.

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_FRAME_DECODER_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_FRAME_DECODER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::aggregator {

// The preamble that announces binary protobuf frames on a connection.
inline constexpr std::string_view kProtobufPreamble("\0TPB", 4);

// The most bytes of a varint: ceil(64 / 7).
inline constexpr int kMaxVarintBytes = 10;

enum class Framing : uint8_t {
  kUndecided,  // the bytes so far are a proper prefix of the preamble
  kNdjson,
  kProtobuf,
};

// The framing announced by a connection's first bytes `head` (all of them
// so far). kUndecided asks for more bytes; at the end of the stream an
// undecided connection is NDJSON.
Framing DetectFraming(std::string_view head);

// One decoded item. `payload` (kFrame only) points into the chunk passed to
// Next or into the decoder, and is valid until the next call to Next.
struct FrameItem {
  enum Kind : uint8_t {
    kNeedMore,        // every byte of the chunk is consumed
    kFrame,           // a complete frame: `payload`
    kTooLong,         // a frame of `length` > max_frame_bytes: skipped
    kMalformedLength  // a varint of more than 10 bytes: the stream is over
  };
  Kind kind = kNeedMore;
  std::string_view payload;
  uint64_t length = 0;
};

class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_frame_bytes)
      : max_frame_bytes_(max_frame_bytes) {}

  // Consumes bytes from the front of *bytes until it has an item, and
  // returns it; kNeedMore once *bytes is empty. After kMalformedLength
  // every later call consumes everything and returns kNeedMore.
  FrameItem Next(std::string_view* bytes);

  // Whether a frame has begun (some of its length or payload was read) and
  // not ended: at the end of the stream, a truncated final frame. A
  // too-long frame cut short is not counted again.
  bool mid_frame() const;

  // Whether a malformed length has ended the stream.
  bool broken() const { return state_ == State::kBroken; }

 private:
  enum class State : uint8_t {
    kLength,   // reading a length varint (`varint_bytes_` read so far)
    kPayload,  // reading `remaining_` more payload bytes into `buffer_`
    kSkip,     // discarding `remaining_` more bytes of a too-long frame
    kBroken,   // after a malformed length
  };

  // After a complete length: the item it makes (kTooLong, or kFrame for an
  // empty payload), or kNeedMore with the state set to read the payload.
  FrameItem StartFrame();

  const size_t max_frame_bytes_;
  State state_ = State::kLength;
  uint64_t length_ = 0;
  int varint_bytes_ = 0;
  bool overflow_ = false;  // the varint's value does not fit in 64 bits
  uint64_t remaining_ = 0;
  std::string buffer_;  // a payload that spans chunks
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_FRAME_DECODER_H_
