// Tests of net/http_server_connection.h and net/websocket_client.h over
// memory pipes: static responses, keep-alive, the request limits, bodies,
// timeouts, and the WebSocket upgrade (subprotocols, Origin, deflate).
// Both runtime flavours.

#include "net/http_server_connection.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/http_head_reader.h"
#include "net/http_response.h"
#include "net/memory_stream.h"
#include "net/websocket_client.h"
#include "tests/net/websocket_peer.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

template <typename F>
class HttpServerConnectionTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(HttpServerConnectionTest, test::RuntimeFlavours);

Task<void> Echo(WebSocketConnection ws, HttpRequest request) {
  (void)request;
  for (;;) {
    absl::StatusOr<WebSocketMessage> m = co_await ws.Receive();
    if (!m.ok()) co_return;
    const absl::Status sent = co_await ws.Send(std::move(*m));
    if (!sent.ok()) co_return;
  }
}

std::shared_ptr<HttpRouter> TestRouter() {
  auto router = std::make_shared<HttpRouter>();
  router->HandleStatic("/healthz", 200, "ok\n");
  router->Handle("/echo", [](const HttpRequest& request,
                             std::string_view body) {
    HttpResponse response(200);
    response.SetBody(request.method + " " + std::string(body), "text/plain");
    return response;
  });
  ServerHandshakeOptions handshake;
  handshake.subprotocols = {"hub.v2", "hub.v1"};
  handshake.check_origin = [](std::string_view origin) {
    return origin.empty() || origin == "https://good.example";
  };
  handshake.deflate.enabled = true;
  router->HandleWebSocket("/ws", Echo, handshake);
  // A gated route: upgrades without "X-Pass: yes" are refused with 401.
  router->HandleWebSocket("/gated", Echo);
  router->SetUpgradeGate("/gated", [](const HttpRequest& request) {
    std::optional<HttpResponse> refusal;
    if (request.headers.Get("X-Pass").value_or("") != "yes") {
      refusal.emplace(401);
      refusal->SetBody("no pass\n", "text/plain");
    }
    return refusal;
  });
  return router;
}

// A server on one end of a pipe; the client end for the test (as the
// AnyByteStream the HTTP helpers read from, and as the MemoryStream).
struct Served {
  Served(MemoryStream client, JoinHandle<absl::Status> server)
      : client(std::move(client)), server(std::move(server)) {}
  MemoryStream& stream() { return client.stream(); }
  ByteStreamAdapter<MemoryStream> client;
  JoinHandle<absl::Status> server;
};

Served Serve(HttpServerOptions options = {}) {
  auto [client, server_end] = MakeMemoryPipe(1 << 16);
  return Served(
      std::move(client),
      Spawn(ServeHttpConnection(std::move(server_end), TestRouter(), options)));
}

// Reads one response (head and Content-Length body) from `client`; bytes
// after it stay in `buffer`.
struct Response {
  int status = 0;
  std::string connection;
  std::string body;
};
Task<std::optional<Response>> ReadResponse(AnyByteStream& stream,
                                           std::string& buffer) {
  HttpResponseParser parser;
  absl::StatusOr<HttpHeadRead> read =
      co_await ReadHttpHead(stream, parser, buffer);
  if (!read.ok() || read->kind != HttpHeadRead::Kind::kDone) {
    co_return std::nullopt;
  }
  HttpResponseHead head = parser.TakeResponse();
  std::optional<Response> result(std::in_place);
  result->status = head.status;
  result->connection = std::string(head.headers.Get("Connection").value_or(""));
  const size_t length =
      std::stoul(std::string(head.headers.Get("Content-Length").value_or("0")));
  char chunk[1024];
  while (buffer.size() < length) {
    absl::StatusOr<size_t> n = co_await stream.Read(chunk);
    if (!n.ok() || *n == 0) break;
    buffer.append(chunk, *n);
  }
  result->body = buffer.substr(0, length);
  buffer.erase(0, std::min(length, buffer.size()));
  co_return result;
}

