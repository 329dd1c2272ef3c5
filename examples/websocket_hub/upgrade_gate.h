// The hub's checks on a WebSocket upgrade request, made before the
// handshake is answered, and the stream that lets the HTTP layer read the
// request again afterwards.
//
// Contract (CheckUpgrade):
//   - Origin: a request without an Origin field (not a browser) passes;
//     a browser's same-origin request (Origin is http:// or https:// plus
//     the Host field) passes; any other origin passes only if it is listed
//     in allowed_origins exactly ("https://chat.example.com"), or the list
//     holds "*". Otherwise: 403.
//   - Auth: with tokens configured, the request must carry one of them as
//     "Authorization: Bearer TOKEN" or as the query parameter ?token=TOKEN
//     (compared in constant time). Otherwise: 401 with WWW-Authenticate.
//   - Returns the refusal to send (Connection: close), or nullopt.
//
// Contract (RewindableStream): an AnyByteStream over another that records
// what is read until Rewind(); after it, reads return the recorded bytes
// first, then go on with the stream. Writes pass straight through.
//
// Example:
//   auto stream = std::make_unique<RewindableStream>(std::move(tcp));
//   ... read and parse the request head from *stream ...
//   if (auto refusal = CheckUpgrade(request, gate)) { write it; return; }
//   stream->Rewind();
//   co_await net::ServeHttpConnection(std::move(stream), router);
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_UPGRADE_GATE_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_UPGRADE_GATE_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/task.h"
#include "net/byte_stream.h"
#include "net/http_request.h"
#include "net/http_response.h"

namespace troupe::hub {

struct GateOptions {
  std::vector<std::string> allowed_origins;
  std::vector<std::string> auth_tokens;  // empty: no authentication
};

std::optional<net::HttpResponse> CheckUpgrade(const net::HttpRequest& request,
                                              const GateOptions& options);

class RewindableStream final : public net::AnyByteStream {
 public:
  explicit RewindableStream(std::unique_ptr<net::AnyByteStream> inner)
      : inner_(std::move(inner)) {}

  Task<absl::StatusOr<size_t>> Read(std::span<char> buffer) override;
  Task<absl::Status> WriteAll(std::span<const char> data) override {
    return inner_->WriteAll(data);
  }
  Task<absl::Status> ShutdownWrite() override {
    return inner_->ShutdownWrite();
  }
  void Rewind() { recording_ = false; }

 private:
  Task<absl::StatusOr<size_t>> RecordOrReplay(std::span<char> buffer);

  std::unique_ptr<net::AnyByteStream> inner_;
  bool recording_ = true;
  std::string record_;
  size_t replayed_ = 0;
};

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_UPGRADE_GATE_H_
