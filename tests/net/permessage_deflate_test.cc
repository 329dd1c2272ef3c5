// permessage-deflate: the compressor and decompressor on their own, then
// through WebSocketWriter and WebSocketParser (Autobahn sections 12 and 13:
// every parameter combination, messages of many sizes), plus the
// decompression-bomb and corrupt-data cases.

#include "net/permessage_deflate.h"

#include <zlib.h>

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/close_codes.h"
#include "net/websocket_frame.h"
#include "net/websocket_parser.h"
#include "net/websocket_writer.h"
#include "tests/net/websocket_test_util.h"

namespace troupe::net {
namespace {

using testing::Event;
using testing::FeedInPieces;
using testing::MakeParser;

std::vector<uint8_t> Text(size_t n, uint32_t seed = 1) {
  // Compressible but not trivial: words from a small vocabulary.
  static const char* kWords[] = {"room ",  "lobby ",  "message ", "hello ",
                                 "world ", "troupe ", "actor ",   "fan-out "};
  std::mt19937 rng(seed);
  std::vector<uint8_t> out;
  while (out.size() < n) {
    const char* w = kWords[rng() % 8];
    for (const char* p = w; *p != '\0' && out.size() < n; ++p) {
      out.push_back(static_cast<uint8_t>(*p));
    }
  }
  return out;
}

std::vector<uint8_t> Random(size_t n, uint32_t seed = 2) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

MessageDeflater Deflater(DeflateDirection d) {
  absl::StatusOr<MessageDeflater> r = MessageDeflater::Create(d);
  EXPECT_TRUE(r.ok()) << r.status();
  return std::move(*r);
}

MessageInflater Inflater(DeflateDirection d) {
  absl::StatusOr<MessageInflater> r = MessageInflater::Create(d);
  EXPECT_TRUE(r.ok()) << r.status();
  return std::move(*r);
}

constexpr size_t kNoLimit = size_t{1} << 30;

// === The codec on its own ================================================

struct Direction {
  int window_bits;
  bool no_context_takeover;
};

class DeflateRoundTrip : public ::testing::TestWithParam<Direction> {};

TEST_P(DeflateRoundTrip, RestoresEveryMessageOfASequence) {
  const DeflateDirection d{GetParam().window_bits,
                           GetParam().no_context_takeover};
  MessageDeflater deflater = Deflater(d);
  MessageInflater inflater = Inflater(d);
  std::vector<uint8_t> compressed;
  std::vector<uint8_t> restored;
  uint32_t seed = 0;
  for (size_t n : {0, 1, 16, 64, 125, 126, 1000, 65535, 65536, 200000}) {
    for (bool text : {true, false}) {
      const std::vector<uint8_t> message =
          text ? Text(n, ++seed) : Random(n, ++seed);
      ASSERT_TRUE(deflater.Compress(message, &compressed).ok());
      ASSERT_TRUE(inflater.Decompress(compressed, &restored, kNoLimit).ok());
      ASSERT_EQ(restored, message) << n << " text=" << text;
      if (text && n >= 1000) {
        EXPECT_LT(compressed.size(), n / 2);
      }
    }
  }
}

TEST_P(DeflateRoundTrip, RestoresAMessageSplitAtEveryCompressedByte) {
  const DeflateDirection d{GetParam().window_bits,
                           GetParam().no_context_takeover};
  MessageDeflater deflater = Deflater(d);
  const std::vector<uint8_t> message = Text(600);
  std::vector<uint8_t> compressed;
  ASSERT_TRUE(deflater.Compress(message, &compressed).ok());
  for (size_t split = 0; split <= compressed.size(); ++split) {
    MessageInflater inflater = Inflater(d);
    std::vector<uint8_t> out;
    const std::span<const uint8_t> all(compressed);
    ASSERT_TRUE(inflater.Inflate(all.first(split), &out, kNoLimit).ok());
    ASSERT_TRUE(inflater.Inflate(all.subspan(split), &out, kNoLimit).ok());
    ASSERT_TRUE(inflater.FinishMessage(&out, kNoLimit).ok());
    ASSERT_EQ(out, message) << split;
  }
}

std::string DirectionName(const ::testing::TestParamInfo<Direction>& info) {
  return "Bits" + std::to_string(info.param.window_bits) +
         (info.param.no_context_takeover ? "NoTakeover" : "Takeover");
}

// Autobahn 13.x: windows 8, 9, 15 and in between, with and without
// context takeover.
INSTANTIATE_TEST_SUITE_P(
    Autobahn13, DeflateRoundTrip,
    ::testing::Values(Direction{15, false}, Direction{15, true},
                      Direction{8, false}, Direction{8, true},
                      Direction{9, false}, Direction{9, true},
                      Direction{12, false}, Direction{12, true}),
    DirectionName);

TEST(MessageDeflater, ShrinksARepeatedMessageOnlyWithContextTakeover) {
  const std::vector<uint8_t> message = Random(500);  // incompressible alone
  for (bool takeover : {true, false}) {
    MessageDeflater deflater = Deflater({15, !takeover});
    std::vector<uint8_t> first;
    std::vector<uint8_t> second;
    ASSERT_TRUE(deflater.Compress(message, &first).ok());
    ASSERT_TRUE(deflater.Compress(message, &second).ok());
    if (takeover) {
      EXPECT_LT(second.size(), 50u);  // back-references to the first copy
    } else {
      EXPECT_EQ(second, first);
    }
  }
}

TEST(MessageDeflater, StripsTheSyncFlushTail) {
  MessageDeflater deflater = Deflater({15, false});
  std::vector<uint8_t> out;
  ASSERT_TRUE(deflater.Compress(Text(100), &out).ok());
  ASSERT_GE(out.size(), 4u);
  EXPECT_NE(std::vector<uint8_t>(out.end() - 4, out.end()),
            (std::vector<uint8_t>{0, 0, 0xff, 0xff}));
  // RFC 7692 7.2.3.1: "Hello" with no context takeover is f2 48 cd c9 c9 07 00.
  MessageDeflater fresh = Deflater({15, true});
  ASSERT_TRUE(fresh.Compress(AsBytes("Hello"), &out).ok());
  EXPECT_EQ(out,
            (std::vector<uint8_t>{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
}

TEST(MessageInflater, DecodesTheRfc7692Examples) {
  MessageInflater inflater = Inflater({15, false});
  std::vector<uint8_t> out;
  // 7.2.3.1 / 7.2.3.2: the same message twice, the second referring back.
  ASSERT_TRUE(inflater
                  .Decompress(std::vector<uint8_t>{0xf2, 0x48, 0xcd, 0xc9, 0xc9,
                                                   0x07, 0x00},
                              &out, kNoLimit)
                  .ok());
  EXPECT_EQ(AsChars(out), "Hello");
  ASSERT_TRUE(
      inflater
          .Decompress(std::vector<uint8_t>{0xf2, 0x00, 0x11, 0x00, 0x00}, &out,
                      kNoLimit)
          .ok());
  EXPECT_EQ(AsChars(out), "Hello");
  // 7.2.3.3: a stored (uncompressed) block.
  ASSERT_TRUE(
      inflater
          .Decompress(std::vector<uint8_t>{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                           0x65, 0x6c, 0x6c, 0x6f, 0x00},
                      &out, kNoLimit)
          .ok());
  EXPECT_EQ(AsChars(out), "Hello");
  // 7.2.3.5: a message ending in a final (BFINAL) block; the window
  // survives for the next message.
  ASSERT_TRUE(inflater
                  .Decompress(std::vector<uint8_t>{0xf3, 0x48, 0xcd, 0xc9, 0xc9,
                                                   0x07, 0x00, 0x00},
                              &out, kNoLimit)
                  .ok());
  EXPECT_EQ(AsChars(out), "Hello");
  ASSERT_TRUE(
      inflater
          .Decompress(std::vector<uint8_t>{0xf2, 0x00, 0x11, 0x00, 0x00}, &out,
                      kNoLimit)
          .ok());
  EXPECT_EQ(AsChars(out), "Hello");
}

TEST(MessageInflater, TreatsAnEmptyPayloadAsAnEmptyMessage) {
  MessageDeflater deflater = Deflater({15, false});
  MessageInflater inflater = Inflater({15, false});
  std::vector<uint8_t> compressed;
  std::vector<uint8_t> out;
  ASSERT_TRUE(deflater.Compress({}, &compressed).ok());
  EXPECT_EQ(compressed, std::vector<uint8_t>{0x00});
  ASSERT_TRUE(inflater.Decompress(compressed, &out, kNoLimit).ok());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(inflater.Decompress({}, &out, kNoLimit).ok());
  EXPECT_TRUE(out.empty());
  // The stream is still in step afterwards.
  ASSERT_TRUE(deflater.Compress(Text(50), &compressed).ok());
  ASSERT_TRUE(inflater.Decompress(compressed, &out, kNoLimit).ok());
  EXPECT_EQ(out, Text(50));
}

TEST(MessageDeflater, OutputFor8BitWindowsInflatesWithA256ByteWindow) {
  // zlib deflates "8" with a 9-bit window; check with zlib's own raw
  // inflater at 8 bits, across messages sharing the window.
  MessageDeflater deflater = Deflater({8, false});
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, -8), Z_OK);
  std::vector<uint8_t> compressed;
  for (int i = 0; i < 50; ++i) {
    const std::vector<uint8_t> message = Text(2000, static_cast<uint32_t>(i));
    ASSERT_TRUE(deflater.Compress(message, &compressed).ok());
    compressed.insert(compressed.end(), {0x00, 0x00, 0xff, 0xff});
    std::vector<uint8_t> out(message.size() + 64);
    z.next_in = compressed.data();
    z.avail_in = static_cast<uInt>(compressed.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    ASSERT_EQ(inflate(&z, Z_SYNC_FLUSH), Z_OK) << (z.msg ? z.msg : "");
    const size_t produced = out.size() - z.avail_out;
    ASSERT_EQ(std::vector<uint8_t>(out.begin(),
                                   out.begin() + static_cast<long>(produced)),
              message)
        << i;
  }
  inflateEnd(&z);
}

TEST(MessageInflater, StopsADecompressionBombAtTheLimit) {
  // 64 MiB of zeros compress to about 64 KiB.
  MessageDeflater deflater = Deflater({15, false});
  const std::vector<uint8_t> zeros(64 << 20, 0);
  std::vector<uint8_t> bomb;
  ASSERT_TRUE(deflater.Compress(zeros, &bomb).ok());
  ASSERT_LT(bomb.size(), 100u * 1024);
  MessageInflater inflater = Inflater({15, false});
  std::vector<uint8_t> out;
  const size_t limit = 1 << 20;
  const absl::Status s = inflater.Decompress(bomb, &out, limit);
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  EXPECT_LE(out.size(), limit + 1);
  EXPECT_LE(out.capacity(), 4 * limit);
}

TEST(MessageInflater, AcceptsAMessageExactlyAtTheLimit) {
  MessageDeflater deflater = Deflater({15, true});
  MessageInflater inflater = Inflater({15, true});
  std::vector<uint8_t> compressed;
  std::vector<uint8_t> out;
  const std::vector<uint8_t> message = Text(10000);
  ASSERT_TRUE(deflater.Compress(message, &compressed).ok());
  EXPECT_TRUE(inflater.Decompress(compressed, &out, 10000).ok());
  EXPECT_EQ(out, message);
  ASSERT_TRUE(deflater.Compress(message, &compressed).ok());
  EXPECT_TRUE(
      absl::IsResourceExhausted(inflater.Decompress(compressed, &out, 9999)));
}

TEST(MessageInflater, RejectsCorruptDataAsDataLoss) {
  MessageInflater inflater = Inflater({15, false});
  std::vector<uint8_t> out;
  // BTYPE 11 is reserved.
  EXPECT_TRUE(absl::IsDataLoss(inflater.Decompress(
      std::vector<uint8_t>{0xff, 0xff, 0xff}, &out, kNoLimit)));
}

TEST(MessageDeflater, RejectsInvalidParameters) {
  EXPECT_FALSE(MessageDeflater::Create({7, false}).ok());
  EXPECT_FALSE(MessageDeflater::Create({16, false}).ok());
  EXPECT_FALSE(MessageDeflater::Create({15, false}, 10).ok());
  EXPECT_FALSE(MessageInflater::Create({7, false}).ok());
}

// === Through the writer and the parser ===================================

struct ParamsCase {
  const char* name;
  DeflateParams params;
};

DeflateParams P(bool snct, bool cnct, int smwb, int cmwb) {
  DeflateParams p;
  p.server_no_context_takeover = snct;
  p.client_no_context_takeover = cnct;
  p.server_max_window_bits = smwb;
  p.client_max_window_bits = cmwb;
  return p;
}

class DeflateConnection : public ::testing::TestWithParam<ParamsCase> {};

// Sends `messages` from `from` to the opposite role and returns what the
// receiving parser delivered.
std::vector<Event> SendAll(Role from, const DeflateParams& params,
                           const std::vector<std::vector<uint8_t>>& messages,
                           size_t piece) {
  WebSocketWriterOptions writer_options;
  writer_options.role = from;
  writer_options.deflate = params;
  absl::StatusOr<WebSocketWriter> writer =
      WebSocketWriter::Create(writer_options);
  EXPECT_TRUE(writer.ok());
  std::string wire;
  for (size_t i = 0; i < messages.size(); ++i) {
    const Opcode opcode = i % 2 == 0 ? Opcode::kText : Opcode::kBinary;
    absl::StatusOr<WebSocketWriter::Frame> frame =
        writer->WriteMessage(opcode, messages[i]);
    EXPECT_TRUE(frame.ok());
    wire.append(frame->header.view());
    wire.append(AsChars(frame->payload));
  }
  WebSocketParserOptions parser_options;
  parser_options.role = from == Role::kClient ? Role::kServer : Role::kClient;
  parser_options.deflate = params;
  WebSocketParser parser = MakeParser(parser_options);
  return FeedInPieces(parser, wire, piece);
}

TEST_P(DeflateConnection, DeliversEveryMessageInBothDirections) {
  std::vector<std::vector<uint8_t>> messages;
  uint32_t seed = 10;
  // Autobahn 12.x sizes (16 B .. 128 KiB), text-like and random.
  for (size_t n :
       {0, 16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072}) {
    messages.push_back(Text(n, ++seed));
    messages.push_back(Random(n, ++seed));
  }
  for (Role from : {Role::kClient, Role::kServer}) {
    for (size_t piece : {size_t{1} << 30, size_t{1000}}) {
      const std::vector<Event> events =
          SendAll(from, GetParam().params, messages, piece);
      ASSERT_EQ(events.size(), messages.size());
      for (size_t i = 0; i < events.size(); ++i) {
        ASSERT_EQ(events[i].type, i % 2 == 0 ? WebSocketEventType::kText
                                             : WebSocketEventType::kBinary)
            << events[i].Describe();
        ASSERT_EQ(events[i].payload, std::string(AsChars(messages[i]))) << i;
      }
    }
  }
}

std::string ParamsName(const ::testing::TestParamInfo<ParamsCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Autobahn12And13, DeflateConnection,
    ::testing::Values(ParamsCase{"Defaults", P(false, false, 15, 15)},
                      ParamsCase{"NoContextTakeover", P(true, true, 15, 15)},
                      ParamsCase{"ServerNoTakeover", P(true, false, 15, 15)},
                      ParamsCase{"ClientNoTakeover", P(false, true, 15, 15)},
                      ParamsCase{"Windows8", P(false, false, 8, 8)},
                      ParamsCase{"Windows8NoTakeover", P(true, true, 8, 8)},
                      ParamsCase{"Windows9And12", P(false, false, 9, 12)}),
    ParamsName);

std::string CompressedFrames(const std::vector<uint8_t>& message, Opcode opcode,
                             size_t fragments) {
  MessageDeflater deflater = Deflater({15, false});
  std::vector<uint8_t> compressed;
  EXPECT_TRUE(deflater.Compress(message, &compressed).ok());
  std::string wire;
  const size_t step = (compressed.size() + fragments - 1) / fragments;
  for (size_t i = 0; i < fragments; ++i) {
    const size_t begin = std::min(i * step, compressed.size());
    const size_t end = std::min(begin + step, compressed.size());
    AppendFrame(
        &wire, i == 0 ? opcode : Opcode::kContinuation,
        std::span<const uint8_t>(compressed).subspan(begin, end - begin),
        i + 1 == fragments, /*rsv1=*/i == 0, testing::kTestMask);
  }
  return wire;
}

WebSocketParserOptions DeflateServer(uint64_t max_message = 16 << 20) {
  WebSocketParserOptions options;
  options.deflate = DeflateParams{};
  options.max_message_size = max_message;
  return options;
}

TEST(WebSocketParser, InflatesACompressedMessageSplitIntoFragments) {
  const std::vector<uint8_t> message = Text(5000);
  for (size_t fragments : {1, 2, 3, 10}) {
    WebSocketParser parser = MakeParser(DeflateServer());
    const std::string wire =
        CompressedFrames(message, Opcode::kText, fragments) +
        testing::ClientFrame(Opcode::kText, "plain");
    const std::vector<Event> events = FeedInPieces(parser, wire, 7);
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].payload, std::string(AsChars(message)));
    EXPECT_EQ(events[1].payload, "plain");
  }
}

TEST(WebSocketParser, RejectsRsv1OnAContinuationFrameWith1002) {
  WebSocketParser parser = MakeParser(DeflateServer());
  std::string wire;
  AppendFrame(&wire, Opcode::kText, AsBytes("a"), false, true,
              testing::kTestMask);
  AppendFrame(&wire, Opcode::kContinuation, AsBytes("b"), true, true,
              testing::kTestMask);
  const std::vector<Event> events = FeedInPieces(parser, wire, wire.size());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kProtocolError);
}

TEST(WebSocketParser, RejectsACompressedDecompressionBombWith1009) {
  const std::vector<uint8_t> zeros(32 << 20, 0);
  WebSocketParser parser = MakeParser(DeflateServer(1 << 20));
  const std::string wire = CompressedFrames(zeros, Opcode::kBinary, 1);
  const std::vector<Event> events = FeedInPieces(parser, wire, wire.size());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kMessageTooBig);
}

