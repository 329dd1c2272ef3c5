#include "tests/examples/stream_aggregator/network_test_util.h"

#include <chrono>
#include <span>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "executor/sleep.h"

namespace troupe::aggregator::testing {

Task<bool> WaitUntil(std::function<bool()> done) {
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) co_return false;
    co_await SleepFor(std::chrono::milliseconds(1));
  }
  co_return true;
}

Task<absl::Status> WriteText(net::TcpStream& stream, std::string_view text) {
  co_return co_await stream.WriteAll(
      std::span<const char>(text.data(), text.size()));
}

Task<std::string> HttpGet(net::SocketAddress address, std::string path) {
  absl::StatusOr<net::TcpStream> stream =
      co_await net::TcpStream::Connect(address);
  if (!stream.ok()) co_return stream.status().ToString();
  const std::string request = absl::StrCat(
      "GET ", path, " HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
  const absl::Status written = co_await WriteText(*stream, request);
  if (!written.ok()) co_return written.ToString();
  std::string response;
  char buffer[4096];
  for (;;) {
    absl::StatusOr<size_t> n =
        co_await stream->Read(std::span<char>(buffer, sizeof(buffer)));
    if (!n.ok()) co_return n.status().ToString();
    if (*n == 0) break;
    response.append(buffer, *n);
  }
  co_return response;
}

}  // namespace troupe::aggregator::testing
