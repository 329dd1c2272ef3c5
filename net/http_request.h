// HTTP/1.1 request-head parsing (RFC 9112) for servers: incremental, bounded
// by HttpLimits, with the request target split into a percent-decoded path
// and query parameters, and the keep-alive decision made.
//
// Contract:
//  - Feed() bytes as they arrive, in any split. The result is kNeedMore (all
//    bytes buffered), kDone (consumed = bytes up to and including the blank
//    line; the rest of the input is body or the next pipelined request) or
//    kError with the status to answer: 400 (malformed), 414 (request line
//    over max_request_line), 431 (header section over max_header_bytes or
//    max_header_count), 505 (HTTP major version other than 1).
//  - After kDone, TakeRequest() returns the request and readies the parser
//    for the next one. kError is sticky until Reset().
//  - Checks beyond syntax: HTTP/1.1 requires exactly one Host field (at most
//    one for 1.0); Content-Length must be a decimal number and agree across
//    repeats; Transfer-Encoding must end in "chunked" and must not come with
//    Content-Length. The body itself is not parsed here.
//  - Single-threaded; no I/O.
//
// Example:
//   HttpRequestParser parser;
//   HttpParseResult r = parser.Feed(bytes);
//   if (r.error()) return Send(HttpResponse(r.error_status).Serialize());
//   if (r.done()) {
//     HttpRequest request = parser.TakeRequest();
//     // request.path == "/ws", request.QueryParam("token") == "abc"
//     bytes.remove_prefix(r.consumed);
//   }
#ifndef TROUPE_NET_HTTP_REQUEST_H_
#define TROUPE_NET_HTTP_REQUEST_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_head.h"

namespace troupe::net {

struct HttpRequest {
  std::string method;  // case-sensitive token, e.g. "GET"
  std::string target;  // request-target exactly as received
  std::string path;    // percent-decoded path ("/" for "*" or authority form)
  // Percent-decoded query parameters in order ('+' decodes to a space); a
  // parameter without '=' has an empty value.
  std::vector<std::pair<std::string, std::string>> query;
  int version_minor = 1;  // HTTP/1.<version_minor>
  HttpHeaders headers;
  std::optional<uint64_t> content_length;
  bool chunked = false;  // Transfer-Encoding ends in chunked
  // Whether the connection stays open after the response: HTTP/1.1 unless
  // "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive = true;

  // The first value of query parameter `name`.
  std::optional<std::string_view> QueryParam(std::string_view name) const;
};

class HttpRequestParser : public HttpHeadParser {
 public:
  explicit HttpRequestParser(HttpLimits limits = {});

  // After a kDone result: the request. Resets the parser for the next one.
  HttpRequest TakeRequest();
  // Back to the initial state, also after an error.
  void Reset();

 private:
  bool OnStartLine(std::string_view line) override;
  bool OnHeadComplete() override;

  HttpRequest request_;
};

// Percent-decodes `in` ("%2F" -> "/"); with `plus_as_space`, '+' becomes ' '.
// Returns nullopt if a '%' is not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view in,
                                         bool plus_as_space);

}  // namespace troupe::net

#endif  // TROUPE_NET_HTTP_REQUEST_H_
