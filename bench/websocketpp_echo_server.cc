// The peer of //examples/echo:echo in bench/ws_echo_compare.sh: a
// WebSocket echo server on websocketpp (Debian's libwebsocketpp-dev) and
// standalone Asio (libasio-dev), set up as issue 6 asks - single-threaded
// (one io_context run on the main thread), TCP_NODELAY set on every
// socket right after accept, messages up to 16 MiB, each message sent
// back with its own opcode. Logging is off; no permessage-deflate (the
// plain asio config has none).
//
//   bazel run --config=bench //bench:websocketpp_echo_server -- --port=0
// prints "websocketpp_echo_server: listening on 127.0.0.1:PORT" on stderr
// and runs until SIGTERM or SIGINT. Needs tools/setup --bench-peers.

// Standalone Asio (libasio-dev) rather than Boost's. Also set by the
// BUILD target; repeated here for tools that read this file alone.
#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE
#endif

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "websocketpp/config/asio_no_tls.hpp"
#include "websocketpp/server.hpp"

ABSL_FLAG(int, port, 9002, "port on 127.0.0.1 (0: any free port)");
ABSL_FLAG(uint64_t, max_message_size, uint64_t{16} << 20,
          "largest message accepted, in bytes");

namespace {

using Server = websocketpp::server<websocketpp::config::asio>;

int Serve(int port, uint64_t max_message_size) {
  Server server;
  server.clear_access_channels(websocketpp::log::alevel::all);
  server.clear_error_channels(websocketpp::log::elevel::all);
  server.init_asio();
  server.set_reuse_addr(true);
  server.set_max_message_size(max_message_size);
  // Called once the TCP connection is accepted, before the handshake.
  server.set_tcp_pre_init_handler([&server](websocketpp::connection_hdl hdl) {
    Server::connection_ptr connection = server.get_con_from_hdl(std::move(hdl));
    asio::error_code ignored;
    connection->get_socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  });
  server.set_message_handler([&server](websocketpp::connection_hdl hdl,
                                       const Server::message_ptr& message) {
    websocketpp::lib::error_code ignored;  // the peer went away
    server.send(std::move(hdl), message->get_payload(), message->get_opcode(),
                ignored);
  });

  asio::error_code error;
  server.listen(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                        static_cast<uint16_t>(port)),
                error);
  if (error) {
    std::fprintf(stderr, "websocketpp_echo_server: listen: %s\n",
                 error.message().c_str());
    return 2;
  }
  const asio::ip::tcp::endpoint local = server.get_local_endpoint(error);
  server.start_accept();
  std::fprintf(stderr, "websocketpp_echo_server: listening on 127.0.0.1:%u\n",
               static_cast<unsigned>(local.port()));

  asio::signal_set signals(server.get_io_service(), SIGINT, SIGTERM);
  signals.async_wait([&server](const asio::error_code&, int) {
    server.stop_listening();
    server.stop();
  });
  server.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "websocketpp's echo server, single-threaded, for "
      "bench/ws_echo_compare.sh.\nUsage: websocketpp_echo_server "
      "[--port=N] [--max_message_size=BYTES]");
  absl::ParseCommandLine(argc, argv);
  return Serve(absl::GetFlag(FLAGS_port),
               absl::GetFlag(FLAGS_max_message_size));
}
