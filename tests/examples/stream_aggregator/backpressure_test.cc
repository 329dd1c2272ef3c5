// End-to-end back-pressure: with a deliberately slow sink, a fast input is
// held back so that the events in flight never exceed the bound the mailbox
// capacities imply (pipeline.h), however many events the input has - and
// the output is still exactly right. Over TCP (the --listen reader), a
// blocked sink stops the reader, and TCP flow control then stops a producer
// that writes as fast as it can: it is held having sent a small bounded
// prefix of its stream, so memory cannot grow with the producer's speed.

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "actors/actor.h"
#include "examples/stream_aggregator/event_generator.h"
#include "examples/stream_aggregator/frame_decoder.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "examples/stream_aggregator/tcp_input.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "gtest/gtest.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "proto/aggregator.pb.h"
#include "tests/examples/stream_aggregator/network_test_util.h"
#include "tests/examples/stream_aggregator/pipeline_test_util.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

// Takes 300 us per write, on the blocking pool (may_block), like a file
// whose reader is slow.
class SlowWriter final : public OutputWriter {
 public:
  absl::Status Write(std::string_view bytes) override {
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    return memory_.Write(bytes);
  }
  bool may_block() const override { return true; }
  const MemoryWriter& memory() const { return memory_; }

 private:
  MemoryWriter memory_;
};

TEST(BackpressureTest, ASlowSinkHoldsAFastInputWithinTheInFlightBound) {
  const GeneratorOptions generator{.events = 60'000,
                                   .keys = 40,
                                   .disorder_ms = 0,
                                   .seed = testing::TestSeed(91),
                                   .events_per_ms = 4};
  // Small windows: results all the time, so the sink is always busy.
  const AggregatorOptions options = testing::Options("tumbling:20ms");
  auto results = std::make_shared<SlowWriter>();
  PipelineOptions pipeline_options =
      testing::MakePipelineOptions(options, /*shards=*/3, results, nullptr);
  pipeline_options.batch_events = 32;
  pipeline_options.router_mailbox = 4;
  pipeline_options.shard_mailbox = 4;
  pipeline_options.sink_mailbox = 4;
  pipeline_options.result_chunk_lines = 16;

  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  ActorSystem system(runtime, ActorSystemOptions{.watchdog = false});
  int64_t bound = 0;
  MetricsSnapshot metrics;
  const absl::Status status = runtime.BlockOn([&]() -> Task<absl::Status> {
    Pipeline pipeline(system, pipeline_options);
    bound = pipeline.MaxEventsInFlight(/*inputs=*/1);
    Task<absl::Status> run = testing::RunOneInput(
        pipeline, [&](std::unique_ptr<InputPort> port, Pipeline& p) {
          return RunGenerator(std::move(port), generator, p.stop());
        });
    const absl::Status finished = co_await std::move(run);
    metrics = pipeline.Snapshot();
    co_return finished;
  }());
  system.BlockingShutdown(std::chrono::seconds(5));
  ASSERT_TRUE(status.ok()) << status;

  // The bound: (1 input + 4 + 1 + 3 x (4 + 1)) x 32 = 672 events, about 1%
  // of the input. Without back-pressure the generator would have handed
  // over all 60,000 long before the sink was done.
  std::cout << "peak events in flight " << metrics.peak_events_in_flight
            << " (bound " << bound << "), peak result lines in flight "
            << metrics.peak_result_lines_in_flight << ", "
            << results->memory().writes() << " writes\n";
  EXPECT_EQ(bound, 672);
  EXPECT_GT(metrics.peak_events_in_flight, 0);
  EXPECT_LE(metrics.peak_events_in_flight, bound);
  // Result lines handed to the sink: (3 shards + 4) messages of at most a
  // chunk plus what one step fires (here at most the 40 keys' windows).
  EXPECT_LE(metrics.peak_result_lines_in_flight, (3 + 4) * (16 + 40));

  // Slow is not lossy: the output is the sequential driver's.
  const SequentialOutput sequential =
      RunSequential(GenerateNdjson(generator), options);
  EXPECT_EQ(testing::CanonicalOrder(results->memory().lines()),
            testing::CanonicalOrder(sequential.results));
  EXPECT_GT(results->memory().writes(), 500u);
}

