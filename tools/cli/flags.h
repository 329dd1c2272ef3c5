// Command-line flags that behave the same in every troupe binary, whatever
// Abseil release the build picks up.
//
// Contract:
//  - ParseFlags(argc, argv) is absl::ParseCommandLine, except that a
//    request for usage (--help, --helpfull, --helpshort, --helpon=,
//    --helpmatch=, --helppackage) prints it on stdout and exits 0. Abseil
//    up to 20220623 (Debian 12's) exits 1 there; later releases exit 0 on
//    their own, so for them this is absl::ParseCommandLine unchanged.
//    Refused flags still print absl's message and exit 1. Call it once,
//    first thing in main, like absl::ParseCommandLine.
//  - DurationFlag: the value type of a duration flag ("500ms", "2s",
//    "1m30s", "0"; never negative or infinite; absl::ParseDuration's
//    syntax). It is one word (nanoseconds), so absl stores it in a
//    lock-free atomic. An absl::Duration flag is wider than a word, and
//    absl reads such values through a sequence lock whose
//    std::atomic_thread_fence g++ refuses to compile with
//    -fsanitize=thread (-Werror=tsan): use DurationFlag under
//    --config=tsan.
//
// Example:
//   ABSL_FLAG(troupe::DurationFlag, timeout,
//             troupe::DurationFlag(std::chrono::seconds(5)),
//             "how long to wait");
//   int main(int argc, char** argv) {
//     std::vector<char*> rest = troupe::ParseFlags(argc, argv);
//     troupe::Duration timeout = absl::GetFlag(FLAGS_timeout).value();
//   }
#ifndef TROUPE_TOOLS_CLI_FLAGS_H_
#define TROUPE_TOOLS_CLI_FLAGS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "executor/clock.h"

namespace troupe {

// absl::ParseCommandLine with `--help` exiting 0 (see the top).
std::vector<char*> ParseFlags(int argc, char* argv[]);

class DurationFlag {
 public:
  constexpr DurationFlag() = default;
  constexpr explicit DurationFlag(Duration value) : nanos_(value.count()) {}

  constexpr Duration value() const { return Duration(nanos_); }

  friend bool operator==(DurationFlag a, DurationFlag b) {
    return a.nanos_ == b.nanos_;
  }

 private:
  int64_t nanos_ = 0;
};

// What absl calls to parse and print a DurationFlag (found by ADL).
bool AbslParseFlag(absl::string_view text, DurationFlag* flag,
                   std::string* error);
std::string AbslUnparseFlag(DurationFlag flag);

}  // namespace troupe

#endif  // TROUPE_TOOLS_CLI_FLAGS_H_
