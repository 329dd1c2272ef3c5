#include "net/websocket_extensions.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "net/http_head.h"

namespace troupe::net {
namespace {

constexpr char kPermessageDeflate[] = "permessage-deflate";
constexpr char kServerNoContextTakeover[] = "server_no_context_takeover";
constexpr char kClientNoContextTakeover[] = "client_no_context_takeover";
constexpr char kServerMaxWindowBits[] = "server_max_window_bits";
constexpr char kClientMaxWindowBits[] = "client_max_window_bits";

bool IsWhitespace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsWhitespace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWhitespace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits `s` at `separator` characters outside quoted strings.
std::vector<std::string_view> SplitOutsideQuotes(std::string_view s,
                                                 char separator) {
  std::vector<std::string_view> parts;
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;  // skip the escaped character
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == separator) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(s.substr(std::min(start, s.size())));
  return parts;
}

// Parses a token or quoted-string parameter value.
std::optional<std::string> ParseParamValue(std::string_view raw) {
  if (raw.empty()) return std::nullopt;
  if (raw.front() != '"') {
    if (!IsToken(raw)) return std::nullopt;
    return std::string(raw);
  }
  if (raw.size() < 2 || raw.back() != '"') return std::nullopt;
  std::string value;
  for (size_t i = 1; i + 1 < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\') {
      if (i + 2 >= raw.size()) return std::nullopt;
      c = raw[++i];
    } else if (c == '"') {
      return std::nullopt;
    }
    value.push_back(c);
  }
  // RFC 6455 9.1: a quoted value must still be a token once unquoted.
  if (!IsToken(value)) return std::nullopt;
  return value;
}

ExtensionElement ParseElement(std::string_view text) {
  ExtensionElement element;
  std::vector<std::string_view> parts = SplitOutsideQuotes(text, ';');
  element.name = std::string(Trim(parts[0]));
  if (!IsToken(element.name)) element.malformed = true;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string_view part = Trim(parts[i]);
    const size_t eq = part.find('=');
    ExtensionParam param;
    param.name = std::string(Trim(part.substr(0, eq)));
    if (!IsToken(param.name)) element.malformed = true;
    if (eq != std::string_view::npos) {
      param.value = ParseParamValue(Trim(part.substr(eq + 1)));
      if (!param.value) element.malformed = true;
    }
    element.params.push_back(std::move(param));
  }
  return element;
}

// "8".."15", decimal without leading zeros.
std::optional<int> ParseWindowBits(const std::string& value) {
  if (value.size() == 1 && value[0] >= '8' && value[0] <= '9') {
    return value[0] - '0';
  }
  if (value.size() == 2 && value[0] == '1' && value[1] >= '0' &&
      value[1] <= '5') {
    return 10 + (value[1] - '0');
  }
  return std::nullopt;
}

bool ValidBits(int bits) { return bits >= 8 && bits <= 15; }

}  // namespace

std::vector<ExtensionElement> ParseExtensionList(
    std::span<const std::string_view> header_values) {
  std::vector<ExtensionElement> elements;
  for (std::string_view value : header_values) {
    for (std::string_view text : SplitOutsideQuotes(value, ',')) {
      // Empty list elements are allowed and ignored (RFC 9110 5.6.1).
      if (Trim(text).empty()) continue;
      elements.push_back(ParseElement(text));
    }
  }
  return elements;
}

