// The binary framing of --listen (frame_decoder.h): preamble detection, and
// the frame decoder fed the same stream split at every byte boundary, byte
// by byte and whole - frames of every length-varint size, empty frames,
// too-long frames whose bytes are skipped, truncated ends and malformed
// lengths.

#include "examples/stream_aggregator/frame_decoder.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace troupe::aggregator {
namespace {

// A decoded item with its payload copied out.
struct Item {
  FrameItem::Kind kind;
  std::string payload;
  uint64_t length;
  bool operator==(const Item&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Item& item) {
  return os << "{kind " << static_cast<int>(item.kind) << ", "
            << item.payload.size() << " payload bytes, length " << item.length
            << "}";
}

std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out += static_cast<char>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  out += static_cast<char>(value);
  return out;
}

std::string Frame(std::string_view payload) {
  return Varint(payload.size()) + std::string(payload);
}

// A payload of `n` bytes that differ from each other's neighbours.
std::string Payload(size_t n, char seed) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>(seed + i * 7);
  return out;
}

// Decodes `chunks` one after the other.
std::vector<Item> Decode(FrameDecoder& decoder,
                         const std::vector<std::string_view>& chunks) {
  std::vector<Item> items;
  for (std::string_view chunk : chunks) {
    for (FrameItem item = decoder.Next(&chunk);
         item.kind != FrameItem::kNeedMore; item = decoder.Next(&chunk)) {
      items.push_back(Item{item.kind, std::string(item.payload), item.length});
    }
    EXPECT_TRUE(chunk.empty());
  }
  return items;
}

std::vector<Item> DecodeWhole(std::string_view bytes, size_t limit) {
  FrameDecoder decoder(limit);
  return Decode(decoder, {bytes});
}

constexpr size_t kLimit = 200;

// Frames of 0, 1, 127 (1-byte length), 128, 200 (2 bytes), a too-long one
// of 201 bytes and one of 16384 (3-byte length), then two more.
struct Stream {
  std::string bytes;
  std::vector<Item> items;
};

Stream MixedStream() {
  Stream s;
  const auto add = [&](size_t n, char seed) {
    const std::string payload = Payload(n, seed);
    s.bytes += Frame(payload);
    if (n > kLimit) {
      s.items.push_back(Item{FrameItem::kTooLong, "", n});
    } else {
      s.items.push_back(Item{FrameItem::kFrame, payload, n});
    }
  };
  add(0, 'a');
  add(1, 'b');
  add(127, 'c');
  add(128, 'd');
  add(kLimit, 'e');
  add(kLimit + 1, 'f');
  add(16'384, 'g');
  add(3, 'h');
  add(0, 'i');
  return s;
}

TEST(DetectFramingTest, OnlyTheWholePreambleAnnouncesProtobuf) {
  EXPECT_EQ(DetectFraming(""), Framing::kUndecided);
  EXPECT_EQ(DetectFraming(std::string_view("\0", 1)), Framing::kUndecided);
  EXPECT_EQ(DetectFraming(std::string_view("\0T", 2)), Framing::kUndecided);
  EXPECT_EQ(DetectFraming(std::string_view("\0TP", 3)), Framing::kUndecided);
  EXPECT_EQ(DetectFraming(std::string_view("\0TPB", 4)), Framing::kProtobuf);
  EXPECT_EQ(DetectFraming(std::string_view("\0TPB\x05xyz", 8)),
            Framing::kProtobuf);
  EXPECT_EQ(DetectFraming("{\"key\":\"a\"}"), Framing::kNdjson);
  EXPECT_EQ(DetectFraming(" "), Framing::kNdjson);
  EXPECT_EQ(DetectFraming("\n"), Framing::kNdjson);
  EXPECT_EQ(DetectFraming(std::string_view("\0X", 2)), Framing::kNdjson);
  EXPECT_EQ(DetectFraming(std::string_view("\0TPb", 4)), Framing::kNdjson);
  EXPECT_EQ(DetectFraming("TPB"), Framing::kNdjson);
}

TEST(FrameDecoderTest, AWholeStreamGivesEveryFrameInOrder) {
  const Stream s = MixedStream();
  EXPECT_EQ(DecodeWhole(s.bytes, kLimit), s.items);
}

TEST(FrameDecoderTest, ASplitAtEveryByteBoundaryGivesTheSameFrames) {
  const Stream s = MixedStream();
  for (size_t cut = 0; cut <= s.bytes.size(); ++cut) {
    FrameDecoder decoder(kLimit);
    const std::string_view bytes(s.bytes);
    ASSERT_EQ(Decode(decoder, {bytes.substr(0, cut), bytes.substr(cut)}),
              s.items)
        << "split at byte " << cut;
    EXPECT_FALSE(decoder.mid_frame());
  }
}

TEST(FrameDecoderTest, OneByteAtATimeGivesTheSameFrames) {
  const Stream s = MixedStream();
  FrameDecoder decoder(kLimit);
  std::vector<std::string_view> chunks;
  for (size_t i = 0; i < s.bytes.size(); ++i) {
    chunks.push_back(std::string_view(s.bytes).substr(i, 1));
  }
  EXPECT_EQ(Decode(decoder, chunks), s.items);
}

TEST(FrameDecoderTest, EveryCutInsideAFrameIsMidFrameAndNoneBetweenFrames) {
  const std::string first = Frame(Payload(130, 'x'));  // a 2-byte length
  const std::string bytes = first + Frame("ab");
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    FrameDecoder decoder(kLimit);
    const std::vector<Item> items = Decode(decoder, {bytes.substr(0, cut)});
    const bool between = cut == 0 || cut == first.size() || cut == bytes.size();
    EXPECT_EQ(decoder.mid_frame(), !between) << "cut at byte " << cut;
    EXPECT_EQ(items.size(), cut < first.size()   ? 0u
                            : cut < bytes.size() ? 1u
                                                 : 2u);
  }
}

