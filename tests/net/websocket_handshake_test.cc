// The opening handshake: server validation and answers, subprotocols, the
// origin hook, and the client side against our own server.

#include "net/websocket_handshake.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_request.h"
#include "net/http_response.h"

namespace troupe::net {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kRfcKey = "dGhlIHNhbXBsZSBub25jZQ==";
// RFC 6455 section 1.3 (and base64(SHA-1(key + GUID)) computed
// independently).
constexpr std::string_view kRfcAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

HttpRequest Request(std::string_view text) {
  HttpRequestParser parser;
  const HttpParseResult r = parser.Feed(text);
  EXPECT_TRUE(r.done()) << r.error_reason;
  return parser.TakeRequest();
}

std::string Upgrade(std::string_view extra_headers = "",
                    std::string_view key = kRfcKey) {
  return std::string(
             "GET /chat HTTP/1.1\r\nHost: server.example.com\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: ") +
         std::string(key) + "\r\nSec-WebSocket-Version: 13\r\n" +
         std::string(extra_headers) + "\r\n";
}

HttpResponseHead Response(std::string_view text) {
  HttpResponseParser parser;
  const HttpParseResult r = parser.Feed(text);
  EXPECT_TRUE(r.done()) << r.error_reason;
  return parser.TakeResponse();
}

TEST(ComputeAcceptKey, MatchesTheRfc6455Example) {
  EXPECT_EQ(ComputeAcceptKey(kRfcKey), kRfcAccept);
}

TEST(IsValidWebSocketKey, AcceptsOnlyBase64OfSixteenBytes) {
  EXPECT_TRUE(IsValidWebSocketKey(kRfcKey));
  EXPECT_TRUE(IsValidWebSocketKey("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_FALSE(IsValidWebSocketKey(""));
  EXPECT_FALSE(IsValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ"));   // no pad
  EXPECT_FALSE(IsValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ="));  // short
  EXPECT_FALSE(
      IsValidWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="
                          "AAAA"));                               // 19 bytes
  EXPECT_FALSE(IsValidWebSocketKey("dGhlIHNhbXBsZSBub25jZ!=="));  // bad char
  EXPECT_FALSE(IsValidWebSocketKey("dGhlIHNhbXBsZSBub25jZR=="));  // pad bits
  EXPECT_FALSE(IsValidWebSocketKey("AAAAAAAAAAAAAAAAAAAAAAAA"));  // 18 bytes
}

TEST(AcceptWebSocketUpgrade, AnswersTheRfcExampleWith101) {
  const ServerHandshake hs = AcceptWebSocketUpgrade(Request(Upgrade()), {});
  ASSERT_TRUE(hs.accepted()) << hs.error;
  EXPECT_EQ(hs.response,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "Connection: Upgrade\r\n\r\n");
  EXPECT_EQ(hs.subprotocol, "");
  EXPECT_EQ(hs.deflate, std::nullopt);
}

TEST(AcceptWebSocketUpgrade, AcceptsTokensInAnyCaseAndInLists) {
  const std::string text =
      "GET / HTTP/1.1\r\nHost: h\r\nupgrade: WebSocket\r\n"
      "connection: keep-alive, UPGRADE\r\nsec-websocket-key: " +
      std::string(kRfcKey) + "\r\nsec-websocket-version: 13\r\n\r\n";
  EXPECT_TRUE(AcceptWebSocketUpgrade(Request(text), {}).accepted());
}

struct RefusalCase {
  const char* name;
  std::string request;
  int status;
};

class Refusal : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(Refusal, AnswersWithTheRightErrorAndClosesTheConnection) {
  ServerHandshakeOptions options;
  options.check_origin = [](std::string_view origin) {
    return origin.empty() || origin == "https://good.example";
  };
  const ServerHandshake hs =
      AcceptWebSocketUpgrade(Request(GetParam().request), options);
  EXPECT_FALSE(hs.accepted());
  EXPECT_EQ(hs.status, GetParam().status) << hs.error;
  EXPECT_FALSE(hs.error.empty());
  const HttpResponseHead head = Response(hs.response);
  EXPECT_EQ(head.status, GetParam().status);
  EXPECT_TRUE(head.headers.HasToken("Connection", "close"));
  EXPECT_EQ(head.headers.Get("Sec-WebSocket-Accept"), std::nullopt);
  if (GetParam().status == 426) {
    EXPECT_EQ(head.headers.Get("Sec-WebSocket-Version"), "13");
  }
}

std::string RefusalName(const ::testing::TestParamInfo<RefusalCase>& info) {
  return info.param.name;
}

std::string Replace(std::string s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Refusal,
    ::testing::Values(
        RefusalCase{"PostMethod", Replace(Upgrade(), "GET", "POST"), 400},
        RefusalCase{"Http10", Replace(Upgrade(), "HTTP/1.1", "HTTP/1.0"), 400},
        RefusalCase{"NoUpgradeHeader",
                    Replace(Upgrade(), "Upgrade: websocket\r\n", ""), 426},
        RefusalCase{"UpgradeToSomethingElse",
                    Replace(Upgrade(), "Upgrade: websocket", "Upgrade: h2c"),
                    426},
        RefusalCase{
            "ConnectionWithoutUpgrade",
            Replace(Upgrade(), "Connection: Upgrade", "Connection: keep-alive"),
            400},
        RefusalCase{"NoVersion",
                    Replace(Upgrade(), "Sec-WebSocket-Version: 13\r\n", ""),
                    426},
        RefusalCase{"Version8", Replace(Upgrade(), "Version: 13", "Version: 8"),
                    426},
        RefusalCase{"TwoVersions", Upgrade("Sec-WebSocket-Version: 13\r\n"),
                    426},
        RefusalCase{
            "NoKey",
            Replace(Upgrade(),
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", ""),
            400},
        RefusalCase{"ShortKey", Upgrade("", "dGhlIHNhbXBsZQ=="), 400},
        RefusalCase{"NotBase64Key", Upgrade("", "not base64 at all!!!!!!="),
                    400},
        RefusalCase{"TwoKeys",
                    Upgrade("Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"),
                    400},
        RefusalCase{"TwoOrigins",
                    Upgrade("Origin: https://good.example\r\n"
                            "Origin: https://good.example\r\n"),
                    400},
        RefusalCase{"ForbiddenOrigin",
                    Upgrade("Origin: https://evil.example\r\n"), 403}),
    RefusalName);

TEST(AcceptWebSocketUpgrade, PassesTheOriginToTheHook) {
  std::string seen = "unset";
  ServerHandshakeOptions options;
  options.check_origin = [&seen](std::string_view origin) {
    seen = std::string(origin);
    return true;
  };
  EXPECT_TRUE(AcceptWebSocketUpgrade(
                  Request(Upgrade("Origin: https://good.example\r\n")), options)
                  .accepted());
  EXPECT_EQ(seen, "https://good.example");
  EXPECT_TRUE(AcceptWebSocketUpgrade(Request(Upgrade()), options).accepted());
  EXPECT_EQ(seen, "");
}

struct SubprotocolCase {
  std::vector<std::string> server;
  std::string client_headers;
  std::string chosen;
};

class Subprotocol : public ::testing::TestWithParam<SubprotocolCase> {};

TEST_P(Subprotocol, IsTheServersMostPreferredOneThatTheClientOffered) {
  ServerHandshakeOptions options;
  options.subprotocols = GetParam().server;
  const ServerHandshake hs = AcceptWebSocketUpgrade(
      Request(Upgrade(GetParam().client_headers)), options);
  ASSERT_TRUE(hs.accepted());
  EXPECT_EQ(hs.subprotocol, GetParam().chosen);
  const HttpResponseHead head = Response(hs.response);
  if (GetParam().chosen.empty()) {
    EXPECT_EQ(head.headers.Get("Sec-WebSocket-Protocol"), std::nullopt);
  } else {
    EXPECT_EQ(head.headers.Get("Sec-WebSocket-Protocol"), GetParam().chosen);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, Subprotocol,
    ::testing::Values(
        SubprotocolCase{{"hub.v2", "hub.v1"},
                        "Sec-WebSocket-Protocol: hub.v1, hub.v2\r\n",
                        "hub.v2"},
        SubprotocolCase{{"hub.v2", "hub.v1"},
                        "Sec-WebSocket-Protocol: chat\r\n"
                        "Sec-WebSocket-Protocol: hub.v1\r\n",
                        "hub.v1"},
        SubprotocolCase{{"hub.v2"}, "Sec-WebSocket-Protocol: chat\r\n", ""},
        SubprotocolCase{{"hub.v2"}, "", ""},
        SubprotocolCase{{}, "Sec-WebSocket-Protocol: chat\r\n", ""},
        SubprotocolCase{{"Chat"}, "Sec-WebSocket-Protocol: chat\r\n", ""}));

TEST(AcceptWebSocketUpgrade, AnswersAPermessageDeflateOfferWhenEnabled) {
  ServerHandshakeOptions options;
  options.deflate.enabled = true;
  const ServerHandshake hs = AcceptWebSocketUpgrade(
      Request(Upgrade("Sec-WebSocket-Extensions: permessage-deflate; "
                      "client_max_window_bits\r\n")),
      options);
  ASSERT_TRUE(hs.accepted());
  ASSERT_TRUE(hs.deflate.has_value());
  EXPECT_EQ(*hs.deflate, DeflateParams{});
  EXPECT_EQ(Response(hs.response).headers.Get("Sec-WebSocket-Extensions"),
            "permessage-deflate");
}

TEST(AcceptWebSocketUpgrade, IgnoresExtensionOffersWhenDeflateIsDisabled) {
  const ServerHandshake hs = AcceptWebSocketUpgrade(
      Request(Upgrade("Sec-WebSocket-Extensions: permessage-deflate\r\n")), {});
  ASSERT_TRUE(hs.accepted());
  EXPECT_EQ(hs.deflate, std::nullopt);
  EXPECT_THAT(hs.response, Not(HasSubstr("Extensions")));
}

// --- Client side ---------------------------------------------------------

ClientHandshakeOptions ClientOptions() {
  ClientHandshakeOptions options;
  options.host = "server.example.com:8080";
  options.target = "/ws?room=lobby";
  options.origin = "https://good.example";
  options.subprotocols = {"hub.v2", "hub.v1"};
  options.deflate.enabled = true;
  options.deflate.client_no_context_takeover = true;
  return options;
}

TEST(BuildClientHandshake, WritesARequestOurServerAccepts) {
  const ClientHandshakeOptions client = ClientOptions();
  absl::StatusOr<std::string> key = GenerateWebSocketKey();
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(IsValidWebSocketKey(*key));
  absl::StatusOr<std::string> request = BuildClientHandshake(client, *key);
  ASSERT_TRUE(request.ok()) << request.status();
  const HttpRequest parsed = Request(*request);
  EXPECT_EQ(parsed.path, "/ws");
  EXPECT_EQ(parsed.QueryParam("room"), "lobby");
  EXPECT_EQ(parsed.headers.Get("Host"), "server.example.com:8080");
  EXPECT_EQ(parsed.headers.Get("Origin"), "https://good.example");

  ServerHandshakeOptions server;
  server.subprotocols = {"hub.v1", "hub.v2"};
  server.deflate.enabled = true;
  server.deflate.server_max_window_bits = 12;
  const ServerHandshake hs = AcceptWebSocketUpgrade(parsed, server);
  ASSERT_TRUE(hs.accepted()) << hs.error;

  absl::StatusOr<ClientHandshakeResult> verified =
      VerifyServerHandshake(Response(hs.response), *key, client);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->subprotocol, "hub.v1");
  ASSERT_TRUE(verified->deflate.has_value());
  EXPECT_EQ(verified->deflate->server_max_window_bits, 12);
  EXPECT_TRUE(verified->deflate->client_no_context_takeover);
  EXPECT_EQ(*verified->deflate, *hs.deflate);
}

TEST(GenerateWebSocketKey, ReturnsADifferentKeyEachTime) {
  EXPECT_NE(*GenerateWebSocketKey(), *GenerateWebSocketKey());
}

TEST(BuildClientHandshake, RefusesValuesThatMakeABrokenRequest) {
  ClientHandshakeOptions options = ClientOptions();
  options.host = "";
  EXPECT_FALSE(BuildClientHandshake(options, kRfcKey).ok());
  options = ClientOptions();
  options.target = "ws";
  EXPECT_FALSE(BuildClientHandshake(options, kRfcKey).ok());
  options = ClientOptions();
  options.origin = "x\r\nEvil: 1";
  EXPECT_FALSE(BuildClientHandshake(options, kRfcKey).ok());
  options = ClientOptions();
  options.subprotocols = {"not a token"};
  EXPECT_FALSE(BuildClientHandshake(options, kRfcKey).ok());
  options = ClientOptions();
  options.extra_headers = {{"X-A", "b\nc"}};
  EXPECT_FALSE(BuildClientHandshake(options, kRfcKey).ok());
  EXPECT_FALSE(BuildClientHandshake(ClientOptions(), "short").ok());
}

std::string ServerAnswer(std::string_view extra) {
  return std::string(
             "HTTP/1.1 101 Switching Protocols\r\n"
             "Upgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Accept: ") +
         std::string(kRfcAccept) + "\r\n" + std::string(extra) + "\r\n";
}

TEST(VerifyServerHandshake, AcceptsAPlainAnswer) {
  ClientHandshakeOptions options;
  options.host = "h";
  absl::StatusOr<ClientHandshakeResult> r =
      VerifyServerHandshake(Response(ServerAnswer("")), kRfcKey, options);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->subprotocol, "");
  EXPECT_EQ(r->deflate, std::nullopt);
}

struct BadAnswerCase {
  const char* name;
  std::string response;
};

class BadAnswer : public ::testing::TestWithParam<BadAnswerCase> {};

TEST_P(BadAnswer, IsRejectedByTheClient) {
  ClientHandshakeOptions options = ClientOptions();
  options.deflate.server_max_window_bits = 10;
  options.deflate.server_no_context_takeover = false;
  EXPECT_FALSE(
      VerifyServerHandshake(Response(GetParam().response), kRfcKey, options)
          .ok());
}

std::string BadAnswerName(const ::testing::TestParamInfo<BadAnswerCase>& i) {
  return i.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadAnswer,
    ::testing::Values(
        BadAnswerCase{
            "Status200",
            Replace(ServerAnswer(""), "101 Switching Protocols", "200 OK")},
        BadAnswerCase{"WrongAccept",
                      Replace(ServerAnswer(""), "s3pPLMBi", "AAAAAAAA")},
        BadAnswerCase{"NoUpgrade",
                      Replace(ServerAnswer(""), "Upgrade: websocket\r\n", "")},
        BadAnswerCase{"NoConnection",
                      Replace(ServerAnswer(""), "Connection: Upgrade\r\n", "")},
        BadAnswerCase{"UnofferedSubprotocol",
                      ServerAnswer("Sec-WebSocket-Protocol: chat\r\n")},
        BadAnswerCase{"TwoSubprotocols",
                      ServerAnswer("Sec-WebSocket-Protocol: hub.v1\r\n"
                                   "Sec-WebSocket-Protocol: hub.v2\r\n")},
        BadAnswerCase{"UnofferedExtension",
                      ServerAnswer("Sec-WebSocket-Extensions: x-webkit\r\n")},
        BadAnswerCase{
            "WindowLargerThanAsked",
            ServerAnswer("Sec-WebSocket-Extensions: permessage-deflate"
                         "; server_max_window_bits=12\r\n")},
        BadAnswerCase{
            "WindowOmittedAfterAsking",
            ServerAnswer("Sec-WebSocket-Extensions: permessage-deflate\r\n")},
        BadAnswerCase{
            "UnknownParameter",
            ServerAnswer("Sec-WebSocket-Extensions: permessage-deflate"
                         "; server_max_window_bits=10; foo\r\n")},
        BadAnswerCase{
            "ClientBitsWithoutValue",
            ServerAnswer("Sec-WebSocket-Extensions: permessage-deflate"
                         "; server_max_window_bits=10; "
                         "client_max_window_bits\r\n")},
        BadAnswerCase{
            "TwoExtensions",
            ServerAnswer("Sec-WebSocket-Extensions: permessage-deflate"
                         "; server_max_window_bits=10, "
                         "permessage-deflate\r\n")}),
    BadAnswerName);

TEST(VerifyServerHandshake, RejectsDeflateWhenWeDidNotOfferIt) {
  ClientHandshakeOptions options;
  options.host = "h";
  EXPECT_FALSE(VerifyServerHandshake(
                   Response(ServerAnswer(
                       "Sec-WebSocket-Extensions: permessage-deflate\r\n")),
                   kRfcKey, options)
                   .ok());
}

}  // namespace
}  // namespace troupe::net
