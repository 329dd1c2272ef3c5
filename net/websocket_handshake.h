// The WebSocket opening handshake (RFC 6455 section 4) for both ends:
// validating an upgrade request and answering it (server), building an
// upgrade request and checking the answer (client). Subprotocols and
// permessage-deflate (RFC 7692) are negotiated here.
//
// Contract (server): AcceptWebSocketUpgrade() inspects a parsed request and
// returns the full response text to write: a 101 on success, otherwise an
// error response with "Connection: close":
//   400 - not GET, not HTTP/1.1, Connection lacks "upgrade", a missing,
//         repeated or malformed Sec-WebSocket-Key (must be base64 of 16
//         bytes), or a repeated Origin;
//   403 - the origin hook refused the Origin (absent Origin is passed as "");
//   426 - no "Upgrade: websocket", or Sec-WebSocket-Version is not exactly
//         13 (the answer names version 13).
// The subprotocol is the first of the server's list (its preference order)
// that the client offered; none if there is no overlap. Extensions: the
// first acceptable permessage-deflate offer, when enabled.
//
// Contract (client): BuildClientHandshake() writes the GET request for a key
// (GenerateWebSocketKey() gives a fresh random one); VerifyServerHandshake()
// accepts only a 101 with the right Upgrade/Connection fields, the expected
// Sec-WebSocket-Accept, a subprotocol we offered (if any) and a valid
// permessage-deflate answer to our offer (if any).
//
// Example (server):
//   ServerHandshakeOptions options;
//   options.subprotocols = {"hub.v2", "hub.v1"};
//   options.check_origin = [](std::string_view o) { return o == kSite; };
//   ServerHandshake hs = AcceptWebSocketUpgrade(request, options);
//   Write(hs.response);
//   if (hs.accepted()) StartWebSocket(hs.subprotocol, hs.deflate);
#ifndef TROUPE_NET_WEBSOCKET_HANDSHAKE_H_
#define TROUPE_NET_WEBSOCKET_HANDSHAKE_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "net/http_request.h"
#include "net/http_response.h"
#include "net/permessage_deflate.h"
#include "net/websocket_extensions.h"

namespace troupe::net {

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string ComputeAcceptKey(std::string_view client_key);

// True if `key` is the base64 encoding of exactly 16 bytes.
bool IsValidWebSocketKey(std::string_view key);

struct ServerHandshakeOptions {
  // Supported subprotocols, most preferred first.
  std::vector<std::string> subprotocols;
  // Returns false to refuse an Origin with 403. Unset: every origin passes.
  std::function<bool(std::string_view origin)> check_origin;
  // permessage-deflate policy (disabled by default).
  DeflateOptions deflate;
};

struct ServerHandshake {
  int status = 0;           // 101, 400, 403 or 426
  std::string response;     // the complete HTTP response to send
  std::string_view error;   // why the request was refused (static text)
  std::string subprotocol;  // chosen subprotocol, empty if none
  std::optional<DeflateParams> deflate;  // negotiated, if any

  bool accepted() const { return status == 101; }
};

ServerHandshake AcceptWebSocketUpgrade(const HttpRequest& request,
                                       const ServerHandshakeOptions& options);

struct ClientHandshakeOptions {
  std::string host;          // Host field, "example.com" or "host:port"
  std::string target = "/";  // request-target, e.g. "/ws?token=abc"
  std::string origin;        // Origin field; empty: none sent
  std::vector<std::string> subprotocols;  // offered, in preference order
  DeflateOptions deflate;                 // offered if enabled
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

// 16 bytes from OpenSSL's secure generator, base64-encoded. Fails only if
// the generator cannot be seeded.
absl::StatusOr<std::string> GenerateWebSocketKey();

// The upgrade request for `key`. Fails on values that would make an invalid
// request (empty host, target not starting with '/', bad header fields).
absl::StatusOr<std::string> BuildClientHandshake(
    const ClientHandshakeOptions& options, std::string_view key);

struct ClientHandshakeResult {
  std::string subprotocol;  // empty if the server chose none
  std::optional<DeflateParams> deflate;
};

absl::StatusOr<ClientHandshakeResult> VerifyServerHandshake(
    const HttpResponseHead& response, std::string_view key,
    const ClientHandshakeOptions& options);

}  // namespace troupe::net

#endif  // TROUPE_NET_WEBSOCKET_HANDSHAKE_H_
