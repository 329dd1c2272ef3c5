#include "examples/stream_aggregator/file_input.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "executor/blocking_pool.h"

namespace troupe::aggregator {
namespace {

struct ReadOutcome {
  ssize_t bytes = 0;  // > 0 data, 0 end of file, < 0 error (see error)
  int error = 0;
  bool stopped = false;
};

// Blocking: waits for data (checking `stop` every 100 ms), then reads.
ReadOutcome ReadChunk(int fd, std::string* buffer,
                      const CancellationToken& stop) {
  for (;;) {
    if (stop.IsCancelled()) return {.stopped = true};
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    const int ready = ::poll(&p, 1, /*timeout_ms=*/100);
    if (ready == 0 || (ready < 0 && errno == EINTR)) continue;
    // Readable, hung up, or an error: read() tells which.
    const ssize_t n = ::read(fd, buffer->data(), buffer->size());
    if (n < 0 && errno == EINTR) continue;
    return {.bytes = n, .error = n < 0 ? errno : 0};
  }
}

}  // namespace

absl::StatusOr<int> OpenInputFile(const std::string& path) {
  if (path == "-") return STDIN_FILENO;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot open input '", path, "': ", std::strerror(errno)));
  }
  return fd;
}

Task<absl::Status> ReadNdjson(std::unique_ptr<InputPort> port, int fd,
                              CancellationToken stop) {
  // Shared with the blocking job, which could outlive this frame if the
  // runtime were torn down while it waits.
  auto buffer = std::make_shared<std::string>(kReadChunkBytes, '\0');
  absl::Status status;
  for (;;) {
    absl::StatusOr<BlockingHandle<ReadOutcome>> job = SpawnBlocking(
        [fd, buffer, stop] { return ReadChunk(fd, buffer.get(), stop); });
    if (!job.ok()) {
      status = job.status();
      break;
    }
    const ReadOutcome outcome = co_await *job;
    if (outcome.stopped || outcome.bytes == 0) break;
    if (outcome.bytes < 0) {
      status = absl::UnavailableError(
          absl::StrCat("cannot read input '", port->name(),
                       "': ", std::strerror(outcome.error)));
      break;
    }
    const std::string_view chunk(buffer->data(),
                                 static_cast<size_t>(outcome.bytes));
    status = co_await port->FeedText(chunk);
    if (!status.ok()) break;
  }
  const absl::Status closed = co_await port->Close();
  if (fd != STDIN_FILENO) ::close(fd);
  co_return status.ok() ? closed : status;
}

}  // namespace troupe::aggregator