TEST(FrameDecoderTest, ACutTooLongFrameIsNotMidFrame) {
  FrameDecoder decoder(kLimit);
  const std::string bytes = Frame(Payload(kLimit + 50, 'z'));
  const std::vector<Item> items = Decode(decoder, {bytes.substr(0, 20)});
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].kind, FrameItem::kTooLong);
  EXPECT_EQ(items[0].length, kLimit + 50);
  EXPECT_FALSE(decoder.mid_frame());
}

TEST(FrameDecoderTest, ATenByteLengthIsALengthAndAnEleventhByteIsMalformed) {
  // Zero written in 10 bytes (non-minimal, but a valid varint): an empty
  // frame.
  std::string ten(9, '\x80');
  ten += '\0';
  EXPECT_EQ(DecodeWhole(ten + Frame("ok"), kLimit),
            (std::vector<Item>{{FrameItem::kFrame, "", 0},
                               {FrameItem::kFrame, "ok", 2}}));
  // The largest 64-bit length: too long, skipped.
  std::string max(9, '\xff');
  max += '\x01';
  EXPECT_EQ(DecodeWhole(max, kLimit),
            (std::vector<Item>{{FrameItem::kTooLong, "", UINT64_MAX}}));
  // A 10th byte beyond bit 63: the value does not fit, too long as well.
  std::string over(9, '\xff');
  over += '\x7f';
  EXPECT_EQ(DecodeWhole(over, kLimit),
            (std::vector<Item>{{FrameItem::kTooLong, "", UINT64_MAX}}));
  // More than 10 bytes: malformed, and nothing after it is read.
  const std::string eleven = std::string(10, '\xff') + '\x01' + Frame("ok");
  for (size_t cut = 0; cut <= eleven.size(); ++cut) {
    FrameDecoder decoder(kLimit);
    const std::string_view bytes(eleven);
    EXPECT_EQ(Decode(decoder, {bytes.substr(0, cut), bytes.substr(cut)}),
              (std::vector<Item>{{FrameItem::kMalformedLength, "", 0}}))
        << "split at byte " << cut;
    EXPECT_TRUE(decoder.broken());
  }
}

TEST(FrameDecoderTest, TheFrameAfterATooLongOneIsReadAgain) {
  const std::string bytes =
      Frame("one") + Frame(Payload(kLimit * 3, 'q')) + Frame("two");
  EXPECT_EQ(DecodeWhole(bytes, kLimit),
            (std::vector<Item>{{FrameItem::kFrame, "one", 3},
                               {FrameItem::kTooLong, "", kLimit * 3},
                               {FrameItem::kFrame, "two", 3}}));
}

TEST(FrameDecoderTest, APayloadOfExactlyTheLimitIsAFrame) {
  const std::string payload = Payload(kLimit, 'l');
  EXPECT_EQ(DecodeWhole(Frame(payload), kLimit),
            (std::vector<Item>{{FrameItem::kFrame, payload, kLimit}}));
}

}  // namespace
}  // namespace troupe::aggregator
