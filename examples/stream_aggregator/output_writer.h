// OutputWriter: where the sink puts result lines (--output) and late lines
// (--late_output). A writer is unbuffered: when Write returns, the bytes are
// with the operating system (that is how "written and flushed when the
// window fires", rule 7, holds).
//
// Writers that may block a thread for long (files, pipes, a terminal) say
// so with may_block(); the sink then calls them on the runtime's blocking
// pool, so a slow consumer of --output stalls the sink actor (and, through
// the bounded mailboxes, the whole pipeline) without stalling a worker.
//
// Thread contract: the sink calls one writer from one thread at a time
// (each call completes before the next starts). MemoryWriter may also be
// read concurrently, from any thread.
//
// Example:
//   absl::StatusOr<std::shared_ptr<OutputWriter>> out = OpenOutput("-");
//   if (out.ok()) (void)(*out)->Write("line\n");

#ifndef TROUPE_EXAMPLES_STREAM_AGGREGATOR_OUTPUT_WRITER_H_
#define TROUPE_EXAMPLES_STREAM_AGGREGATOR_OUTPUT_WRITER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace troupe::aggregator {

class OutputWriter {
 public:
  virtual ~OutputWriter() = default;

  // Writes all of `bytes`. An error names the destination.
  virtual absl::Status Write(std::string_view bytes) = 0;

  // Called once at the end of the run.
  virtual absl::Status Close() { return absl::OkStatus(); }

  // Whether Write may block the calling thread for long.
  virtual bool may_block() const = 0;
};

// Opens `path` for writing, truncating it; "-" is standard output. The error
// names the path and the reason.
absl::StatusOr<std::shared_ptr<OutputWriter>> OpenOutput(
    const std::string& path);

// Keeps everything in memory (tests, benchmarks).
class MemoryWriter final : public OutputWriter {
 public:
  absl::Status Write(std::string_view bytes) override;
  bool may_block() const override { return false; }

  std::string text() const;
  // The text split into lines (without their '\n').
  std::vector<std::string> lines() const;
  uint64_t writes() const;

 private:
  mutable std::mutex mu_;
  std::string text_;     // guarded by mu_
  uint64_t writes_ = 0;  // guarded by mu_
};

}  // namespace troupe::aggregator

#endif  // TROUPE_EXAMPLES_STREAM_AGGREGATOR_OUTPUT_WRITER_H_
