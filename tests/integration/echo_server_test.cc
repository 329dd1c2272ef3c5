// The echo server (examples/echo/echo_server.h) in process, over real
// loopback TCP, against troupe's own client and raw sockets: echoes with
// and without compression, the message limit, metrics, every step of the
// shutdown protocol, and the load run (examples/echo/load_run.h) against
// it. Both runtime flavours.

#include "examples/echo/echo_server.h"

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "examples/echo/load_run.h"
#include "examples/echo/ws_url.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/close_codes.h"
#include "net/socket_address.h"
#include "net/tcp_stream.h"
#include "net/websocket_client.h"
#include "net/websocket_connection.h"
#include "tests/runtime_flavours.h"

namespace troupe::echo {
namespace {

using net::WebSocketConnection;
using net::WebSocketMessage;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using SteadyClock = std::chrono::steady_clock;

template <typename F>
class EchoServerTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(EchoServerTest, test::RuntimeFlavours);

// A server listening on a free loopback port, running until Stop().
class RunningServer {
 public:
  static absl::StatusOr<std::unique_ptr<RunningServer>> Start(
      EchoServerOptions options = {}) {
    absl::StatusOr<std::unique_ptr<EchoServer>> server = EchoServer::Listen(
        net::SocketAddress::Ipv4Loopback(0), std::move(options));
    if (!server.ok()) return server.status();
    return std::unique_ptr<RunningServer>(
        new RunningServer(*std::move(server)));
  }

  EchoServer& server() { return *server_; }
  const net::SocketAddress& address() const { return server_->address(); }

  // Cancels the stop token and waits for Run's report.
  Task<ShutdownReport> Stop() {
    stop_.Cancel();
    co_return co_await run_;
  }

 private:
  explicit RunningServer(std::unique_ptr<EchoServer> server)
      : server_(std::move(server)), run_(Spawn(server_->Run(stop_))) {}

