#include "net/http_head_reader.h"

#include <algorithm>
#include <vector>

namespace troupe::net {

Task<absl::StatusOr<HttpHeadRead>> ReadHttpHead(AnyByteStream& stream,
                                                HttpHeadParser& parser,
                                                std::string& buffer,
                                                size_t read_size) {
  std::vector<char> chunk(std::max<size_t>(read_size, 1));
  bool started = false;  // some byte of this head was seen
  for (;;) {
    if (!buffer.empty()) {
      started = true;
      const HttpParseResult parsed = parser.Feed(buffer);
      HttpHeadRead result;
      if (parsed.done()) {
        buffer.erase(0, parsed.consumed);
        co_return result;
      }
      if (parsed.error()) {
        result.kind = HttpHeadRead::Kind::kInvalid;
        result.error_status = parsed.error_status;
        result.error_reason = parsed.error_reason;
        co_return result;
      }
      buffer.clear();  // kNeedMore: the parser keeps what it needs
    }
    absl::StatusOr<size_t> n = co_await stream.Read(chunk);
    if (!n.ok()) co_return n.status();
    if (*n == 0) {
      HttpHeadRead result;
      result.kind = started ? HttpHeadRead::Kind::kTruncated
                            : HttpHeadRead::Kind::kEndOfStream;
      co_return result;
    }
    buffer.assign(chunk.data(), *n);
  }
}

}  // namespace troupe::net
