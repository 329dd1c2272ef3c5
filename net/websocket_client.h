// WebSocketConnect: the client side of the opening handshake (RFC 6455
// section 4.1) over any ByteStream, ending in an open WebSocketConnection
// whose frames are masked, as a client's must be.
//
// Contract:
//  - Sends the upgrade request for `host` and `target` (with a fresh
//    Sec-WebSocket-Key, the offered subprotocols and, if enabled, a
//    permessage-deflate offer), reads the answer within
//    options.handshake_timeout and checks it (websocket_handshake.h).
//  - Errors: the request cannot be built (InvalidArgument), the stream
//    fails or ends (Unavailable), the answer is malformed or not a valid
//    101 (InvalidArgument; FailedPrecondition "server answered 403
//    instead of 101" for a refusal), or the handshake timed out
//    (DeadlineExceeded). The stream is dropped on error.
//  - Bytes the server sent right after its 101 are handed to the
//    connection, not lost.
//  - Must run inside a task of a runtime. GCC 12: build the options in a
//    named variable, not inside the co_await expression (README.md).
//
// Example:
//   WebSocketClientOptions options;
//   options.subprotocols = {"hub.v1"};
//   options.deflate.enabled = true;
//   absl::StatusOr<WebSocketConnection> ws = co_await WebSocketConnect(
//       std::move(stream), "example.com", "/ws", std::move(options));
#ifndef TROUPE_NET_WEBSOCKET_CLIENT_H_
#define TROUPE_NET_WEBSOCKET_CLIENT_H_

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "executor/clock.h"
#include "executor/task.h"
#include "net/byte_stream.h"
#include "net/http_head.h"
#include "net/websocket_connection.h"
#include "net/websocket_extensions.h"

namespace troupe::net {

struct WebSocketClientOptions {
  std::string origin;                     // Origin field; empty: none
  std::vector<std::string> subprotocols;  // offered, preferred first
  DeflateOptions deflate;                 // offered if enabled
  std::vector<std::pair<std::string, std::string>> extra_headers;
  HttpLimits response_limits;
  Duration handshake_timeout = std::chrono::seconds(10);
  WebSocketOptions connection;
};

Task<absl::StatusOr<WebSocketConnection>> WebSocketConnect(
    std::unique_ptr<AnyByteStream> stream, std::string host, std::string target,
    WebSocketClientOptions options = {});

template <ByteStream S>
Task<absl::StatusOr<WebSocketConnection>> WebSocketConnect(
    S stream, std::string host, std::string target,
    WebSocketClientOptions options = {}) {
  return WebSocketConnect(MakeAnyByteStream(std::move(stream)), std::move(host),
                          std::move(target), std::move(options));
}

}  // namespace troupe::net

#endif  // TROUPE_NET_WEBSOCKET_CLIENT_H_