TEST(WebSocketParser, FailsFastOnInvalidUtf8InACompressedMessage) {
  // The invalid byte is early in the message; only the first of four
  // fragments is fed and the error must already be there.
  std::vector<uint8_t> message = Text(20000);
  message[10] = 0xff;
  const std::string wire = CompressedFrames(message, Opcode::kText, 4);
  WebSocketParser parser = MakeParser(DeflateServer());
  std::vector<uint8_t> first_frame_only;
  {
    FrameDecoder decoder({.role = Role::kServer, .allow_rsv1 = true});
    std::vector<uint8_t> copy(wire.begin(), wire.end());
    const FrameDecoder::Result r = decoder.Decode(copy);
    ASSERT_TRUE(r.frame_end);
    first_frame_only.assign(wire.begin(),
                            wire.begin() + static_cast<long>(r.consumed));
  }
  const WebSocketEvent e = parser.Parse(first_frame_only);
  EXPECT_EQ(e.type, WebSocketEventType::kError);
  EXPECT_EQ(e.close_code, close_code::kInvalidPayload);
}

TEST(WebSocketParser, RejectsCorruptCompressedDataWith1007) {
  WebSocketParser parser = MakeParser(DeflateServer());
  std::string wire;
  AppendFrame(&wire, Opcode::kBinary, std::vector<uint8_t>{0xff, 0xff, 0xff},
              true, true, testing::kTestMask);
  const std::vector<Event> events = FeedInPieces(parser, wire, wire.size());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].code, close_code::kInvalidPayload);
}

