// The HTTP endpoint (--http, http_endpoint.h) over real loopback sockets:
// GET /metrics (rule 10), /healthz and the live page at /, 404 elsewhere;
// the WebSocket /ingest - its messages give the sequential driver's
// results, bad lines are counted and the connection stays open (rule 9),
// and the stop closes an open connection with 1001 after flushing its
// windows (rule 6); and the WebSocket /results, which streams exactly the
// lines written to --output (rule 7).

#include "examples/stream_aggregator/http_endpoint.h"

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "actors/actor.h"
#include "channels/broadcast.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/results_stream.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/close_codes.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "net/websocket_client.h"
#include "net/websocket_connection.h"
#include "tests/examples/stream_aggregator/network_test_util.h"
#include "tests/examples/stream_aggregator/pipeline_test_util.h"
#include "tests/examples/stream_aggregator/served_pipeline_test_base.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;
using ::testing::HasSubstr;
using testing::HttpGet;
using ::testing::StartsWith;
using testing::WaitUntil;

class HttpEndpointTest : public testing::ServedPipelineTest {
 protected:
  HttpEndpointTest()
      : ServedPipelineTest(
            {.flavor = Flavor::kMultiThread, .worker_threads = 2}) {}

  // Serves --http on a loopback port while `client(pipeline, address,
  // stop)` runs; stops serving only after the end of the run
  // (served_pipeline_test_base.h).
  template <typename C>
  absl::Status Run(const AggregatorOptions& options, C client) {
    return RunServed(
        testing::MakePipelineOptions(options, /*shards=*/2, tee_, nullptr),
        [&](net::TcpListener listener, Pipeline& pipeline,
            const CancellationToken& stop, const CancellationToken& until) {
          return ServeHttp(std::move(listener),
                           MakeHttpRouter(pipeline, stop, log_.Fn(), tee_),
                           until, log_.Fn());
        },
        std::move(client));
  }

  std::shared_ptr<MemoryWriter> results_ = std::make_shared<MemoryWriter>();
  // What the pipeline writes to: results_, and the /results stream. The
  // capacity exceeds the chunks any test here writes (at most one per
  // result line), so a subscriber slowed by a sanitizer never lags: the
  // lag rule has its own test below.
  std::shared_ptr<ResultsTee> tee_ =
      std::make_shared<ResultsTee>(results_, /*capacity=*/1 << 14);
};

// A WebSocket client connected to `path` at `address`.
Task<absl::StatusOr<net::WebSocketConnection>> ConnectTo(
    net::SocketAddress address, std::string path) {
  absl::StatusOr<net::TcpStream> stream =
      co_await net::TcpStream::Connect(address);
  if (!stream.ok()) co_return stream.status();
  net::WebSocketClientOptions options;
  Task<absl::StatusOr<net::WebSocketConnection>> connect =
      net::WebSocketConnect(*std::move(stream), std::string("test"),
                            std::move(path), std::move(options));
  co_return co_await std::move(connect);
}

Task<absl::StatusOr<net::WebSocketConnection>> ConnectIngest(
    net::SocketAddress address) {
  return ConnectTo(address, "/ingest");
}

Task<void> SendText(net::WebSocketConnection& ws, std::string text) {
  net::WebSocketMessage message = net::WebSocketMessage::Text(std::move(text));
  const absl::Status sent = co_await ws.Send(std::move(message));
  EXPECT_TRUE(sent.ok()) << sent;
}

TEST_F(HttpEndpointTest, HealthzTheLivePageAndA404ForUnknownPaths) {
  const absl::Status status =
      Run(testing::Options("tumbling:10s"),
          [&](Pipeline& /*pipeline*/, net::SocketAddress address,
              CancellationToken /*stop*/) -> Task<void> {
            const std::string health = co_await HttpGet(address, "/healthz");
            EXPECT_THAT(health, StartsWith("HTTP/1.1 200 "));
            EXPECT_THAT(health, HasSubstr("\r\n\r\nok\n"));
            const std::string missing = co_await HttpGet(address, "/nothing");
            EXPECT_THAT(missing, StartsWith("HTTP/1.1 404 "));
            const std::string page = co_await HttpGet(address, "/");
            EXPECT_THAT(page, StartsWith("HTTP/1.1 200 "));
            EXPECT_THAT(page, HasSubstr("text/html"));
            EXPECT_THAT(page, HasSubstr("<canvas"));
            EXPECT_THAT(page, HasSubstr("\"/results\""));
          });
  ASSERT_TRUE(status.ok()) << status;
}

