// Utf8Validator: the UTF-8 cases of the Autobahn TestSuite (section 6),
// every one split at every byte boundary, plus exhaustive and randomized
// comparison against an independent reference built from an encoder.

#include "net/utf8.h"

#include <cstdint>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace troupe::net {
namespace {

using Status = Utf8Validator::Status;

std::string Hex(std::string_view hex) {
  return absl::HexStringToBytes(absl::string_view(hex.data(), hex.size()));
}

// --- An independent reference: the set of valid encodings, from an encoder.

std::string Encode(uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return out;
}

uint64_t Pack(std::string_view bytes) {
  uint64_t key = bytes.size();
  for (char c : bytes) key = (key << 8) | static_cast<uint8_t>(c);
  return key;
}

struct Reference {
  std::unordered_set<uint64_t> complete;  // every valid encoding
  std::unordered_set<uint64_t> prefixes;  // every proper prefix of one

  Reference() {
    for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      const std::string e = Encode(cp);
      complete.insert(Pack(e));
      for (size_t n = 1; n < e.size(); ++n) {
        prefixes.insert(Pack(std::string_view(e).substr(0, n)));
      }
    }
  }

  // Index of the first byte after which `s` cannot be completed to valid
  // UTF-8, or npos. *complete tells whether s itself is valid.
  size_t FirstError(std::string_view s, bool* is_complete) const {
    std::string current;
    for (size_t i = 0; i < s.size(); ++i) {
      current += s[i];
      if (complete.count(Pack(current)) != 0) {
        current.clear();
      } else if (prefixes.count(Pack(current)) == 0) {
        *is_complete = false;
        return i;
      }
    }
    *is_complete = current.empty();
    return std::string::npos;
  }
};

const Reference& Ref() {
  static const Reference* reference = new Reference();
  return *reference;
}

// Feeds byte by byte; returns the index at which the validator first said
// kInvalid (npos if never), and the final status.
size_t FirstInvalidByteByByte(std::string_view s, Status* final_status) {
  Utf8Validator v;
  size_t first = std::string::npos;
  for (size_t i = 0; i < s.size(); ++i) {
    if (v.Feed(s.substr(i, 1)) == Status::kInvalid &&
        first == std::string::npos) {
      first = i;
    }
  }
  *final_status = v.status();
  return first;
}

// --- Autobahn section 6 cases ----------------------------------------------

struct Utf8Case {
  const char* name;
  const char* hex;
  bool valid;
};

