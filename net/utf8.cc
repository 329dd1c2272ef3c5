#include "net/utf8.h"

#include <array>
#include <cstring>

namespace troupe::net {
namespace {

// Byte classes. Every byte value falls into exactly one class; the DFA only
// looks at classes, which keeps the transition table at 9 x 12 entries.
enum ByteClass : uint8_t {
  kAscii,       // 00..7F
  kContLow,     // 80..8F
  kContMid,     // 90..9F
  kContHigh,    // A0..BF
  kNeverValid,  // C0, C1 (overlong), F5..FF (beyond U+10FFFF)
  kLead2,       // C2..DF
  kLeadE0,      // E0: second byte A0..BF (else overlong)
  kLead3,       // E1..EC, EE..EF
  kLeadED,      // ED: second byte 80..9F (else surrogate)
  kLeadF0,      // F0: second byte 90..BF (else overlong)
  kLead4,       // F1..F3
  kLeadF4,      // F4: second byte 80..8F (else > U+10FFFF)
};
constexpr size_t kClassCount = size_t{kLeadF4} + 1;

// DFA states. kAccept is "between code points"; kReject is the sink.
// kNeedN means "N more continuation bytes (80..BF) complete the code point";
// the kAfter* states restrict the range of the byte after a special lead.
enum State : uint8_t {
  kAccept,
  kReject,
  kNeed1,
  kNeed2,
  kNeed3,
  kAfterE0,
  kAfterED,
  kAfterF0,
  kAfterF4,
};
constexpr size_t kStateCount = size_t{kAfterF4} + 1;

constexpr std::array<uint8_t, 256> MakeClassTable() {
  std::array<uint8_t, 256> table{};
  for (int b = 0; b < 256; ++b) {
    uint8_t c = kNeverValid;
    if (b <= 0x7F) {
      c = kAscii;
    } else if (b <= 0x8F) {
      c = kContLow;
    } else if (b <= 0x9F) {
      c = kContMid;
    } else if (b <= 0xBF) {
      c = kContHigh;
    } else if (b >= 0xC2 && b <= 0xDF) {
      c = kLead2;
    } else if (b == 0xE0) {
      c = kLeadE0;
    } else if (b == 0xED) {
      c = kLeadED;
    } else if (b >= 0xE1 && b <= 0xEF) {
      c = kLead3;
    } else if (b == 0xF0) {
      c = kLeadF0;
    } else if (b >= 0xF1 && b <= 0xF3) {
      c = kLead4;
    } else if (b == 0xF4) {
      c = kLeadF4;
    }
    table[b] = c;
  }
  return table;
}

// The DFA over byte classes, indexed by state * kClassCount + class.
constexpr std::array<uint8_t, kStateCount * kClassCount> MakeTransitions() {
  std::array<uint8_t, kStateCount * kClassCount> t{};
  auto set = [&t](State from, ByteClass c, State to) {
    t[size_t{from} * kClassCount + c] = to;
  };
  t.fill(kReject);
  set(kAccept, kAscii, kAccept);
  set(kAccept, kLead2, kNeed1);
  set(kAccept, kLeadE0, kAfterE0);
  set(kAccept, kLead3, kNeed2);
  set(kAccept, kLeadED, kAfterED);
  set(kAccept, kLeadF0, kAfterF0);
  set(kAccept, kLead4, kNeed3);
  set(kAccept, kLeadF4, kAfterF4);
  for (ByteClass c : {kContLow, kContMid, kContHigh}) {
    set(kNeed1, c, kAccept);
    set(kNeed2, c, kNeed1);
    set(kNeed3, c, kNeed2);
  }
  set(kAfterE0, kContHigh, kNeed1);
  set(kAfterED, kContLow, kNeed1);
  set(kAfterED, kContMid, kNeed1);
  set(kAfterF0, kContMid, kNeed2);
  set(kAfterF0, kContHigh, kNeed2);
  set(kAfterF4, kContLow, kNeed2);
  return t;
}

// The table the hot loop uses: a "shift DFA". A state is represented by
// its bit offset (index * 6) and kRow[byte] packs, for every state s, the
// offset of the next state into bits [6s, 6s + 6). The next state is
// (kRow[byte] >> state) & 63: the table load depends only on the byte, so
// successive loads overlap and each byte adds just a shift and a mask to the
// dependency chain. 9 states x 6 bits = 54 bits.
constexpr size_t kBitsPerState = 6;
static_assert(kStateCount * kBitsPerState <= 64);

constexpr std::array<uint64_t, 256> MakeRows() {
  constexpr std::array<uint8_t, 256> kClassOf = MakeClassTable();
  constexpr std::array<uint8_t, kStateCount* kClassCount> kNext =
      MakeTransitions();
  std::array<uint64_t, 256> rows{};
  for (size_t b = 0; b < 256; ++b) {
    uint64_t row = 0;
    for (size_t s = 0; s < kStateCount; ++s) {
      const uint64_t next = kNext[s * kClassCount + kClassOf[b]];
      row |= (next * kBitsPerState) << (s * kBitsPerState);
    }
    rows[b] = row;
  }
  return rows;
}

constexpr std::array<uint64_t, 256> kRow = MakeRows();
constexpr uint64_t kAcceptState = uint64_t{kAccept} * kBitsPerState;
constexpr uint64_t kRejectState = uint64_t{kReject} * kBitsPerState;
constexpr uint64_t kStateMask = (uint64_t{1} << kBitsPerState) - 1;
constexpr uint64_t kHighBits = 0x8080808080808080ULL;
// Non-ASCII text is run through the DFA in blocks of this many bytes, with
// no branch per byte; kReject is a sink, so checking once per block still
// stops within the block holding the first invalid byte.
constexpr ptrdiff_t kBlock = 16;

// Runs the DFA from `state` over [p, end). Returns the final state, or
// kRejectState if a byte was rejected.
uint64_t Run(uint64_t state, const uint8_t* p, const uint8_t* end) {
  while (p != end) {
    if (state == kAcceptState) {
      // ASCII fast path: skip whole words with no high bit set.
      while (end - p >= 8) {
        uint64_t word;
        std::memcpy(&word, p, sizeof(word));
        if ((word & kHighBits) != 0) break;
        p += 8;
      }
      if (p == end) break;
    }
    const uint8_t* block_end = end - p > kBlock ? p + kBlock : end;
    while (p != block_end) state = (kRow[*p++] >> state) & kStateMask;
    if (state == kRejectState) return kRejectState;
  }
  return state;
}

}  // namespace

Utf8Validator::Status Utf8Validator::Feed(std::span<const uint8_t> data) {
  if (state_ == kReject) return Status::kInvalid;
  state_ = static_cast<uint8_t>(Run(uint64_t{state_} * kBitsPerState,
                                    data.data(), data.data() + data.size()) /
                                kBitsPerState);
  return status();
}

Utf8Validator::Status Utf8Validator::status() const {
  if (state_ == kAccept) return Status::kValid;
  if (state_ == kReject) return Status::kInvalid;
  return Status::kIncomplete;
}

bool IsValidUtf8(std::span<const uint8_t> data) {
  return Run(kAcceptState, data.data(), data.data() + data.size()) ==
         kAcceptState;
}

}  // namespace troupe::net
