// Helpers for the TCP tests: deterministic payloads, exact reads, an echo
// peer, and a connected pair of streams on loopback.
//
// Example:
//   absl::StatusOr<test::TcpPair> pair = co_await test::ConnectedPair();
//   co_await pair->client.WriteAll(test::AsSpan(hello));
//   std::string got = co_await test::ReadExactly(pair->server, hello.size());
#ifndef TROUPE_TESTS_NET_TCP_TEST_UTIL_H_
#define TROUPE_TESTS_NET_TCP_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/task.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"

namespace troupe::test {

inline std::span<const char> AsSpan(std::string_view s) {
  return {s.data(), s.size()};
}

// `n` bytes from a xorshift stream seeded by `seed`: every (seed, offset)
// has its own byte, so reordered, lost or duplicated bytes show.
inline std::string Pattern(std::size_t n, uint64_t seed) {
  std::string out(n, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x >> 56);
  }
  return out;
}

// Reads exactly `n` bytes; an error, or EOF before `n`, is an error.
inline Task<absl::StatusOr<std::string>> ReadExactly(net::TcpStream* stream,
                                                     std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    absl::StatusOr<std::size_t> r =
        co_await stream->Read(std::span<char>(out).subspan(got));
    if (!r.ok()) co_return r.status();
    if (*r == 0) {
      co_return absl::DataLossError("end of stream after " +
                                    std::to_string(got) + " of " +
                                    std::to_string(n) + " bytes");
    }
    got += *r;
  }
  co_return out;
}

// Reads until end of stream, `chunk` bytes at a time at most.
inline Task<absl::StatusOr<std::string>> ReadToEnd(net::TcpStream* stream,
                                                   std::size_t chunk) {
  std::string out;
  std::string buffer(chunk, '\0');
  for (;;) {
    absl::StatusOr<std::size_t> r = co_await stream->Read(buffer);
    if (!r.ok()) co_return r.status();
    if (*r == 0) co_return out;
    out.append(buffer.data(), *r);
  }
}

// Echoes everything it reads until end of stream, then shuts its side.
inline Task<absl::Status> Echo(net::TcpStream stream) {
  char buffer[16 * 1024];
  for (;;) {
    absl::StatusOr<std::size_t> n = co_await stream.Read(buffer);
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    absl::Status written =
        co_await stream.WriteAll(std::span<const char>(buffer, *n));
    if (!written.ok()) co_return written;
  }
  co_return co_await stream.ShutdownWrite();
}

struct TcpPair {
  TcpPair(net::TcpStream c, net::TcpStream s)
      : client(std::move(c)), server(std::move(s)) {}
  net::TcpStream client;
  net::TcpStream server;
};

// A client connected to a server-side stream through a listener on
// `host_port` (port 0: any free one), both in this runtime.
inline Task<absl::StatusOr<TcpPair>> ConnectedPair(
    std::string host_port = "127.0.0.1:0") {
  absl::StatusOr<net::TcpListener> listener = net::TcpListener::Bind(host_port);
  if (!listener.ok()) co_return listener.status();
  // The connection completes in the kernel's backlog, so connecting first
  // and accepting second needs no concurrency.
  const net::SocketAddress address = listener->LocalAddress();
  absl::StatusOr<net::TcpStream> client =
      co_await net::TcpStream::Connect(address);
  if (!client.ok()) co_return client.status();
  absl::StatusOr<net::TcpStream> server = co_await listener->Accept();
  if (!server.ok()) co_return server.status();
  co_return TcpPair(std::move(*client), std::move(*server));
}

}  // namespace troupe::test

#endif  // TROUPE_TESTS_NET_TCP_TEST_UTIL_H_
