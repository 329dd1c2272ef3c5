#include "net/http_server_connection.h"

#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "executor/sleep.h"
#include "net/http_head_reader.h"
#include "net/http_request.h"
#include "net/http_response.h"
#include "net/websocket_connection.h"
#include "net/websocket_handshake.h"

namespace troupe::net {
namespace {

Task<void> WriteInto(AnyByteStream& stream, std::string_view data,
                     absl::Status* result) {
  *result = co_await stream.WriteAll(data);
}

// WriteAll, given up after `timeout` (a client that does not read).
Task<absl::Status> WriteWithin(AnyByteStream& stream, std::string_view data,
                               Duration timeout) {
  absl::Status result;
  const absl::Status timed =
      co_await Timeout(timeout, WriteInto(stream, data, &result));
  if (!timed.ok()) co_return timed;
  co_return result;
}

// Answers `status` with a short text body, closes, and reports the refusal.
Task<absl::Status> RefuseAndClose(AnyByteStream& stream, int status,
                                  std::string_view why, Duration timeout) {
  HttpResponse response(status);
  response.SetBody(absl::StrCat(std::string(why), "\n"),
                   "text/plain; charset=utf-8");
  response.set_connection(HttpConnection::kClose);
  const std::string wire = response.Serialize();
  (void)co_await WriteWithin(stream, wire, timeout);
  (void)co_await stream.ShutdownWrite();
  co_return absl::InvalidArgumentError(
      absl::StrCat("request refused with ", status, ": ", std::string(why)));
}

// Reads a body of `length` bytes: first from `buffer` (bytes already
// read), then from the stream; bytes past the body stay in `buffer`.
Task<absl::StatusOr<std::string>> ReadBody(AnyByteStream& stream,
                                           std::string& buffer, size_t length,
                                           size_t read_size) {
  const size_t buffered = std::min(length, buffer.size());
  std::string body = buffer.substr(0, buffered);
  buffer.erase(0, buffered);
  std::vector<char> chunk(std::max<size_t>(read_size, 1));
  while (body.size() < length) {
    absl::StatusOr<size_t> n = co_await stream.Read(chunk);
    if (!n.ok()) co_return n.status();
    if (*n == 0) {
      co_return absl::UnavailableError("the connection ended mid-body");
    }
    const size_t take = std::min(length - body.size(), *n);
    body.append(chunk.data(), take);
    buffer.append(chunk.data() + take, *n - take);
  }
  co_return body;
}

// Step 3: the upgrade, then the WebSocket handler.
Task<absl::Status> Upgrade(std::unique_ptr<AnyByteStream> stream,
                           const HttpRouter::Route& route, HttpRequest request,
                           std::string rest, Duration timeout) {
  if (route.gate) {
    if (std::optional<HttpResponse> refusal = route.gate(request)) {
      refusal->set_connection(HttpConnection::kClose);
      const std::string wire = refusal->Serialize();
      (void)co_await WriteWithin(*stream, wire, timeout);
      (void)co_await stream->ShutdownWrite();
      co_return absl::PermissionDeniedError(
          absl::StrCat("websocket upgrade refused by the route's gate with ",
                       refusal->status()));
    }
  }
  ServerHandshake handshake = AcceptWebSocketUpgrade(request, route.handshake);
  const absl::Status written =
      co_await WriteWithin(*stream, handshake.response, timeout);
  if (!handshake.accepted()) {
    (void)co_await stream->ShutdownWrite();
    co_return absl::InvalidArgumentError(
        absl::StrCat("websocket upgrade refused with ", handshake.status, ": ",
                     std::string(handshake.error)));
  }
  if (!written.ok()) co_return written;
  WebSocketSession session;
  session.role = Role::kServer;
  session.subprotocol = std::move(handshake.subprotocol);
  session.deflate = handshake.deflate;
  session.initial_bytes = std::move(rest);
  absl::StatusOr<WebSocketConnection> ws = WebSocketConnection::Start(
      std::move(stream), std::move(session), route.options);
  if (!ws.ok()) co_return ws.status();
  Task<void> handler = route.websocket(std::move(*ws), std::move(request));
  co_await std::move(handler);
  co_return absl::OkStatus();
}

// Step 4: the HTTP route's (or the 404) response.
HttpResponse Respond(const HttpRouter::Route* route, const HttpRequest& request,
                     std::string_view body) {
  if (route == nullptr) {
    HttpResponse response(404);
    response.SetBody("no such path\n", "text/plain; charset=utf-8");
    return response;
  }
  try {
    return route->http(request, body);
  } catch (const std::exception&) {
    HttpResponse response(500);
    response.SetBody("internal error\n", "text/plain; charset=utf-8");
    response.set_connection(HttpConnection::kClose);
    return response;
  }
}

}  // namespace

Task<absl::Status> ServeHttpConnection(std::unique_ptr<AnyByteStream> stream,
                                       std::shared_ptr<const HttpRouter> router,
                                       HttpServerOptions options) {
  HttpRequestParser parser(options.limits);
  std::string buffer;  // read but not yet used: the next request's bytes
  for (;;) {
    // Step 1.
    const absl::StatusOr<absl::StatusOr<HttpHeadRead>> read = co_await Timeout(
        options.request_timeout,
        ReadHttpHead(*stream, parser, buffer, options.read_buffer_size));
    if (!read.ok()) {
      (void)co_await RefuseAndClose(*stream, 408, "request timeout",
                                    options.request_timeout);
      co_return read.status();
    }
    if (!read->ok()) co_return read->status();
    const HttpHeadRead& head = **read;
    switch (head.kind) {
      case HttpHeadRead::Kind::kDone:
        break;
      case HttpHeadRead::Kind::kEndOfStream:
        (void)co_await stream->ShutdownWrite();
        co_return absl::OkStatus();
      case HttpHeadRead::Kind::kTruncated:
        (void)co_await stream->ShutdownWrite();
        co_return absl::UnavailableError("the connection ended mid-request");
      case HttpHeadRead::Kind::kInvalid:
        // Step 2.
        co_return co_await RefuseAndClose(*stream, head.error_status,
                                          head.error_reason,
                                          options.request_timeout);
    }
    HttpRequest request = parser.TakeRequest();
    if (request.chunked) {
      co_return co_await RefuseAndClose(
          *stream, 501, "chunked request bodies are not supported",
          options.request_timeout);
    }
    const uint64_t length = request.content_length.value_or(0);
    if (length > options.max_body_size) {
      co_return co_await RefuseAndClose(*stream, 413, "request body too large",
                                        options.request_timeout);
    }
    std::string body;
    if (length > 0) {
      absl::StatusOr<absl::StatusOr<std::string>> read_body = co_await Timeout(
          options.request_timeout,
          ReadBody(*stream, buffer, length, options.read_buffer_size));
      if (!read_body.ok()) co_return read_body.status();
      if (!read_body->ok()) co_return read_body->status();
      body = std::move(**read_body);
    }

    const HttpRouter::Route* route = router->Find(request.path);
    if (route != nullptr && route->websocket) {
      // Step 3: the stream leaves this loop. (The task is built outside
      // the co_await: GCC 12 and aggregate arguments, see README.md.)
      Task<absl::Status> upgrade =
          Upgrade(std::move(stream), *route, std::move(request),
                  std::move(buffer), options.request_timeout);
      co_return co_await std::move(upgrade);
    }
    // Step 4.
    HttpResponse response = Respond(route, request, body);
    if (!request.keep_alive) response.set_connection(HttpConnection::kClose);
    const std::string wire = response.Serialize();
    const absl::Status written =
        co_await WriteWithin(*stream, wire, options.request_timeout);
    if (!written.ok()) co_return written;
    if (response.connection() == HttpConnection::kClose) {
      (void)co_await stream->ShutdownWrite();
      co_return absl::OkStatus();
    }
  }
}

}  // namespace troupe::net
