// HTTP/1.1 responses: a small builder that serializes a complete response
// (status line, headers, Content-Length, Connection, body), and an
// incremental response-head parser for the client side of a handshake.
//
// Contract (builder):
//  - HttpResponse collects a status, header fields and a body; Serialize()
//    writes "HTTP/1.1 <status> <reason>", the fields in insertion order, then
//    Content-Length (omitted for 1xx, 204 and 304, whose body is dropped) and
//    Connection (from connection(): keep-alive, close or Upgrade; 101
//    responses default to Upgrade), then the body.
//  - AddHeader() refuses (returns false, adds nothing) a name that is not a
//    token or a value with CR, LF or other control characters, so untrusted
//    values cannot inject header lines. Content-Length and Connection are
//    generated: adding them yourself is refused too.
//
// Contract (parser): like HttpRequestParser (see http_request.h), for a
// status line "HTTP/1.x <3 digits> <reason>"; errors use 400/431/505 codes
// for uniformity.
//
// Example:
//   HttpResponse response(404);
//   response.SetBody("no such room\n", "text/plain");
//   response.set_connection(HttpConnection::kClose);
//   std::string wire = response.Serialize();
#ifndef TROUPE_NET_HTTP_RESPONSE_H_
#define TROUPE_NET_HTTP_RESPONSE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/http_head.h"

namespace troupe::net {

enum class HttpConnection : uint8_t { kKeepAlive, kClose, kUpgrade };

// The standard reason phrase of `status` ("Not Found"), or "Unknown".
std::string_view HttpReasonPhrase(int status);

class HttpResponse {
 public:
  // `reason` empty: HttpReasonPhrase(status).
  explicit HttpResponse(int status, std::string_view reason = {});

  int status() const { return status_; }

  // Adds a header field; false (nothing added) if it could not be written
  // safely or is one of the generated fields.
  bool AddHeader(std::string_view name, std::string_view value);

  // Sets the body and, if `content_type` is not empty, a Content-Type field.
  void SetBody(std::string body, std::string_view content_type = {});

  HttpConnection connection() const { return connection_; }
  void set_connection(HttpConnection connection) { connection_ = connection; }

  // Appends the wire form to *out.
  void AppendTo(std::string* out) const;
  std::string Serialize() const;

 private:
  int status_;
  std::string reason_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string body_;
  HttpConnection connection_;
};

struct HttpResponseHead {
  int status = 0;
  int version_minor = 1;
  std::string reason;
  HttpHeaders headers;
};

class HttpResponseParser : public HttpHeadParser {
 public:
  explicit HttpResponseParser(HttpLimits limits = {});

  // After a kDone result: the head. Resets the parser for the next one.
  HttpResponseHead TakeResponse();
  void Reset();

 private:
  bool OnStartLine(std::string_view line) override;
  bool OnHeadComplete() override;

  HttpResponseHead response_;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_HTTP_RESPONSE_H_
