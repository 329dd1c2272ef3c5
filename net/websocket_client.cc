#include "net/websocket_client.h"

#include "absl/strings/str_cat.h"
#include "executor/sleep.h"
#include "net/http_head_reader.h"
#include "net/http_response.h"
#include "net/websocket_handshake.h"

namespace troupe::net {
namespace {

// Writes the request and reads the response head; what follows the head
// is left in *rest.
Task<absl::StatusOr<HttpResponseHead>> Exchange(AnyByteStream& stream,
                                                const std::string& request,
                                                HttpLimits limits,
                                                std::string& rest) {
  const absl::Status written = co_await stream.WriteAll(request);
  if (!written.ok()) co_return written;
  HttpResponseParser parser(limits);
  const absl::StatusOr<HttpHeadRead> read =
      co_await ReadHttpHead(stream, parser, rest);
  if (!read.ok()) co_return read.status();
  switch (read->kind) {
    case HttpHeadRead::Kind::kDone:
      co_return parser.TakeResponse();
    case HttpHeadRead::Kind::kInvalid:
      co_return absl::InvalidArgumentError(absl::StrCat(
          "malformed handshake response: ", std::string(read->error_reason)));
    case HttpHeadRead::Kind::kEndOfStream:
    case HttpHeadRead::Kind::kTruncated:
      break;
  }
  co_return absl::UnavailableError(
      "the connection ended during the websocket handshake");
}

}  // namespace

Task<absl::StatusOr<WebSocketConnection>> WebSocketConnect(
    std::unique_ptr<AnyByteStream> stream, std::string host, std::string target,
    WebSocketClientOptions options) {
  ClientHandshakeOptions handshake;
  handshake.host = std::move(host);
  handshake.target = std::move(target);
  handshake.origin = std::move(options.origin);
  handshake.subprotocols = std::move(options.subprotocols);
  handshake.deflate = options.deflate;
  handshake.extra_headers = std::move(options.extra_headers);

  const absl::StatusOr<std::string> key = GenerateWebSocketKey();
  if (!key.ok()) co_return key.status();
  const absl::StatusOr<std::string> request =
      BuildClientHandshake(handshake, *key);
  if (!request.ok()) co_return request.status();

  std::string rest;
  absl::StatusOr<absl::StatusOr<HttpResponseHead>> response = co_await Timeout(
      options.handshake_timeout,
      Exchange(*stream, *request, options.response_limits, rest));
  if (!response.ok()) co_return response.status();
  if (!response->ok()) co_return response->status();
  absl::StatusOr<ClientHandshakeResult> accepted =
      VerifyServerHandshake(**response, *key, handshake);
  if (!accepted.ok()) co_return accepted.status();

  WebSocketSession session;
  session.role = Role::kClient;
  session.subprotocol = std::move(accepted->subprotocol);
  session.deflate = accepted->deflate;
  session.initial_bytes = std::move(rest);
  co_return WebSocketConnection::Start(std::move(stream), std::move(session),
                                       options.connection);
}

}  // namespace troupe::net