constexpr char kGet[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

TYPED_TEST(HttpServerConnectionTest, AStaticResponseIsServed) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Served s = Serve();
    CO_EXPECT_OK(co_await s.stream().WriteAll(AsSpan(kGet)));
    std::string buffer;
    std::optional<Response> r = co_await ReadResponse(s.client, buffer);
    CO_ASSERT(r.has_value());
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "ok\n");
    EXPECT_EQ(r->connection, "keep-alive");
  }());
}

TYPED_TEST(HttpServerConnectionTest, KeepAliveServesRequestsInTurn) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Served s = Serve();
    std::string buffer;
    // One request, its answer; then two pipelined in one write.
    CO_EXPECT_OK(co_await s.stream().WriteAll(AsSpan(kGet)));
    std::optional<Response> first = co_await ReadResponse(s.client, buffer);
    CO_ASSERT(first.has_value());
    EXPECT_EQ(first->status, 200);
    const std::string two =
        std::string("GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n") +
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
        "Connection: close\r\n\r\nhello";
    CO_EXPECT_OK(co_await s.stream().WriteAll(AsSpan(two)));
    std::optional<Response> second = co_await ReadResponse(s.client, buffer);
    CO_ASSERT(second.has_value());
    EXPECT_EQ(second->status, 404);
    EXPECT_EQ(second->connection, "keep-alive");
    std::optional<Response> third = co_await ReadResponse(s.client, buffer);
    CO_ASSERT(third.has_value());
    EXPECT_EQ(third->status, 200);
    EXPECT_EQ(third->body, "POST hello");
    EXPECT_EQ(third->connection, "close");
    CO_EXPECT_EQ(co_await testing::ReadToEnd(s.stream()), std::string());
    CO_EXPECT_OK(co_await s.server);
  }());
}

// Sends `request` and expects `status`, then the end of the connection.
Task<void> ExpectRefusal(std::string request, int status,
                         HttpServerOptions options = {}) {
  Served s = Serve(options);
  CO_EXPECT_OK(co_await s.stream().WriteAll(AsSpan(request)));
  const std::string all = co_await testing::ReadToEnd(s.stream());
  EXPECT_THAT(all, StartsWith("HTTP/1.1 " + std::to_string(status)));
  EXPECT_THAT(all, HasSubstr("Connection: close"));
  const absl::Status served = co_await s.server;
  EXPECT_FALSE(served.ok());
}

TYPED_TEST(HttpServerConnectionTest, AMalformedRequestIsAnswered400) {
  this->runtime_.BlockOn(
      ExpectRefusal("GET / HTTP/1.1\r\nHost t\r\n\r\n", 400));
  this->runtime_.BlockOn(ExpectRefusal("GET / HTTP/1.1\r\n\r\n", 400));
}

TYPED_TEST(HttpServerConnectionTest, AHeaderSectionOverTheLimitIsAnswered431) {
  HttpServerOptions options;
  options.limits.max_header_bytes = 200;
  this->runtime_.BlockOn(ExpectRefusal("GET / HTTP/1.1\r\nHost: t\r\nX-Big: " +
                                           std::string(300, 'b') + "\r\n\r\n",
                                       431, options));
}

TYPED_TEST(HttpServerConnectionTest, TooManyHeaderFieldsAreAnswered431) {
  HttpServerOptions options;
  options.limits.max_header_count = 5;
  std::string request = "GET / HTTP/1.1\r\nHost: t\r\n";
  for (int i = 0; i < 10; ++i) {
    request += "X-" + std::to_string(i) + ": v\r\n";
  }
  this->runtime_.BlockOn(ExpectRefusal(request + "\r\n", 431, options));
}

