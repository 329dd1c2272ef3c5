#include "net/http_response.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace troupe::net {
namespace {

bool IsSafeValueChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7F);
}

bool HasNoBody(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace

std::string_view HttpReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

HttpResponse::HttpResponse(int status, std::string_view reason)
    : status_(status),
      reason_(reason.empty() ? HttpReasonPhrase(status) : reason),
      connection_(status == 101 ? HttpConnection::kUpgrade
                                : HttpConnection::kKeepAlive) {
  if (!std::all_of(reason_.begin(), reason_.end(), IsSafeValueChar)) {
    reason_ = std::string(HttpReasonPhrase(status));
  }
}

bool HttpResponse::AddHeader(std::string_view name, std::string_view value) {
  if (!IsToken(name) || EqualsIgnoreCase(name, "content-length") ||
      EqualsIgnoreCase(name, "connection") ||
      !std::all_of(value.begin(), value.end(), IsSafeValueChar)) {
    return false;
  }
  headers_.emplace_back(name, value);
  return true;
}

void HttpResponse::SetBody(std::string body, std::string_view content_type) {
  body_ = std::move(body);
  if (!content_type.empty()) AddHeader("Content-Type", content_type);
}

void HttpResponse::AppendTo(std::string* out) const {
  absl::StrAppend(out, "HTTP/1.1 ", status_, " ", reason_, "\r\n");
  for (const auto& [name, value] : headers_) {
    absl::StrAppend(out, name, ": ", value, "\r\n");
  }
  const bool no_body = HasNoBody(status_);
  if (!no_body) absl::StrAppend(out, "Content-Length: ", body_.size(), "\r\n");
  switch (connection_) {
    case HttpConnection::kKeepAlive:
      out->append("Connection: keep-alive\r\n");
      break;
    case HttpConnection::kClose:
      out->append("Connection: close\r\n");
      break;
    case HttpConnection::kUpgrade:
      out->append("Connection: Upgrade\r\n");
      break;
  }
  out->append("\r\n");
  if (!no_body) out->append(body_);
}

std::string HttpResponse::Serialize() const {
  std::string out;
  AppendTo(&out);
  return out;
}

HttpResponseParser::HttpResponseParser(HttpLimits limits)
    : HttpHeadParser(limits, /*start_line_too_long_status=*/400) {}

HttpResponseHead HttpResponseParser::TakeResponse() {
  HttpResponseHead response = std::move(response_);
  Reset();
  return response;
}

void HttpResponseParser::Reset() {
  response_ = HttpResponseHead();
  ResetHead();
}

bool HttpResponseParser::OnStartLine(std::string_view line) {
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[6] != '.' ||
      line[8] != ' ' || (line.size() > 12 && line[12] != ' ')) {
    Fail(400, "malformed status line");
    return false;
  }
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!digit(line[5]) || !digit(line[7]) || !digit(line[9]) ||
      !digit(line[10]) || !digit(line[11])) {
    Fail(400, "malformed status line");
    return false;
  }
  if (line[5] != '1') {
    Fail(505, "HTTP version not supported");
    return false;
  }
  const std::string_view reason = line.size() > 12 ? line.substr(13) : "";
  if (!std::all_of(reason.begin(), reason.end(), IsSafeValueChar)) {
    Fail(400, "malformed status line");
    return false;
  }
  response_.version_minor = line[7] - '0';
  response_.status =
      (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  response_.reason = std::string(reason);
  return true;
}

bool HttpResponseParser::OnHeadComplete() {
  response_.headers = std::exchange(headers(), HttpHeaders());
  return true;
}

}  // namespace troupe::net
