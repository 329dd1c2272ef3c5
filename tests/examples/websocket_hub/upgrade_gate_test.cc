// The checks on a WebSocket upgrade (origins, tokens) and the stream that
// replays what the check read.

#include "examples/websocket_hub/upgrade_gate.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "gtest/gtest.h"
#include "net/http_request.h"

namespace troupe::hub {
namespace {

net::HttpRequest Upgrade(std::string_view extra_headers,
                         std::string_view target = "/ws") {
  net::HttpRequestParser parser;
  const std::string head = "GET " + std::string(target) +
                           " HTTP/1.1\r\nHost: hub.test:8080\r\n" +
                           std::string(extra_headers) + "\r\n";
  const net::HttpParseResult r = parser.Feed(head);
  EXPECT_TRUE(r.done()) << head;
  return parser.TakeRequest();
}

int StatusOf(const std::optional<net::HttpResponse>& refusal) {
  return refusal.has_value() ? refusal->status() : 0;
}

TEST(UpgradeGateTest, ARequestWithoutAnOriginPasses) {
  EXPECT_EQ(StatusOf(CheckUpgrade(Upgrade(""), GateOptions())), 0);
}

TEST(UpgradeGateTest, TheHubsOwnPagePassesAndAForeignOriginGets403) {
  GateOptions gate;
  EXPECT_EQ(
      StatusOf(CheckUpgrade(Upgrade("Origin: http://hub.test:8080\r\n"), gate)),
      0);
  EXPECT_EQ(
      StatusOf(CheckUpgrade(Upgrade("Origin: https://evil.test\r\n"), gate)),
      403);
}

TEST(UpgradeGateTest, ListedOriginsAndTheWildcardPass) {
  GateOptions gate;
  gate.allowed_origins = {"https://chat.test"};
  EXPECT_EQ(
      StatusOf(CheckUpgrade(Upgrade("Origin: https://chat.test\r\n"), gate)),
      0);
  EXPECT_EQ(StatusOf(CheckUpgrade(Upgrade("Origin: https://chat.test.evil\r\n"),
                                  gate)),
            403);
  gate.allowed_origins = {"*"};
  EXPECT_EQ(StatusOf(CheckUpgrade(Upgrade("Origin: https://anything.test\r\n"),
                                  gate)),
            0);
}

TEST(UpgradeGateTest, WithTokensAnUpgradeNeedsOneInAHeaderOrTheQuery) {
  GateOptions gate;
  gate.auth_tokens = {"s3cret", "other"};
  const std::optional<net::HttpResponse> refused =
      CheckUpgrade(Upgrade(""), gate);
  EXPECT_EQ(StatusOf(refused), 401);
  EXPECT_NE(refused->Serialize().find("WWW-Authenticate: Bearer"),
            std::string::npos);
  EXPECT_EQ(
      StatusOf(CheckUpgrade(Upgrade("Authorization: Bearer s3cret\r\n"), gate)),
      0);
  EXPECT_EQ(
      StatusOf(CheckUpgrade(Upgrade("Authorization: bearer other\r\n"), gate)),
      0);
  EXPECT_EQ(StatusOf(CheckUpgrade(Upgrade("", "/ws?token=s3cret"), gate)), 0);
  EXPECT_EQ(
      StatusOf(CheckUpgrade(Upgrade("Authorization: Bearer s3cre\r\n"), gate)),
      401);
  EXPECT_EQ(StatusOf(CheckUpgrade(Upgrade("", "/ws?token="), gate)), 401);
  EXPECT_EQ(StatusOf(CheckUpgrade(Upgrade("Authorization: Basic czNjcmV0\r\n"),
                                  gate)),
            401);
}

}  // namespace
}  // namespace troupe::hub