// Names follow the Autobahn case numbers where there is one.
const Utf8Case kCases[] = {
    {"6.1 empty", "", true},
    {"6.2 Hello-mu-@-sz-oe-ae-ue",
     "48656c6c6f2dc2b540c39fc3b6c3a4c3bcc3a0c3a12d5554462d382121", true},
    {"6.3 kosme", "cebae1bdb9cf83cebcceb5", true},
    {"6.3 kosme with invalid tail", "cebae1bdb9cf83cebcceb5eda080656469746564",
     false},
    {"6.4 fail fast on surrogate", "cebae1bdb9cf83cebcceb5f4908080656469746564",
     false},
    {"6.5 kappa", "ceba", true},
    {"6.6 in steps", "cebae1bdb9cf83cebcceb5", true},
    {"6.7.1 U+0000", "00", true},
    {"6.7.2 U+0080", "c280", true},
    {"6.7.3 U+0800", "e0a080", true},
    {"6.7.4 U+10000", "f0908080", true},
    {"6.8.1 five-byte form", "f888808080", false},
    {"6.8.2 six-byte form", "fc8480808080", false},
    {"6.9.1 U+007F", "7f", true},
    {"6.9.2 U+07FF", "dfbf", true},
    {"6.9.3 U+FFFF", "efbfbf", true},
    {"6.9.4 U+10FFFF", "f48fbfbf", true},
    {"6.10.1 U+110000", "f4908080", false},
    {"6.10.2 five-byte max", "f8888080", false},
    {"6.10.3 six-byte max", "fc84808080", false},
    {"6.11.1 U+D7FF", "ed9fbf", true},
    {"6.11.2 U+E000", "ee8080", true},
    {"6.11.3 U+FFFD", "efbfbd", true},
    {"6.11.4 U+10FFFF again", "f48fbfbf", true},
    {"6.11.5 U+110000 again", "f4908080", false},
    {"6.12.1 lone 0x80", "80", false},
    {"6.12.2 lone 0xbf", "bf", false},
    {"6.12.3 two continuations", "80bf", false},
    {"6.12.4 three continuations", "80bf80", false},
    {"6.12.5 four continuations", "80bf80bf", false},
    {"6.12.6 five continuations", "80bf80bf80", false},
    {"6.12.7 six continuations", "80bf80bf80bf", false},
    {"6.12.8 all continuations",
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a"
     "4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbe",
     false},
    {"6.13.1 lonely 2-byte leads",
     "c020c120c220c320c420c520c620c720c820c920ca20cb20cc20cd20ce20cf20d020d120d"
     "220d320d420d520d620d720d820d920da20db20dc20dd20de20",
     false},
    {"6.13.2 lonely 3-byte leads",
     "e020e120e220e320e420e520e620e720e820e920ea20eb20ec20ed20ee20", false},
    {"6.13.3 lonely 4-byte leads", "f020f120f220f320f420f520f620", false},
    {"6.13.4 lonely 5-byte leads", "f820f920fa20", false},
    {"6.13.5 lonely 6-byte lead", "fc20", false},
    {"6.14.1 U+0000 missing 1", "c0", false},
    {"6.14.2 U+0000 missing 2", "e080", false},
    {"6.14.3 U+0000 missing 3", "f08080", false},
    {"6.14.4 U+0000 missing 4", "f8808080", false},
    {"6.14.5 U+0000 missing 5", "fc80808080", false},
    {"6.14.6 U+07FF missing last", "df", false},
    {"6.14.7 U+FFFF missing last", "efbf", false},
    {"6.14.8 U+1FFFFF missing last", "f7bfbf", false},
    {"6.14.9 U+3FFFFFF missing last", "fbbfbfbf", false},
    {"6.14.10 U+7FFFFFFF missing last", "fdbfbfbfbf", false},
    {"6.15.1 all incomplete concatenated",
     "c0e080f08080f8808080fc80808080dfefbff7bfbffbbfbfbffdbfbfbfbf", false},
    {"6.16.1 fe", "fe", false},
    {"6.16.2 ff", "ff", false},
    {"6.16.3 fefeffff", "fefeffff", false},
    {"6.17.1 overlong slash 2", "c0af", false},
    {"6.17.2 overlong slash 3", "e080af", false},
    {"6.17.3 overlong slash 4", "f08080af", false},
    {"6.17.4 overlong slash 5", "f8808080af", false},
    {"6.17.5 overlong slash 6", "fc80808080af", false},
    {"6.18.1 max overlong 2", "c1bf", false},
    {"6.18.2 max overlong 3", "e09fbf", false},
    {"6.18.3 max overlong 4", "f08fbfbf", false},
    {"6.18.4 max overlong 5", "f887bfbfbf", false},
    {"6.18.5 max overlong 6", "fc83bfbfbfbf", false},
    {"6.19.1 overlong NUL 2", "c080", false},
    {"6.19.2 overlong NUL 3", "e08080", false},
    {"6.19.3 overlong NUL 4", "f0808080", false},
    {"6.19.4 overlong NUL 5", "f880808080", false},
    {"6.19.5 overlong NUL 6", "fc8080808080", false},
    {"6.20.1 U+D800", "eda080", false},
    {"6.20.2 U+DB7F", "edadbf", false},
    {"6.20.3 U+DB80", "edae80", false},
    {"6.20.4 U+DBFF", "edafbf", false},
    {"6.20.5 U+DC00", "edb080", false},
    {"6.20.6 U+DF80", "edbe80", false},
    {"6.20.7 U+DFFF", "edbfbf", false},
    {"6.21.1 U+D800 U+DC00", "eda080edb080", false},
    {"6.21.2 U+D800 U+DFFF", "eda080edbfbf", false},
    {"6.21.3 U+DB7F U+DC00", "edadbfedb080", false},
    {"6.21.4 U+DB7F U+DFFF", "edadbfedbfbf", false},
    {"6.21.5 U+DB80 U+DC00", "edae80edb080", false},
    {"6.21.6 U+DB80 U+DFFF", "edae80edbfbf", false},
    {"6.21.7 U+DBFF U+DC00", "edafbfedb080", false},
    {"6.21.8 U+DBFF U+DFFF", "edafbfedbfbf", false},
    {"6.22.1 noncharacter U+FFFE", "efbfbe", true},
    {"6.22.2 noncharacter U+FFFF", "efbfbf", true},
    {"6.22.3 noncharacter U+1FFFE", "f09fbfbe", true},
    {"6.22.34 noncharacter U+10FFFF", "f48fbfbf", true},
    {"6.22 noncharacter U+FDD0", "efb790", true},
    {"6.23.1 U+FFFD", "efbfbd", true},
    {"6.23.2 U+FFFD tail", "656469746564efbfbd", true},
    {"6.23.3 U+FFFD mid", "65646974efbfbd6564", true},
};

