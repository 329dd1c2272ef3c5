#include "examples/echo/ws_url.h"

#include <cstdint>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace troupe::echo {
namespace {

absl::Status Bad(std::string_view url, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad URL '", std::string(url), "': ", std::string(why)));
}

}  // namespace

absl::StatusOr<WsUrl> ParseWsUrl(std::string_view url) {
  constexpr std::string_view kScheme = "ws://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Bad(url,
               "expected ws://HOST[:PORT][/PATH] (wss:// is not supported)");
  }
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) {
    return Bad(url, "a fragment is not allowed");
  }
  const size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  std::string target = "/";
  if (slash != std::string_view::npos) {
    const std::string tail(rest.substr(slash));
    // (StrCat rather than insert(0, "/"): GCC 12 -O3 warns falsely there.)
    target = tail.front() == '?' ? absl::StrCat("/", tail) : tail;
  }
  if (authority.find('@') != std::string_view::npos) {
    return Bad(url, "user info is not supported");
  }

  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(url, "unclosed '['");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad(url, "junk after ']'");
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':');
             colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || host == "[]") return Bad(url, "no host");
  uint32_t port_number = 80;
  if (!port.empty() && (!absl::SimpleAtoi(std::string(port), &port_number) ||
                        port_number == 0 || port_number > 65535)) {
    return Bad(url, "the port must be 1..65535");
  }
  WsUrl out;
  out.connect = absl::StrCat(std::string(host), ":", port_number);
  out.host = port_number == 80 ? std::string(host) : out.connect;
  out.target = std::move(target);
  return out;
}

}  // namespace troupe::echo
