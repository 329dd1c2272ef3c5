// The hub's checks on a WebSocket upgrade request, made before the
// handshake is answered (the /ws route's gate, net/http_router.h).
//
// Contract (CheckUpgrade):
//   - Origin: a request without an Origin field (not a browser) passes;
//     a browser's same-origin request (Origin is http:// or https:// plus
//     the Host field) passes; any other origin passes only if it is listed
//     in allowed_origins exactly ("https://chat.example.com"), or the list
//     holds "*". Otherwise: 403.
//   - Auth: with tokens configured, the request must carry one of them as
//     "Authorization: Bearer TOKEN" or as the query parameter ?token=TOKEN
//     (compared in constant time). Otherwise: 401 with WWW-Authenticate.
//   - Returns the refusal to send (Connection: close), or nullopt.
//
// Example:
//   router->SetUpgradeGate("/ws", [&gate](const net::HttpRequest& r) {
//     return CheckUpgrade(r, gate);
//   });
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_UPGRADE_GATE_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_UPGRADE_GATE_H_

#include <optional>
#include <string>
#include <vector>

#include "net/http_request.h"
#include "net/http_response.h"

namespace troupe::hub {

struct GateOptions {
  std::vector<std::string> allowed_origins;
  std::vector<std::string> auth_tokens;  // empty: no authentication
};

std::optional<net::HttpResponse> CheckUpgrade(const net::HttpRequest& request,
                                              const GateOptions& options);

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_UPGRADE_GATE_H_
