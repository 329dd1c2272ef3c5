#include "net/websocket_handshake.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace troupe::net {
namespace {

constexpr char kGuid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// Debian's Abseil has its own string_view type.
absl::string_view ToAbsl(std::string_view s) { return {s.data(), s.size()}; }

ServerHandshake Refuse(int status, std::string_view why) {
  ServerHandshake result;
  result.status = status;
  result.error = why;
  HttpResponse response(status);
  if (status == 426) {
    response.AddHeader("Upgrade", "websocket");
    response.AddHeader("Sec-WebSocket-Version", "13");
  }
  response.SetBody(std::string(why) + "\n", "text/plain; charset=utf-8");
  response.set_connection(HttpConnection::kClose);
  result.response = response.Serialize();
  return result;
}

// The first subprotocol of `preference` that the client offered.
std::string ChooseSubprotocol(const HttpHeaders& headers,
                              const std::vector<std::string>& preference) {
  if (preference.empty()) return {};
  std::vector<std::string_view> offered;
  for (std::string_view value : headers.GetAll("Sec-WebSocket-Protocol")) {
    ForEachListElement(
        value, [&](std::string_view token) { offered.push_back(token); });
  }
  for (const std::string& candidate : preference) {
    for (std::string_view token : offered) {
      if (token == candidate) return candidate;
    }
  }
  return {};
}

}  // namespace

