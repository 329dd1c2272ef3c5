// The TCP input (--listen, tcp_input.h) over real loopback sockets, on both
// runtime flavours: a connection's lines give exactly the sequential
// driver's results (rule 3), bad lines leave the connection open (rule 9),
// every connection is an input holding the watermark until it closes, and
// the stop closes open connections and flushes their windows (rule 6).

#include "examples/stream_aggregator/tcp_input.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "tests/examples/stream_aggregator/network_test_util.h"
#include "tests/examples/stream_aggregator/pipeline_test_util.h"
#include "tests/examples/stream_aggregator/test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;
using testing::WaitUntil;
using testing::WriteText;

template <typename F>
class TcpInputTest : public ::testing::Test {
 protected:
  ~TcpInputTest() override {
    system_.BlockingShutdown(std::chrono::seconds(5));
  }

  // Serves --listen on a loopback port while `client(pipeline, address,
  // stop)` runs; then stops (as SIGTERM does; the client may do it itself),
  // ends the inputs and waits for the end of the run. Returns the first
  // error.
  template <typename C>
  absl::Status Run(const AggregatorOptions& options, C client) {
    return runtime_.BlockOn([&]() -> Task<absl::Status> {
      PipelineOptions pipeline_options =
          testing::MakePipelineOptions(options, /*shards=*/2, results_, late_);
      pipeline_options.log = log_.Fn();
      Pipeline pipeline(system_, pipeline_options);
      absl::StatusOr<net::TcpListener> listener =
          net::TcpListener::Bind("127.0.0.1:0");
      if (!listener.ok()) co_return listener.status();
      const net::SocketAddress address = listener->LocalAddress();
      CancellationToken stop;
      JoinHandle<absl::Status> server = Spawn(
          ServeTcpInputs(*std::move(listener), pipeline, stop, log_.Fn()));
      co_await client(pipeline, address, stop);
      stop.Cancel();
      const absl::Status served = co_await server;
      if (!served.ok()) co_return served;
      co_await pipeline.NoMoreInputs();
      const absl::Status finished = co_await pipeline.Finished();
      metrics_ = pipeline.Snapshot();  // final: every actor is done
      co_return finished;
    }());
  }

  size_t ResultCount() const { return results_->lines().size(); }

  Runtime runtime_{F::Options()};
  ActorSystem system_{runtime_, ActorSystemOptions{.watchdog = false}};
  std::shared_ptr<MemoryWriter> results_ = std::make_shared<MemoryWriter>();
  std::shared_ptr<MemoryWriter> late_ = std::make_shared<MemoryWriter>();
  testing::LogCollector log_;
  MetricsSnapshot metrics_;  // at the end of Run
};
TYPED_TEST_SUITE(TcpInputTest, test::RuntimeFlavours);

Task<net::TcpStream> Connect(net::SocketAddress address) {
  absl::StatusOr<net::TcpStream> stream =
      co_await net::TcpStream::Connect(address);
  EXPECT_TRUE(stream.ok()) << stream.status();
  co_return stream.ok() ? *std::move(stream) : net::TcpStream();
}

// Whether input `i` of `pipeline` is registered and, if `closed`, closed.
bool InputIs(const Pipeline& pipeline, size_t i, bool closed) {
  const MetricsSnapshot s = pipeline.Snapshot();
  return s.inputs.size() > i && s.inputs[i].closed == closed;
}

