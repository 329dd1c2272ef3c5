// Tests of examples/echo/ws_url.h.

#include "examples/echo/ws_url.h"

#include "gtest/gtest.h"

namespace troupe::echo {
namespace {

TEST(WsUrlTest, AFullUrlIsSplitIntoEndpointHostAndTarget) {
  absl::StatusOr<WsUrl> url = ParseWsUrl("ws://127.0.0.1:9001/echo?x=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->connect, "127.0.0.1:9001");
  EXPECT_EQ(url->host, "127.0.0.1:9001");
  EXPECT_EQ(url->target, "/echo?x=1");
}

TEST(WsUrlTest, ThePortDefaultsTo80AndThePathToSlash) {
  absl::StatusOr<WsUrl> url = ParseWsUrl("ws://example.com");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->connect, "example.com:80");
  EXPECT_EQ(url->host, "example.com");
  EXPECT_EQ(url->target, "/");
  url = ParseWsUrl("ws://example.com?q");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->target, "/?q");
}

TEST(WsUrlTest, Ipv6AddressesKeepTheirBrackets) {
  absl::StatusOr<WsUrl> url = ParseWsUrl("ws://[::1]:9001/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->connect, "[::1]:9001");
  EXPECT_EQ(url->host, "[::1]:9001");
}

TEST(WsUrlTest, WhatCannotBeUsedIsRefusedWithTheInputNamed) {
  for (const char* bad :
       {"wss://x/", "http://x/", "ws://", "ws://:80/", "ws://x:0/",
        "ws://x:65536/", "ws://x:port/", "ws://u@x/", "ws://x/#f", "ws://[::1/",
        "ws://[::1]x/"}) {
    absl::StatusOr<WsUrl> url = ParseWsUrl(bad);
    ASSERT_FALSE(url.ok()) << bad;
    EXPECT_NE(url.status().message().find(bad), absl::string_view::npos)
        << url.status();
  }
}

}  // namespace
}  // namespace troupe::echo
