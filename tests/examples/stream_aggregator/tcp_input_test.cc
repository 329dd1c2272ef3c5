// The TCP input (--listen, tcp_input.h) over real loopback sockets, on both
// runtime flavours: a connection's lines give exactly the sequential
// driver's results (rule 3), bad lines leave the connection open (rule 9),
// every connection is an input holding the watermark until it closes, and
// the stop closes open connections and flushes their windows (rule 6).
// Binary protobuf frames (the preamble, then length-prefixed Events
// written by protobuf's own SerializeDelimitedToZeroCopyStream) give the
// results of the same events sent as lines; bad frames are counted by
// reason, logged with their frame numbers and skipped, and only a malformed
// length closes a connection - that one only.

#include "examples/stream_aggregator/tcp_input.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "examples/stream_aggregator/event_batch.h"
#include "examples/stream_aggregator/event_parser.h"
#include "examples/stream_aggregator/frame_decoder.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "gtest/gtest.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "proto/aggregator.pb.h"
#include "tests/examples/stream_aggregator/network_test_util.h"
#include "tests/examples/stream_aggregator/pipeline_test_util.h"
#include "tests/examples/stream_aggregator/served_pipeline_test_base.h"
#include "tests/examples/stream_aggregator/test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;
using testing::MakeEvent;
using testing::WaitUntil;
using testing::WriteText;

template <typename F>
class TcpInputTest : public testing::ServedPipelineTest {
 protected:
  TcpInputTest() : ServedPipelineTest(F::Options()) {}

  // Serves --listen on a loopback port while `client(pipeline, address,
  // stop)` runs (served_pipeline_test_base.h).
  template <typename C>
  absl::Status Run(const AggregatorOptions& options, C client) {
    return RunServed(
        testing::MakePipelineOptions(options, /*shards=*/2, results_, late_),
        [&](net::TcpListener listener, Pipeline& pipeline,
            const CancellationToken& stop, const CancellationToken& /*until*/) {
          return ServeTcpInputs(std::move(listener), pipeline, stop, log_.Fn());
        },
        std::move(client));
  }

  size_t ResultCount() const { return results_->lines().size(); }

  std::shared_ptr<MemoryWriter> results_ = std::make_shared<MemoryWriter>();
  std::shared_ptr<MemoryWriter> late_ = std::make_shared<MemoryWriter>();
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

// Waits until input `i` has closed (and fails the test if it does not).
Task<void> ExpectInputCloses(const Pipeline& pipeline, size_t i) {
  const bool closed =
      co_await WaitUntil([&] { return InputIs(pipeline, i, true); });
  EXPECT_TRUE(closed) << "input " << i << " is still open";
}

// Appends `event` as one binary frame, written by protobuf itself.
void AppendFrame(const Event& event, std::string* out) {
  google::protobuf::io::StringOutputStream stream(out);
  EXPECT_TRUE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(
      event, &stream));
}

// A frame of raw payload bytes (any bytes, not necessarily an Event).
std::string RawFrame(std::string_view payload) {
  std::string out;
  for (uint64_t n = payload.size();; n >>= 7) {
    out += static_cast<char>((n & 0x7f) | (n >= 0x80 ? 0x80 : 0));
    if (n < 0x80) break;
  }
  return out + std::string(payload);
}

// Writes `bytes` in pieces of `piece` bytes, the first of 2 (so that even
// the preamble spans reads).
Task<void> WriteInPieces(net::TcpStream& stream, std::string_view bytes,
                         size_t piece) {
  size_t at = 0;
  for (size_t n = 2; at < bytes.size(); at += n, n = piece) {
    const absl::Status written =
        co_await WriteText(stream, bytes.substr(at, n));
    EXPECT_TRUE(written.ok()) << written;
  }
}

// Sends `bytes` on a new connection (WriteInPieces), closes it and waits
// until the pipeline has closed input 0.
Task<void> SendAllThenClose(const Pipeline& pipeline,
                            net::SocketAddress address, std::string_view bytes,
                            size_t piece) {
  net::TcpStream stream = co_await Connect(address);
  co_await WriteInPieces(stream, bytes, piece);
  stream.Close();  // end of stream
  co_await ExpectInputCloses(pipeline, 0);
}

