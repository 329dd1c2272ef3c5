// ServeHttpConnection: the server side of one HTTP/1.1 connection over any
// ByteStream - requests read with limits, answered through an HttpRouter,
// kept alive between requests, and upgraded to a WebSocket where the route
// says so.
//
// Contract (one connection, in order):
//  1. Read a request head within options.request_timeout (which also
//     bounds the wait for the next request on an idle keep-alive
//     connection). The peer closing between requests ends the connection
//     normally; a timeout is answered 408 and closes.
//  2. A head the parser refuses is answered and the connection closed:
//     400 malformed, 414 request line over limits.max_request_line, 431
//     header section over limits.max_header_bytes or max_header_count, 505
//     HTTP version. A body with Transfer-Encoding is answered 501, one
//     over options.max_body_size 413; both close.
//  3. A WebSocket route: the route's gate, if any, may refuse the upgrade
//     with its own response (then close); otherwise the upgrade is checked
//     and answered (101, or 400/403/426 and close - see
//     websocket_handshake.h); on 101 the
//     stream, with any bytes already read after the head, becomes a
//     WebSocketConnection handed to the route's handler, and this call
//     ends when the handler's task does.
//  4. An HTTP route's response (404 for no route) is written within
//     request_timeout; the connection stays open unless the request or
//     the handler asked to close, and pipelined requests are served in
//     order.
// Returns OK when the connection ended normally (peer closed, Connection:
// close, WebSocket session over); otherwise why it ended (a refused
// request: InvalidArgument; a timeout: DeadlineExceeded; a stream error).
// The stream is shut down for writing before returning, except after an
// upgrade (the WebSocket connection owns it then).
//
// Must run inside a task of a runtime; `router` is shared and read-only.
//
// Example (per accepted connection):
//   Spawn(ServeHttpConnection(std::move(stream), router));
#ifndef TROUPE_NET_HTTP_SERVER_CONNECTION_H_
#define TROUPE_NET_HTTP_SERVER_CONNECTION_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "executor/clock.h"
#include "executor/task.h"
#include "net/byte_stream.h"
#include "net/http_head.h"
#include "net/http_router.h"

namespace troupe::net {

struct HttpServerOptions {
  HttpLimits limits;
  // Largest request body (Content-Length) accepted; larger: 413.
  size_t max_body_size = 64 * 1024;
  // Time to receive one request, and to write one response.
  Duration request_timeout = std::chrono::seconds(30);
  size_t read_buffer_size = 16 * 1024;
};

Task<absl::Status> ServeHttpConnection(std::unique_ptr<AnyByteStream> stream,
                                       std::shared_ptr<const HttpRouter> router,
                                       HttpServerOptions options = {});

template <ByteStream S>
Task<absl::Status> ServeHttpConnection(S stream,
                                       std::shared_ptr<const HttpRouter> router,
                                       HttpServerOptions options = {}) {
  return ServeHttpConnection(MakeAnyByteStream(std::move(stream)),
                             std::move(router), options);
}

}  // namespace troupe::net

#endif  // TROUPE_NET_HTTP_SERVER_CONNECTION_H_
