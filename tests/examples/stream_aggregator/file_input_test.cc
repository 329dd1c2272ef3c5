// File and pipe inputs: read to the end in chunks on the blocking pool, and
// stopped (as SIGTERM does) while waiting for data, with the open windows
// flushed.

#include "examples/stream_aggregator/file_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "actors/actor.h"
#include "examples/stream_aggregator/output_writer.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/sequential_driver.h"
#include "executor/sleep.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/examples/stream_aggregator/pipeline_test_util.h"
#include "tests/examples/stream_aggregator/test_util.h"

namespace troupe::aggregator {
namespace {

using testing::EventLine;

class FileInputTest : public ::testing::Test {
 protected:
  // Opens one input reading `fd` and runs until the pipeline finishes;
  // `while_running` runs meanwhile (with the pipeline's stop token).
  template <typename F>
  absl::Status Run(int fd, const AggregatorOptions& options, F while_running) {
    return runtime_.BlockOn([&]() -> Task<absl::Status> {
      Pipeline pipeline(
          system_, testing::MakePipelineOptions(options, 2, results_, nullptr));
      Task<absl::Status> run = testing::RunOneInput(
          pipeline,
          [&](std::unique_ptr<InputPort> port,
              Pipeline& p) -> Task<absl::Status> {
            JoinHandle<absl::Status> reader =
                Spawn(ReadNdjson(std::move(port), fd, p.stop()));
            co_await while_running(p);
            co_return co_await reader;
          });
      co_return co_await std::move(run);
    }());
  }

  Runtime runtime_{{.flavor = Flavor::kMultiThread, .worker_threads = 2}};
  ActorSystem system_{runtime_, ActorSystemOptions{.watchdog = false}};
  std::shared_ptr<MemoryWriter> results_ = std::make_shared<MemoryWriter>();
};

Task<void> Nothing(Pipeline& /*pipeline*/) { co_return; }

TEST_F(FileInputTest, AFileIsReadToItsEndAcrossManyChunks) {
  const std::string text = testing::Lines(
      testing::DisorderedStream(testing::TestSeed(71), 20'000, 31));
  ASSERT_GT(text.size(), 2 * kReadChunkBytes);
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/events.ndjson";
  const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(out, 0);
  ASSERT_EQ(::write(out, text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  ::close(out);

  absl::StatusOr<int> fd = OpenInputFile(path);
  ASSERT_TRUE(fd.ok()) << fd.status();
  const AggregatorOptions options = testing::Options("tumbling:5s", 1'000);
  const absl::Status status = Run(*fd, options, Nothing);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(testing::CanonicalOrder(results_->lines()),
            testing::CanonicalOrder(RunSequential(text, options).results));
}

TEST_F(FileInputTest, StoppingAReaderThatWaitsForDataFlushesTheOpenWindows) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  const std::string text = EventLine("a", 1'000, 1) + "\n" +
                           EventLine("a", 2'000, 2) + "\n" +
                           EventLine("a", 3'000, 3);  // unterminated
  ASSERT_EQ(::write(pipe_fds[1], text.data(), text.size()),
            static_cast<ssize_t>(text.size()));
  // The write end stays open: without the stop the reader would wait.
  const absl::Status status =
      Run(pipe_fds[0], testing::Options("tumbling:10s"),
          [](Pipeline& pipeline) -> Task<void> {
            while (pipeline.Snapshot().events < 2) {
              co_await SleepFor(std::chrono::milliseconds(1));
            }
            pipeline.stop().Cancel();  // what SIGTERM does
          });
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  ASSERT_TRUE(status.ok()) << status;
  // What was read is processed, the unterminated line too, and the open
  // window is emitted (rule 6).
  ASSERT_EQ(results_->lines().size(), 1u);
  EXPECT_EQ(testing::ReadResultLine(results_->lines()[0]).count, 3u);
}

TEST(OpenInputFileTest, AMissingFileIsAnErrorNamingIt) {
  absl::StatusOr<int> fd = OpenInputFile("/no/such/events.ndjson");
  ASSERT_FALSE(fd.ok());
  EXPECT_THAT(
      std::string(fd.status().message()),
      ::testing::HasSubstr("cannot open input '/no/such/events.ndjson'"));
}

}  // namespace
}  // namespace troupe::aggregator
