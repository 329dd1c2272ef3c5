// ReadHttpHead: reads one HTTP/1.1 message head (a request or a response)
// from an AnyByteStream, feeding the bytes to a head parser. Shared by the
// server connection and the WebSocket client handshake.
//
// Contract:
//  - `buffer` holds bytes read from the stream but not yet parsed; it is
//    used first, and on return it holds the bytes after the head (a body,
//    a pipelined request, the first WebSocket frames).
//  - The result says how reading ended: kDone (the parser has the head),
//    kEndOfStream (the stream ended before any byte of this head: a
//    keep-alive connection the peer closed), kTruncated (it ended
//    mid-head), kInvalid (the parser refused it: error_status and
//    error_reason say how to answer). A read error is returned as is.
//  - No timeout of its own: wrap it in Timeout() to bound a slow peer.
//
// Example:
//   HttpRequestParser parser(limits);
//   absl::StatusOr<HttpHeadRead> r = co_await ReadHttpHead(*stream, parser,
//                                                          buffer);
//   if (r.ok() && r->kind == HttpHeadRead::Kind::kDone) {
//     HttpRequest request = parser.TakeRequest();
//   }
#ifndef TROUPE_NET_HTTP_HEAD_READER_H_
#define TROUPE_NET_HTTP_HEAD_READER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "executor/task.h"
#include "net/byte_stream.h"
#include "net/http_head.h"

namespace troupe::net {

struct HttpHeadRead {
  enum class Kind : uint8_t { kDone, kEndOfStream, kTruncated, kInvalid };
  Kind kind = Kind::kDone;
  // kInvalid: the status to answer (400, 414, 431, 505) and why.
  int error_status = 0;
  std::string_view error_reason;
};

Task<absl::StatusOr<HttpHeadRead>> ReadHttpHead(AnyByteStream& stream,
                                                HttpHeadParser& parser,
                                                std::string& buffer,
                                                size_t read_size = 4096);

}  // namespace troupe::net

#endif  // TROUPE_NET_HTTP_HEAD_READER_H_