TYPED_TEST(HttpServerConnectionTest, ARequestLineOverTheLimitIsAnswered414) {
  HttpServerOptions options;
  options.limits.max_request_line = 64;
  this->runtime_.BlockOn(ExpectRefusal(
      "GET /" + std::string(100, 'p') + " HTTP/1.1\r\nHost: t\r\n\r\n", 414,
      options));
}

TYPED_TEST(HttpServerConnectionTest, BodiesTheServerWillNotReadAreRefused) {
  HttpServerOptions options;
  options.max_body_size = 10;
  this->runtime_.BlockOn(ExpectRefusal(
      "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n", 413,
      options));
  this->runtime_.BlockOn(ExpectRefusal(
      "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n",
      501));
}

TYPED_TEST(HttpServerConnectionTest, ASilentClientIsAnswered408AndDropped) {
  this->runtime_.BlockOn([]() -> Task<void> {
    HttpServerOptions options;
    options.request_timeout = std::chrono::milliseconds(30);
    Served s = Serve(options);
    const std::string all = co_await testing::ReadToEnd(s.stream());
    EXPECT_THAT(all, StartsWith("HTTP/1.1 408"));
    CO_EXPECT_CODE(co_await s.server, absl::StatusCode::kDeadlineExceeded);
  }());
}

// A WebSocket client connected through a new server connection, which
// `server` then runs.
Task<absl::StatusOr<WebSocketConnection>> ConnectTo(
    JoinHandle<absl::Status>& server, WebSocketClientOptions options) {
  auto [client, server_end] = MakeMemoryPipe(1 << 16);
  server = Spawn(ServeHttpConnection(std::move(server_end), TestRouter()));
  co_return co_await WebSocketConnect(std::move(client), "example.com",
                                      "/ws?room=1", std::move(options));
}

TYPED_TEST(HttpServerConnectionTest,
           AnUpgradeSucceedsWithTheSubprotocolTheServerPrefers) {
  this->runtime_.BlockOn([]() -> Task<void> {
    JoinHandle<absl::Status> server;
    WebSocketClientOptions options;
    options.subprotocols = {"hub.v1", "hub.v2"};
    absl::StatusOr<WebSocketConnection> ws =
        co_await ConnectTo(server, std::move(options));
    CO_ASSERT(ws.ok());
    EXPECT_EQ(ws->subprotocol(), "hub.v2");
    EXPECT_FALSE(ws->deflate().has_value());  // not offered
    WebSocketMessage hello = WebSocketMessage::Text("hello");
    CO_EXPECT_OK(co_await ws->Send(std::move(hello)));
    absl::StatusOr<WebSocketMessage> echoed = co_await ws->Receive();
    CO_ASSERT(echoed.ok());
    EXPECT_EQ(echoed->data(), "hello");
    CO_EXPECT_OK(co_await ws->Close());
    CO_EXPECT_OK(co_await server);
  }());
}

TYPED_TEST(HttpServerConnectionTest, AnOriginTheHookRefusesIsAnswered403) {
  this->runtime_.BlockOn([]() -> Task<void> {
    JoinHandle<absl::Status> server;
    WebSocketClientOptions options;
    options.origin = "https://evil.example";
    absl::StatusOr<WebSocketConnection> ws =
        co_await ConnectTo(server, std::move(options));
    CO_ASSERT(!ws.ok());
    EXPECT_THAT(std::string(ws.status().message()), HasSubstr("403"));
    CO_EXPECT_NOT_OK(co_await server);
  }());
}

constexpr char kGatedUpgrade[] =
    "GET /gated HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

TYPED_TEST(HttpServerConnectionTest,
           AnUpgradeTheRoutesGateRefusesGetsTheGatesResponseAndCloses) {
  this->runtime_.BlockOn(
      ExpectRefusal(std::string(kGatedUpgrade) + "\r\n", 401));
}

