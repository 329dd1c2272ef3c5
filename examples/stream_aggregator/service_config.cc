#include "examples/stream_aggregator/service_config.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "examples/stream_aggregator/duration.h"
#include "examples/stream_aggregator/watermark.h"
#include "net/socket_address.h"

namespace troupe::aggregator {
namespace {

absl::Status FlagError(std::string_view flag, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", std::string(flag), ": ", std::string(problem)));
}

absl::StatusOr<int64_t> Duration(std::string_view flag,
                                 const std::string& text) {
  absl::StatusOr<int64_t> ms = ParseDurationMs(text);
  if (!ms.ok()) return FlagError(flag, std::string(ms.status().message()));
  return *ms;
}

}  // namespace

absl::StatusOr<ServiceConfig> MakeServiceConfig(const FlagValues& flags) {
  ServiceConfig config;
  absl::StatusOr<WindowSpec> window = ParseWindowSpec(flags.window);
  if (!window.ok())
    return FlagError("window", std::string(window.status().message()));
  config.window = *window;

  absl::StatusOr<int64_t> ms =
      Duration("max_out_of_orderness", flags.max_out_of_orderness);
  if (!ms.ok()) return ms.status();
  config.max_out_of_orderness_ms = *ms;
  ms = Duration("allowed_lateness", flags.allowed_lateness);
  if (!ms.ok()) return ms.status();
  config.allowed_lateness_ms = *ms;
  ms = Duration("idle_timeout", flags.idle_timeout);
  if (!ms.ok()) return ms.status();
  config.idle_timeout_ms = *ms == 0 ? kNeverIdle : *ms;

  int stdin_inputs = 0;
  for (const std::string& input : flags.inputs) {
    if (input.empty()) return FlagError("input", "empty file name");
    if (input == "-") ++stdin_inputs;
  }
  if (stdin_inputs > 1) {
    return FlagError("input", "standard input ('-') given more than once");
  }
  config.inputs = flags.inputs;

  if (flags.generate < 0) return FlagError("generate", "must be >= 0");
  if (flags.generate > 0) {
    if (flags.keys < 1) return FlagError("keys", "must be >= 1");
    if (flags.generate_rate < 1) {
      return FlagError("generate_rate", "must be >= 1");
    }
    ms = Duration("disorder", flags.disorder);
    if (!ms.ok()) return ms.status();
    GeneratorOptions generator;
    generator.events = flags.generate;
    generator.keys = flags.keys;
    generator.disorder_ms = *ms;
    generator.seed = flags.seed;
    generator.events_per_ms = flags.generate_rate;
    config.generator = generator;
  }
  for (const auto& [flag, value, field] :
       {std::tuple("listen", &flags.listen, &config.listen),
        std::tuple("http", &flags.http, &config.http)}) {
    if (value->empty()) continue;
    const absl::StatusOr<net::SocketAddress> address =
        net::SocketAddress::Parse(*value);
    if (!address.ok()) {
      return FlagError(flag, absl::StrCat(address.status().message(),
                                          " (want HOST:PORT, HOST an IP "
                                          "address, e.g. 127.0.0.1:7000)"));
    }
    *field = *value;
  }
  if (config.inputs.empty() && !config.generator.has_value() &&
      !config.network()) {
    return absl::InvalidArgumentError(
        "no input: give --input=FILE (repeatable; - is standard input), "
        "--generate=N, --listen=HOST:PORT or --http=HOST:PORT");
  }

  if (flags.output.empty()) {
    return FlagError("output", "empty file name (- is standard output)");
  }
  config.output = flags.output;
  config.late_output = flags.late_output;
  if (config.late_output == config.output) {
    return FlagError("late_output", "must differ from --output");
  }
  if (flags.shards < 0) return FlagError("shards", "must be >= 0");
  config.shards = flags.shards;
  if (flags.worker_threads < 0) {
    return FlagError("worker_threads", "must be >= 0");
  }
  config.worker_threads = flags.worker_threads;
  return config;
}

std::vector<std::string> CollectRepeatedFlag(int argc, char* const* argv,
                                             std::string_view name) {
  // Drops `prefix` from the front of *text if it is there.
  auto consume = [](std::string_view* text, std::string_view prefix) {
    if (!text->starts_with(prefix)) return false;
    text->remove_prefix(prefix.size());
    return true;
  };
  std::vector<std::string> values;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (!consume(&arg, "--") && !consume(&arg, "-")) continue;
    if (!consume(&arg, name)) continue;
    if (consume(&arg, "=")) {
      values.emplace_back(arg);
    } else if (arg.empty() && i + 1 < argc) {
      values.emplace_back(argv[++i]);
    }
  }
  return values;
}

}  // namespace troupe::aggregator
