// FrameDecoder, EncodeFrameHeader and ApplyMask: RFC 6455 section 5 framing
// (Autobahn section 1 lengths, 3 reserved bits, 4 opcodes, and the header
// rules of 2 and 5).

#include "net/websocket_frame.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/close_codes.h"

namespace troupe::net {
namespace {

constexpr MaskKey kMask = {0x12, 0x34, 0x56, 0x78};

std::vector<uint8_t> Bytes(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
  return s;
}

// --- Encoder -----------------------------------------------------------

struct LengthCase {
  uint64_t length;
  size_t header_size;  // unmasked
};

class LengthEncoding : public ::testing::TestWithParam<LengthCase> {};

TEST_P(LengthEncoding, UsesTheShortestFormAtEachBoundary) {
  FrameHeader header;
  header.opcode = Opcode::kBinary;
  header.payload_length = GetParam().length;
  const EncodedFrameHeader plain = EncodeFrameHeader(header);
  EXPECT_EQ(plain.size(), GetParam().header_size);
  EXPECT_EQ(plain.data()[0], 0x82);
  header.masked = true;
  header.mask = kMask;
  const EncodedFrameHeader masked = EncodeFrameHeader(header);
  ASSERT_EQ(masked.size(), GetParam().header_size + 4);
  EXPECT_EQ(masked.data()[1] & 0x80, 0x80);
  EXPECT_EQ(std::vector<uint8_t>(masked.data() + masked.size() - 4,
                                 masked.data() + masked.size()),
            std::vector<uint8_t>(kMask.begin(), kMask.end()));

  // The decoder reads back the same header.
  std::vector<uint8_t> wire(masked.data(), masked.data() + masked.size());
  FrameDecoder decoder(
      {.role = Role::kServer, .max_frame_size = uint64_t{1} << 40});
  const FrameDecoder::Result r = decoder.Decode(wire);
  ASSERT_EQ(r.status, FrameDecoder::Status::kChunk);
  EXPECT_TRUE(r.frame_start);
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_EQ(decoder.header().payload_length, GetParam().length);
  EXPECT_EQ(r.frame_end, GetParam().length == 0);
}

INSTANTIATE_TEST_SUITE_P(
    Boundaries, LengthEncoding,
    ::testing::Values(LengthCase{0, 2}, LengthCase{1, 2}, LengthCase{125, 2},
                      LengthCase{126, 4}, LengthCase{127, 4},
                      LengthCase{65535, 4}, LengthCase{65536, 10},
                      LengthCase{uint64_t{1} << 32, 10},
                      LengthCase{(uint64_t{1} << 40) - 1, 10}));

TEST(EncodeFrameHeader, WritesTheExactBytesOfEachLengthForm) {
  FrameHeader h;
  h.opcode = Opcode::kText;
  h.payload_length = 125;
  EXPECT_EQ(EncodeFrameHeader(h).view(), std::string("\x81\x7d", 2));
  h.payload_length = 126;
  EXPECT_EQ(EncodeFrameHeader(h).view(), std::string("\x81\x7e\x00\x7e", 4));
  h.payload_length = 65535;
  EXPECT_EQ(EncodeFrameHeader(h).view(), std::string("\x81\x7e\xff\xff", 4));
  h.payload_length = 65536;
  EXPECT_EQ(EncodeFrameHeader(h).view(),
            std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
}

TEST(EncodeFrameHeader, SetsFinRsv1AndOpcodeBits) {
  FrameHeader h;
  h.fin = false;
  h.rsv1 = true;
  h.opcode = Opcode::kText;
  EXPECT_EQ(EncodeFrameHeader(h).data()[0], 0x41);
  h.fin = true;
  h.rsv1 = false;
  h.opcode = Opcode::kPong;
  EXPECT_EQ(EncodeFrameHeader(h).data()[0], 0x8A);
  h.opcode = Opcode::kContinuation;
  EXPECT_EQ(EncodeFrameHeader(h).data()[0], 0x80);
}

// --- Masking -------------------------------------------------------------

TEST(ApplyMask, MatchesBytewiseXorForEveryLengthAndOffset) {
  std::mt19937 rng(7);
  for (size_t length = 0; length < 80; ++length) {
    for (uint64_t offset = 0; offset < 8; ++offset) {
      std::vector<uint8_t> data(length);
      for (uint8_t& b : data) b = static_cast<uint8_t>(rng());
      std::vector<uint8_t> expected = data;
      for (size_t i = 0; i < length; ++i) {
        expected[i] ^= kMask[(i + offset) % 4];
      }
      ApplyMask(data, kMask, offset);
      ASSERT_EQ(data, expected) << length << " " << offset;
    }
  }
}

TEST(ApplyMask, UnmasksAPayloadMaskedInArbitraryPieces) {
  const std::string text = Pattern(1000);
  std::vector<uint8_t> data = Bytes(text);
  ApplyMask(data, kMask);
  size_t pos = 0;
  for (size_t piece : {1, 2, 3, 5, 8, 13, 100, 333, 1000}) {
    const size_t n = std::min(piece, data.size() - pos);
    ApplyMask(std::span<uint8_t>(data).subspan(pos, n), kMask, pos);
    pos += n;
  }
  EXPECT_EQ(std::string(data.begin(), data.end()), text);
}

TEST(ApplyMask, WorksOnUnalignedBuffers) {
  std::vector<uint8_t> storage(200, 0xAA);
  for (size_t start = 0; start < 8; ++start) {
    std::span<uint8_t> view = std::span<uint8_t>(storage).subspan(start, 150);
    ApplyMask(view, kMask);
    ApplyMask(view, kMask);
  }
  EXPECT_EQ(storage, std::vector<uint8_t>(200, 0xAA));
}

// --- Decoder -------------------------------------------------------------

std::string MaskedFrame(Opcode opcode, std::string_view payload,
                        bool fin = true) {
  std::string out;
  AppendFrame(&out, opcode, AsBytes(payload), fin, false, kMask);
  return out;
}

// Decodes `wire` fed in pieces of `piece` bytes; returns the frames'
// payloads concatenated per frame.
std::vector<std::string> DecodeFrames(std::string_view wire, size_t piece,
                                      FrameDecoderOptions options = {}) {
  FrameDecoder decoder(options);
  std::vector<std::string> frames;
  std::string current;
  for (size_t offset = 0; offset < wire.size(); offset += piece) {
    std::vector<uint8_t> buffer =
        Bytes(wire.substr(offset, std::min(piece, wire.size() - offset)));
    std::span<uint8_t> rest(buffer);
    for (;;) {
      const FrameDecoder::Result r = decoder.Decode(rest);
      rest = rest.subspan(r.consumed);
      if (r.status == FrameDecoder::Status::kNeedMore) break;
      EXPECT_EQ(r.status, FrameDecoder::Status::kChunk) << r.reason;
      if (r.status != FrameDecoder::Status::kChunk) return frames;
      if (r.frame_start) current.clear();
      current.append(AsChars(r.data));
      if (r.frame_end) frames.push_back(current);
    }
    EXPECT_TRUE(rest.empty());
  }
  return frames;
}

TEST(FrameDecoder, DecodesFramesOfEveryLengthFormFedInAnyPieceSize) {
  for (size_t length : {0, 1, 125, 126, 127, 65535, 65536}) {
    const std::string payload = Pattern(length);
    const std::string wire = MaskedFrame(Opcode::kBinary, payload) +
                             MaskedFrame(Opcode::kText, "tail");
    for (size_t piece :
         {size_t{1}, size_t{3}, size_t{7}, size_t{1000}, wire.size()}) {
      if (piece == 1 && length > 200) continue;  // covered by smaller sizes
      const std::vector<std::string> frames = DecodeFrames(wire, piece);
      ASSERT_EQ(frames.size(), 2u) << length << "/" << piece;
      EXPECT_EQ(frames[0], payload);
      EXPECT_EQ(frames[1], "tail");
    }
  }
}

TEST(FrameDecoder, ReassemblesAHeaderSplitAtEveryByteBoundary) {
  const std::string payload = Pattern(70000);  // 64-bit length + mask: 14
  const std::string wire = MaskedFrame(Opcode::kBinary, payload);
  for (size_t split = 1; split < 14; ++split) {
    FrameDecoder decoder({.role = Role::kServer});
    std::vector<uint8_t> first = Bytes(std::string_view(wire).substr(0, split));
    const FrameDecoder::Result a = decoder.Decode(first);
    EXPECT_EQ(a.status, FrameDecoder::Status::kNeedMore);
    EXPECT_EQ(a.consumed, split);
    std::vector<uint8_t> second = Bytes(std::string_view(wire).substr(split));
    const FrameDecoder::Result b = decoder.Decode(second);
    ASSERT_EQ(b.status, FrameDecoder::Status::kChunk);
    EXPECT_TRUE(b.frame_start);
    EXPECT_TRUE(b.frame_end);
    EXPECT_EQ(decoder.header().payload_length, payload.size());
    EXPECT_EQ(AsChars(b.data), payload);
  }
}

TEST(FrameDecoder, ReportsFrameStartBeforeAnyPayloadArrives) {
  const std::string wire = MaskedFrame(Opcode::kText, "hello");
  FrameDecoder decoder;
  std::vector<uint8_t> header = Bytes(std::string_view(wire).substr(0, 6));
  const FrameDecoder::Result r = decoder.Decode(header);
  ASSERT_EQ(r.status, FrameDecoder::Status::kChunk);
  EXPECT_TRUE(r.frame_start);
  EXPECT_FALSE(r.frame_end);
  EXPECT_TRUE(r.data.empty());
  EXPECT_EQ(decoder.header().payload_length, 5u);
  EXPECT_EQ(decoder.header().opcode, Opcode::kText);
}

TEST(FrameDecoder, UnmasksInPlaceWithoutCopying) {
  std::vector<uint8_t> wire = Bytes(MaskedFrame(Opcode::kText, "zero copy"));
  FrameDecoder decoder;
  const FrameDecoder::Result r = decoder.Decode(wire);
  ASSERT_EQ(r.status, FrameDecoder::Status::kChunk);
  EXPECT_EQ(r.data.data(), wire.data() + 6);
  EXPECT_EQ(std::string(wire.begin() + 6, wire.end()), "zero copy");
}

TEST(FrameDecoder, StopsAtTheEndOfAFrameLeavingTheNextOne) {
  std::vector<uint8_t> wire = Bytes(MaskedFrame(Opcode::kText, "one") +
                                    MaskedFrame(Opcode::kText, "two"));
  FrameDecoder decoder;
  const FrameDecoder::Result r = decoder.Decode(wire);
  EXPECT_EQ(r.consumed, 9u);
  EXPECT_EQ(AsChars(r.data), "one");
}

TEST(FrameDecoder, AcceptsUnmaskedFramesInTheClientRole) {
  std::string wire;
  AppendFrame(&wire, Opcode::kText, AsBytes("from server"));
  EXPECT_EQ(DecodeFrames(wire, wire.size(), {.role = Role::kClient}),
            std::vector<std::string>{"from server"});
}

struct HeaderRuleCase {
  const char* name;
  std::vector<uint8_t> bytes;  // header (+ payload)
  Role role;
  bool allow_rsv1;
  uint16_t close_code;  // 0: accepted
};

class HeaderRule : public ::testing::TestWithParam<HeaderRuleCase> {};

TEST_P(HeaderRule, IsEnforcedWithTheRightCloseCode) {
  FrameDecoder decoder({.role = GetParam().role,
                        .allow_rsv1 = GetParam().allow_rsv1,
                        .max_frame_size = 1000});
  std::vector<uint8_t> bytes = GetParam().bytes;
  const FrameDecoder::Result r = decoder.Decode(bytes);
  if (GetParam().close_code == 0) {
    EXPECT_EQ(r.status, FrameDecoder::Status::kChunk) << r.reason;
  } else {
    ASSERT_EQ(r.status, FrameDecoder::Status::kError);
    EXPECT_EQ(r.close_code, GetParam().close_code);
    EXPECT_FALSE(r.reason.empty());
    // Sticky.
    const FrameDecoder::Result again = decoder.Decode(bytes);
    EXPECT_EQ(again.status, FrameDecoder::Status::kError);
    EXPECT_EQ(again.close_code, GetParam().close_code);
  }
}

std::string HeaderRuleName(const ::testing::TestParamInfo<HeaderRuleCase>& i) {
  return i.param.name;
}

constexpr uint16_t k1002 = close_code::kProtocolError;
constexpr uint16_t k1009 = close_code::kMessageTooBig;
constexpr Role kS = Role::kServer;
constexpr Role kC = Role::kClient;

// Masked headers: byte1 has 0x80 and four mask bytes follow.
INSTANTIATE_TEST_SUITE_P(
    Table, HeaderRule,
    ::testing::Values(
        HeaderRuleCase{
            "MaskedTextToServer", {0x81, 0x80, 1, 2, 3, 4}, kS, false, 0},
        HeaderRuleCase{"UnmaskedTextToServer", {0x81, 0x00}, kS, false, k1002},
        HeaderRuleCase{"UnmaskedPingToServer", {0x89, 0x00}, kS, false, k1002},
        HeaderRuleCase{
            "MaskedTextToClient", {0x81, 0x80, 1, 2, 3, 4}, kC, false, k1002},
        HeaderRuleCase{"UnmaskedTextToClient", {0x81, 0x00}, kC, false, 0},
        HeaderRuleCase{
            "Rsv1WithoutDeflate", {0xC1, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"Rsv2", {0xA1, 0x80, 1, 2, 3, 4}, kS, true, k1002},
        HeaderRuleCase{"Rsv3", {0x91, 0x80, 1, 2, 3, 4}, kS, true, k1002},
        HeaderRuleCase{"AllRsvBits", {0xF1, 0x80, 1, 2, 3, 4}, kS, true, k1002},
        HeaderRuleCase{
            "Rsv1OnTextWithDeflate", {0xC1, 0x80, 1, 2, 3, 4}, kS, true, 0},
        HeaderRuleCase{
            "Rsv1OnBinaryWithDeflate", {0x42, 0x80, 1, 2, 3, 4}, kS, true, 0},
        HeaderRuleCase{
            "Rsv1OnContinuation", {0xC0, 0x80, 1, 2, 3, 4}, kS, true, k1002},
        HeaderRuleCase{"Rsv1OnPing", {0xC9, 0x80, 1, 2, 3, 4}, kS, true, k1002},
        HeaderRuleCase{
            "Rsv1OnClose", {0xC8, 0x80, 1, 2, 3, 4}, kS, true, k1002},
        HeaderRuleCase{"Opcode3", {0x83, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"Opcode4", {0x84, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"Opcode5", {0x85, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"Opcode6", {0x86, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"Opcode7", {0x87, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"OpcodeB", {0x8B, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"OpcodeC", {0x8C, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"OpcodeD", {0x8D, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"OpcodeE", {0x8E, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"OpcodeF", {0x8F, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{
            "FragmentedPing", {0x09, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{
            "FragmentedPong", {0x0A, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{
            "FragmentedClose", {0x08, 0x80, 1, 2, 3, 4}, kS, false, k1002},
        HeaderRuleCase{"Ping125", {0x89, 0x80 | 125, 1, 2, 3, 4}, kS, false, 0},
        HeaderRuleCase{"Ping126",
                       {0x89, 0x80 | 126, 0, 126, 1, 2, 3, 4},
                       kS,
                       false,
                       k1002},
        HeaderRuleCase{"Close126",
                       {0x88, 0x80 | 126, 0, 126, 1, 2, 3, 4},
                       kS,
                       false,
                       k1002},
        HeaderRuleCase{
            "Length64WithTopBit",
            {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
            kS,
            false,
            k1002},
        HeaderRuleCase{"Length16NotMinimal",
                       {0x82, 0x80 | 126, 0, 125, 1, 2, 3, 4},
                       kS,
                       false,
                       k1002},
        HeaderRuleCase{
            "Length64NotMinimal",
            {0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4},
            kS,
            false,
            k1002},
        HeaderRuleCase{"FrameAtLimit",
                       {0x82, 0x80 | 126, 0x03, 0xE8, 1, 2, 3, 4},
                       kS,
                       false,
                       0},
        HeaderRuleCase{"FrameOverLimit",
                       {0x82, 0x80 | 126, 0x03, 0xE9, 1, 2, 3, 4},
                       kS,
                       false,
                       k1009},
        HeaderRuleCase{"HugeFrame",
                       {0x82, 0x80 | 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff,
                        0xff, 0xff, 1, 2, 3, 4},
                       kS,
                       false,
                       k1009}),
    HeaderRuleName);

// --- Frame helpers ---------------------------------------------------------

TEST(AppendCloseFrame, WritesTheCodeInNetworkOrderThenTheReason) {
  std::string out;
  AppendCloseFrame(&out, 1001, "bye");
  EXPECT_EQ(out, std::string("\x88\x05\x03\xe9"
                             "bye",
                             7));
}

TEST(AppendCloseFrame, CutsALongReasonAtACodePointBoundary) {
  // 61 two-byte characters (122 bytes) then a three-byte one: 125 bytes of
  // reason would need 127 in the frame.
  std::string reason;
  for (int i = 0; i < 61; ++i) reason += "\xc3\xa9";
  reason += "\xe2\x82\xac";
  std::string out;
  AppendCloseFrame(&out, 1000, reason);
  ASSERT_EQ(out.size(), 2u + 2u + 122u);
  EXPECT_EQ(out.substr(4), reason.substr(0, 122));
}

TEST(AppendPongFrame, EchoesThePingPayloadMaskedForClients) {
  std::string out;
  AppendPongFrame(&out, AsBytes("data"), kMask);
  FrameDecoder decoder({.role = Role::kServer});
  std::vector<uint8_t> wire = Bytes(out);
  const FrameDecoder::Result r = decoder.Decode(wire);
  ASSERT_EQ(r.status, FrameDecoder::Status::kChunk);
  EXPECT_EQ(decoder.header().opcode, Opcode::kPong);
  EXPECT_EQ(AsChars(r.data), "data");
}

}  // namespace
}  // namespace troupe::net
