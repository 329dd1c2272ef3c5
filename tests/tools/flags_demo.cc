// A tiny binary for flags_test.sh: one flag, prints its value and its
// positional arguments.
#include <cstdio>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "tools/cli/flags.h"

ABSL_FLAG(int, count, 3, "how many (an integer)");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Demo of ParseFlags.\nUsage: flags_demo [--count=N] ARG...");
  const std::vector<char*> args = troupe::ParseFlags(argc, argv);
  std::printf("count=%d positional=%zu\n", absl::GetFlag(FLAGS_count),
              args.size() - 1);
  return 0;
}