// Blocks every Write until Open() (on the blocking pool: may_block).
class GateWriter final : public OutputWriter {
 public:
  absl::Status Write(std::string_view bytes) override {
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    opened_cv_.wait(lock, [this] { return open_; });
    return memory_.Write(bytes);
  }
  bool may_block() const override { return true; }

  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    opened_cv_.notify_all();
  }
  bool entered() const {
    std::lock_guard<std::mutex> lock(mu_);
    return entered_ > 0;
  }
  const MemoryWriter& memory() const { return memory_; }

 private:
  mutable std::mutex mu_;
  std::condition_variable opened_cv_;
  bool open_ = false;  // guarded by mu_
  int entered_ = 0;    // guarded by mu_
  MemoryWriter memory_;
};

// A producer that writes as fast as the socket takes it, without blocking;
// it counts its stalls (200 ms in which the socket took nothing).
struct Producer {
  // Relaxed: each is a progress report read on its own; `done` is read
  // after join() when it matters.
  std::atomic<uint64_t> sent{0};
  std::atomic<int> stalls{0};
  std::atomic<bool> done{false};
  int send_buffer = 0;  // SO_SNDBUF as the kernel set it (read after join)
};

void Produce(uint16_t port, const std::string& text, Producer* producer) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int small = 32 << 10;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  socklen_t size = sizeof(producer->send_buffer);
  ::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &producer->send_buffer, &size);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address),
                sizeof(address)) != 0) {
    ADD_FAILURE() << "connect: " << std::strerror(errno);
    ::close(fd);
    producer->done.store(true, std::memory_order_relaxed);
    return;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  size_t at = 0;
  while (at < text.size()) {
    const size_t want = std::min<size_t>(text.size() - at, 64 << 10);
    const ssize_t n = ::send(fd, text.data() + at, want, MSG_NOSIGNAL);
    if (n > 0) {
      at += static_cast<size_t>(n);
      producer->sent.store(at, std::memory_order_relaxed);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      ADD_FAILURE() << "send: " << std::strerror(errno);
      break;
    }
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    if (::poll(&p, 1, /*timeout_ms=*/200) == 0) {
      producer->stalls.fetch_add(1, std::memory_order_relaxed);
    }
  }
  ::close(fd);
  producer->done.store(true, std::memory_order_relaxed);
}

// The --listen framings the producer can use.
enum class Wire { kNdjson, kProtobufFrames };

