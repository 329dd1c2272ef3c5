#include "examples/stream_aggregator/event_parser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"
#include "examples/stream_aggregator/json_number.h"
#include "net/utf8.h"

namespace troupe::aggregator {
namespace {

using json_number::AccumulateDigit;
using json_number::DoubleFromNumber;
using json_number::IntegerFromNumber;
using json_number::kExponentCap;
using json_number::NumberToken;
using json_number::Numeric;
using json_number::ReadIntegerString;
using json_number::ReadNumericString;
using json_number::SignedFromMagnitude;

// Bytes that end the fast scan of a string: the closing quote, a backslash,
// control characters (not allowed raw) and non-ASCII (validated as UTF-8).
constexpr std::array<bool, 256> MakeStringSpecial() {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  }
  return table;
}
constexpr std::array<bool, 256> kStringSpecial = MakeStringSpecial();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

enum class Field { kUnknown, kKey, kTimestamp, kValue };

Field FieldOf(std::string_view name) {
  if (name == "key") return Field::kKey;
  if (name == "tsMs" || name == "ts_ms") return Field::kTimestamp;
  if (name == "value") return Field::kValue;
  return Field::kUnknown;
}

// One pass over one line. Syntax errors stop the pass; errors about a
// field's content are remembered (the first one wins) while the rest of the
// line is still checked for syntax, so that malformed_json takes precedence.
class LineParser {
 public:
  LineParser(std::string_view line, std::string* key_buffer,
             std::string* scratch)
      : p_(line.data()),
        end_(line.data() + line.size()),
        key_buffer_(key_buffer),
        scratch_(scratch) {}

  ParseError Run(EventView* event) {
    if (!ParseObject()) return ParseError::kMalformedJson;
    SkipWhitespace();
    if (p_ != end_) return ParseError::kMalformedJson;
    if (content_error_ != ParseError::kNone) return content_error_;
    if (!has_key_ || !has_timestamp_ || !has_value_) {
      return ParseError::kMissingField;
    }
    event->key = key_;
    event->ts_ms = ts_ms_;
    event->value = value_;
    return ParseError::kNone;
  }

 private:
  void Reject(ParseError error) {
    if (content_error_ == ParseError::kNone) content_error_ = error;
  }

  void SkipWhitespace() {
    while (p_ < end_ &&
           (*p_ == ' ' || *p_ == '\t' || *p_ == '\r' || *p_ == '\n')) {
      ++p_;
    }
  }

  bool Consume(char c) {
    if (p_ < end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }

  bool ParseObject() {
    SkipWhitespace();
    if (!Consume('{')) return false;
    SkipWhitespace();
    if (Consume('}')) return true;
    while (true) {
      std::string_view name;
      if (p_ == end_ || *p_ != '"' || !ParseString(scratch_, &name)) {
        return false;
      }
      const Field field = FieldOf(name);
      SkipWhitespace();
      if (!Consume(':')) return false;
      SkipWhitespace();
      if (!ParseMember(field)) return false;
      SkipWhitespace();
      if (Consume('}')) return true;
      if (!Consume(',')) return false;
      SkipWhitespace();
    }
  }

  bool ParseMember(Field field) {
    if (p_ == end_) return false;
    const char c = *p_;
    if (c == '"') return ParseStringMember(field);
    if (c == '-' || IsDigit(c)) return ParseNumberMember(field);
    if (c == 'n') {  // null: the field stays as it was (absent if unseen)
      return ParseLiteral("null");
    }
    if (field != Field::kUnknown) Reject(ParseError::kWrongType);
    return SkipValue();
  }

  bool ParseStringMember(Field field) {
    std::string_view text;
    if (!ParseString(field == Field::kKey ? key_buffer_ : scratch_, &text)) {
      return false;
    }
    switch (field) {
      case Field::kUnknown:
        return true;
      case Field::kKey:
        key_ = text;
        has_key_ = true;
        return true;
      case Field::kTimestamp: {
        int64_t ts = 0;
        if (ReadIntegerString(text, &ts)) {
          ts_ms_ = ts;
          has_timestamp_ = true;
        } else {
          double ignored = 0;
          const bool numeric =
              text == "NaN" || text == "Infinity" || text == "-Infinity" ||
              ReadNumericString(text, &ignored) != Numeric::kNotNumeric;
          Reject(numeric ? ParseError::kBadTimestamp : ParseError::kWrongType);
        }
        return true;
      }
      case Field::kValue: {
        if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
          Reject(ParseError::kBadValue);
          return true;
        }
        double value = 0;
        switch (ReadNumericString(text, &value)) {
          case Numeric::kFinite:
            value_ = value;
            has_value_ = true;
            break;
          case Numeric::kNonFinite:
            Reject(ParseError::kBadValue);
            break;
          case Numeric::kNotNumeric:
            Reject(ParseError::kWrongType);
            break;
        }
        return true;
      }
    }
    return true;
  }

