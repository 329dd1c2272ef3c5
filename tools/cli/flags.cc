#include "tools/cli/flags.h"

#include <cstdlib>
#include <iostream>

#include "absl/base/config.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"

#if defined(ABSL_LTS_RELEASE_VERSION) && ABSL_LTS_RELEASE_VERSION <= 20220623
#include "absl/flags/internal/parse.h"
#include "absl/flags/internal/usage.h"
#define TROUPE_ABSL_HELP_EXITS_1 1
#endif

namespace troupe {

std::vector<char*> ParseFlags(int argc, char* argv[]) {
#ifdef TROUPE_ABSL_HELP_EXITS_1
  // What absl::ParseCommandLine does in this release, except the exit code
  // of a usage request: parse (refused flags still exit 1 in here), then
  // handle the usage flags ourselves.
  namespace fi = absl::flags_internal;
  std::vector<char*> rest = fi::ParseCommandLineImpl(
      argc, argv, fi::ArgvListAction::kRemoveParsedArgs,
      fi::UsageFlagsAction::kIgnoreUsage,
      fi::OnUndefinedFlag::kAbortIfUndefined);
  // -1: no usage flag was given. Otherwise the usage (or --version) has
  // been printed: 1 for a help request, which is a success for the user.
  if (fi::HandleUsageFlags(std::cout, absl::ProgramUsageMessage()) != -1) {
    std::cout.flush();
    std::exit(0);
  }
  return rest;
#else
  return absl::ParseCommandLine(argc, argv);
#endif
}

bool AbslParseFlag(absl::string_view text, DurationFlag* flag,
                   std::string* error) {
  absl::Duration parsed;
  if (!absl::ParseDuration(text, &parsed) || parsed < absl::ZeroDuration() ||
      parsed == absl::InfiniteDuration()) {
    *error =
        "expected a duration that is not negative, like 500ms, 2s or 1m30s";
    return false;
  }
  *flag = DurationFlag(Duration(absl::ToInt64Nanoseconds(parsed)));
  return true;
}

std::string AbslUnparseFlag(DurationFlag flag) {
  return absl::FormatDuration(absl::Nanoseconds(flag.value().count()));
}

}  // namespace troupe