  std::unique_ptr<EchoServer> server_;
  CancellationToken stop_;
  JoinHandle<ShutdownReport> run_;
};

Task<absl::StatusOr<WebSocketConnection>> ConnectClient(
    net::SocketAddress address, bool deflate) {
  absl::StatusOr<net::TcpStream> tcp =
      co_await net::TcpStream::Connect(address);
  if (!tcp.ok()) co_return tcp.status();
  net::WebSocketClientOptions options;
  options.deflate.enabled = deflate;
  Task<absl::StatusOr<WebSocketConnection>> handshake = net::WebSocketConnect(
      *std::move(tcp), address.ToString(), "/", std::move(options));
  co_return co_await std::move(handshake);
}

// Writes `request` on a fresh connection and reads until the end of the
// response head; the stream stays open.
Task<absl::StatusOr<std::string>> RawRequest(net::SocketAddress address,
                                             std::string request,
                                             net::TcpStream* out) {
  absl::StatusOr<net::TcpStream> tcp =
      co_await net::TcpStream::Connect(address);
  if (!tcp.ok()) co_return tcp.status();
  *out = *std::move(tcp);
  const absl::Status written =
      co_await out->WriteAll(std::span<const char>(request));
  if (!written.ok()) co_return written;
  std::string head;
  char buffer[4096];
  while (head.find("\r\n\r\n") == std::string::npos) {
    absl::StatusOr<size_t> n = co_await out->Read(buffer);
    if (!n.ok()) co_return n.status();
    if (*n == 0) co_return absl::UnavailableError("closed: " + head);
    head.append(buffer, *n);
  }
  co_return head;
}

constexpr char kUpgrade[] =
    "GET / HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

Task<absl::StatusOr<WebSocketMessage>> EchoOnce(WebSocketConnection* ws,
                                                WebSocketMessage message) {
  const absl::Status sent = co_await ws->Send(std::move(message));
  if (!sent.ok()) co_return sent;
  co_return co_await ws->Receive();
}

TYPED_TEST(EchoServerTest, TextAndBinaryComeBackWithAndWithoutCompression) {
  this->runtime_.BlockOn([]() -> Task<void> {
    absl::StatusOr<std::unique_ptr<RunningServer>> s = RunningServer::Start();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) co_return;
    for (const bool deflate : {true, false}) {
      absl::StatusOr<WebSocketConnection> ws =
          co_await ConnectClient((*s)->address(), deflate);
      EXPECT_TRUE(ws.ok()) << ws.status();
      if (!ws.ok()) co_return;
      EXPECT_EQ(ws->deflate().has_value(), deflate);
      absl::StatusOr<WebSocketMessage> text =
          co_await EchoOnce(&*ws, WebSocketMessage::Text("hello, echo"));
      EXPECT_TRUE(text.ok() && text->is_text() &&
                  text->data() == "hello, echo");
      const std::string bytes(100000, '\x01');
      absl::StatusOr<WebSocketMessage> binary =
          co_await EchoOnce(&*ws, WebSocketMessage::Binary(bytes));
      EXPECT_TRUE(binary.ok() && !binary->is_text() && binary->data() == bytes);
      const absl::Status closed = co_await ws->Close();
      EXPECT_TRUE(closed.ok()) << closed;
    }
    // The server's side of a session ends a moment after the client's
    // Close returned: once it has read the client's end of stream (the
    // lingering close). Wait for both, so that nothing is left to close.
    for (int i = 0; i < 10000; ++i) {
      if ((*s)->server().RenderMetrics().find(
              "echo_websocket_sessions_open 0") != std::string::npos) {
        break;
      }
      co_await SleepFor(milliseconds(1));
    }
    const ShutdownReport report = co_await (*s)->Stop();
    EXPECT_EQ(report.sessions_closing, 0u);
    EXPECT_FALSE(report.timed_out);
    const EchoMetrics& m = (*s)->server().metrics();
    EXPECT_EQ(m.connections_accepted(), 2u);
    EXPECT_EQ(m.sessions_started(), 2u);
    EXPECT_EQ(m.messages_received(), 4u);
    EXPECT_EQ(m.messages_sent(), 4u);
    EXPECT_EQ(m.bytes_received(), 2 * (11u + 100000u));
    EXPECT_EQ(m.closes(net::close_code::kNormal), 2u);
  }());
}

TYPED_TEST(EchoServerTest, AMessageOverTheLimitFailsTheConnectionWith1009) {
  this->runtime_.BlockOn([]() -> Task<void> {
    EchoServerOptions options;
    options.max_message_size = 1000;
    absl::StatusOr<std::unique_ptr<RunningServer>> s =
        RunningServer::Start(options);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) co_return;
    absl::StatusOr<WebSocketConnection> ws =
        co_await ConnectClient((*s)->address(), false);
    EXPECT_TRUE(ws.ok()) << ws.status();
    if (!ws.ok()) co_return;
    absl::StatusOr<WebSocketMessage> fits = co_await EchoOnce(
        &*ws, WebSocketMessage::Binary(std::string(1000, 'a')));
    EXPECT_TRUE(fits.ok()) << fits.status();
    absl::StatusOr<WebSocketMessage> over = co_await EchoOnce(
        &*ws, WebSocketMessage::Binary(std::string(1001, 'a')));
    EXPECT_FALSE(over.ok());
    EXPECT_EQ(ws->close_info().code, net::close_code::kMessageTooBig);
    (void)co_await (*s)->Stop();
    EXPECT_EQ((*s)->server().metrics().closes(net::close_code::kMessageTooBig),
              1u);
  }());
}

