// Incremental UTF-8 validation (RFC 3629) for text that arrives in chunks.
//
// Contract: Utf8Validator is a deterministic finite automaton over bytes. Feed
// it any split of a byte stream (chunk borders may fall inside a code point)
// and it reports, after each chunk, one of
//   kValid      - everything so far is well formed and ends on a code point;
//   kIncomplete - well formed so far, but the last code point is unfinished;
//   kInvalid    - some byte can never be part of valid UTF-8.
// Feed() returns kInvalid for the chunk that holds the first offending byte
// (fail fast: no need to wait for the end of a code point or message):
// stray continuation bytes, C0/C1 and other overlong forms, surrogates
// (U+D800..U+DFFF), code points above U+10FFFF and F5..FF. kInvalid is
// sticky until Reset(). Runs of ASCII are checked eight bytes at a time,
// other text by a shift-based DFA (see utf8.cc). No allocation; not
// thread-safe (one validator per stream).
//
// Example:
//   troupe::net::Utf8Validator v;
//   for (std::string_view chunk : chunks) {
//     if (v.Feed(chunk) == Utf8Validator::Status::kInvalid) return Fail(1007);
//   }
//   if (!v.complete()) return Fail(1007);  // ended inside a code point
#ifndef TROUPE_NET_UTF8_H_
#define TROUPE_NET_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace troupe::net {

class Utf8Validator {
 public:
  enum class Status : uint8_t { kValid, kIncomplete, kInvalid };

  // Validates `data` as the continuation of everything fed so far.
  Status Feed(std::span<const uint8_t> data);
  Status Feed(std::string_view data) {
    return Feed(std::span<const uint8_t>(
        reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  }

  // The status after the last Feed (kValid before any input).
  Status status() const;
  // True if the input so far is valid and ends on a code point boundary.
  bool complete() const { return state_ == 0; }

  // Forgets all input: back to the initial (kValid) state.
  void Reset() { state_ = 0; }

 private:
  // The DFA state (see utf8.cc); 0 is "between code points".
  uint8_t state_ = 0;
};

// One-shot check: true if `data` is complete, well-formed UTF-8.
bool IsValidUtf8(std::span<const uint8_t> data);
inline bool IsValidUtf8(std::string_view data) {
  return IsValidUtf8(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

// The length (2-4) of the well-formed multi-byte UTF-8 sequence starting at
// text[i], or 0 if there is none (ASCII is the caller's fast path).
inline std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) {
    return static_cast<unsigned char>(text[k]);
  };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80;  // bounds of the second byte (RFC 3629 table)
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

}  // namespace troupe::net

#endif  // TROUPE_NET_UTF8_H_
