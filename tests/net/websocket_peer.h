// Helpers for the tests of the async network layer over memory pipes: a
// raw WebSocket peer that writes hand-built frames and decodes what the
// connection under test sends, plain HTTP exchanges, and a fatal-check
// macro usable inside coroutines (gtest's ASSERT_* return, which a
// coroutine cannot).
#ifndef TROUPE_TESTS_NET_WEBSOCKET_PEER_H_
#define TROUPE_TESTS_NET_WEBSOCKET_PEER_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "executor/task.h"
#include "gtest/gtest.h"
#include "net/memory_stream.h"
#include "net/websocket_connection.h"
#include "net/websocket_parser.h"
#include "net/websocket_types.h"
#include "tests/net/websocket_test_util.h"

// Inside a Task<void> coroutine: records a failure and leaves the test body.
#define CO_ASSERT(condition)                           \
  do {                                                 \
    if (!(condition)) {                                \
      ADD_FAILURE() << "check failed: " << #condition; \
      co_return;                                       \
    }                                                  \
  } while (false)

// gtest's EXPECT_* macros cannot hold a co_await under GCC 12 (it cannot
// deduce through AssertionResult's constructor): these await first.
#define CO_EXPECT_OK(expr)                \
  do {                                    \
    const auto& co_result = (expr);       \
    EXPECT_TRUE(co_result.ok()) << #expr; \
  } while (false)
#define CO_EXPECT_NOT_OK(expr)             \
  do {                                     \
    const auto& co_result = (expr);        \
    EXPECT_FALSE(co_result.ok()) << #expr; \
  } while (false)
#define CO_EXPECT_TRUE(expr)        \
  do {                              \
    const bool co_value = (expr);   \
    EXPECT_TRUE(co_value) << #expr; \
  } while (false)
#define CO_EXPECT_FALSE(expr)        \
  do {                               \
    const bool co_value = (expr);    \
    EXPECT_FALSE(co_value) << #expr; \
  } while (false)
#define CO_EXPECT_CODE(expr, expected_code)              \
  do {                                                   \
    const auto& co_result = (expr);                      \
    EXPECT_EQ(co_result.code(), expected_code) << #expr; \
  } while (false)
#define CO_EXPECT_EQ(expr, expected)        \
  do {                                      \
    const auto& co_value = (expr);          \
    EXPECT_EQ(co_value, expected) << #expr; \
  } while (false)

namespace troupe::net::testing {

// The test's end of a pipe, speaking raw WebSocket frames.
class RawPeer {
 public:
  // `decode_as`: the role whose rules the connection's frames are checked
  // against (kClient for a server under test: its frames must be
  // unmasked; kServer for a client under test: they must be masked).
  RawPeer(MemoryStream stream, Role decode_as,
          std::optional<DeflateParams> deflate = std::nullopt)
      : stream_(std::move(stream)),
        parser_(WebSocketParser::Create({.role = decode_as,
                                         .max_frame_size = uint64_t{1} << 30,
                                         .max_message_size = uint64_t{1} << 30,
                                         .deflate = deflate})
                    .value()) {}

  Task<absl::Status> Write(std::string wire) {
    co_return co_await stream_.WriteAll(AsSpan(wire));
  }

  // The next frame event the connection sent (never kNeedMore), or
  // nullopt once the stream ended.
  Task<std::optional<Event>> Next() {
    for (;;) {
      std::span<uint8_t> input(pending_.data() + pos_, pending_.size() - pos_);
      const WebSocketEvent e = parser_.Parse(input);
      pos_ += e.consumed;
      if (e.type != WebSocketEventType::kNeedMore) {
        Event event;
        event.type = e.type;
        event.payload = std::string(e.text());
        event.code = e.close_code;
        event.error = std::string(e.error);
        co_return event;
      }
      pending_.clear();
      pos_ = 0;
      char buffer[4096];
      absl::StatusOr<size_t> n = co_await stream_.Read(buffer);
      if (!n.ok() || *n == 0) co_return std::nullopt;
      raw_.append(buffer, *n);
      pending_.assign(buffer, buffer + *n);
    }
  }

  // Reads until the stream ends; true if it ended with no further frame.
  Task<bool> NextIsEnd() {
    std::optional<Event> event = co_await Next();
    co_return !event.has_value();
  }

  // Bytes already read from the stream by someone else (after an HTTP
  // head), to be decoded first.
  void Prepend(std::string bytes) {
    pending_.assign(bytes.begin(), bytes.end());
    pos_ = 0;
  }

  MemoryStream& stream() { return stream_; }
  // Every byte read from the connection so far.
  const std::string& raw() const { return raw_; }

 private:
  MemoryStream stream_;
  WebSocketParser parser_;
  std::vector<uint8_t> pending_;
  size_t pos_ = 0;
  std::string raw_;
};

// Reads from `stream` until it ends; everything it sent.
inline Task<std::string> ReadToEnd(MemoryStream& stream) {
  std::string all;
  char buffer[4096];
  for (;;) {
    absl::StatusOr<size_t> n = co_await stream.Read(buffer);
    if (!n.ok() || *n == 0) co_return all;
    all.append(buffer, *n);
  }
}

// A server frame (unmasked).
inline std::string ServerFrame(Opcode opcode, std::string_view payload,
                               bool fin = true) {
  return Wire({opcode, std::string(payload), fin, false, false});
}

// A masked Close frame with `code` and `reason`.
inline std::string ClientClose(uint16_t code, std::string_view reason = {}) {
  std::string out;
  AppendCloseFrame(&out, code, reason, kTestMask);
  return out;
}

// A masked Close frame whose code is written as is (invalid codes too).
inline std::string ClientCloseRaw(uint16_t code) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  return ClientFrame(Opcode::kClose, payload);
}

// A connection under test (server or client role) on one end of a pipe,
// and the raw peer on the other. Call inside a task.
struct Connected {
  Connected(WebSocketConnection ws, RawPeer peer)
      : ws(std::move(ws)), peer(std::move(peer)) {}
  WebSocketConnection ws;
  RawPeer peer;
};

inline Connected Connect(Role role, WebSocketOptions options = {},
                         std::optional<DeflateParams> deflate = std::nullopt,
                         size_t pipe_capacity = 1 << 16) {
  auto [raw, end] = MakeMemoryPipe(pipe_capacity);
  WebSocketSession session;
  session.role = role;
  session.deflate = deflate;
  absl::StatusOr<WebSocketConnection> ws =
      WebSocketConnection::Start(std::move(end), std::move(session), options);
  return Connected(
      std::move(ws).value(),
      RawPeer(std::move(raw),
              role == Role::kServer ? Role::kClient : Role::kServer, deflate));
}

inline Connected ConnectServer(WebSocketOptions options = {}) {
  return Connect(Role::kServer, options);
}

}  // namespace troupe::net::testing

#endif  // TROUPE_TESTS_NET_WEBSOCKET_PEER_H_