std::optional<DeflateOffer> ParseDeflateOffer(const ExtensionElement& element) {
  if (element.malformed ||
      !EqualsIgnoreCase(element.name, kPermessageDeflate)) {
    return std::nullopt;
  }
  DeflateOffer offer;
  bool seen_snct = false;
  bool seen_cnct = false;
  bool seen_smwb = false;
  for (const ExtensionParam& param : element.params) {
    if (param.name == kServerNoContextTakeover) {
      if (seen_snct || param.value) return std::nullopt;
      seen_snct = true;
      offer.server_no_context_takeover = true;
    } else if (param.name == kClientNoContextTakeover) {
      if (seen_cnct || param.value) return std::nullopt;
      seen_cnct = true;
      offer.client_no_context_takeover = true;
    } else if (param.name == kServerMaxWindowBits) {
      if (seen_smwb || !param.value) return std::nullopt;
      seen_smwb = true;
      offer.server_max_window_bits = ParseWindowBits(*param.value);
      if (!offer.server_max_window_bits) return std::nullopt;
    } else if (param.name == kClientMaxWindowBits) {
      if (offer.client_max_window_bits) return std::nullopt;
      offer.client_max_window_bits = true;
      if (param.value) {
        offer.client_max_window_bits_value = ParseWindowBits(*param.value);
        if (!offer.client_max_window_bits_value) return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  return offer;
}

std::optional<DeflateAgreement> NegotiateDeflate(
    std::span<const std::string_view> header_values,
    const DeflateOptions& options) {
  if (!options.enabled || !ValidBits(options.server_max_window_bits) ||
      !ValidBits(options.client_max_window_bits)) {
    return std::nullopt;
  }
  for (const ExtensionElement& element : ParseExtensionList(header_values)) {
    const std::optional<DeflateOffer> offer = ParseDeflateOffer(element);
    if (!offer) continue;

    DeflateAgreement agreement;
    DeflateParams& p = agreement.params;
    p.server_no_context_takeover =
        offer->server_no_context_takeover || options.server_no_context_takeover;
    p.client_no_context_takeover =
        offer->client_no_context_takeover || options.client_no_context_takeover;
    p.server_max_window_bits =
        std::min(offer->server_max_window_bits.value_or(15),
                 options.server_max_window_bits);
    bool send_client_bits = false;
    if (offer->client_max_window_bits) {
      p.client_max_window_bits =
          std::min(offer->client_max_window_bits_value.value_or(15),
                   options.client_max_window_bits);
      send_client_bits = p.client_max_window_bits < 15;
    }

    std::string& r = agreement.response;
    r = std::string(kPermessageDeflate);
    if (p.server_no_context_takeover) {
      absl::StrAppend(&r, "; ", kServerNoContextTakeover);
    }
    if (p.client_no_context_takeover) {
      absl::StrAppend(&r, "; ", kClientNoContextTakeover);
    }
    if (offer->server_max_window_bits || p.server_max_window_bits < 15) {
      absl::StrAppend(&r, "; ", kServerMaxWindowBits, "=",
                      p.server_max_window_bits);
    }
    if (send_client_bits) {
      absl::StrAppend(&r, "; ", kClientMaxWindowBits, "=",
                      p.client_max_window_bits);
    }
    return agreement;
  }
  return std::nullopt;
}

std::string FormatDeflateOffer(const DeflateOptions& options) {
  std::string offer(kPermessageDeflate);
  if (options.server_no_context_takeover) {
    absl::StrAppend(&offer, "; ", kServerNoContextTakeover);
  }
  if (options.client_no_context_takeover) {
    absl::StrAppend(&offer, "; ", kClientNoContextTakeover);
  }
  if (options.server_max_window_bits < 15) {
    absl::StrAppend(&offer, "; ", kServerMaxWindowBits, "=",
                    options.server_max_window_bits);
  }
  // Always announce that we can use a smaller window if asked to.
  absl::StrAppend(&offer, "; ", kClientMaxWindowBits);
  if (options.client_max_window_bits < 15) {
    absl::StrAppend(&offer, "=", options.client_max_window_bits);
  }
  return offer;
}

absl::StatusOr<std::optional<DeflateParams>> ParseDeflateResponse(
    std::span<const std::string_view> header_values,
    const DeflateOptions& offered) {
  const std::vector<ExtensionElement> elements =
      ParseExtensionList(header_values);
  if (elements.empty()) return std::optional<DeflateParams>();
  if (elements.size() > 1) {
    return absl::InvalidArgumentError("server accepted several extensions");
  }
  const ExtensionElement& element = elements[0];
  if (!offered.enabled || !EqualsIgnoreCase(element.name, kPermessageDeflate)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "server accepted an extension not offered: ", element.name));
  }
  const std::optional<DeflateOffer> answer = ParseDeflateOffer(element);
  if (!answer) {
    return absl::InvalidArgumentError("malformed permessage-deflate answer");
  }
  if (answer->client_max_window_bits && !answer->client_max_window_bits_value) {
    return absl::InvalidArgumentError(
        "client_max_window_bits without a value in the answer");
  }
  if (offered.server_no_context_takeover &&
      !answer->server_no_context_takeover) {
    return absl::InvalidArgumentError(
        "server ignored server_no_context_takeover");
  }
  if (offered.server_max_window_bits < 15 &&
      answer->server_max_window_bits.value_or(15) >
          offered.server_max_window_bits) {
    return absl::InvalidArgumentError("server window larger than offered");
  }
  DeflateParams p;
  p.server_no_context_takeover = answer->server_no_context_takeover;
  p.client_no_context_takeover =
      answer->client_no_context_takeover || offered.client_no_context_takeover;
  p.server_max_window_bits = answer->server_max_window_bits.value_or(15);
  p.client_max_window_bits = offered.client_max_window_bits;
  if (answer->client_max_window_bits_value) {
    p.client_max_window_bits = std::min(p.client_max_window_bits,
                                        *answer->client_max_window_bits_value);
  }
  return std::optional<DeflateParams>(p);
}

}  // namespace troupe::net