TEST_F(HttpEndpointTest,
       IngestMessagesGiveTheSequentialResultsAndShowInMetrics) {
  // Without empty lines: a message ends its last line, so an empty line
  // cannot end a message (and an empty message is ignored).
  std::vector<std::string> lines =
      testing::DisorderedStream(testing::TestSeed(111), 600, 7);
  std::erase(lines, std::string());
  const AggregatorOptions options =
      testing::Options("tumbling:5s", 1'000, 8'000);
  const SequentialOutput sequential =
      RunSequential(testing::Lines(lines), options);
  ASSERT_GT(sequential.counters.bad_lines(), 0u);
  ASSERT_GT(sequential.counters.late_dropped, 0u);
  std::string metrics;
  const absl::Status status = Run(
      options,
      [&](Pipeline& pipeline, net::SocketAddress address,
          CancellationToken /*stop*/) -> Task<void> {
        absl::StatusOr<net::WebSocketConnection> ws =
            co_await ConnectIngest(address);
        EXPECT_TRUE(ws.ok()) << ws.status();
        if (!ws.ok()) co_return;
        // Messages of 1 to 5 lines; the last line of each has no '\n'.
        for (size_t at = 0; at < lines.size();) {
          std::string message;
          for (size_t n = 1 + at % 5; n > 0 && at < lines.size(); --n, ++at) {
            if (!message.empty()) message += '\n';
            message += lines[at];
          }
          co_await SendText(*ws, std::move(message));
        }
        Task<absl::Status> close = ws->Close();
        const absl::Status closed = co_await std::move(close);
        EXPECT_TRUE(closed.ok()) << closed;
        // The input has closed and the router has handled its events.
        const bool done = co_await WaitUntil([&] {
          const MetricsSnapshot s = pipeline.Snapshot();
          return s.inputs.size() == 1 && s.inputs[0].closed &&
                 s.late_dropped == sequential.counters.late_dropped;
        });
        EXPECT_TRUE(done);
        metrics = co_await HttpGet(address, "/metrics");
      });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(testing::CanonicalOrder(results_->lines()),
            testing::CanonicalOrder(sequential.results));

  // GET /metrics: the Prometheus text with every metric of rule 10.
  EXPECT_THAT(metrics, StartsWith("HTTP/1.1 200 "));
  const uint64_t events = sequential.counters.on_time +
                          sequential.counters.late_accepted +
                          sequential.counters.late_dropped;
  EXPECT_THAT(metrics, HasSubstr("aggregator_events_in_total{input=\"ws 1\"} " +
                                 std::to_string(events) + "\n"));
  EXPECT_THAT(
      metrics,
      HasSubstr("aggregator_late_dropped_total " +
                std::to_string(sequential.counters.late_dropped) + "\n"));
  EXPECT_THAT(
      metrics,
      HasSubstr("aggregator_parse_errors_total{reason=\"malformed_json\"} " +
                std::to_string(
                    sequential.counters.bad_count(ParseError::kMalformedJson)) +
                "\n"));
  EXPECT_THAT(metrics, HasSubstr("aggregator_results_out_total "));
  EXPECT_THAT(metrics,
              HasSubstr("aggregator_shard_mailbox_depth{shard=\"1\"} "));
  EXPECT_THAT(metrics, HasSubstr("aggregator_watermark_lag_ms "));
}

