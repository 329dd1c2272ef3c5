// Converts NDJSON events into the binary framing of --listen (README.md,
// "Binary protobuf over TCP"): the preamble 00 54 50 42, then each line's
// event as a varint-length-prefixed serialized troupe.aggregator.Event,
// written with protobuf's own SerializeDelimitedToOstream. Lines the
// aggregator would reject are reported on stderr (with their line numbers)
// and left out, so the frames carry exactly the valid events.
//
//   bazel run //examples/stream_aggregator:ndjson_to_frames < events.ndjson
//       > events.frames
//   nc -q0 127.0.0.1 7000 < events.frames   # stream_aggregator --listen
// (one command each).
//
// Exit: 0 done (also when lines were left out), 1 bad flags or files,
// 2 a write error.

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "examples/stream_aggregator/event_parser.h"
#include "examples/stream_aggregator/frame_decoder.h"
#include "google/protobuf/util/delimited_message_util.h"
#include "proto/aggregator.pb.h"
#include "tools/cli/flags.h"

ABSL_FLAG(std::string, input, "-", "the NDJSON input file; - is stdin");
ABSL_FLAG(std::string, output, "-", "the frames' file; - is stdout");
ABSL_FLAG(bool, preamble, true,
          "begin with the 4-byte preamble that announces frames (turn off "
          "to append to a stream that has one)");

namespace {

int Convert(std::istream& in, std::ostream& out) {
  namespace agg = troupe::aggregator;
  if (absl::GetFlag(FLAGS_preamble)) out << agg::kProtobufPreamble;
  agg::EventParser parser;
  agg::Event event;
  std::string line;
  uint64_t line_number = 0;
  uint64_t skipped = 0;
  while (std::getline(in, line)) {
    ++line_number;
    event.Clear();
    const agg::ParseError error = parser.Parse(line, &event);
    if (error != agg::ParseError::kNone) {
      ++skipped;
      std::cerr << "ndjson_to_frames: line " << line_number << ": "
                << agg::ParseErrorToken(error) << "; left out\n";
      continue;
    }
    if (!google::protobuf::util::SerializeDelimitedToOstream(event, &out)) {
      std::cerr << "ndjson_to_frames: write error\n";
      return 2;
    }
  }
  out.flush();
  if (!out) {
    std::cerr << "ndjson_to_frames: write error\n";
    return 2;
  }
  std::cerr << "ndjson_to_frames: " << line_number - skipped << " frames, "
            << skipped << " lines left out\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes NDJSON aggregator events as the binary frames that "
      "stream_aggregator --listen accepts, e.g.\n"
      "  ndjson_to_frames < events.ndjson > events.frames\n"
      "Exit: 0 done, 1 bad flags or files, 2 write error.");
  const std::vector<char*> rest = troupe::ParseFlags(argc, argv);
  if (rest.size() > 1) {
    std::fprintf(stderr, "ndjson_to_frames: unexpected argument '%s'\n",
                 rest[1]);
    return 1;
  }
  const std::string input = absl::GetFlag(FLAGS_input);
  const std::string output = absl::GetFlag(FLAGS_output);
  std::ifstream in_file;
  if (input != "-") {
    in_file.open(input, std::ios::binary);
    if (!in_file) {
      std::fprintf(stderr, "ndjson_to_frames: cannot open %s\n", input.c_str());
      return 1;
    }
  }
  std::ofstream out_file;
  if (output != "-") {
    out_file.open(output, std::ios::binary | std::ios::trunc);
    if (!out_file) {
      std::fprintf(stderr, "ndjson_to_frames: cannot create %s\n",
                   output.c_str());
      return 1;
    }
  }
  return Convert(input == "-" ? std::cin : in_file,
                 output == "-" ? std::cout : out_file);
}