class Utf8AutobahnCase : public ::testing::TestWithParam<Utf8Case> {};

TEST_P(Utf8AutobahnCase, GivesTheSameVerdictForEverySplitIntoTwoChunks) {
  const std::string bytes = Hex(GetParam().hex);
  for (size_t split = 0; split <= bytes.size(); ++split) {
    Utf8Validator v;
    v.Feed(std::string_view(bytes).substr(0, split));
    v.Feed(std::string_view(bytes).substr(split));
    EXPECT_EQ(v.complete(), GetParam().valid) << "split at " << split;
    EXPECT_EQ(v.status() == Status::kValid, GetParam().valid);
  }
}

TEST_P(Utf8AutobahnCase, GivesTheSameVerdictForEverySplitIntoThreeChunks) {
  const std::string bytes = Hex(GetParam().hex);
  const std::string_view view(bytes);
  for (size_t a = 0; a <= bytes.size(); ++a) {
    for (size_t b = a; b <= bytes.size(); ++b) {
      Utf8Validator v;
      v.Feed(view.substr(0, a));
      v.Feed(view.substr(a, b - a));
      v.Feed(view.substr(b));
      ASSERT_EQ(v.complete(), GetParam().valid) << a << "," << b;
    }
  }
}

TEST_P(Utf8AutobahnCase, FailsAtTheFirstByteThatCannotBeCompleted) {
  const std::string bytes = Hex(GetParam().hex);
  bool ref_complete = false;
  const size_t expected = Ref().FirstError(bytes, &ref_complete);
  EXPECT_EQ(ref_complete, GetParam().valid) << "table disagrees with reference";
  Status final_status;
  EXPECT_EQ(FirstInvalidByteByByte(bytes, &final_status), expected);
}

TEST_P(Utf8AutobahnCase, OneShotCheckAgreesWithTheTable) {
  EXPECT_EQ(IsValidUtf8(Hex(GetParam().hex)), GetParam().valid);
}