TEST(WebSocketWriter, SendsSmallMessagesUncompressed) {
  absl::StatusOr<WebSocketWriter> writer =
      WebSocketWriter::Create({.deflate = DeflateParams{}});
  ASSERT_TRUE(writer.ok());
  const std::string small = "tiny";
  absl::StatusOr<WebSocketWriter::Frame> frame =
      writer->WriteMessage(Opcode::kText, AsBytes(small));
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->header.data()[0], 0x81);  // FIN, no RSV1
  // Server role, uncompressed: the payload is the caller's buffer.
  EXPECT_EQ(frame->payload.data(),
            reinterpret_cast<const uint8_t*>(small.data()));
  const std::vector<uint8_t> big = Text(1000);
  frame = writer->WriteMessage(Opcode::kText, big);
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->header.data()[0], 0xC1);  // FIN, RSV1
  EXPECT_LT(frame->payload.size(), big.size());
}

TEST(WebSocketWriter, MasksClientFramesWithTheKeyFromItsSource) {
  absl::StatusOr<WebSocketWriter> writer =
      WebSocketWriter::Create({.role = Role::kClient});
  ASSERT_TRUE(writer.ok());
  writer->set_mask_source([] { return MaskKey{1, 2, 3, 4}; });
  const std::string text = "masked";
  absl::StatusOr<WebSocketWriter::Frame> frame =
      writer->WriteMessage(Opcode::kText, AsBytes(text));
  ASSERT_TRUE(frame.ok());
  EXPECT_EQ(frame->header.view(), std::string("\x81\x86\x01\x02\x03\x04", 6));
  std::vector<uint8_t> payload(frame->payload.begin(), frame->payload.end());
  ApplyMask(payload, {1, 2, 3, 4});
  EXPECT_EQ(AsChars(payload), text);
  EXPECT_EQ(text, "masked");  // the caller's bytes are untouched
}

