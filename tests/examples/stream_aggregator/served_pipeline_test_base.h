// ServedPipelineTest: the fixture of the network input tests (tcp_input.h,
// http_endpoint.h) - a pipeline on its own runtime, a server on a loopback
// port feeding it, and a client coroutine that talks to the server.
//
// RunServed runs one scenario to the end, in these steps:
//   1. builds the pipeline from `options` (its log collected in log_);
//   2. binds 127.0.0.1:0 and spawns `serve(listener, pipeline, stop,
//      until)`, a Task<absl::Status> (the tokens are passed by reference:
//      the task must copy them);
//   3. awaits `client(pipeline, address, stop)`, a Task<void>; the client
//      may cancel `stop` itself (as SIGTERM does);
//   4. cancels `stop` (inputs end and flush), says no more inputs will
//      open and awaits Pipeline::Finished; metrics_ is then final;
//   5. cancels `until` (a server that outlives its inputs, like --http,
//      stops here) and awaits the server.
// It returns the first error: the pipeline's, else the server's.
//
// Thread contract: RunServed blocks the calling (test) thread; the tasks
// run on runtime_.
//
// Example:
//   class MyTest : public testing::ServedPipelineTest {
//    protected:
//     MyTest() : ServedPipelineTest(RuntimeOptions{}) {}
//   };
//   absl::Status s = RunServed(
//       pipeline_options,
//       [&](net::TcpListener l, Pipeline& p, const CancellationToken& stop,
//           const CancellationToken&) {
//         return ServeTcpInputs(std::move(l), p, stop, log_.Fn());
//       },
//       [&](Pipeline& p, net::SocketAddress a,
//           CancellationToken) -> Task<void> { ... });

#ifndef TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_SERVED_PIPELINE_TEST_BASE_H_
#define TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_SERVED_PIPELINE_TEST_BASE_H_

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "actors/actor.h"
#include "examples/stream_aggregator/pipeline.h"
#include "examples/stream_aggregator/pipeline_metrics.h"
#include "executor/cancellation_token.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/task.h"
#include "gtest/gtest.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "tests/examples/stream_aggregator/pipeline_test_util.h"

namespace troupe::aggregator::testing {

class ServedPipelineTest : public ::testing::Test {
 protected:
  explicit ServedPipelineTest(const RuntimeOptions& runtime_options)
      : runtime_(runtime_options) {}
  ~ServedPipelineTest() override {
    system_.BlockingShutdown(std::chrono::seconds(5));
  }

  // The steps at the top of the file.
  template <typename Serve, typename Client>
  absl::Status RunServed(PipelineOptions options, Serve serve, Client client) {
    options.log = log_.Fn();
    return runtime_.BlockOn([&]() -> Task<absl::Status> {
      Pipeline pipeline(system_, options);
      absl::StatusOr<net::TcpListener> listener =
          net::TcpListener::Bind("127.0.0.1:0");
      if (!listener.ok()) co_return listener.status();
      const net::SocketAddress address = listener->LocalAddress();
      CancellationToken stop;
      CancellationToken until;
      JoinHandle<absl::Status> server =
          Spawn(serve(*std::move(listener), pipeline, stop, until));
      co_await client(pipeline, address, stop);
      stop.Cancel();
      co_await pipeline.NoMoreInputs();
      const absl::Status finished = co_await pipeline.Finished();
      metrics_ = pipeline.Snapshot();  // final: every actor is done
      until.Cancel();
      const absl::Status served = co_await server;
      co_return finished.ok() ? served : finished;
    }());
  }

  Runtime runtime_;
  ActorSystem system_{runtime_, ActorSystemOptions{.watchdog = false}};
  LogCollector log_;
  MetricsSnapshot metrics_;  // at the end of RunServed
};

}  // namespace troupe::aggregator::testing

#endif  // TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_SERVED_PIPELINE_TEST_BASE_H_
