// WebSocketWriteSide (net/websocket_write_side.h) on its own: a direct
// write whose frame cannot be encoded is final - it is not retried from
// the queue (the encoder's state may have moved on: a deflate context that
// took the message in) - and the writer task's next round gets the
// failure, to end the connection with it.
#include "net/websocket_write_side.h"

#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "net/byte_stream.h"
#include "net/memory_stream.h"
#include "net/websocket_writer.h"

namespace troupe::net::internal {
namespace {

TEST(WebSocketWriteSideTest,
     AnEncodingFailureEndsDirectWritesAndReachesTheWritersNextRound) {
  absl::StatusOr<WebSocketWriter> writer =
      WebSocketWriter::Create(WebSocketWriterOptions{});
  ASSERT_TRUE(writer.ok()) << writer.status();
  WebSocketWriteSide side(*std::move(writer), /*enabled=*/true);
  auto [ours, theirs] = MakeMemoryPipe(4096);
  ByteStreamAdapter<MemoryStream> stream(std::move(ours));
  const std::string bytes = "hello";
  const std::span<const uint8_t> payload(
      reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());

  // A data frame goes straight out.
  EXPECT_EQ(side.TryWriteMessage(stream, Opcode::kText, payload),
            WebSocketWriteSide::Direct::kWritten);
  // A Ping is not a data message: WriteMessage refuses to encode it. The
  // message is handed to the writer task (which must be woken)...
  EXPECT_EQ(side.TryWriteMessage(stream, Opcode::kPing, payload),
            WebSocketWriteSide::Direct::kHandedOff);
  // ...and no direct write follows it.
  EXPECT_EQ(side.TryWriteMessage(stream, Opcode::kText, payload),
            WebSocketWriteSide::Direct::kNotNow);
  absl::Status seen;
  side.Begin([&](WebSocketWriter& /*writer*/, std::string& carry,
                 const absl::Status& failure) {
    EXPECT_TRUE(carry.empty());
    seen = failure;
  });
  side.End();
  EXPECT_EQ(seen.code(), absl::StatusCode::kInvalidArgument) << seen;
}

}  // namespace
}  // namespace troupe::net::internal