// A fast TCP producer of `wire` events into a pipeline whose sink blocks.
void ExpectABlockedSinkHoldsAFastTcpProducer(Wire wire) {
  // 200,000 events in order, 4 per ms over 40 keys, in 10 ms windows: the
  // first results come after about 40 events, and the sink blocks on them.
  // `text` is what the producer sends; `ndjson` the same events as lines.
  std::string ndjson;
  std::string text;
  if (wire == Wire::kProtobufFrames) text = std::string(kProtobufPreamble);
  size_t longest_line = 0;  // or frame
  Event event;
  for (int i = 0; i < 200'000; ++i) {
    const std::string key = "key" + std::to_string(i % 40);
    const std::string line =
        testing::EventLine(key, 1'000'000 + i / 4, i % 1'000) + "\n";
    ndjson += line;
    if (wire == Wire::kNdjson) {
      longest_line = std::max(longest_line, line.size());
      text += line;
      continue;
    }
    event.set_key(key);
    event.set_ts_ms(1'000'000 + i / 4);
    event.set_value(i % 1'000);
    const size_t before = text.size();
    {
      google::protobuf::io::StringOutputStream out(&text);
      ASSERT_TRUE(google::protobuf::util::SerializeDelimitedToZeroCopyStream(
          event, &out));
    }
    longest_line = std::max(longest_line, text.size() - before);
  }
  const AggregatorOptions options = testing::Options("tumbling:10ms");
  auto results = std::make_shared<GateWriter>();
  PipelineOptions pipeline_options =
      testing::MakePipelineOptions(options, /*shards=*/2, results, nullptr);
  pipeline_options.batch_events = 64;
  pipeline_options.router_mailbox = 2;
  pipeline_options.shard_mailbox = 2;
  pipeline_options.sink_mailbox = 2;

  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  ActorSystem system(runtime, ActorSystemOptions{.watchdog = false});
  Producer producer;
  std::thread producer_thread;
  int64_t bound_events = 0;
  int receive_buffer = 0;
  uint64_t sent_while_blocked = 0;
  const absl::Status status = runtime.BlockOn([&]() -> Task<absl::Status> {
    Pipeline pipeline(system, pipeline_options);
    bound_events = pipeline.MaxEventsInFlight(/*inputs=*/1);
    Task<absl::Status> run = testing::RunOneInput(
        pipeline,
        [&](std::unique_ptr<InputPort> port,
            Pipeline& /*p*/) -> Task<absl::Status> {
          absl::StatusOr<net::TcpListener> listener =
              net::TcpListener::Bind("127.0.0.1:0");
          if (!listener.ok()) co_return listener.status();
          // A fixed receive buffer (accepted sockets inherit it), so that
          // the kernel's share of the stream is known.
          const int small = 64 << 10;
          ::setsockopt(listener->fd(), SOL_SOCKET, SO_RCVBUF, &small,
                       sizeof(small));
          socklen_t size = sizeof(receive_buffer);
          ::getsockopt(listener->fd(), SOL_SOCKET, SO_RCVBUF, &receive_buffer,
                       &size);
          producer_thread =
              std::thread(Produce, listener->LocalAddress().port(),
                          std::cref(text), &producer);
          Task<absl::StatusOr<net::TcpStream>> accept = listener->Accept();
          absl::StatusOr<net::TcpStream> stream = co_await std::move(accept);
          listener->Close();
          if (!stream.ok()) co_return stream.status();
          JoinHandle<absl::Status> reader =
              Spawn(ReadTcpConnection(*std::move(stream), std::move(port),
                                      CancellationToken(), nullptr));
          // The sink is blocked and the producer has stalled - or, without
          // back-pressure, it is done.
          const bool settled = co_await testing::WaitUntil([&] {
            return (producer.stalls.load(std::memory_order_relaxed) > 0 &&
                    results->entered()) ||
                   producer.done.load(std::memory_order_relaxed);
          });
          EXPECT_TRUE(settled);
          // While the sink stays blocked, this can only grow up to the
          // bound below.
          sent_while_blocked = producer.sent.load(std::memory_order_relaxed);
          results->Open();
          co_return co_await reader;
        });
    co_return co_await std::move(run);
  }());
  if (producer_thread.joinable()) producer_thread.join();
  system.BlockingShutdown(std::chrono::seconds(5));
  ASSERT_TRUE(status.ok()) << status;

  // While the sink is blocked the producer can have sent at most: the
  // events the pipeline may hold (pipeline.h), those the shards may have
  // consumed before each blocked on a full sink (every batch here fires
  // windows: at most sink_mailbox + 1 + shards result messages, one per
  // batch), the connection's read buffer and unfinished line or frame, the
  // preamble, and what the
  // two socket buffers take (the kernel reports each doubled for its
  // bookkeeping; count it twice again as headroom).
  const uint64_t consumed_events = uint64_t{2 + 1 + 2} * 64;
  const uint64_t bound =
      (static_cast<uint64_t>(bound_events) + consumed_events) * longest_line +
      kSocketReadBytes + longest_line + kProtobufPreamble.size() +
      2 * static_cast<uint64_t>(producer.send_buffer) +
      2 * static_cast<uint64_t>(receive_buffer);
  std::cout << "producer held after " << sent_while_blocked << " of "
            << text.size() << " bytes (bound " << bound << ")\n";
  EXPECT_LE(sent_while_blocked, bound);
  EXPECT_LT(bound, text.size() / 4);  // the bound means something

  // Held is not lossy: every event arrives, and the results are exact.
  const SequentialOutput sequential = RunSequential(ndjson, options);
  EXPECT_EQ(testing::CanonicalOrder(results->memory().lines()),
            testing::CanonicalOrder(sequential.results));
}

// Resident memory of this process (VmRSS), in bytes.
uint64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   1234 kB"
    }
  }
  return 0;
}

