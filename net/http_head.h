// The parts of HTTP/1.1 message-head parsing (RFC 9112) shared by requests
// and responses: limits, the parsed header block, and the incremental line
// reader that both head parsers are built on.
//
// Contract:
//  - HttpLimits bounds memory: the start line, the header section (bytes and
//    field count). A parser never buffers more than these limits allow.
//  - HttpHeaders owns the raw header text; Field names and values are views
//    into it, valid while the HttpHeaders object lives (moves keep them valid
//    because lookups go through offsets). Lookups are case-insensitive on the
//    name; a field may repeat and GetAll/HasToken see every occurrence.
//  - HttpHeadParser is the incremental engine: Feed() any split of the byte
//    stream; it consumes bytes up to the end of the head and never past it,
//    so pipelined data after the head is left to the caller.
//
// Example:
//   if (request.headers.HasToken("Connection", "upgrade")) { ... }
//   std::optional<std::string_view> host = request.headers.Get("host");
#ifndef TROUPE_NET_HTTP_HEAD_H_
#define TROUPE_NET_HTTP_HEAD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::net {

struct HttpLimits {
  // Longest request line (or status line), without its CRLF. Over it: 414.
  size_t max_request_line = 8 * 1024;
  // Longest header section (every field line with its CRLF). Over it: 431.
  size_t max_header_bytes = 16 * 1024;
  // Most header fields. Over it: 431.
  size_t max_header_count = 100;
};

class HttpHeaders {
 public:
  struct Field {
    std::string_view name;
    std::string_view value;  // leading and trailing whitespace removed
  };

  size_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }
  Field operator[](size_t i) const;

  // The first value of `name`, if present.
  std::optional<std::string_view> Get(std::string_view name) const;
  // Every value of `name`, in arrival order.
  std::vector<std::string_view> GetAll(std::string_view name) const;
  // How many fields are named `name`.
  size_t Count(std::string_view name) const;
  // True if any field `name` holds `token` in its comma-separated list
  // (case-insensitive), e.g. HasToken("Connection", "upgrade") for
  // "Connection: keep-alive, Upgrade".
  bool HasToken(std::string_view name, std::string_view token) const;

  // Appends a field (used by the parsers; `name` and `value` are copied).
  void Add(std::string_view name, std::string_view value);
  void Clear();

 private:
  struct Slot {
    uint32_t name_offset;
    uint32_t name_size;
    uint32_t value_offset;
    uint32_t value_size;
  };
  std::string text_;
  std::vector<Slot> slots_;
};

// Case-insensitive ASCII comparison.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// True for RFC 9110 token characters (tchar).
bool IsTokenChar(char c);
bool IsToken(std::string_view s);
// Calls fn(element) for each trimmed, non-empty element of a comma-separated
// header value (no quoted-string awareness; for token lists).
template <typename Fn>
void ForEachListElement(std::string_view value, Fn fn) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view element = value.substr(0, comma);
    while (!element.empty() &&
           (element.front() == ' ' || element.front() == '\t')) {
      element.remove_prefix(1);
    }
    while (!element.empty() &&
           (element.back() == ' ' || element.back() == '\t')) {
      element.remove_suffix(1);
    }
    if (!element.empty()) fn(element);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// What one Feed() call achieved.
struct HttpParseResult {
  enum class Status : uint8_t { kNeedMore, kDone, kError };
  Status status = Status::kNeedMore;
  // Bytes of this Feed's input that belong to the head. kNeedMore: all of
  // them. kDone: up to and including the blank line ending the head (the
  // rest is body or the next pipelined message). kError: unspecified.
  size_t consumed = 0;
  // kError only: the HTTP status a server should answer with (400, 414, 431,
  // 505) and a short static description.
  int error_status = 0;
  std::string_view error_reason;

  bool done() const { return status == Status::kDone; }
  bool error() const { return status == Status::kError; }
  bool need_more() const { return status == Status::kNeedMore; }
};

// The incremental head reader behind HttpRequestParser and
// HttpResponseParser. Subclasses interpret the start line and validate the
// finished head. Single-threaded; not for direct use.
class HttpHeadParser {
 public:
  HttpHeadParser(const HttpHeadParser&) = delete;
  HttpHeadParser& operator=(const HttpHeadParser&) = delete;

  // Consumes bytes of the head. After kDone or kError, further calls return
  // the same status with consumed == 0 until the subclass resets the parser.
  HttpParseResult Feed(std::string_view data);

 protected:
  HttpHeadParser(HttpLimits limits, int start_line_too_long_status);
  virtual ~HttpHeadParser() = default;

  // Called with the start line (without CRLF). Return false after Fail().
  virtual bool OnStartLine(std::string_view line) = 0;
  // Called once the blank line arrives. Return false after Fail().
  virtual bool OnHeadComplete() = 0;

  // Records an error; the next Feed result reports it.
  void Fail(int status, std::string_view reason);
  // Back to the initial state (headers cleared, limits kept).
  void ResetHead();

  HttpHeaders& headers() { return headers_; }
  const HttpLimits& limits() const { return limits_; }

 private:
  enum class Phase : uint8_t { kStartLine, kHeaders, kDone, kError };

  HttpParseResult Error() const;
  // Processes one complete line (CRLF included). False on error.
  bool OnLine(std::string_view line);
  // Checks the partially received current line against the limits.
  bool CheckPartialLine(size_t partial_size);

  HttpLimits limits_;
  int start_line_too_long_status_;
  Phase phase_ = Phase::kStartLine;
  std::string line_;  // the current, incomplete line
  size_t header_bytes_ = 0;
  size_t leading_blank_bytes_ = 0;
  HttpHeaders headers_;
  int error_status_ = 0;
  std::string_view error_reason_;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_HTTP_HEAD_H_
