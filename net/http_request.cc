#include "net/http_request.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"

namespace troupe::net {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Visible ASCII: what a request-target may contain (RFC 3986 characters are
// a subset; we leave finer URI validation to the application).
bool IsTargetChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7F;
}

// Parses "HTTP/x.y" into (major, minor).
std::optional<std::pair<int, int>> ParseVersion(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !IsDigit(v[5]) ||
      v[6] != '.' || !IsDigit(v[7])) {
    return std::nullopt;
  }
  return std::make_pair(v[5] - '0', v[7] - '0');
}

bool ParseQuery(std::string_view query,
                std::vector<std::pair<std::string, std::string>>* out) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    std::optional<std::string> key =
        PercentDecode(item.substr(0, eq), /*plus_as_space=*/true);
    std::optional<std::string> value =
        eq == std::string_view::npos
            ? std::string()
            : PercentDecode(item.substr(eq + 1), /*plus_as_space=*/true);
    if (!key || !value) return false;
    out->emplace_back(std::move(*key), std::move(*value));
  }
  return true;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view in,
                                         bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = HexValue(in[i + 1]);
      const int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string_view> HttpRequest::QueryParam(
    std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

HttpRequestParser::HttpRequestParser(HttpLimits limits)
    : HttpHeadParser(limits, /*start_line_too_long_status=*/414) {}

HttpRequest HttpRequestParser::TakeRequest() {
  HttpRequest request = std::move(request_);
  Reset();
  return request;
}

void HttpRequestParser::Reset() {
  request_ = HttpRequest();
  ResetHead();
}

bool HttpRequestParser::OnStartLine(std::string_view line) {
  // request-line = method SP request-target SP HTTP-version
  const size_t sp1 = line.find(' ');
  const size_t sp2 =
      sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos ||
      line.find(' ', sp2 + 1) != std::string_view::npos) {
    Fail(400, "malformed request line");
    return false;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) {
    Fail(400, "invalid method");
    return false;
  }
  if (target.empty() ||
      !std::all_of(target.begin(), target.end(), IsTargetChar)) {
    Fail(400, "invalid request target");
    return false;
  }
  const std::optional<std::pair<int, int>> parsed = ParseVersion(version);
  if (!parsed) {
    Fail(400, "malformed HTTP version");
    return false;
  }
  if (parsed->first != 1) {
    Fail(505, "HTTP version not supported");
    return false;
  }
  request_.method = std::string(method);
  request_.target = std::string(target);
  request_.version_minor = parsed->second;

  // Split origin-form (and the path of absolute-form) into path and query.
  std::string_view path_and_query;
  if (target.front() == '/') {
    path_and_query = target;
  } else if (const size_t scheme = target.find("://");
             scheme != std::string_view::npos && scheme > 0) {
    const size_t slash = target.find('/', scheme + 3);
    path_and_query =
        slash == std::string_view::npos ? "/" : target.substr(slash);
  } else if ((target == "*" && method == "OPTIONS") || method == "CONNECT") {
    // asterisk-form, authority-form: nothing to split.
    request_.path = std::string(target);
    return true;
  } else {
    Fail(400, "invalid request target");
    return false;
  }
  if (path_and_query.find('#') != std::string_view::npos) {
    Fail(400, "fragment in request target");
    return false;
  }
  const size_t question = path_and_query.find('?');
  std::optional<std::string> path = PercentDecode(
      path_and_query.substr(0, question), /*plus_as_space=*/false);
  if (!path) {
    Fail(400, "invalid percent-encoding in path");
    return false;
  }
  request_.path = std::move(*path);
  if (question != std::string_view::npos &&
      !ParseQuery(path_and_query.substr(question + 1), &request_.query)) {
    Fail(400, "invalid percent-encoding in query");
    return false;
  }
  return true;
}

bool HttpRequestParser::OnHeadComplete() {
  HttpHeaders& fields = headers();
  const size_t hosts = fields.Count("host");
  if (hosts > 1 || (hosts == 0 && request_.version_minor >= 1)) {
    Fail(400, "missing or repeated Host header");
    return false;
  }

  const std::vector<std::string_view> lengths = fields.GetAll("content-length");
  for (std::string_view length : lengths) {
    uint64_t value = 0;
    if (length.empty() || !std::all_of(length.begin(), length.end(), IsDigit) ||
        !absl::SimpleAtoi(absl::string_view(length.data(), length.size()),
                          &value)) {
      Fail(400, "invalid Content-Length");
      return false;
    }
    if (request_.content_length && *request_.content_length != value) {
      Fail(400, "conflicting Content-Length values");
      return false;
    }
    request_.content_length = value;
  }

  const std::vector<std::string_view> codings =
      fields.GetAll("transfer-encoding");
  if (!codings.empty()) {
    if (request_.content_length || request_.version_minor == 0) {
      Fail(400, "Transfer-Encoding not allowed here");
      return false;
    }
    std::string_view last;
    for (std::string_view value : codings) {
      ForEachListElement(value,
                         [&](std::string_view coding) { last = coding; });
    }
    if (!EqualsIgnoreCase(last, "chunked")) {
      Fail(400, "Transfer-Encoding must end in chunked");
      return false;
    }
    request_.chunked = true;
  }

  if (request_.version_minor >= 1) {
    request_.keep_alive = !fields.HasToken("connection", "close");
  } else {
    request_.keep_alive = fields.HasToken("connection", "keep-alive");
  }
  request_.headers = std::exchange(fields, HttpHeaders());
  return true;
}

}  // namespace troupe::net
