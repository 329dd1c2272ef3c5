// ParseWsUrl: splits a ws:// URL into what a WebSocket client needs - the
// TCP endpoint, the Host header and the request target.
//
// Contract:
//   - Accepts ws://HOST[:PORT][/PATH][?QUERY]. HOST is a name, an IPv4
//     address or a bracketed IPv6 address; PORT defaults to 80. An empty
//     path is "/". Anything else (wss://, user info, a fragment, a bad
//     port) is InvalidArgument naming the input; TLS is not supported.
//
// Example:
//   absl::StatusOr<WsUrl> url = ParseWsUrl("ws://[::1]:9001/echo?x=1");
//   // url->connect == "[::1]:9001", url->host == "[::1]:9001",
//   // url->target == "/echo?x=1"
#ifndef TROUPE_EXAMPLES_ECHO_WS_URL_H_
#define TROUPE_EXAMPLES_ECHO_WS_URL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace troupe::echo {

struct WsUrl {
  std::string connect;  // HOST:PORT, for TcpStream::Connect
  std::string host;     // the Host header: HOST, or HOST:PORT if not 80
  std::string target;   // "/path?query"
};

absl::StatusOr<WsUrl> ParseWsUrl(std::string_view url);

}  // namespace troupe::echo

#endif  // TROUPE_EXAMPLES_ECHO_WS_URL_H_
