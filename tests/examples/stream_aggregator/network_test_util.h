// Helpers for the tests of the stream aggregator's network inputs
// (tcp_input.h, http_endpoint.h): waiting for the pipeline to reach a state,
// and a plain HTTP/1.1 GET over loopback.
//
// Waiting. The network tests run on real sockets, so "the pipeline has
// handled what was sent" is observed, not scheduled: WaitUntil polls a
// condition every millisecond. Its limit (60 s) only turns a hang into a
// failure with a message; no assertion depends on how long anything
// takes.
//
// Example:
//   const bool closed = co_await WaitUntil([&] {
//     return pipeline.Snapshot().inputs.at(0).closed;
//   });
//   EXPECT_TRUE(closed);
//   std::string response = co_await HttpGet(address, "/metrics");

#ifndef TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_NETWORK_TEST_UTIL_H_
#define TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_NETWORK_TEST_UTIL_H_

#include <functional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "executor/task.h"
#include "net/socket_address.h"
#include "net/tcp_stream.h"

namespace troupe::aggregator::testing {

// Completes once `done()` is true (true), or after 60 s (false).
Task<bool> WaitUntil(std::function<bool()> done);

// Writes all of `text` to `stream`.
Task<absl::Status> WriteText(net::TcpStream& stream, std::string_view text);

// GET `path` with "Connection: close"; the whole response (head and body),
// or the error's text.
Task<std::string> HttpGet(net::SocketAddress address, std::string path);

}  // namespace troupe::aggregator::testing

#endif  // TROUPE_TESTS_EXAMPLES_STREAM_AGGREGATOR_NETWORK_TEST_UTIL_H_
