// HttpRouter: maps request paths to what the server connection does with
// them - answer with an HttpResponse, or upgrade to a WebSocket and hand
// the connection to a coroutine.
//
// Contract:
//  - Paths match exactly, on the percent-decoded path without the query
//    ("/ws" matches "/ws?token=1", not "/ws/"). Registering a path again
//    replaces its route. Unknown paths get 404.
//  - An HTTP handler runs synchronously on the connection's task: it gets
//    the request head and its body (Content-Length bodies only, bounded by
//    HttpServerOptions::max_body_size) and returns the response. It may set
//    HttpConnection::kClose; keep-alive is otherwise the request's choice.
//    An exception from it is answered with 500 and the connection closed.
//  - A WebSocket route accepts upgrades per its ServerHandshakeOptions
//    (subprotocols in preference order, the Origin hook - a refusal is 403
//    - and the permessage-deflate policy), then runs its handler with the
//    open connection and the request (for the path, query and headers).
//    The HTTP connection ends when the handler's task does.
//  - A WebSocket route may have a gate (SetUpgradeGate): it sees each
//    upgrade request before the handshake is answered and may refuse it
//    with a response of its own (e.g. 401 or 403), which is sent with
//    Connection: close instead of the handshake. It runs synchronously on
//    the connection's task, like an HTTP handler.
//  - Configure the router before serving; afterwards it is read-only and
//    may be shared by any number of connections on any threads.
//
// Example:
//   auto router = std::make_shared<HttpRouter>();
//   router->HandleStatic("/healthz", 200, "ok\n", "text/plain");
//   ServerHandshakeOptions handshake;
//   handshake.subprotocols = {"hub.v1"};
//   router->HandleWebSocket("/ws", Echo, handshake);
//   router->SetUpgradeGate("/ws", [](const HttpRequest& r) {
//     return Authorized(r) ? std::nullopt
//                          : std::optional<HttpResponse>(HttpResponse(401));
//   });
//   // Task<void> Echo(WebSocketConnection ws, HttpRequest request);
#ifndef TROUPE_NET_HTTP_ROUTER_H_
#define TROUPE_NET_HTTP_ROUTER_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "executor/task.h"
#include "net/http_request.h"
#include "net/http_response.h"
#include "net/websocket_connection.h"
#include "net/websocket_handshake.h"

namespace troupe::net {

class HttpRouter {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest& request,
                                             std::string_view body)>;
  using WebSocketHandler =
      std::function<Task<void>(WebSocketConnection ws, HttpRequest request)>;
  // A refusal to send instead of the handshake, or nullopt to go on.
  using UpgradeGate =
      std::function<std::optional<HttpResponse>(const HttpRequest& request)>;

  struct Route {
    Handler http;                // set for an HTTP route
    WebSocketHandler websocket;  // set for a WebSocket route
    UpgradeGate gate;            // optional, for a WebSocket route
    ServerHandshakeOptions handshake;
    WebSocketOptions options;
  };

  HttpRouter& Handle(std::string path, Handler handler);
  // A fixed response: `status` with `body` of `content_type`.
  HttpRouter& HandleStatic(std::string path, int status, std::string body,
                           std::string content_type = "text/plain");
  HttpRouter& HandleWebSocket(std::string path, WebSocketHandler handler,
                              ServerHandshakeOptions handshake = {},
                              WebSocketOptions options = {});
  // Sets the gate of the WebSocket route at `path` (registered before);
  // false if there is none.
  bool SetUpgradeGate(std::string_view path, UpgradeGate gate);

  // The route for `path`, or nullptr.
  const Route* Find(std::string_view path) const;

 private:
  std::map<std::string, Route, std::less<>> routes_;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_HTTP_ROUTER_H_
