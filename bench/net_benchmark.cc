// Cost of the sans-I/O network codecs on the hot path of a WebSocket
// server: parsing (with in-place unmasking) of small and large client
// frames, UTF-8 validation, masking, framing outgoing messages, and the
// HTTP upgrade request.
//
//   bazel run --config=bench //bench:net_benchmark

#include <cstdint>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "net/http_request.h"
#include "net/utf8.h"
#include "net/websocket_frame.h"
#include "net/websocket_handshake.h"
#include "net/websocket_parser.h"
#include "net/websocket_writer.h"

namespace troupe::net {
namespace {

std::string Text(size_t n) {
  static const char kWords[] = "the quick brown fox jumps over the lazy dog ";
  std::string s;
  while (s.size() < n) s += kWords;
  s.resize(n);
  return s;
}

// Mixed scripts: ASCII with 2-, 3- and 4-byte sequences.
std::string MixedText(size_t n) {
  static const char kPiece[] =
      "caf\xc3\xa9 \xe2\x82\xac 12 \xf0\x9f\x98\x80 na\xc3\xafve \xe6\x97\xa5";
  std::string s;
  while (s.size() + sizeof(kPiece) < n) s += kPiece;
  while (s.size() < n) s += 'x';
  return s;
}

// A buffer of back-to-back masked client frames of `payload` bytes, about
// 256 KiB in all. The key is a real (non-zero) key for binary frames; text
// frames use the all-zero key so that unmasking in place (which still
// runs the full XOR loop) leaves the text valid for the next iteration.
std::vector<uint8_t> ClientFrames(size_t payload, Opcode opcode,
                                  size_t* count) {
  const MaskKey key = opcode == Opcode::kText ? MaskKey{0, 0, 0, 0}
                                              : MaskKey{0x1f, 0x2e, 0x3d, 0x4c};
  const std::string body = Text(payload);
  std::string wire;
  *count = std::max<size_t>(1, (size_t{256} * 1024) / (payload + 8));
  for (size_t i = 0; i < *count; ++i) {
    AppendFrame(&wire, opcode, AsBytes(body), true, false, key);
  }
  return std::vector<uint8_t>(wire.begin(), wire.end());
}

void ParseFrames(benchmark::State& state, Opcode opcode) {
  size_t count = 0;
  std::vector<uint8_t> wire =
      ClientFrames(static_cast<size_t>(state.range(0)), opcode, &count);
  absl::StatusOr<WebSocketParser> parser = WebSocketParser::Create({});
  if (!parser.ok()) {
    state.SkipWithError("parser");
    return;
  }
  for (auto _ : state) {
    std::span<uint8_t> rest(wire);
    size_t messages = 0;
    for (;;) {
      const WebSocketEvent e = parser->Parse(rest);
      rest = rest.subspan(e.consumed);
      if (e.type == WebSocketEventType::kNeedMore) break;
      benchmark::DoNotOptimize(e.payload.data());
      ++messages;
    }
    if (messages != count) {
      state.SkipWithError("lost messages");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(count));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(wire.size()));
}

// Binary frames: header decoding + in-place unmasking + delivery.
void BM_ParseBinaryFrames(benchmark::State& state) {
  ParseFrames(state, Opcode::kBinary);
}
BENCHMARK(BM_ParseBinaryFrames)->Arg(32)->Arg(int64_t{16} * 1024);

// Text frames: the same plus UTF-8 validation of every payload.
void BM_ParseTextFrames(benchmark::State& state) {
  ParseFrames(state, Opcode::kText);
}
BENCHMARK(BM_ParseTextFrames)->Arg(32)->Arg(int64_t{16} * 1024);

void BM_ApplyMask(benchmark::State& state) {
  std::vector<uint8_t> data(static_cast<size_t>(state.range(0)), 'a');
  const MaskKey key = {1, 2, 3, 4};
  for (auto _ : state) {
    ApplyMask(data, key);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(data.size()));
}
BENCHMARK(BM_ApplyMask)->Arg(32)->Arg(int64_t{16} * 1024);

void BM_Utf8ValidateAscii(benchmark::State& state) {
  const std::string text = Text(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(IsValidUtf8(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Utf8ValidateAscii)->Arg(32)->Arg(int64_t{16} * 1024);

void BM_Utf8ValidateMixed(benchmark::State& state) {
  const std::string text = MixedText(static_cast<size_t>(state.range(0)));
  if (!IsValidUtf8(text)) state.SkipWithError("invalid input");
  for (auto _ : state) benchmark::DoNotOptimize(IsValidUtf8(text));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Utf8ValidateMixed)->Arg(32)->Arg(int64_t{16} * 1024);

// Framing one outgoing server message (header only: the payload goes out
// by writev from the caller's buffer).
void BM_WriteServerMessage(benchmark::State& state) {
  const std::string text = Text(static_cast<size_t>(state.range(0)));
  absl::StatusOr<WebSocketWriter> writer = WebSocketWriter::Create({});
  if (!writer.ok()) {
    state.SkipWithError("writer");
    return;
  }
  for (auto _ : state) {
    absl::StatusOr<WebSocketWriter::Frame> frame =
        writer->WriteMessage(Opcode::kText, AsBytes(text));
    benchmark::DoNotOptimize(frame->header.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_WriteServerMessage)->Arg(32)->Arg(int64_t{16} * 1024);

void BM_ParseUpgradeRequestAndAnswer(benchmark::State& state) {
  const std::string request =
      "GET /ws?token=abc HTTP/1.1\r\nHost: example.com\r\n"
      "User-Agent: bench\r\nAccept: */*\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nOrigin: https://example.com\r\n\r\n";
  const ServerHandshakeOptions options;
  for (auto _ : state) {
    HttpRequestParser parser;
    const HttpParseResult r = parser.Feed(request);
    if (!r.done()) state.SkipWithError("parse");
    const ServerHandshake hs =
        AcceptWebSocketUpgrade(parser.TakeRequest(), options);
    benchmark::DoNotOptimize(hs.response.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseUpgradeRequestAndAnswer);

}  // namespace
}  // namespace troupe::net
