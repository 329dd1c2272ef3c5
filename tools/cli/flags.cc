#include "tools/cli/flags.h"

#include <cstdlib>
#include <iostream>

#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#include "absl/flags/usage.h"

namespace troupe {

std::vector<char*> ParseFlags(int argc, char** argv) {
  // Abseil's own parser, told to leave the usage flags to us (it records
  // which one was given); everything else - unknown flags, bad values - is
  // reported and exits exactly as absl::ParseCommandLine would.
  std::vector<char*> positional = absl::flags_internal::ParseCommandLineImpl(
      argc, argv, absl::flags_internal::ArgvListAction::kRemoveParsedArgs,
      absl::flags_internal::UsageFlagsAction::kIgnoreUsage,
      absl::flags_internal::OnUndefinedFlag::kAbortIfUndefined);
  // -1: no usage flag given. Otherwise the help has been printed; it
  // answered what was asked, so the exit is a success whatever Abseil's
  // code says.
  const int usage = absl::flags_internal::HandleUsageFlags(
      std::cout, absl::ProgramUsageMessage());
  if (usage >= 0) {
    std::cout.flush();
    std::exit(0);
  }
  return positional;
}

}  // namespace troupe