  bool ParseNumberMember(Field field) {
    NumberToken number;
    if (!ParseNumber(&number)) return false;
    switch (field) {
      case Field::kUnknown:
        break;
      case Field::kKey:
        Reject(ParseError::kWrongType);
        break;
      case Field::kTimestamp:
        if (!number.has_fraction && !number.has_exponent) {
          // The common case: plain digits.
          uint64_t magnitude = 0;
          bool fits = true;
          for (const char* d = number.int_begin; d < number.int_end && fits;
               ++d) {
            fits = AccumulateDigit(&magnitude, *d);
          }
          if (fits &&
              SignedFromMagnitude(number.negative, magnitude, &ts_ms_)) {
            has_timestamp_ = true;
          } else {
            Reject(ParseError::kBadTimestamp);
          }
        } else if (IntegerFromNumber(number, &ts_ms_)) {
          has_timestamp_ = true;
        } else {
          Reject(ParseError::kBadTimestamp);
        }
        break;
      case Field::kValue:
        if (DoubleFromNumber(number, &value_)) {
          has_value_ = true;
        } else {
          Reject(ParseError::kBadValue);
        }
        break;
    }
    return true;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool ParseNumber(NumberToken* number) {
    number->begin = p_;
    number->negative = Consume('-');
    number->int_begin = p_;
    if (p_ == end_ || !IsDigit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ < end_ && IsDigit(*p_)) ++p_;
    }
    number->int_end = p_;
    number->frac_begin = number->frac_end = p_;
    if (Consume('.')) {
      number->has_fraction = true;
      number->frac_begin = p_;
      while (p_ < end_ && IsDigit(*p_)) ++p_;
      number->frac_end = p_;
      if (number->frac_begin == number->frac_end) return false;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      number->has_exponent = true;
      const bool negative_exponent = Consume('-');
      if (!negative_exponent) Consume('+');
      const char* digits = p_;
      int64_t exponent = 0;
      while (p_ < end_ && IsDigit(*p_)) {
        exponent = std::min(kExponentCap, exponent * 10 + (*p_ - '0'));
        ++p_;
      }
      if (p_ == digits) return false;
      number->exponent = negative_exponent ? -exponent : exponent;
    }
    number->end = p_;
    // A digit right after a leading zero ("01") is not JSON.
    return p_ == end_ || !IsDigit(*p_);
  }

  bool ParseLiteral(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // Parses a string starting at its opening quote. Without escapes the
  // result views the line; with escapes it is decoded into *buffer.
  bool ParseString(std::string* buffer, std::string_view* out) {
    ++p_;  // the opening quote
    const char* const start = p_;
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (!kStringSpecial[c]) {
        ++p_;
      } else if (c == '"') {
        *out = std::string_view(start, p_ - start);
        ++p_;
        return true;
      } else if (c >= 0x80) {
        if (!SkipUtf8()) return false;
      } else {
        break;  // a backslash or a control character
      }
    }
    buffer->assign(start, p_ - start);
    while (p_ < end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        *out = *buffer;
        return true;
      }
      if (c == '\\') {
        if (!DecodeEscape(buffer)) return false;
      } else if (c < 0x20) {
        return false;
      } else if (c >= 0x80) {
        const char* sequence = p_;
        if (!SkipUtf8()) return false;
        buffer->append(sequence, p_ - sequence);
      } else {
        buffer->push_back(static_cast<char>(c));
        ++p_;
      }
    }
    return false;
  }

  // Validates one UTF-8 sequence (RFC 3629: shortest form, no surrogates,
  // at most U+10FFFF) and steps over it.
  bool SkipUtf8() {
    const std::size_t length = net::Utf8SequenceLength(
        std::string_view(p_, static_cast<std::size_t>(end_ - p_)), 0);
    if (length == 0) return false;
    p_ += length;
    return true;
  }

