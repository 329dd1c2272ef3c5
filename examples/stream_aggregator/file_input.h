// File and stdin inputs: NDJSON read from a file descriptor into an
// InputPort.
//
// Reads happen on the runtime's blocking pool, one chunk at a time; each
// chunk is fed to the port (FeedText) before the next read starts, so a
// pipeline that is behind holds the reader in FeedText and nothing more is
// read. Between reads, and every 100 ms while waiting for data (stdin, a
// pipe), the reader checks `stop`: once it is cancelled (SIGTERM/SIGINT, or
// the sink failed) no more is read, and the port is closed as at end of
// file - what was read is processed, and the final line without '\n' too.
//
// Example:
//   absl::StatusOr<int> fd = OpenInputFile("events.ndjson");  // "-": stdin
//   if (!fd.ok()) return Fail(fd.status());
//   JoinHandle<absl::Status> reader =
//       Spawn(ReadNdjson(std::move(port), *fd, pipeline.stop()));

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_FILE_INPUT_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_FILE_INPUT_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "examples/stream_aggregator/input_port.h"
#include "executor/cancellation_token.h"
#include "executor/task.h"

namespace troupe::aggregator {

// Opens `path` for reading; "-" is standard input. The error names the path
// and the reason (InvalidArgument: it is a bad flag value).
absl::StatusOr<int> OpenInputFile(const std::string& path);

inline constexpr size_t kReadChunkBytes = size_t{256} << 10;

// Reads `fd` to its end (or until `stop`), feeding `port`, then closes the
// port, and the descriptor unless it is standard input. Returns the first
// read error, or the port's error if the pipeline stopped taking events.
Task<absl::Status> ReadNdjson(std::unique_ptr<InputPort> port, int fd,
                              CancellationToken stop);

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_FILE_INPUT_H_
