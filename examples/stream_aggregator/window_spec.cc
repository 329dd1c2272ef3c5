#include "examples/stream_aggregator/window_spec.h"

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "examples/stream_aggregator/duration.h"

namespace troupe::aggregator {
namespace {

// Abseil here has its own string_view type (not std::string_view).
absl::string_view ToAbsl(std::string_view text) {
  return absl::string_view(text.data(), text.size());
}

constexpr std::string_view kSyntax =
    "expected \"tumbling:<size>\", \"sliding:<size>/<slide>\" or "
    "\"session:<gap>\" with durations such as 10s, e.g. \"sliding:10s/2s\"";

absl::Status Invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid window spec \"", ToAbsl(text), "\": ", ToAbsl(why),
                   " (", ToAbsl(kSyntax), ")"));
}

// Parses one positive duration of a spec; `what` names it in errors.
absl::StatusOr<int64_t> PositiveDuration(std::string_view spec,
                                         std::string_view text,
                                         std::string_view what) {
  absl::StatusOr<int64_t> ms = ParseDurationMs(text);
  if (!ms.ok()) {
    return Invalid(
        spec, absl::StrCat("bad ", ToAbsl(what), ": ", ms.status().message()));
  }
  if (*ms <= 0) {
    return Invalid(spec,
                   absl::StrCat("the ", ToAbsl(what), " must be positive"));
  }
  return *ms;
}

}  // namespace

WindowSpec WindowSpec::Tumbling(int64_t size_ms) {
  return WindowSpec{WindowKind::kTumbling, size_ms, size_ms, 0};
}

WindowSpec WindowSpec::Sliding(int64_t size_ms, int64_t slide_ms) {
  return WindowSpec{WindowKind::kSliding, size_ms, slide_ms, 0};
}

WindowSpec WindowSpec::Session(int64_t gap_ms) {
  return WindowSpec{WindowKind::kSession, 0, 0, gap_ms};
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (!__builtin_add_overflow(a, b, &sum)) return sum;
  return b > 0 ? std::numeric_limits<int64_t>::max()
               : std::numeric_limits<int64_t>::min();
}

int64_t SaturatingSub(int64_t a, int64_t b) {
  int64_t difference = 0;
  if (!__builtin_sub_overflow(a, b, &difference)) return difference;
  return b < 0 ? std::numeric_limits<int64_t>::max()
               : std::numeric_limits<int64_t>::min();
}

int64_t WindowSpec::LatestStart(int64_t ts_ms) const {
  return FloorDiv(ts_ms, slide_ms) * slide_ms;
}

bool WindowSpec::Fits(int64_t ts_ms) const {
  int64_t ignored = 0;
  if (!aligned()) return !__builtin_add_overflow(ts_ms, gap_ms, &ignored);
  int64_t latest = 0;
  if (__builtin_mul_overflow(FloorDiv(ts_ms, slide_ms), slide_ms, &latest)) {
    return false;
  }
  return !__builtin_add_overflow(latest, size_ms, &ignored) &&
         !__builtin_sub_overflow(latest, size_ms - slide_ms, &ignored);
}

std::string WindowSpec::ToString() const {
  switch (kind) {
    case WindowKind::kTumbling:
      return absl::StrCat("tumbling:", FormatDurationMs(size_ms));
    case WindowKind::kSliding:
      return absl::StrCat("sliding:", FormatDurationMs(size_ms), "/",
                          FormatDurationMs(slide_ms));
    case WindowKind::kSession:
      return absl::StrCat("session:", FormatDurationMs(gap_ms));
  }
  return "";
}

absl::StatusOr<WindowSpec> ParseWindowSpec(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos)
    return Invalid(text, "no ':' after the kind");
  const std::string_view kind = text.substr(0, colon);
  const std::string_view rest = text.substr(colon + 1);
  if (kind == "tumbling") {
    absl::StatusOr<int64_t> size = PositiveDuration(text, rest, "size");
    if (!size.ok()) return size.status();
    return WindowSpec::Tumbling(*size);
  }
  if (kind == "session") {
    absl::StatusOr<int64_t> gap = PositiveDuration(text, rest, "gap");
    if (!gap.ok()) return gap.status();
    return WindowSpec::Session(*gap);
  }
  if (kind == "sliding") {
    const size_t slash = rest.find('/');
    if (slash == std::string_view::npos) {
      return Invalid(text, "a sliding window needs \"<size>/<slide>\"");
    }
    absl::StatusOr<int64_t> size =
        PositiveDuration(text, rest.substr(0, slash), "size");
    if (!size.ok()) return size.status();
    absl::StatusOr<int64_t> slide =
        PositiveDuration(text, rest.substr(slash + 1), "slide");
    if (!slide.ok()) return slide.status();
    if (*size % *slide != 0) {
      return Invalid(text, absl::StrCat("the size (", *size,
                                        "ms) is not a multiple of the slide (",
                                        *slide, "ms)"));
    }
    return WindowSpec::Sliding(*size, *slide);
  }
  return Invalid(text,
                 absl::StrCat("unknown window kind \"", ToAbsl(kind), "\""));
}

}  // namespace troupe::aggregator