  bool ReadHex4(uint32_t* out) {
    if (end_ - p_ < 4) return false;
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = p_[i];
      uint32_t digit = 0;
      if (IsDigit(c)) {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return false;
      }
      value = value * 16 + digit;
    }
    p_ += 4;
    *out = value;
    return true;
  }

  // Decodes the escape at p_ (a backslash) and appends it to *buffer.
  bool DecodeEscape(std::string* buffer) {
    ++p_;
    if (p_ == end_) return false;
    const char c = *p_++;
    switch (c) {
      case '"':
      case '\\':
      case '/':
        buffer->push_back(c);
        return true;
      case 'b':
        buffer->push_back('\b');
        return true;
      case 'f':
        buffer->push_back('\f');
        return true;
      case 'n':
        buffer->push_back('\n');
        return true;
      case 'r':
        buffer->push_back('\r');
        return true;
      case 't':
        buffer->push_back('\t');
        return true;
      case 'u':
        break;
      default:
        return false;
    }
    uint32_t code = 0;
    if (!ReadHex4(&code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) return false;  // lone low surrogate
    if (code >= 0xD800 && code <= 0xDBFF) {
      uint32_t low = 0;
      if (!Consume('\\') || !Consume('u') || !ReadHex4(&low) || low < 0xDC00 ||
          low > 0xDFFF) {
        return false;
      }
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(code, buffer);
    return true;
  }

  static void AppendUtf8(uint32_t code, std::string* buffer) {
    if (code < 0x80) {
      buffer->push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      buffer->push_back(static_cast<char>(0xC0 | (code >> 6)));
      buffer->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      buffer->push_back(static_cast<char>(0xE0 | (code >> 12)));
      buffer->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      buffer->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      buffer->push_back(static_cast<char>(0xF0 | (code >> 18)));
      buffer->push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      buffer->push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      buffer->push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  // Validates any JSON value and steps over it, without recursion: `open`
  // holds the closing bracket of each container entered.
  bool SkipValue() {
    absl::InlinedVector<char, 16> open;
    while (true) {
      if (p_ == end_) return false;
      const char c = *p_;
      bool container_opened = false;
      if (c == '{' || c == '[') {
        ++p_;
        SkipWhitespace();
        const char close = c == '{' ? '}' : ']';
        if (!Consume(close)) {
          open.push_back(close);
          container_opened = true;
        }
      } else if (c == '"') {
        std::string_view ignored;
        if (!ParseString(scratch_, &ignored)) return false;
      } else if (c == '-' || IsDigit(c)) {
        NumberToken ignored;
        if (!ParseNumber(&ignored)) return false;
      } else if (!ParseLiteral(c == 't'   ? "true"
                               : c == 'f' ? "false"
                                          : "null")) {
        return false;
      }
      // After a value (or on entering a non-empty container), close
      // containers and find where the next value starts.
      while (true) {
        if (open.empty()) return true;
        if (container_opened) {
          container_opened = false;
        } else {
          SkipWhitespace();
          if (Consume(open.back())) {
            open.pop_back();
            continue;
          }
          if (!Consume(',')) return false;
          SkipWhitespace();
        }
        if (open.back() == '}') {  // a member: name, then colon
          std::string_view ignored;
          if (p_ == end_ || *p_ != '"' || !ParseString(scratch_, &ignored)) {
            return false;
          }
          SkipWhitespace();
          if (!Consume(':')) return false;
          SkipWhitespace();
        }
        break;
      }
    }
  }

  const char* p_;
  const char* const end_;
  std::string* const key_buffer_;
  std::string* const scratch_;

  ParseError content_error_ = ParseError::kNone;
  bool has_key_ = false;
  bool has_timestamp_ = false;
  bool has_value_ = false;
  std::string_view key_;
  int64_t ts_ms_ = 0;
  double value_ = 0;
};

}  // namespace

std::string_view ParseErrorToken(ParseError error) {
  switch (error) {
    case ParseError::kNone:
      return "ok";
    case ParseError::kMalformedJson:
      return "malformed_json";
    case ParseError::kMissingField:
      return "missing_field";
    case ParseError::kWrongType:
      return "wrong_type";
    case ParseError::kBadTimestamp:
      return "bad_timestamp";
    case ParseError::kBadValue:
      return "bad_value";
    case ParseError::kMalformedProtobuf:
      return "malformed_protobuf";
    case ParseError::kFrameTooLong:
      return "frame_too_long";
    case ParseError::kMalformedFrameLength:
      return "malformed_frame_length";
    case ParseError::kTruncatedFrame:
      return "truncated_frame";
  }
  return "unknown";
}

ParseError EventParser::Parse(std::string_view line, EventView* event) {
  return LineParser(line, &key_buffer_, &scratch_buffer_).Run(event);
}

ParseError EventParser::Parse(std::string_view line, Event* event) {
  EventView view;
  const ParseError error = Parse(line, &view);
  if (error == ParseError::kNone) {
    event->set_key(std::string(view.key));
    event->set_ts_ms(view.ts_ms);
    event->set_value(view.value);
  }
  return error;
}

}  // namespace troupe::aggregator
