// Cost of encoding one hub message in each wire form. The hub encodes a
// fanned-out message at most once per form, so these numbers bound the
// per-message encoding cost of a room.
//
//   bazel run --config=bench //bench:proto_benchmark

#include <string>

#include "benchmark/benchmark.h"
#include "google/protobuf/util/json_util.h"
#include "proto/hub.pb.h"

namespace troupe {
namespace {

hub::ServerFrame MakeMessage() {
  hub::ServerFrame frame;
  hub::Message* message = frame.mutable_message();
  message->set_room("lobby");
  message->set_seq(123456);
  message->set_from("ada");
  message->set_text("the quick brown fox jumps over the lazy dog");
  message->mutable_sent_at()->set_seconds(1764288000);
  message->mutable_sent_at()->set_nanos(123000000);
  return frame;
}

void BM_EncodeBinary(benchmark::State& state) {
  const hub::ServerFrame frame = MakeMessage();
  std::string out;
  for (auto _ : state) {
    out.clear();
    frame.SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EncodeBinary);

void BM_EncodeJson(benchmark::State& state) {
  const hub::ServerFrame frame = MakeMessage();
  std::string out;
  for (auto _ : state) {
    out.clear();
    (void)google::protobuf::util::MessageToJsonString(frame, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_EncodeJson);

void BM_DecodeJson(benchmark::State& state) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(MakeMessage(), &json);
  hub::ServerFrame frame;
  for (auto _ : state) {
    (void)google::protobuf::util::JsonStringToMessage(json, &frame);
    benchmark::DoNotOptimize(&frame);
  }
}
BENCHMARK(BM_DecodeJson);

}  // namespace
}  // namespace troupe
