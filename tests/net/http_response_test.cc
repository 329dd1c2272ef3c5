// HttpResponse (builder) and HttpResponseParser.

#include "net/http_response.h"

#include <string>

#include "gtest/gtest.h"

namespace troupe::net {
namespace {

TEST(HttpResponse, WritesStatusHeadersLengthConnectionAndBody) {
  HttpResponse response(404);
  EXPECT_TRUE(response.AddHeader("X-Room", "lobby"));
  response.SetBody("no such room\n", "text/plain");
  EXPECT_EQ(response.Serialize(),
            "HTTP/1.1 404 Not Found\r\n"
            "X-Room: lobby\r\n"
            "Content-Type: text/plain\r\n"
            "Content-Length: 13\r\n"
            "Connection: keep-alive\r\n"
            "\r\n"
            "no such room\n");
}

TEST(HttpResponse, WritesConnectionCloseWhenAsked) {
  HttpResponse response(200, "Fine");
  response.set_connection(HttpConnection::kClose);
  EXPECT_EQ(response.Serialize(),
            "HTTP/1.1 200 Fine\r\nContent-Length: 0\r\nConnection: close\r\n"
            "\r\n");
}

TEST(HttpResponse, OmitsLengthAndBodyForSwitchingProtocolsAndNoContent) {
  HttpResponse upgrade(101);
  upgrade.SetBody("ignored");
  EXPECT_EQ(upgrade.Serialize(),
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n");
  HttpResponse empty(204);
  empty.SetBody("ignored");
  EXPECT_EQ(empty.Serialize(),
            "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
}

TEST(HttpResponse, RefusesHeadersThatCouldInjectLines) {
  HttpResponse response(200);
  EXPECT_FALSE(response.AddHeader("X-A", "evil\r\nSet-Cookie: x"));
  EXPECT_FALSE(response.AddHeader("X-A", std::string("nul\0", 4)));
  EXPECT_FALSE(response.AddHeader("Bad Name", "v"));
  EXPECT_FALSE(response.AddHeader("", "v"));
  EXPECT_FALSE(response.AddHeader("Content-Length", "5"));
  EXPECT_FALSE(response.AddHeader("connection", "close"));
  EXPECT_TRUE(response.AddHeader("X-Tab", "a\tb"));
  EXPECT_EQ(response.Serialize(),
            "HTTP/1.1 200 OK\r\nX-Tab: a\tb\r\nContent-Length: 0\r\n"
            "Connection: keep-alive\r\n\r\n");
}

TEST(HttpResponse, ReplacesAnUnsafeReasonWithTheStandardPhrase) {
  EXPECT_EQ(HttpResponse(400, "x\r\ny").Serialize().substr(0, 26),
            "HTTP/1.1 400 Bad Request\r\n");
}

TEST(HttpReasonPhrase, KnowsTheCodesTheHandshakeUses) {
  EXPECT_EQ(HttpReasonPhrase(101), "Switching Protocols");
  EXPECT_EQ(HttpReasonPhrase(403), "Forbidden");
  EXPECT_EQ(HttpReasonPhrase(414), "URI Too Long");
  EXPECT_EQ(HttpReasonPhrase(426), "Upgrade Required");
  EXPECT_EQ(HttpReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(HttpReasonPhrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(HttpReasonPhrase(299), "Unknown");
}

TEST(HttpResponseParser, ParsesAStatusLineAndHeadersFedByteByByte) {
  const std::string text =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\n\r\nframes";
  HttpResponseParser parser;
  HttpParseResult r;
  size_t fed = 0;
  for (; fed < text.size(); ++fed) {
    r = parser.Feed(std::string_view(text).substr(fed, 1));
    if (r.done()) break;
    ASSERT_TRUE(r.need_more());
  }
  ASSERT_TRUE(r.done());
  EXPECT_EQ(fed + 1, text.size() - 6);
  const HttpResponseHead head = parser.TakeResponse();
  EXPECT_EQ(head.status, 101);
  EXPECT_EQ(head.version_minor, 1);
  EXPECT_EQ(head.reason, "Switching Protocols");
  EXPECT_EQ(head.headers.Get("upgrade"), "websocket");
}

TEST(HttpResponseParser, AcceptsAnEmptyReason) {
  HttpResponseParser parser;
  ASSERT_TRUE(parser.Feed("HTTP/1.1 200\r\n\r\n").done());
  EXPECT_EQ(parser.TakeResponse().status, 200);
  ASSERT_TRUE(parser.Feed("HTTP/1.0 204 \r\n\r\n").done());
  EXPECT_EQ(parser.TakeResponse().reason, "");
}

TEST(HttpResponseParser, RejectsMalformedStatusLines) {
  for (const char* bad :
       {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n",
        "HTTQ/1.1 200 OK\r\n\r\n", "HTTP/1.1 200 O\x01K\r\n\r\n"}) {
    HttpResponseParser parser;
    EXPECT_EQ(parser.Feed(bad).error_status, 400) << bad;
  }
  HttpResponseParser parser;
  EXPECT_EQ(parser.Feed("HTTP/2.0 200 OK\r\n\r\n").error_status, 505);
}

}  // namespace
}  // namespace troupe::net