std::string ComputeAcceptKey(std::string_view client_key) {
  std::string input(client_key);
  input.append(kGuid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
       digest.data());
  return absl::Base64Escape(absl::string_view(
      reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool IsValidWebSocketKey(std::string_view key) {
  if (key.size() != 24) return false;
  std::string decoded;
  if (!absl::Base64Unescape(ToAbsl(key), &decoded) || decoded.size() != 16) {
    return false;
  }
  // Only the canonical encoding: rules out stray padding bits.
  return absl::Base64Escape(decoded) == std::string(key);
}

ServerHandshake AcceptWebSocketUpgrade(const HttpRequest& request,
                                       const ServerHandshakeOptions& options) {
  const HttpHeaders& headers = request.headers;
  if (request.method != "GET") return Refuse(400, "method must be GET");
  if (request.version_minor < 1) return Refuse(400, "HTTP/1.1 required");
  if (!headers.HasToken("Upgrade", "websocket")) {
    return Refuse(426, "Upgrade: websocket required");
  }
  if (!headers.HasToken("Connection", "upgrade")) {
    return Refuse(400, "Connection must include upgrade");
  }
  const std::vector<std::string_view> versions =
      headers.GetAll("Sec-WebSocket-Version");
  if (versions.size() != 1 || versions[0] != "13") {
    return Refuse(426, "Sec-WebSocket-Version must be 13");
  }
  const std::vector<std::string_view> keys =
      headers.GetAll("Sec-WebSocket-Key");
  if (keys.size() != 1 || !IsValidWebSocketKey(keys[0])) {
    return Refuse(400, "invalid Sec-WebSocket-Key");
  }
  const std::vector<std::string_view> origins = headers.GetAll("Origin");
  if (origins.size() > 1) return Refuse(400, "repeated Origin");
  if (options.check_origin &&
      !options.check_origin(origins.empty() ? std::string_view()
                                            : origins[0])) {
    return Refuse(403, "origin not allowed");
  }

  ServerHandshake result;
  result.status = 101;
  result.subprotocol = ChooseSubprotocol(headers, options.subprotocols);
  HttpResponse response(101);
  response.AddHeader("Upgrade", "websocket");
  response.AddHeader("Sec-WebSocket-Accept", ComputeAcceptKey(keys[0]));
  if (!result.subprotocol.empty()) {
    response.AddHeader("Sec-WebSocket-Protocol", result.subprotocol);
  }
  const std::vector<std::string_view> extensions =
      headers.GetAll("Sec-WebSocket-Extensions");
  if (std::optional<DeflateAgreement> agreed =
          NegotiateDeflate(extensions, options.deflate)) {
    response.AddHeader("Sec-WebSocket-Extensions", agreed->response);
    result.deflate = agreed->params;
  }
  result.response = response.Serialize();
  return result;
}

absl::StatusOr<std::string> GenerateWebSocketKey() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return absl::UnavailableError("no secure random bytes available");
  }
  return absl::Base64Escape(absl::string_view(
      reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

absl::StatusOr<std::string> BuildClientHandshake(
    const ClientHandshakeOptions& options, std::string_view key) {
  if (options.host.empty()) return absl::InvalidArgumentError("empty host");
  if (options.target.empty() || options.target.front() != '/' ||
      options.target.find_first_of(" \r\n\t") != std::string::npos) {
    return absl::InvalidArgumentError("target must be an absolute path");
  }
  if (!IsValidWebSocketKey(key)) {
    return absl::InvalidArgumentError("invalid Sec-WebSocket-Key");
  }
  auto safe = [](std::string_view v) {
    return v.find_first_of("\r\n", 0) == std::string_view::npos &&
           v.find('\0') == std::string_view::npos;
  };
  if (!safe(options.host) || !safe(options.origin)) {
    return absl::InvalidArgumentError("invalid header value");
  }
  std::string request =
      absl::StrCat("GET ", options.target, " HTTP/1.1\r\nHost: ", options.host,
                   "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ",
                   ToAbsl(key), "\r\n");
  if (!options.origin.empty()) {
    absl::StrAppend(&request, "Origin: ", options.origin, "\r\n");
  }
  if (!options.subprotocols.empty()) {
    for (const std::string& protocol : options.subprotocols) {
      if (!IsToken(protocol)) {
        return absl::InvalidArgumentError("subprotocol is not a token");
      }
    }
    absl::StrAppend(&request, "Sec-WebSocket-Protocol: ",
                    absl::StrJoin(options.subprotocols, ", "), "\r\n");
  }
  if (options.deflate.enabled) {
    absl::StrAppend(&request, "Sec-WebSocket-Extensions: ",
                    FormatDeflateOffer(options.deflate), "\r\n");
  }
  for (const auto& [name, value] : options.extra_headers) {
    if (!IsToken(name) || !safe(value)) {
      return absl::InvalidArgumentError("invalid extra header");
    }
    absl::StrAppend(&request, name, ": ", value, "\r\n");
  }
  request.append("\r\n");
  return request;
}

absl::StatusOr<ClientHandshakeResult> VerifyServerHandshake(
    const HttpResponseHead& response, std::string_view key,
    const ClientHandshakeOptions& options) {
  const HttpHeaders& headers = response.headers;
  if (response.status != 101) {
    return absl::FailedPreconditionError(
        absl::StrCat("server answered ", response.status, " instead of 101"));
  }
  if (!headers.HasToken("Upgrade", "websocket")) {
    return absl::InvalidArgumentError("missing Upgrade: websocket");
  }
  if (!headers.HasToken("Connection", "upgrade")) {
    return absl::InvalidArgumentError("missing Connection: Upgrade");
  }
  const std::vector<std::string_view> accepts =
      headers.GetAll("Sec-WebSocket-Accept");
  if (accepts.size() != 1 || accepts[0] != ComputeAcceptKey(key)) {
    return absl::InvalidArgumentError("wrong Sec-WebSocket-Accept");
  }
  ClientHandshakeResult result;
  const std::vector<std::string_view> protocols =
      headers.GetAll("Sec-WebSocket-Protocol");
  if (protocols.size() > 1) {
    return absl::InvalidArgumentError("several subprotocols chosen");
  }
  if (protocols.size() == 1) {
    bool offered = false;
    for (const std::string& protocol : options.subprotocols) {
      offered = offered || protocol == protocols[0];
    }
    if (!offered) {
      return absl::InvalidArgumentError(
          "server chose a subprotocol not offered");
    }
    result.subprotocol = std::string(protocols[0]);
  }
  const std::vector<std::string_view> extensions =
      headers.GetAll("Sec-WebSocket-Extensions");
  absl::StatusOr<std::optional<DeflateParams>> deflate =
      ParseDeflateResponse(extensions, options.deflate);
  if (!deflate.ok()) return deflate.status();
  result.deflate = *deflate;
  return result;
}

}  // namespace troupe::net
