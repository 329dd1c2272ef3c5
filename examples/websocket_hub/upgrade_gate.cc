#include "examples/websocket_hub/upgrade_gate.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace troupe::hub {
namespace {

// Compares in time that depends on the lengths only.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

bool IsKnownToken(std::string_view token, const GateOptions& options) {
  bool known = false;
  for (const std::string& t : options.auth_tokens) {
    known |= ConstantTimeEquals(token, t);
  }
  return known && !token.empty();
}

bool OriginAllowed(const net::HttpRequest& request,
                   const GateOptions& options) {
  const std::optional<std::string_view> origin = request.headers.Get("Origin");
  if (!origin.has_value() || origin->empty()) return true;
  for (const std::string& allowed : options.allowed_origins) {
    if (allowed == "*" || allowed == *origin) return true;
  }
  const std::optional<std::string_view> host = request.headers.Get("Host");
  if (!host.has_value()) return false;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin->size() == scheme.size() + host->size() &&
        origin->substr(0, scheme.size()) == scheme &&
        origin->substr(scheme.size()) == *host) {
      return true;
    }
  }
  return false;
}

bool Authorized(const net::HttpRequest& request, const GateOptions& options) {
  if (options.auth_tokens.empty()) return true;
  if (std::optional<std::string_view> header =
          request.headers.Get("Authorization")) {
    constexpr std::string_view kBearer = "bearer ";
    // (Debian's Abseil has a string_view of its own: convert explicitly.)
    const absl::string_view value(header->data(), header->size());
    if (value.size() > kBearer.size() &&
        absl::StartsWithIgnoreCase(value, "bearer ")) {
      const absl::string_view token =
          absl::StripAsciiWhitespace(value.substr(kBearer.size()));
      if (IsKnownToken(std::string_view(token.data(), token.size()), options)) {
        return true;
      }
    }
  }
  const std::optional<std::string_view> token = request.QueryParam("token");
  return token.has_value() && IsKnownToken(*token, options);
}

net::HttpResponse Refusal(int status, std::string_view why) {
  net::HttpResponse response(status);
  response.SetBody(std::string(why) + "\n", "text/plain; charset=utf-8");
  response.set_connection(net::HttpConnection::kClose);
  return response;
}

}  // namespace

std::optional<net::HttpResponse> CheckUpgrade(const net::HttpRequest& request,
                                              const GateOptions& options) {
  if (!OriginAllowed(request, options)) {
    return Refusal(403, "this origin may not open a WebSocket here");
  }
  if (!Authorized(request, options)) {
    net::HttpResponse response =
        Refusal(401,
                "a valid token is required (Authorization: Bearer "
                "TOKEN, or ?token=TOKEN)");
    response.AddHeader("WWW-Authenticate", "Bearer realm=\"hub\"");
    return response;
  }
  return std::nullopt;
}

}  // namespace troupe::hub