TYPED_TEST(HttpServerConnectionTest,
           AnUpgradeTheRoutesGatePassesIsAnswered101) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Served s = Serve();
    const std::string request =
        std::string(kGatedUpgrade) + "X-Pass: yes\r\n\r\n";
    CO_EXPECT_OK(co_await s.stream().WriteAll(AsSpan(request)));
    char buffer[64];
    absl::StatusOr<size_t> n = co_await s.stream().Read(buffer);
    CO_ASSERT(n.ok());
    EXPECT_THAT(std::string(buffer, *n), StartsWith("HTTP/1.1 101"));
    s.server.Abort();
  }());
}

TYPED_TEST(HttpServerConnectionTest, AnUpgradeWithABadKeyIsAnswered400) {
  this->runtime_.BlockOn(
      ExpectRefusal("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                    "Sec-WebSocket-Key: short\r\n\r\n",
                    400));
}

TYPED_TEST(HttpServerConnectionTest, FramesSentRightAfterTheUpgradeAreKept) {
  this->runtime_.BlockOn([]() -> Task<void> {
    Served s = Serve();
    // A client in a hurry: request and first frame in one write.
    const std::string wire =
        std::string(
            "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n") +
        testing::ClientFrame(Opcode::kText, "early");
    CO_EXPECT_OK(co_await s.stream().WriteAll(AsSpan(wire)));
    std::string buffer;
    std::optional<Response> r = co_await ReadResponse(s.client, buffer);
    CO_ASSERT(r.has_value());
    EXPECT_EQ(r->status, 101);
    // The echo may have come with the 101: the peer starts from there.
    testing::RawPeer peer(std::move(s.stream()), Role::kClient);
    peer.Prepend(std::move(buffer));
    std::optional<testing::Event> e = co_await peer.Next();
    CO_ASSERT(e.has_value());
    EXPECT_EQ(e->payload, "early");  // echoed
  }());
}

// Round trips a large message each way over a negotiated deflate session.
Task<void> DeflateSession(DeflateOptions offer, DeflateParams expected) {
  JoinHandle<absl::Status> server;
  WebSocketClientOptions options;
  options.deflate = offer;
  absl::StatusOr<WebSocketConnection> ws =
      co_await ConnectTo(server, std::move(options));
  CO_ASSERT(ws.ok());
  CO_ASSERT(ws->deflate().has_value());
  EXPECT_EQ(*ws->deflate(), expected);
  std::string big;
  for (int i = 0; i < 20000; ++i) big += std::to_string(i % 97) + ",";
  for (int round = 0; round < 2; ++round) {
    WebSocketMessage m = WebSocketMessage::Text(big);
    CO_EXPECT_OK(co_await ws->Send(std::move(m)));
    absl::StatusOr<WebSocketMessage> echoed = co_await ws->Receive();
    CO_ASSERT(echoed.ok());
    EXPECT_EQ(echoed->data(), big);
  }
  CO_EXPECT_OK(co_await ws->Close());
  CO_EXPECT_OK(co_await server);
}

TYPED_TEST(HttpServerConnectionTest, DeflateIsNegotiatedWithSmallWindows) {
  DeflateOptions offer;
  offer.enabled = true;
  offer.server_max_window_bits = 10;
  offer.client_max_window_bits = 9;
  DeflateParams expected;
  expected.server_max_window_bits = 10;
  expected.client_max_window_bits = 9;
  this->runtime_.BlockOn(DeflateSession(offer, expected));
}

TYPED_TEST(HttpServerConnectionTest,
           DeflateIsNegotiatedWithoutContextTakeover) {
  DeflateOptions offer;
  offer.enabled = true;
  offer.server_no_context_takeover = true;
  offer.client_no_context_takeover = true;
  DeflateParams expected;
  expected.server_no_context_takeover = true;
  expected.client_no_context_takeover = true;
  this->runtime_.BlockOn(DeflateSession(offer, expected));
}

}  // namespace
}  // namespace troupe::net