std::string CaseName(const ::testing::TestParamInfo<Utf8Case>& info) {
  std::string name = std::to_string(info.index) + "_";
  for (const char* p = info.param.name; *p != '\0'; ++p) {
    name += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Autobahn6, Utf8AutobahnCase,
                         ::testing::ValuesIn(kCases), CaseName);

// --- States -----------------------------------------------------------------

TEST(Utf8Validator, ReportsIncompleteInsideACodePointAndValidAfterIt) {
  Utf8Validator v;
  EXPECT_EQ(v.status(), Status::kValid);
  EXPECT_EQ(v.Feed(Hex("f0")), Status::kIncomplete);
  EXPECT_EQ(v.Feed(Hex("9f")), Status::kIncomplete);
  EXPECT_EQ(v.Feed(Hex("98")), Status::kIncomplete);
  EXPECT_FALSE(v.complete());
  EXPECT_EQ(v.Feed(Hex("80")), Status::kValid);
  EXPECT_TRUE(v.complete());
}

TEST(Utf8Validator, StaysInvalidUntilReset) {
  Utf8Validator v;
  EXPECT_EQ(v.Feed(Hex("ff")), Status::kInvalid);
  EXPECT_EQ(v.Feed("plain ascii"), Status::kInvalid);
  v.Reset();
  EXPECT_EQ(v.Feed("plain ascii"), Status::kValid);
}

TEST(Utf8Validator, AcceptsEmptyChunksInAnyState) {
  Utf8Validator v;
  EXPECT_EQ(v.Feed(""), Status::kValid);
  EXPECT_EQ(v.Feed(Hex("e2")), Status::kIncomplete);
  EXPECT_EQ(v.Feed(""), Status::kIncomplete);
  EXPECT_EQ(v.Feed(Hex("82ac")), Status::kValid);
}

// --- The ASCII fast path ----------------------------------------------------

TEST(Utf8Validator, FindsAnInvalidByteAtEveryPositionOfALongAsciiRun) {
  const std::string ascii(200, 'a');
  for (size_t i = 0; i < ascii.size(); ++i) {
    std::string s = ascii;
    s[i] = static_cast<char>(0x80);
    EXPECT_FALSE(IsValidUtf8(s)) << i;
    Utf8Validator v;
    EXPECT_EQ(v.Feed(s), Status::kInvalid) << i;
  }
}

TEST(Utf8Validator, AcceptsAMultiByteCharacterAtEveryPositionOfAnAsciiRun) {
  const std::string ascii(100, 'x');
  const std::string euro = Hex("e282ac");
  for (size_t i = 0; i <= ascii.size(); ++i) {
    const std::string s = ascii.substr(0, i) + euro + ascii.substr(i);
    EXPECT_TRUE(IsValidUtf8(s)) << i;
    for (size_t split = 0; split <= s.size(); split += 7) {
      Utf8Validator v;
      v.Feed(std::string_view(s).substr(0, split));
      EXPECT_EQ(v.Feed(std::string_view(s).substr(split)), Status::kValid);
    }
  }
}

TEST(Utf8Validator, DetectsATruncatedCharacterAfterALongAsciiRun) {
  std::string s(64, 'z');
  s += Hex("e282");
  EXPECT_FALSE(IsValidUtf8(s));
  Utf8Validator v;
  EXPECT_EQ(v.Feed(s), Status::kIncomplete);
}

// --- Exhaustive and randomized agreement with the reference --------------

TEST(Utf8Validator, AgreesWithTheReferenceOnEveryOneAndTwoByteInput) {
  for (int a = 0; a < 256; ++a) {
    for (int b = -1; b < 256; ++b) {
      std::string s(1, static_cast<char>(a));
      if (b >= 0) s += static_cast<char>(b);
      bool complete = false;
      const size_t expected = Ref().FirstError(s, &complete);
      Status final_status;
      ASSERT_EQ(FirstInvalidByteByByte(s, &final_status), expected)
          << a << " " << b;
      ASSERT_EQ(IsValidUtf8(s), complete) << a << " " << b;
    }
  }
}

TEST(Utf8Validator, AgreesWithTheReferenceOnEveryThreeByteInputWithALead) {
  for (int a = 0xC0; a < 0x100; ++a) {
    for (int b = 0; b < 256; ++b) {
      for (int c = 0; c < 256; ++c) {
        const char bytes[3] = {static_cast<char>(a), static_cast<char>(b),
                               static_cast<char>(c)};
        const std::string_view s(bytes, 3);
        bool complete = false;
        const size_t expected = Ref().FirstError(s, &complete);
        Utf8Validator v;
        const Status status = v.Feed(s);
        ASSERT_EQ(status == Status::kInvalid, expected != std::string::npos)
            << a << " " << b << " " << c;
        ASSERT_EQ(status == Status::kValid, complete);
      }
    }
  }
}

TEST(Utf8Validator, AcceptsEveryScalarValueAndRejectsEverySurrogate) {
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    ASSERT_EQ(IsValidUtf8(Encode(cp)), !surrogate) << std::hex << cp;
  }
}

TEST(Utf8Validator, AgreesWithTheReferenceOnRandomInputsFedInRandomChunks) {
  // Bytes at the edges of every class, so random strings hit every rule.
  static constexpr uint8_t kAlphabet[] = {
      0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0,
      0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0,
      0xF1, 0xF3, 0xF4, 0xF5, 0xFF, 0x80, 0xBF, 0x90, 0xA0, 0x8F};
  std::mt19937 rng(12345);
  for (int iteration = 0; iteration < 20000; ++iteration) {
    std::string s;
    const int length = 1 + static_cast<int>(rng() % 24);
    for (int i = 0; i < length; ++i) {
      s += static_cast<char>(kAlphabet[rng() % std::size(kAlphabet)]);
    }
    bool complete = false;
    const size_t first_error = Ref().FirstError(s, &complete);
    Utf8Validator v;
    size_t pos = 0;
    Status status = Status::kValid;
    while (pos < s.size()) {
      const size_t n = 1 + rng() % 9;
      status = v.Feed(std::string_view(s).substr(pos, n));
      pos += n;
      // Fail fast: invalid exactly when the chunk reached the first error.
      const bool reached = first_error != std::string::npos &&
                           first_error < std::min(pos, s.size());
      ASSERT_EQ(status == Status::kInvalid, reached)
          << absl::BytesToHexString(absl::string_view(s.data(), s.size()));
    }
    ASSERT_EQ(status == Status::kValid, complete);
  }
}

}  // namespace
}  // namespace troupe::net
