#include "net/http_head.h"

#include <algorithm>

namespace troupe::net {
namespace {

char ToLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool IsWhitespace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsWhitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWhitespace(s.back())) s.remove_suffix(1);
  return s;
}

// field-value characters: VCHAR, obs-text, SP and HTAB. Everything else
// (NUL, CR, LF, other controls, DEL) is rejected.
bool IsFieldValueChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7F);
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
      (c >= '0' && c <= '9')) {
    return true;
  }
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

HttpHeaders::Field HttpHeaders::operator[](size_t i) const {
  const Slot& slot = slots_[i];
  std::string_view text(text_);
  return {text.substr(slot.name_offset, slot.name_size),
          text.substr(slot.value_offset, slot.value_size)};
}

std::optional<std::string_view> HttpHeaders::Get(std::string_view name) const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    Field field = (*this)[i];
    if (EqualsIgnoreCase(field.name, name)) return field.value;
  }
  return std::nullopt;
}

std::vector<std::string_view> HttpHeaders::GetAll(std::string_view name) const {
  std::vector<std::string_view> values;
  for (size_t i = 0; i < slots_.size(); ++i) {
    Field field = (*this)[i];
    if (EqualsIgnoreCase(field.name, name)) values.push_back(field.value);
  }
  return values;
}

size_t HttpHeaders::Count(std::string_view name) const {
  size_t count = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (EqualsIgnoreCase((*this)[i].name, name)) ++count;
  }
  return count;
}

bool HttpHeaders::HasToken(std::string_view name,
                           std::string_view token) const {
  bool found = false;
  for (size_t i = 0; i < slots_.size() && !found; ++i) {
    Field field = (*this)[i];
    if (!EqualsIgnoreCase(field.name, name)) continue;
    ForEachListElement(field.value, [&](std::string_view element) {
      if (EqualsIgnoreCase(element, token)) found = true;
    });
  }
  return found;
}

void HttpHeaders::Add(std::string_view name, std::string_view value) {
  Slot slot;
  slot.name_offset = static_cast<uint32_t>(text_.size());
  slot.name_size = static_cast<uint32_t>(name.size());
  text_.append(name);
  slot.value_offset = static_cast<uint32_t>(text_.size());
  slot.value_size = static_cast<uint32_t>(value.size());
  text_.append(value);
  slots_.push_back(slot);
}

void HttpHeaders::Clear() {
  text_.clear();
  slots_.clear();
}

HttpHeadParser::HttpHeadParser(HttpLimits limits,
                               int start_line_too_long_status)
    : limits_(limits),
      start_line_too_long_status_(start_line_too_long_status) {}

void HttpHeadParser::Fail(int status, std::string_view reason) {
  phase_ = Phase::kError;
  error_status_ = status;
  error_reason_ = reason;
}

void HttpHeadParser::ResetHead() {
  phase_ = Phase::kStartLine;
  line_.clear();
  header_bytes_ = 0;
  leading_blank_bytes_ = 0;
  headers_.Clear();
  error_status_ = 0;
  error_reason_ = {};
}

HttpParseResult HttpHeadParser::Error() const {
  HttpParseResult result;
  result.status = HttpParseResult::Status::kError;
  result.error_status = error_status_;
  result.error_reason = error_reason_;
  return result;
}

bool HttpHeadParser::CheckPartialLine(size_t partial_size) {
  if (phase_ == Phase::kStartLine) {
    // The line may still end in CRLF, which the limit does not count.
    if (partial_size > limits_.max_request_line + 2) {
      Fail(start_line_too_long_status_, "start line too long");
      return false;
    }
  } else if (header_bytes_ + partial_size > limits_.max_header_bytes + 2) {
    // (+2: the blank line ending the head is not counted either.)
    Fail(431, "header section too large");
    return false;
  }
  return true;
}

HttpParseResult HttpHeadParser::Feed(std::string_view data) {
  if (phase_ == Phase::kError) return Error();
  if (phase_ == Phase::kDone) {
    HttpParseResult result;
    result.status = HttpParseResult::Status::kDone;
    return result;
  }
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t newline = data.find('\n', pos);
    const size_t end =
        newline == std::string_view::npos ? data.size() : newline + 1;
    if (!CheckPartialLine(line_.size() + (end - pos))) return Error();
    line_.append(data.substr(pos, end - pos));
    pos = end;
    if (newline == std::string_view::npos) break;
    if (!OnLine(line_)) return Error();
    line_.clear();
    if (phase_ == Phase::kDone) {
      HttpParseResult result;
      result.status = HttpParseResult::Status::kDone;
      result.consumed = pos;
      return result;
    }
  }
  HttpParseResult result;
  result.consumed = data.size();
  return result;
}

bool HttpHeadParser::OnLine(std::string_view line) {
  // Every line must end in CRLF; a bare LF is rejected (RFC 9112 2.2 allows
  // either, strictness avoids disagreeing with a proxy in front of us).
  if (line.size() < 2 || line[line.size() - 2] != '\r') {
    Fail(400, "line not terminated by CRLF");
    return false;
  }
  line.remove_suffix(2);

  if (phase_ == Phase::kStartLine) {
    if (line.empty()) {
      // RFC 9112 2.2: ignore empty lines before the request line, within
      // reason.
      leading_blank_bytes_ += 2;
      if (leading_blank_bytes_ > limits_.max_request_line) {
        Fail(400, "too many empty lines before the start line");
        return false;
      }
      return true;
    }
    if (line.size() > limits_.max_request_line) {
      Fail(start_line_too_long_status_, "start line too long");
      return false;
    }
    if (!OnStartLine(line)) return false;
    phase_ = Phase::kHeaders;
    return true;
  }

  if (line.empty()) {
    if (!OnHeadComplete()) return false;
    phase_ = Phase::kDone;
    return true;
  }

  header_bytes_ += line.size() + 2;
  if (header_bytes_ > limits_.max_header_bytes) {
    Fail(431, "header section too large");
    return false;
  }
  if (headers_.size() >= limits_.max_header_count) {
    Fail(431, "too many header fields");
    return false;
  }
  if (IsWhitespace(line.front())) {
    Fail(400, "obsolete header line folding");
    return false;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    Fail(400, "header field without colon");
    return false;
  }
  const std::string_view name = line.substr(0, colon);
  if (!IsToken(name)) {
    // Also rejects whitespace between the name and the colon (RFC 9112 5.1).
    Fail(400, "invalid header field name");
    return false;
  }
  const std::string_view value = line.substr(colon + 1);
  if (!std::all_of(value.begin(), value.end(), IsFieldValueChar)) {
    Fail(400, "invalid character in header field value");
    return false;
  }
  headers_.Add(name, Trim(value));
  return true;
}

}  // namespace troupe::net
