#include "examples/stream_aggregator/result_format.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "net/utf8.h"

namespace troupe::aggregator {

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = net::Utf8SequenceLength(text, i);
      if (length == 0) {
        out->append("\\ufffd");
        ++i;
      } else {
        out->append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

void AppendJsonNumber(double value, std::string* out) {
  // Unreachable for the aggregator's values (they are finite by
  // construction); keeps the output JSON whatever an API caller passes.
  if (std::isnan(value)) value = 0;
  if (std::isinf(value)) {
    value = std::copysign(std::numeric_limits<double>::max(), value);
  }
  char buffer[32];
  const std::to_chars_result result =
      std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

void AppendJsonNumber(long double value, std::string* out) {
  if (std::fabs(value) <= std::numeric_limits<double>::max() ||
      !std::isfinite(value)) {
    AppendJsonNumber(static_cast<double>(value), out);
    return;
  }
  char buffer[64];
  const std::to_chars_result result =
      std::to_chars(buffer, buffer + sizeof(buffer), value);
  out->append(buffer, result.ptr);
}

void AppendResultLine(const WindowResult& result, std::string* out) {
  out->append("{\"key\":");
  AppendJsonString(result.key, out);
  absl::StrAppend(out, ",\"windowStartMs\":", result.window_start_ms,
                  ",\"windowEndMs\":", result.window_end_ms,
                  ",\"count\":", result.count, ",\"sum\":");
  AppendJsonNumber(result.sum, out);
  out->append(",\"min\":");
  AppendJsonNumber(result.min, out);
  out->append(",\"max\":");
  AppendJsonNumber(result.max, out);
  out->append(",\"mean\":");
  AppendJsonNumber(result.mean, out);
  out->append(",\"p50\":");
  AppendJsonNumber(result.p50, out);
  out->append(",\"p90\":");
  AppendJsonNumber(result.p90, out);
  out->append(",\"p99\":");
  AppendJsonNumber(result.p99, out);
  absl::StrAppend(out, ",\"revision\":", result.revision, "}");
}

std::string FormatResultLine(const WindowResult& result) {
  std::string line;
  line.reserve(256);
  AppendResultLine(result, &line);
  return line;
}

}  // namespace troupe::aggregator