// The test: a fast producer into a deliberately slow shard. The
// shard waits 5 ms before each 64-event batch (~13,000 events/s) while a
// producer offers ~26 MB of NDJSON as fast as loopback takes it: the
// mailboxes fill, the --listen reader stops reading, TCP flow control
// holds the producer, and resident memory stays under a bound far below
// what the producer offered. Then the shard speeds up and every event
// arrives.
TEST(BackpressureTest,
     ASlowShardHoldsAFastProducerAndResidentMemoryStaysBounded) {
  constexpr int kEvents = 600'000;
  std::string text;
  text.reserve(size_t{kEvents} * 52);
  for (int i = 0; i < kEvents; ++i) {
    text += testing::EventLine("key" + std::to_string(i % 1'000),
                               1'000'000 + i / 16, i % 1'000);
    text += '\n';
  }
  const AggregatorOptions options = testing::Options("tumbling:10s");
  auto results = std::make_shared<MemoryWriter>();
  PipelineOptions pipeline_options =
      testing::MakePipelineOptions(options, /*shards=*/2, results, nullptr);
  pipeline_options.batch_events = 64;
  auto slow = std::make_shared<std::atomic<bool>>(true);
  pipeline_options.shard_delay = [slow] {
    return slow->load(std::memory_order_relaxed)
               ? Duration(std::chrono::milliseconds(5))
               : Duration::zero();
  };

  Runtime runtime({.flavor = Flavor::kMultiThread, .worker_threads = 2});
  ActorSystem system(runtime, ActorSystemOptions{.watchdog = false});
  Producer producer;
  std::thread producer_thread;
  uint64_t before = 0;
  uint64_t held_at = 0;
  uint64_t growth = 0;
  bool done_when_measured = false;
  const absl::Status status = runtime.BlockOn([&]() -> Task<absl::Status> {
    Pipeline pipeline(system, pipeline_options);
    Task<absl::Status> run = testing::RunOneInput(
        pipeline,
        [&](std::unique_ptr<InputPort> port,
            Pipeline& /*p*/) -> Task<absl::Status> {
          absl::StatusOr<net::TcpListener> listener =
              net::TcpListener::Bind("127.0.0.1:0");
          if (!listener.ok()) co_return listener.status();
          before = ResidentBytes();
          producer_thread =
              std::thread(Produce, listener->LocalAddress().port(),
                          std::cref(text), &producer);
          Task<absl::StatusOr<net::TcpStream>> accept = listener->Accept();
          absl::StatusOr<net::TcpStream> stream = co_await std::move(accept);
          listener->Close();
          if (!stream.ok()) co_return stream.status();
          JoinHandle<absl::Status> reader =
              Spawn(ReadTcpConnection(*std::move(stream), std::move(port),
                                      CancellationToken(), nullptr));
          // Held: the producer stalled three times (600 ms without
          // progress) - or, without back-pressure, it is done.
          const bool settled = co_await testing::WaitUntil([&] {
            return producer.stalls.load(std::memory_order_relaxed) >= 3 ||
                   producer.done.load(std::memory_order_relaxed);
          });
          EXPECT_TRUE(settled);
          held_at = producer.sent.load(std::memory_order_relaxed);
          done_when_measured = producer.done.load(std::memory_order_relaxed);
          const uint64_t now = ResidentBytes();
          growth = now > before ? now - before : 0;
          slow->store(false, std::memory_order_relaxed);
          co_return co_await reader;
        });
    co_return co_await std::move(run);
  }());
  if (producer_thread.joinable()) producer_thread.join();
  system.BlockingShutdown(std::chrono::seconds(5));
  ASSERT_TRUE(status.ok()) << status;
  std::cout << "slow shard: producer held after " << held_at << " of "
            << text.size() << " bytes; resident memory grew " << growth / 1024
            << " KiB\n";
  EXPECT_FALSE(done_when_measured) << "the producer was never held";
  EXPECT_LT(held_at, text.size() / 10);
  // Without back-pressure the reader would buffer what the producer sent
  // (tens of MB); with it, the pipeline's bounded mailboxes, a read
  // buffer and the socket buffers - plus the runtime's and allocator's
  // own growth.
  EXPECT_LT(growth, uint64_t{16} << 20);
  // Every event arrived once the shard sped up.
  EXPECT_EQ(producer.sent.load(), text.size());
}

TEST(BackpressureTest,
     ABlockedSinkHoldsAFastNdjsonProducerAfterABoundedPrefix) {
  ExpectABlockedSinkHoldsAFastTcpProducer(Wire::kNdjson);
}

TEST(BackpressureTest, ABlockedSinkHoldsAFastFrameProducerAfterABoundedPrefix) {
  ExpectABlockedSinkHoldsAFastTcpProducer(Wire::kProtobufFrames);
}

}  // namespace
}  // namespace troupe::aggregator