TYPED_TEST(TcpInputTest, AConnectionsLinesGiveTheSequentialDriversResults) {
  std::string text = testing::Lines(
      testing::DisorderedStream(testing::TestSeed(101), 3'000, 17));
  text.pop_back();  // the final line has no '\n': still an event
  const AggregatorOptions options =
      testing::Options("tumbling:5s", 1'000, 8'000);
  const absl::Status status = this->Run(
      options,
      [&](Pipeline& pipeline, net::SocketAddress address,
          CancellationToken /*stop*/) -> Task<void> {
        net::TcpStream stream = co_await Connect(address);
        // Odd-sized writes, so that lines span reads.
        for (size_t at = 0; at < text.size(); at += 1'009) {
          const absl::Status written = co_await WriteText(
              stream, std::string_view(text).substr(at, 1'009));
          EXPECT_TRUE(written.ok()) << written;
        }
        stream.Close();  // end of stream
        const bool closed =
            co_await WaitUntil([&] { return InputIs(pipeline, 0, true); });
        EXPECT_TRUE(closed);
      });
  ASSERT_TRUE(status.ok()) << status;
  const SequentialOutput sequential = RunSequential(text, options);
  ASSERT_GT(sequential.counters.late_dropped, 0u);
  ASSERT_GT(sequential.counters.bad_lines(), 0u);
  EXPECT_EQ(testing::CanonicalOrder(this->results_->lines()),
            testing::CanonicalOrder(sequential.results));
  EXPECT_EQ(this->late_->lines(), sequential.late);
  const MetricsSnapshot& metrics = this->metrics_;
  testing::ExpectSameCounters(metrics, sequential.counters);
  ASSERT_EQ(metrics.inputs.size(), 1u);
  EXPECT_THAT(metrics.inputs[0].name, ::testing::StartsWith("tcp 127.0.0.1:"));
  EXPECT_EQ(metrics.inputs[0].lines, sequential.counters.lines);
}

TYPED_TEST(TcpInputTest, ABadLineIsSkippedAndTheConnectionStaysOpen) {
  const absl::Status status = this->Run(
      testing::Options("tumbling:10s"),
      [&](Pipeline& pipeline, net::SocketAddress address,
          CancellationToken /*stop*/) -> Task<void> {
        net::TcpStream stream = co_await Connect(address);
        const std::string first = "{\"key\":\"a\",\"tsMs\":1.5,\"value\":1}\n" +
                                  EventLine("a", 1'000, 1) + "\n";
        (void)co_await WriteText(stream, first);
        bool seen = co_await WaitUntil([&] {
          const MetricsSnapshot s = pipeline.Snapshot();
          return s.events == 1 && s.bad_lines == 1;
        });
        EXPECT_TRUE(seen);
        EXPECT_TRUE(InputIs(pipeline, 0, /*closed=*/false));
        const std::string second = EventLine("a", 2'000, 2) + "\n";
        (void)co_await WriteText(stream, second);
        seen =
            co_await WaitUntil([&] { return pipeline.Snapshot().events == 2; });
        EXPECT_TRUE(seen);
        stream.Close();
      });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(this->ResultCount(), 1u);
  EXPECT_EQ(testing::ReadResultLine(this->results_->lines()[0]).count, 2u);
  EXPECT_THAT(this->log_.messages(), ::testing::Contains(::testing::HasSubstr(
                                         "line 1: bad_timestamp; skipped")));
}

TYPED_TEST(TcpInputTest,
           EachConnectionIsAnInputThatHoldsTheWatermarkUntilItCloses) {
  const absl::Status status = this->Run(
      testing::Options("tumbling:10s"),
      [&](Pipeline& pipeline, net::SocketAddress address,
          CancellationToken /*stop*/) -> Task<void> {
        net::TcpStream a = co_await Connect(address);
        net::TcpStream b = co_await Connect(address);
        bool ok =
            co_await WaitUntil([&] { return InputIs(pipeline, 1, false); });
        EXPECT_TRUE(ok);  // both registered before any event
        const std::string a_lines =
            EventLine("a", 1'000, 1) + "\n" + EventLine("a", 15'000, 2) + "\n";
        (void)co_await WriteText(a, a_lines);
        const std::string b_line = EventLine("b", 2'000, 3) + "\n";
        (void)co_await WriteText(b, b_line);
        ok = co_await WaitUntil(
            [&] { return pipeline.Snapshot().watermark == 2'000; });
        EXPECT_TRUE(ok);  // the minimum over the two connections
        EXPECT_EQ(this->ResultCount(), 0u);
        b.Close();  // b no longer holds the watermark: a's 15000 counts
        ok = co_await WaitUntil([&] { return this->ResultCount() == 2; });
        EXPECT_TRUE(ok);
        EXPECT_EQ(pipeline.Snapshot().watermark, 15'000);
        a.Close();
        ok = co_await WaitUntil([&] { return InputIs(pipeline, 0, true); });
        EXPECT_TRUE(ok);
      });
  ASSERT_TRUE(status.ok()) << status;
  // a's [10000, 20000) is emitted at the end.
  EXPECT_EQ(this->ResultCount(), 3u);
}

TYPED_TEST(TcpInputTest, TheStopClosesOpenConnectionsAndFlushesTheirWindows) {
  const absl::Status status = this->Run(
      testing::Options("tumbling:10s"),
      [&](Pipeline& pipeline, net::SocketAddress address,
          CancellationToken stop) -> Task<void> {
        net::TcpStream stream = co_await Connect(address);
        const std::string lines =
            EventLine("a", 1'000, 1) + "\n" + EventLine("a", 2'000, 2) + "\n";
        (void)co_await WriteText(stream, lines);
        const bool seen =
            co_await WaitUntil([&] { return pipeline.Snapshot().events == 2; });
        EXPECT_TRUE(seen);
        // The connection stays open (this frame holds it): the stop, as
        // SIGTERM does, must end the input.
        stop.Cancel();
        const bool closed =
            co_await WaitUntil([&] { return InputIs(pipeline, 0, true); });
        EXPECT_TRUE(closed);
      });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(this->ResultCount(), 1u);
  EXPECT_EQ(testing::ReadResultLine(this->results_->lines()[0]).count, 2u);
}

}  // namespace
}  // namespace troupe::aggregator