TEST_F(HttpEndpointTest, ABadMessageIsCountedAndTheConnectionStaysOpen) {
  const absl::Status status = Run(
      testing::Options("tumbling:10s"),
      [&](Pipeline& pipeline, net::SocketAddress address,
          CancellationToken /*stop*/) -> Task<void> {
        absl::StatusOr<net::WebSocketConnection> ws =
            co_await ConnectIngest(address);
        EXPECT_TRUE(ws.ok()) << ws.status();
        if (!ws.ok()) co_return;
        // Strings built outside co_await expressions (README.md, g++ 12).
        std::string no_timestamp = "{\"key\":\"a\",\"value\":1}";
        co_await SendText(*ws, std::move(no_timestamp));
        std::string first = EventLine("a", 1'000, 1);
        co_await SendText(*ws, std::move(first));
        bool seen = co_await WaitUntil([&] {
          const MetricsSnapshot s = pipeline.Snapshot();
          return s.events == 1 &&
                 s.bad[static_cast<int>(ParseError::kMissingField)] == 1;
        });
        EXPECT_TRUE(seen);
        EXPECT_FALSE(ws->finished());
        std::string second = EventLine("a", 2'000, 2);
        co_await SendText(*ws, std::move(second));
        seen =
            co_await WaitUntil([&] { return pipeline.Snapshot().events == 2; });
        EXPECT_TRUE(seen);
        Task<absl::Status> close = ws->Close();
        (void)co_await std::move(close);
      });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(results_->lines().size(), 1u);
  EXPECT_EQ(testing::ReadResultLine(results_->lines()[0]).count, 2u);
}

TEST_F(HttpEndpointTest, TheStopFlushesAnOpenIngestAndClosesItGoingAway) {
  net::WebSocketCloseInfo close_info;
  const absl::Status status = Run(
      testing::Options("tumbling:10s"),
      [&](Pipeline& pipeline, net::SocketAddress address,
          CancellationToken stop) -> Task<void> {
        absl::StatusOr<net::WebSocketConnection> ws =
            co_await ConnectIngest(address);
        EXPECT_TRUE(ws.ok()) << ws.status();
        if (!ws.ok()) co_return;
        std::string two_lines =
            EventLine("a", 1'000, 1) + "\n" + EventLine("a", 2'000, 2);
        co_await SendText(*ws, std::move(two_lines));
        const bool seen =
            co_await WaitUntil([&] { return pipeline.Snapshot().events == 2; });
        EXPECT_TRUE(seen);
        stop.Cancel();  // as SIGTERM does
        // The server closes: Receive ends with the closing handshake.
        absl::StatusOr<net::WebSocketMessage> end = co_await ws->Receive();
        EXPECT_TRUE(absl::IsOutOfRange(end.status())) << end.status();
        close_info = ws->close_info();
      });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(close_info.code, net::close_code::kGoingAway);
  ASSERT_EQ(results_->lines().size(), 1u);
  EXPECT_EQ(testing::ReadResultLine(results_->lines()[0]).count, 2u);
}

TEST_F(HttpEndpointTest, ResultsStreamsExactlyTheLinesWrittenUntilTheEnd) {
  std::vector<std::string> lines =
      testing::DisorderedStream(testing::TestSeed(112), 400, 5);
  std::erase(lines, std::string());  // see the ingest test above
  std::string streamed;
  net::WebSocketCloseInfo close_info;
  absl::Status end;
  const absl::Status status =
      Run(testing::Options("sliding:4s/2s", 1'000, 5'000),
          [&](Pipeline& pipeline, net::SocketAddress address,
              CancellationToken stop) -> Task<void> {
            absl::StatusOr<net::WebSocketConnection> results =
                co_await ConnectTo(address, "/results");
            EXPECT_TRUE(results.ok()) << results.status();
            if (!results.ok()) co_return;
            const bool subscribed =
                co_await WaitUntil([&] { return tee_->subscribers() == 1; });
            EXPECT_TRUE(subscribed);  // so it sees every line from now on
            absl::StatusOr<net::WebSocketConnection> ingest =
                co_await ConnectIngest(address);
            EXPECT_TRUE(ingest.ok()) << ingest.status();
            if (!ingest.ok()) co_return;
            for (const std::string& line : lines)
              co_await SendText(*ingest, line);
            Task<absl::Status> close = ingest->Close();
            (void)co_await std::move(close);
            // End the run; its last lines (the flush) stream too, then the end.
            stop.Cancel();
            co_await pipeline.NoMoreInputs();
            for (;;) {
              absl::StatusOr<net::WebSocketMessage> chunk =
                  co_await results->Receive();
              if (!chunk.ok()) {
                end = chunk.status();
                break;
              }
              streamed += chunk->data();
            }
            close_info = results->close_info();
          });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_GT(results_->lines().size(), 10u);
  ASSERT_LT(results_->lines().size(), size_t{1} << 14);  // see tee_
  EXPECT_EQ(streamed, results_->text()) << absl::StrJoin(log_.messages(), "\n");
  EXPECT_TRUE(absl::IsOutOfRange(end)) << end;
  EXPECT_EQ(close_info.code, net::close_code::kNormal);
}

TEST(ResultsTeeTest, ASubscriberThatFallsBehindLosesOnlyTheOldestChunks) {
  auto output = std::make_shared<MemoryWriter>();
  ResultsTee tee(output, /*capacity=*/2);
  std::optional<BroadcastReceiver<std::string>> rx = tee.Subscribe();
  ASSERT_TRUE(rx.has_value());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(tee.Write(absl::StrCat("line ", i, "\n")).ok());
  }
  // --output has every chunk; the stream says what it skipped, then
  // resumes with the newest two, in order, then ends at Close.
  EXPECT_EQ(output->lines().size(), 5u);
  BroadcastResult<std::string> skipped = rx->TryRecv();
  ASSERT_TRUE(skipped.IsLagged());
  EXPECT_EQ(skipped.lagged(), 3u);
  BroadcastResult<std::string> first = rx->TryRecv();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first.value(), "line 3\n");
  BroadcastResult<std::string> second = rx->TryRecv();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second.value(), "line 4\n");
  EXPECT_TRUE(rx->TryRecv().IsEmpty());
  ASSERT_TRUE(tee.Close().ok());
  EXPECT_TRUE(rx->TryRecv().IsClosed());
  EXPECT_FALSE(tee.Subscribe().has_value());  // a late subscriber: none
}

}  // namespace
}  // namespace troupe::aggregator