TYPED_TEST(TcpInputTest, AConnectionsLinesGiveTheSequentialDriversResults) {
  std::string text = testing::Lines(
      testing::DisorderedStream(testing::TestSeed(101), 3'000, 17));
  text.pop_back();  // the final line has no '\n': still an event
  const AggregatorOptions options =
      testing::Options("tumbling:5s", 1'000, 8'000);
  const absl::Status status =
      this->Run(options, [&](Pipeline& pipeline, net::SocketAddress address,
                             const CancellationToken& /*stop*/) {
        // Odd-sized writes, so that lines span reads.
        return SendAllThenClose(pipeline, address, text, 1'009);
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
        co_await ExpectInputCloses(pipeline, 0);
      });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(this->ResultCount(), 1u);
  EXPECT_EQ(testing::ReadResultLine(this->results_->lines()[0]).count, 2u);
}

TYPED_TEST(TcpInputTest,
           ProtobufFramesGiveTheResultsOfTheSameEventsSentAsNdjson) {
  const std::vector<std::string> lines =
      testing::DisorderedStream(testing::TestSeed(103), 3'000, 17);
  // The valid lines, as NDJSON (the sequential reference) and as frames.
  std::string ndjson;
  std::string frames(kProtobufPreamble);
  EventParser parser;
  Event event;
  for (const std::string& line : lines) {
    event.Clear();
    if (parser.Parse(line, &event) != ParseError::kNone) continue;
    ndjson += line + "\n";
    AppendFrame(event, &frames);
  }
  const AggregatorOptions options =
      testing::Options("tumbling:5s", 1'000, 8'000);
  const absl::Status status =
      this->Run(options, [&](Pipeline& pipeline, net::SocketAddress address,
                             const CancellationToken& /*stop*/) {
        return SendAllThenClose(pipeline, address, frames, 1'013);
      });
  ASSERT_TRUE(status.ok()) << status;
  const SequentialOutput sequential = RunSequential(ndjson, options);
  ASSERT_GT(sequential.counters.late_dropped, 0u);
  EXPECT_EQ(testing::CanonicalOrder(this->results_->lines()),
            testing::CanonicalOrder(sequential.results));
  testing::ExpectSameCounters(this->metrics_, sequential.counters);
  // A dropped frame has no line of its own: --late_output gets the event in
  // the canonical JSON mapping.
  std::vector<std::string> late;
  for (const std::string& line : sequential.late) {
    EventView view;
    ASSERT_EQ(parser.Parse(line, &view), ParseError::kNone);
    std::string canonical;
    AppendEventLine(view.key, view.ts_ms, view.value, &canonical);
    late.push_back(canonical);
  }
  EXPECT_EQ(this->late_->lines(), late);
}

TYPED_TEST(TcpInputTest, BadFramesAreCountedAndSkippedAndTheConnectionStays) {
  Event nan;
  nan.set_key("a");
  nan.set_ts_ms(1'500);
  nan.set_value(std::numeric_limits<double>::quiet_NaN());
  Event no_value;
  no_value.set_key("a");
  no_value.set_ts_ms(1'500);
  std::string frames(kProtobufPreamble);
  AppendFrame(MakeEvent("a", 1'000, 1), &frames);  // frame 1
  frames +=
      RawFrame(std::string_view("\x0a\x05"
                                "ab",
                                4));                         // 2: truncated key
  AppendFrame(no_value, &frames);                            // 3
  AppendFrame(nan, &frames);                                 // 4
  frames += RawFrame(std::string(kMaxFrameBytes + 1, 'x'));  // 5: too long
  AppendFrame(MakeEvent("a", 2'000, 2), &frames);            // 6
  const absl::Status status =
      this->Run(testing::Options("tumbling:10s"),
                [&](Pipeline& pipeline, net::SocketAddress address,
                    CancellationToken /*stop*/) -> Task<void> {
                  net::TcpStream stream = co_await Connect(address);
                  co_await WriteInPieces(stream, frames, 65'521);
                  const bool seen = co_await WaitUntil([&] {
                    const MetricsSnapshot s = pipeline.Snapshot();
                    return s.events == 2 && s.bad_lines == 4;
                  });
                  EXPECT_TRUE(seen);
                  EXPECT_TRUE(InputIs(pipeline, 0, /*closed=*/false));
                  // Frame 7 ends half-way: the peer closes inside it.
                  std::string cut;
                  AppendFrame(MakeEvent("a", 3'000, 3), &cut);
                  cut.resize(cut.size() - 3);
                  (void)co_await WriteText(stream, cut);
                  stream.Close();
                  co_await ExpectInputCloses(pipeline, 0);
                });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(this->ResultCount(), 1u);
  EXPECT_EQ(testing::ReadResultLine(this->results_->lines()[0]).count, 2u);
  const MetricsSnapshot& m = this->metrics_;
  const auto bad = [&](ParseError reason) {
    return m.bad[static_cast<int>(reason)];
  };
  EXPECT_EQ(bad(ParseError::kMalformedProtobuf), 1u);
  EXPECT_EQ(bad(ParseError::kMissingField), 1u);
  EXPECT_EQ(bad(ParseError::kBadValue), 1u);
  EXPECT_EQ(bad(ParseError::kFrameTooLong), 1u);
  EXPECT_EQ(bad(ParseError::kTruncatedFrame), 1u);
  EXPECT_EQ(m.bad_lines, 5u);
  EXPECT_EQ(m.inputs.at(0).lines, 7u);  // frames, counted like lines
  const std::vector<std::string> log = this->log_.messages();
  using ::testing::Contains;
  using ::testing::HasSubstr;
  EXPECT_THAT(log, Contains(HasSubstr("frame 2: malformed_protobuf; skipped")));
  EXPECT_THAT(log, Contains(HasSubstr("frame 3: missing_field; skipped")));
  EXPECT_THAT(log, Contains(HasSubstr("frame 4: bad_value; skipped")));
  EXPECT_THAT(log, Contains(HasSubstr("frame 5: frame_too_long (length " +
                                      std::to_string(kMaxFrameBytes + 1))));
  EXPECT_THAT(log, Contains(HasSubstr("frame 7: truncated_frame")));
}

TYPED_TEST(TcpInputTest, AMalformedFrameLengthClosesOnlyThatConnection) {
  const absl::Status status = this->Run(
      testing::Options("tumbling:10s"),
      [&](Pipeline& pipeline, net::SocketAddress address,
          CancellationToken /*stop*/) -> Task<void> {
        net::TcpStream binary = co_await Connect(address);
        bool ok =
            co_await WaitUntil([&] { return InputIs(pipeline, 0, false); });
        EXPECT_TRUE(ok);
        net::TcpStream text = co_await Connect(address);
        ok = co_await WaitUntil([&] { return InputIs(pipeline, 1, false); });
        EXPECT_TRUE(ok);
        std::string frames(kProtobufPreamble);
        AppendFrame(MakeEvent("a", 1'000, 1), &frames);
        frames += std::string(11, '\xff');  // a varint of 11+ bytes
        AppendFrame(MakeEvent("a", 2'000, 2), &frames);  // never read
        (void)co_await WriteText(binary, frames);
        ok = co_await WaitUntil([&] { return InputIs(pipeline, 0, true); });
        EXPECT_TRUE(ok);  // closed by the aggregator, not by us
        EXPECT_TRUE(InputIs(pipeline, 1, /*closed=*/false));
        const std::string line = EventLine("b", 1'000, 5) + "\n";
        (void)co_await WriteText(text, line);
        ok =
            co_await WaitUntil([&] { return pipeline.Snapshot().events == 2; });
        EXPECT_TRUE(ok);
        text.Close();
        binary.Close();
      });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(
      this->metrics_.bad[static_cast<int>(ParseError::kMalformedFrameLength)],
      1u);
  EXPECT_EQ(this->metrics_.bad_lines, 1u);
  EXPECT_EQ(this->ResultCount(), 2u);  // a's and b's [0, 10000)
  EXPECT_THAT(this->log_.messages(),
              ::testing::Contains(::testing::HasSubstr(
                  "malformed frame length; closing the connection")));
}

TYPED_TEST(TcpInputTest, AConnectionEndingInsideThePreambleIsNdjson) {
  const absl::Status status =
      this->Run(testing::Options("tumbling:10s"),
                [&](Pipeline& pipeline, net::SocketAddress address,
                    const CancellationToken& /*stop*/) {
                  return SendAllThenClose(pipeline, address,
                                          kProtobufPreamble.substr(0, 3), 1);
                });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(this->metrics_.bad[static_cast<int>(ParseError::kMalformedJson)],
            1u);
  EXPECT_EQ(this->metrics_.bad_lines, 1u);
}

}  // namespace
}  // namespace troupe::aggregator
