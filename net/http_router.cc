#include "net/http_router.h"

#include <utility>

namespace troupe::net {

HttpRouter& HttpRouter::Handle(std::string path, Handler handler) {
  Route route;
  route.http = std::move(handler);
  routes_[std::move(path)] = std::move(route);
  return *this;
}

HttpRouter& HttpRouter::HandleStatic(std::string path, int status,
                                     std::string body,
                                     std::string content_type) {
  return Handle(std::move(path), [status, body = std::move(body),
                                  content_type = std::move(content_type)](
                                     const HttpRequest&, std::string_view) {
    HttpResponse response(status);
    response.SetBody(body, content_type);
    return response;
  });
}

HttpRouter& HttpRouter::HandleWebSocket(std::string path,
                                        WebSocketHandler handler,
                                        ServerHandshakeOptions handshake,
                                        WebSocketOptions options) {
  Route route;
  route.websocket = std::move(handler);
  route.handshake = std::move(handshake);
  route.options = options;
  routes_[std::move(path)] = std::move(route);
  return *this;
}

bool HttpRouter::SetUpgradeGate(std::string_view path, UpgradeGate gate) {
  auto it = routes_.find(path);
  if (it == routes_.end() || !it->second.websocket) return false;
  it->second.gate = std::move(gate);
  return true;
}

const HttpRouter::Route* HttpRouter::Find(std::string_view path) const {
  auto it = routes_.find(path);
  return it == routes_.end() ? nullptr : &it->second;
}

}  // namespace troupe::net
