// ParseFlags: absl::ParseCommandLine for troupe's binaries, except that a
// request for help succeeds.
//
// Contract: parses argv like absl::ParseCommandLine (an unknown flag or a
// bad value prints an error naming it and exits 1) and returns the
// positional arguments, argv[0] first. --help, --helpfull, --helpshort,
// --helppackage and --help=SUBSTRING print the usage message and the flags
// on stdout and exit 0 - Debian's Abseil exits 1 there, and scripts and
// people alike read a non-zero exit as "that went wrong". --version and
// --only_check_args keep Abseil's behaviour (exit 0).
//
// Example:
//   int main(int argc, char** argv) {
//     absl::SetProgramUsageMessage("Serves things.\nUsage: server [--port=N]");
//     std::vector<char*> args = troupe::ParseFlags(argc, argv);
//     ...
//   }
#ifndef TROUPE_TOOLS_CLI_FLAGS_H_
#define TROUPE_TOOLS_CLI_FLAGS_H_

#include <vector>

namespace troupe {

std::vector<char*> ParseFlags(int argc, char** argv);

}  // namespace troupe

#endif  // TROUPE_TOOLS_CLI_FLAGS_H_