TEST(WebSocketWriter, DrawsAFreshRandomMaskForEveryClientFrame) {
  absl::StatusOr<WebSocketWriter> writer =
      WebSocketWriter::Create({.role = Role::kClient});
  ASSERT_TRUE(writer.ok());
  std::vector<std::string> masks;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<WebSocketWriter::Frame> frame =
        writer->WriteControl(Opcode::kPing, AsBytes("p"));
    ASSERT_TRUE(frame.ok());
    masks.emplace_back(frame->header.view().substr(2, 4));
  }
  std::sort(masks.begin(), masks.end());
  EXPECT_GT(std::unique(masks.begin(), masks.end()) - masks.begin(), 95);
}

TEST(WebSocketWriter, RefusesOpcodesOfTheWrongKind) {
  absl::StatusOr<WebSocketWriter> writer = WebSocketWriter::Create({});
  ASSERT_TRUE(writer.ok());
  EXPECT_FALSE(writer->WriteMessage(Opcode::kPing, {}).ok());
  EXPECT_FALSE(writer->WriteControl(Opcode::kText, {}).ok());
  absl::StatusOr<WebSocketWriter::Frame> close =
      writer->WriteControl(Opcode::kClose, std::vector<uint8_t>(200, 'x'));
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->payload.size(), kMaxControlPayload);
}

}  // namespace
}  // namespace troupe::net