TYPED_TEST(EchoServerTest, HealthzAndMetricsAnswerOnTheSamePort) {
  this->runtime_.BlockOn([]() -> Task<void> {
    absl::StatusOr<std::unique_ptr<RunningServer>> s = RunningServer::Start();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) co_return;
    net::TcpStream health_stream;
    absl::StatusOr<std::string> health = co_await RawRequest(
        (*s)->address(), "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        &health_stream);
    EXPECT_TRUE(health.ok()) << health.status();
    EXPECT_THAT(health.value_or(""), HasSubstr("200 OK"));
    health_stream.Close();
    const std::string metrics = (*s)->server().RenderMetrics();
    for (const char* name :
         {"echo_connections_accepted_total 1", "echo_connections_open",
          "echo_websocket_sessions_open 0", "echo_messages_received_total",
          "echo_bytes_sent_total", "troupe_runtime_workers",
          "troupe_runtime_tasks_alive"}) {
      EXPECT_THAT(metrics, HasSubstr(name));
    }
    (void)co_await (*s)->Stop();
  }());
}

TYPED_TEST(EchoServerTest, ATakenPortIsAnErrorNamingIt) {
  this->runtime_.BlockOn([]() -> Task<void> {
    absl::StatusOr<std::unique_ptr<RunningServer>> s = RunningServer::Start();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) co_return;
    absl::StatusOr<std::unique_ptr<EchoServer>> second =
        EchoServer::Listen((*s)->address(), EchoServerOptions());
    EXPECT_FALSE(second.ok());
    EXPECT_THAT(std::string(second.status().message()),
                HasSubstr("Address already in use"));
    (void)co_await (*s)->Stop();
  }());
}

// Shutdown steps 1, 2 and 5: a connected client is told 1001, cleanly.
TYPED_TEST(EchoServerTest, ShutdownClosesOpenSessionsWith1001) {
  this->runtime_.BlockOn([]() -> Task<void> {
    absl::StatusOr<std::unique_ptr<RunningServer>> s = RunningServer::Start();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) co_return;
    absl::StatusOr<WebSocketConnection> ws =
        co_await ConnectClient((*s)->address(), true);
    EXPECT_TRUE(ws.ok()) << ws.status();
    if (!ws.ok()) co_return;
    absl::StatusOr<WebSocketMessage> echoed =
        co_await EchoOnce(&*ws, WebSocketMessage::Text("before"));
    EXPECT_TRUE(echoed.ok());
    const ShutdownReport report = co_await (*s)->Stop();
    EXPECT_EQ(report.sessions_closing, 1u);
    EXPECT_FALSE(report.timed_out);
    absl::StatusOr<WebSocketMessage> after = co_await ws->Receive();
    EXPECT_FALSE(after.ok());
    EXPECT_EQ(ws->close_info().code, net::close_code::kGoingAway);
    EXPECT_EQ(ws->close_info().reason, "server shutting down");
    EXPECT_TRUE(ws->close_info().clean);
    // Step 1: the listener is closed.
    absl::StatusOr<net::TcpStream> refused =
        co_await net::TcpStream::Connect((*s)->address());
    EXPECT_FALSE(refused.ok());
  }());
}

// Step 2: an idle keep-alive HTTP connection does not hold shutdown up.
TYPED_TEST(EchoServerTest, ShutdownCutsIdleHttpConnectionsAtOnce) {
  this->runtime_.BlockOn([]() -> Task<void> {
    EchoServerOptions options;
    options.shutdown_timeout = seconds(30);
    absl::StatusOr<std::unique_ptr<RunningServer>> s =
        RunningServer::Start(options);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) co_return;
    net::TcpStream keep_alive;
    absl::StatusOr<std::string> head = co_await RawRequest(
        (*s)->address(), "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        &keep_alive);
    EXPECT_TRUE(head.ok()) << head.status();
    const auto started = SteadyClock::now();
    const ShutdownReport report = co_await (*s)->Stop();
    EXPECT_LT(SteadyClock::now() - started, seconds(10));
    EXPECT_EQ(report.http_connections_cut, 1u);
    EXPECT_FALSE(report.timed_out);
    keep_alive.Close();
  }());
}

