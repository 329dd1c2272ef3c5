// Sec-WebSocket-Extensions (RFC 6455 section 9.1) parsing and
// permessage-deflate negotiation (RFC 7692 section 7.1) for both ends.
//
// Contract:
//  - ParseExtensionList() splits every value of the (possibly repeated)
//    header into extension elements; quoted-string values are unquoted. An
//    element that breaks the grammar is reported with malformed = true
//    rather than failing the whole header.
//  - Server: NegotiateDeflate() walks the client's permessage-deflate offers
//    in order and accepts the first one whose parameters are well formed:
//    each parameter known, not repeated, window bits a decimal 8..15 without
//    leading zeros (client_max_window_bits may have no value). A malformed
//    offer is declined, not an error. The answer honours the offer (a
//    requested server_no_context_takeover or server_max_window_bits) and
//    applies the server's DeflateOptions (smaller windows, no context
//    takeover) where the RFC lets it.
//  - Client: FormatDeflateOffer() writes our offer; ParseDeflateResponse()
//    checks the server's answer against it and fails on anything the RFC
//    says a client must reject.
//
// Example (server):
//   DeflateOptions policy;  // 15-bit windows, context takeover
//   policy.enabled = true;
//   std::optional<DeflateAgreement> agreed = NegotiateDeflate(
//       request.headers.GetAll("Sec-WebSocket-Extensions"), policy);
//   if (agreed) response.AddHeader("Sec-WebSocket-Extensions",
//                                  agreed->response);
#ifndef TROUPE_NET_WEBSOCKET_EXTENSIONS_H_
#define TROUPE_NET_WEBSOCKET_EXTENSIONS_H_

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "net/permessage_deflate.h"

namespace troupe::net {

struct ExtensionParam {
  std::string name;
  std::optional<std::string> value;  // unquoted
};

struct ExtensionElement {
  std::string name;
  std::vector<ExtensionParam> params;
  bool malformed = false;
};

std::vector<ExtensionElement> ParseExtensionList(
    std::span<const std::string_view> header_values);

// One side's permessage-deflate policy. On a server: whether to accept
// offers and the limits to impose. On a client: what to offer.
struct DeflateOptions {
  bool enabled = false;
  // Server: never keep the compression context between messages (saves
  // memory per connection). Client: ask the server to do so.
  bool server_no_context_takeover = false;
  // Server: tell the client to drop its context after each message (lets
  // the server drop its inflate window). Client: promise to do so.
  bool client_no_context_takeover = false;
  // Largest LZ77 window (8..15) for the server's compressor.
  int server_max_window_bits = 15;
  // Largest window (8..15) for the client's compressor. A server can only
  // impose it if the client offered client_max_window_bits.
  int client_max_window_bits = 15;
};

// A parsed, valid permessage-deflate offer.
struct DeflateOffer {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::optional<int> server_max_window_bits;
  bool client_max_window_bits = false;  // parameter present
  std::optional<int> client_max_window_bits_value;
};

// Validates the parameters of one permessage-deflate element.
std::optional<DeflateOffer> ParseDeflateOffer(const ExtensionElement& element);

struct DeflateAgreement {
  DeflateParams params;
  std::string response;  // value for the Sec-WebSocket-Extensions field
};

// Server side. nullopt: no acceptable offer (or deflate disabled).
std::optional<DeflateAgreement> NegotiateDeflate(
    std::span<const std::string_view> header_values,
    const DeflateOptions& options);

// Client side: the Sec-WebSocket-Extensions value offering permessage-deflate.
std::string FormatDeflateOffer(const DeflateOptions& options);

// Client side: the parameters in force after the server's answer. nullopt
// if the server did not accept the extension; an error if its answer is
// invalid (unknown extension, unoffered or malformed parameters).
absl::StatusOr<std::optional<DeflateParams>> ParseDeflateResponse(
    std::span<const std::string_view> header_values,
    const DeflateOptions& offered);

}  // namespace troupe::net

#endif  // TROUPE_NET_WEBSOCKET_EXTENSIONS_H_
