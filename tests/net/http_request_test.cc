// HttpRequestParser: syntax, limits (400/414/431/505), incremental and
// pipelined input, query splitting, keep-alive.

#include "net/http_request.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace troupe::net {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr std::string_view kUpgrade =
    "GET /ws?token=abc HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "Upgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "\r\n";

// Parses `text` in one piece; the request must complete.
HttpRequest ParseOk(std::string_view text, HttpLimits limits = {}) {
  HttpRequestParser parser(limits);
  const HttpParseResult r = parser.Feed(text);
  EXPECT_TRUE(r.done()) << r.error_status << " " << r.error_reason;
  EXPECT_EQ(r.consumed, text.size());
  return parser.TakeRequest();
}

HttpParseResult ParseWhole(std::string_view text, HttpLimits limits = {}) {
  HttpRequestParser parser(limits);
  return parser.Feed(text);
}

TEST(HttpRequestParser, ParsesAWebSocketUpgradeRequest) {
  const HttpRequest request = ParseOk(kUpgrade);
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.target, "/ws?token=abc");
  EXPECT_EQ(request.path, "/ws");
  EXPECT_THAT(request.query, ElementsAre(Pair("token", "abc")));
  EXPECT_EQ(request.QueryParam("token"), "abc");
  EXPECT_EQ(request.QueryParam("missing"), std::nullopt);
  EXPECT_EQ(request.version_minor, 1);
  EXPECT_EQ(request.headers.size(), 5u);
  EXPECT_EQ(request.headers[0].name, "Host");
  EXPECT_EQ(request.headers[0].value, "example.com");
  EXPECT_TRUE(request.keep_alive);
}