// Steps 3 and 4: a peer that never answers the Close is cut off after
// shutdown_timeout, and Run still returns.
TYPED_TEST(EchoServerTest, ShutdownCutsAPeerThatNeverAnswersAfterTheTimeout) {
  this->runtime_.BlockOn([]() -> Task<void> {
    EchoServerOptions options;
    options.shutdown_timeout = milliseconds(300);
    absl::StatusOr<std::unique_ptr<RunningServer>> s =
        RunningServer::Start(options);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) co_return;
    net::TcpStream silent;
    absl::StatusOr<std::string> head =
        co_await RawRequest((*s)->address(), kUpgrade, &silent);
    EXPECT_THAT(head.value_or(""), HasSubstr("101"));
    // The session is registered once the server has spawned it.
    while ((*s)->server().metrics().sessions_started() == 0) {
      co_await SleepFor(milliseconds(1));
    }
    const auto started = SteadyClock::now();
    const ShutdownReport report = co_await (*s)->Stop();
    EXPECT_GE(SteadyClock::now() - started, milliseconds(250));
    EXPECT_LT(SteadyClock::now() - started, seconds(10));
    EXPECT_TRUE(report.timed_out);
    EXPECT_GE(report.tasks_aborted, 1u);
    silent.Close();
  }());
}

TYPED_TEST(EchoServerTest, TheLoadRunMeasuresRoundTripsAgainstTheServer) {
  this->runtime_.BlockOn([]() -> Task<void> {
    absl::StatusOr<std::unique_ptr<RunningServer>> s = RunningServer::Start();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) co_return;
    LoadOptions options;
    options.url = *ParseWsUrl("ws://" + (*s)->address().ToString() + "/");
    options.connections = 4;
    options.message_size = 1000;
    options.binary = true;
    options.deflate = true;
    options.messages = 200;
    options.progress_interval = Duration(0);
    Task<absl::StatusOr<LoadReport>> count_run = RunLoad(options);
    absl::StatusOr<LoadReport> counted = co_await std::move(count_run);
    EXPECT_TRUE(counted.ok()) << counted.status();
    if (counted.ok()) {
      EXPECT_EQ(counted->messages, 200u);
      EXPECT_EQ(counted->total_messages, 200u);
      EXPECT_EQ(counted->latency.count(), 200u);
      EXPECT_EQ(counted->errors, 0u) << counted->first_error;
      EXPECT_EQ(counted->close_failures, 0u);
      EXPECT_GT(counted->messages_per_second(), 0);
    }

    options.messages = 0;
    options.binary = false;
    options.deflate = false;
    options.warmup = milliseconds(100);
    options.duration = milliseconds(300);
    Task<absl::StatusOr<LoadReport>> timed_run = RunLoad(options);
    absl::StatusOr<LoadReport> timed = co_await std::move(timed_run);
    EXPECT_TRUE(timed.ok()) << timed.status();
    if (timed.ok()) {
      EXPECT_NEAR(timed->seconds, 0.3, 0.05);
      EXPECT_GT(timed->messages, 0u);
      EXPECT_GT(timed->total_messages, timed->messages);  // warm-up excluded
      EXPECT_EQ(timed->errors, 0u) << timed->first_error;
    }
    (void)co_await (*s)->Stop();
    EXPECT_EQ((*s)->server().metrics().sessions_started(), 8u);
  }());
}

TYPED_TEST(EchoServerTest, TheLoadRunFailsToStartWhenNobodyListens) {
  this->runtime_.BlockOn([]() -> Task<void> {
    absl::StatusOr<std::unique_ptr<RunningServer>> s = RunningServer::Start();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) co_return;
    const std::string address = (*s)->address().ToString();
    (void)co_await (*s)->Stop();  // the port is free again
    LoadOptions options;
    options.url = *ParseWsUrl("ws://" + address + "/");
    options.connections = 2;
    options.messages = 10;
    Task<absl::StatusOr<LoadReport>> run = RunLoad(options);
    absl::StatusOr<LoadReport> report = co_await std::move(run);
    EXPECT_FALSE(report.ok());
    EXPECT_THAT(std::string(report.status().message()),
                HasSubstr("connecting to " + address));
  }());
}

}  // namespace
}  // namespace troupe::echo