TEST(HttpRequestParser, LooksUpHeadersCaseInsensitively) {
  const HttpRequest request = ParseOk(kUpgrade);
  EXPECT_EQ(request.headers.Get("sec-websocket-key"),
            "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(request.headers.Get("SEC-WEBSOCKET-VERSION"), "13");
  EXPECT_EQ(request.headers.Get("Origin"), std::nullopt);
  EXPECT_TRUE(request.headers.HasToken("connection", "UPGRADE"));
  EXPECT_TRUE(request.headers.HasToken("Connection", "keep-alive"));
  EXPECT_FALSE(request.headers.HasToken("Connection", "close"));
  EXPECT_FALSE(request.headers.HasToken("Connection", "upgr"));
}

TEST(HttpRequestParser, KeepsEveryValueOfARepeatedHeader) {
  const HttpRequest request = ParseOk(
      "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2, 3\r\nX-B: b\r\n"
      "X-A:4\r\n\r\n");
  EXPECT_THAT(request.headers.GetAll("X-A"), ElementsAre("1", "2, 3", "4"));
  EXPECT_EQ(request.headers.Count("x-a"), 3u);
  EXPECT_EQ(request.headers.Get("x-a"), "1");
  EXPECT_TRUE(request.headers.HasToken("X-A", "3"));
}

TEST(HttpRequestParser, TrimsWhitespaceAroundHeaderValues) {
  const HttpRequest request =
      ParseOk("GET / HTTP/1.1\r\nHost:   h \t\r\nX-Empty:\r\n\r\n");
  EXPECT_EQ(request.headers.Get("host"), "h");
  EXPECT_EQ(request.headers.Get("x-empty"), "");
}

TEST(HttpRequestParser, SplitsAndPercentDecodesTheQuery) {
  const HttpRequest request = ParseOk(
      "GET /a%20b/c%2Fd?x=1&y=hello+world&z=%41%42&flag&&empty=&k%3D=v%26 "
      "HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_EQ(request.path, "/a b/c/d");
  EXPECT_THAT(
      request.query,
      ElementsAre(Pair("x", "1"), Pair("y", "hello world"), Pair("z", "AB"),
                  Pair("flag", ""), Pair("empty", ""), Pair("k=", "v&")));
}

TEST(HttpRequestParser, LeavesPlusInThePathAlone) {
  EXPECT_EQ(ParseOk("GET /a+b HTTP/1.1\r\nHost: h\r\n\r\n").path, "/a+b");
}

TEST(HttpRequestParser, TakesThePathOfAnAbsoluteFormTarget) {
  const HttpRequest request = ParseOk(
      "GET http://example.com:8080/ws?room=1 HTTP/1.1\r\nHost: "
      "example.com:8080\r\n\r\n");
  EXPECT_EQ(request.path, "/ws");
  EXPECT_EQ(request.QueryParam("room"), "1");
  EXPECT_EQ(ParseOk("GET http://example.com HTTP/1.1\r\nHost: x\r\n\r\n").path,
            "/");
}

TEST(HttpRequestParser, AcceptsAsteriskFormOnlyForOptions) {
  EXPECT_EQ(ParseOk("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").path, "*");
  EXPECT_EQ(ParseWhole("GET * HTTP/1.1\r\nHost: h\r\n\r\n").error_status, 400);
}

TEST(PercentDecode, RejectsTruncatedOrNonHexEscapes) {
  EXPECT_EQ(PercentDecode("%4", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%", false), std::nullopt);
  EXPECT_EQ(PercentDecode("a%zz", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%4g", false), std::nullopt);
  EXPECT_EQ(PercentDecode("%4a%4A+", true), "JJ ");
  EXPECT_EQ(PercentDecode("%4a%4A+", false), "JJ+");
}

// --- Keep-alive ---------------------------------------------------------

struct KeepAliveCase {
  const char* version;
  const char* connection;  // nullptr: no Connection header
  bool keep_alive;
};

class KeepAlive : public ::testing::TestWithParam<KeepAliveCase> {};

TEST_P(KeepAlive, FollowsTheVersionDefaultAndTheConnectionHeader) {
  std::string text =
      std::string("GET / ") + GetParam().version + "\r\nHost: h\r\n";
  if (GetParam().connection != nullptr) {
    text += std::string("Connection: ") + GetParam().connection + "\r\n";
  }
  text += "\r\n";
  EXPECT_EQ(ParseOk(text).keep_alive, GetParam().keep_alive);
}

INSTANTIATE_TEST_SUITE_P(
    Table, KeepAlive,
    ::testing::Values(KeepAliveCase{"HTTP/1.1", nullptr, true},
                      KeepAliveCase{"HTTP/1.1", "close", false},
                      KeepAliveCase{"HTTP/1.1", "Close", false},
                      KeepAliveCase{"HTTP/1.1", "upgrade, close", false},
                      KeepAliveCase{"HTTP/1.1", "keep-alive", true},
                      KeepAliveCase{"HTTP/1.1", "closed", true},
                      KeepAliveCase{"HTTP/1.0", nullptr, false},
                      KeepAliveCase{"HTTP/1.0", "keep-alive", true},
                      KeepAliveCase{"HTTP/1.0", "Keep-Alive", true},
                      KeepAliveCase{"HTTP/1.0", "close", false}));

// --- Errors ----------------------------------------------------------------

struct ErrorCase {
  const char* name;
  const char* text;
  int status;
};

class RequestError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RequestError, IsRejectedWithTheRightStatus) {
  const HttpParseResult whole = ParseWhole(GetParam().text);
  EXPECT_TRUE(whole.error());
  EXPECT_EQ(whole.error_status, GetParam().status) << whole.error_reason;
  EXPECT_FALSE(whole.error_reason.empty());

  // Byte by byte, the same verdict.
  HttpRequestParser parser;
  HttpParseResult r;
  for (char c : std::string_view(GetParam().text)) {
    r = parser.Feed(std::string_view(&c, 1));
    if (!r.need_more()) break;
  }
  EXPECT_TRUE(r.error());
  EXPECT_EQ(r.error_status, GetParam().status);
}

std::string ErrorName(const ::testing::TestParamInfo<ErrorCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, RequestError,
    ::testing::Values(
        ErrorCase{"NoTarget", "GET HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"DoubleSpace", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"TrailingSpace", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400},
        ErrorCase{"BadMethod", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"LowercaseVersion", "GET / http/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"ShortVersion", "GET / HTTP/1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"Http2", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        ErrorCase{"Http0", "GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505},
        ErrorCase{"RelativeTarget", "GET ws HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"Fragment", "GET /a#b HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"BadPercentInPath", "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n",
                  400},
        ErrorCase{"BadPercentInQuery", "GET /?a=%4 HTTP/1.1\r\nHost: h\r\n\r\n",
                  400},
        ErrorCase{"ControlInTarget", "GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n",
                  400},
        ErrorCase{"BareLf", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
        ErrorCase{"BareLfInHeaders", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400},
        ErrorCase{"NoColon", "GET / HTTP/1.1\r\nHost h\r\n\r\n", 400},
        ErrorCase{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
                  400},
        ErrorCase{"EmptyName", "GET / HTTP/1.1\r\n: h\r\nHost: h\r\n\r\n", 400},
        ErrorCase{"ObsFold", "GET / HTTP/1.1\r\nHost: h\r\n x\r\n\r\n", 400},
        ErrorCase{"NulInValue",
                  "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01z\r\n\r\n", 400},
        ErrorCase{"CrInValue", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n",
                  400},
        ErrorCase{"MissingHost", "GET / HTTP/1.1\r\n\r\n", 400},
        ErrorCase{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                  400},
        ErrorCase{"BadContentLength",
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n",
                  400},
        ErrorCase{"NegativeContentLength",
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
                  400},
        ErrorCase{"ConflictingContentLength",
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
                  "Content-Length: 2\r\n\r\n",
                  400},
        ErrorCase{"HugeContentLength",
                  "POST / HTTP/1.1\r\nHost: h\r\n"
                  "Content-Length: 99999999999999999999999\r\n\r\n",
                  400},
        ErrorCase{"TransferEncodingAndContentLength",
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n",
                  400},
        ErrorCase{"TransferEncodingNotChunked",
                  "POST / HTTP/1.1\r\nHost: h\r\n"
                  "Transfer-Encoding: chunked, gzip\r\n\r\n",
                  400}),
    ErrorName);

TEST(HttpRequestParser, AcceptsAgreeingContentLengthsAndChunkedLast) {
  const HttpRequest a = ParseOk(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
      "Content-Length: 5\r\n\r\n");
  EXPECT_EQ(a.content_length, 5u);
  EXPECT_FALSE(a.chunked);
  const HttpRequest b = ParseOk(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n");
  EXPECT_TRUE(b.chunked);
  EXPECT_EQ(b.content_length, std::nullopt);
}

TEST(HttpRequestParser, AllowsHttp10WithoutHost) {
  const HttpRequest request = ParseOk("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(request.version_minor, 0);
  EXPECT_FALSE(request.keep_alive);
}

// --- Limits --------------------------------------------------------------

TEST(HttpRequestParser, AcceptsARequestLineExactlyAtTheLimitAndRejectsOneMore) {
  HttpLimits limits;
  limits.max_request_line = 64;
  const std::string prefix = "GET /";
  const std::string suffix = " HTTP/1.1";
  const std::string at_limit =
      prefix + std::string(64 - prefix.size() - suffix.size(), 'a') + suffix;
  ASSERT_EQ(at_limit.size(), 64u);
  ParseOk(at_limit + "\r\nHost: h\r\n\r\n", limits);
  const std::string over =
      prefix + std::string(65 - prefix.size() - suffix.size(), 'a') + suffix;
  EXPECT_EQ(ParseWhole(over + "\r\nHost: h\r\n\r\n", limits).error_status, 414);
}

TEST(HttpRequestParser, RejectsAnOverlongRequestLineBeforeItEnds) {
  HttpRequestParser parser;  // default: 8 KiB
  const std::string start = "GET /" + std::string(size_t{8} * 1024, 'a');
  const HttpParseResult r = parser.Feed(start);
  EXPECT_TRUE(r.error());
  EXPECT_EQ(r.error_status, 414);
}

TEST(HttpRequestParser, RejectsAHeaderSectionOverTheByteLimitWith431) {
  HttpLimits limits;
  limits.max_header_bytes = 100;
  // "Host: h\r\n" is 9 bytes; pad X to reach exactly 100.
  const std::string host = "Host: h\r\n";
  const std::string at_limit =
      "X: " + std::string(100 - host.size() - 5, 'v') + "\r\n";
  ASSERT_EQ(host.size() + at_limit.size(), 100u);
  ParseOk("GET / HTTP/1.1\r\n" + host + at_limit + "\r\n", limits);
  const std::string over =
      "X: " + std::string(100 - host.size() - 4, 'v') + "\r\n";
  EXPECT_EQ(ParseWhole("GET / HTTP/1.1\r\n" + host + over + "\r\n", limits)
                .error_status,
            431);
}

TEST(HttpRequestParser, RejectsAnEndlessHeaderLineBeforeItEnds) {
  HttpRequestParser parser;
  EXPECT_TRUE(parser.Feed("GET / HTTP/1.1\r\nX: ").need_more());
  const HttpParseResult r = parser.Feed(std::string(size_t{16} * 1024, 'v'));
  EXPECT_TRUE(r.error());
  EXPECT_EQ(r.error_status, 431);
}

TEST(HttpRequestParser, RejectsMoreHeadersThanTheCountLimitWith431) {
  HttpLimits limits;
  limits.max_header_count = 5;
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 4; ++i) text += "X-" + std::to_string(i) + ": v\r\n";
  ParseOk(text + "\r\n", limits);
  EXPECT_EQ(ParseWhole(text + "X-9: v\r\n\r\n", limits).error_status, 431);
}

TEST(HttpRequestParser, HasDefaultLimitsOf8And16KiBAnd100Fields) {
  const HttpLimits limits;
  EXPECT_EQ(limits.max_request_line, 8u * 1024);
  EXPECT_EQ(limits.max_header_bytes, 16u * 1024);
  EXPECT_EQ(limits.max_header_count, 100u);
  std::string text = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 100; ++i) text += "X: v\r\n";
  EXPECT_EQ(ParseWhole(text + "\r\n").error_status, 431);
}

// --- Incremental and pipelined input ------------------------------------

TEST(HttpRequestParser, ParsesARequestFedOneByteAtATime) {
  HttpRequestParser parser;
  for (size_t i = 0; i < kUpgrade.size(); ++i) {
    const HttpParseResult r = parser.Feed(kUpgrade.substr(i, 1));
    if (i + 1 < kUpgrade.size()) {
      ASSERT_TRUE(r.need_more()) << i;
      ASSERT_EQ(r.consumed, 1u);
    } else {
      ASSERT_TRUE(r.done());
      ASSERT_EQ(r.consumed, 1u);
    }
  }
  const HttpRequest request = parser.TakeRequest();
  EXPECT_EQ(request.path, "/ws");
  EXPECT_EQ(request.headers.Get("Sec-WebSocket-Version"), "13");
}

TEST(HttpRequestParser, ParsesTheSameRequestForEverySplitIntoTwoPieces) {
  for (size_t split = 0; split <= kUpgrade.size(); ++split) {
    HttpRequestParser parser;
    HttpParseResult r = parser.Feed(kUpgrade.substr(0, split));
    if (!r.done()) {
      ASSERT_TRUE(r.need_more());
      r = parser.Feed(kUpgrade.substr(split));
    }
    ASSERT_TRUE(r.done()) << split;
    const HttpRequest request = parser.TakeRequest();
    ASSERT_EQ(request.headers.size(), 5u);
    ASSERT_EQ(request.QueryParam("token"), "abc");
  }
}

TEST(HttpRequestParser, StopsAtTheEndOfTheHeadLeavingPipelinedRequests) {
  const std::string first = "GET /one HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string second =
      "GET /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
  const std::string third = "GET /three HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string stream = first + second + third;

  HttpRequestParser parser;
  std::string_view rest = stream;
  std::vector<std::string> paths;
  std::vector<bool> keep_alive;
  while (!rest.empty()) {
    const HttpParseResult r = parser.Feed(rest);
    ASSERT_TRUE(r.done());
    rest.remove_prefix(r.consumed);
    HttpRequest request = parser.TakeRequest();
    paths.push_back(request.path);
    keep_alive.push_back(request.keep_alive);
  }
  EXPECT_THAT(paths, ElementsAre("/one", "/two", "/three"));
  EXPECT_THAT(keep_alive, ElementsAre(true, false, true));
}

TEST(HttpRequestParser, ReportsOnlyTheHeadBytesAsConsumedWhenABodyFollows) {
  const std::string head =
      "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n";
  HttpRequestParser parser;
  const HttpParseResult r = parser.Feed(head + "body");
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.consumed, head.size());
  EXPECT_EQ(parser.TakeRequest().content_length, 4u);
}

TEST(HttpRequestParser, IgnoresEmptyLinesBeforeTheRequestLine) {
  HttpRequestParser parser;
  const std::string text = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  const HttpParseResult r = parser.Feed(text);
  ASSERT_TRUE(r.done());
  EXPECT_EQ(r.consumed, text.size());
}

TEST(HttpRequestParser, KeepsReportingAnErrorUntilReset) {
  HttpRequestParser parser;
  EXPECT_EQ(parser.Feed("BAD\r\n").error_status, 400);
  const HttpParseResult again =
      parser.Feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  EXPECT_TRUE(again.error());
  EXPECT_EQ(again.consumed, 0u);
  parser.Reset();
  EXPECT_TRUE(parser.Feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").done());
}

TEST(HttpRequestParser, ReportsDoneWithoutConsumingUntilTheRequestIsTaken) {
  HttpRequestParser parser;
  ASSERT_TRUE(parser.Feed("GET / HTTP/1.1\r\nHost: h\r\n\r\n").done());
  const HttpParseResult again = parser.Feed("GET /");
  EXPECT_TRUE(again.done());
  EXPECT_EQ(again.consumed, 0u);
}

}  // namespace
}  // namespace troupe::net
