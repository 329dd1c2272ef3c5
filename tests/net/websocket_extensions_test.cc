// Sec-WebSocket-Extensions parsing and permessage-deflate negotiation
// (RFC 7692 section 7.1; the offers of Autobahn sections 12 and 13).

#include "net/websocket_extensions.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace troupe::net {
namespace {

std::optional<DeflateAgreement> Negotiate(std::string_view header,
                                          DeflateOptions options = {}) {
  options.enabled = true;
  const std::string_view values[] = {header};
  return NegotiateDeflate(values, options);
}

TEST(ParseExtensionList, SplitsElementsAndParametersAcrossHeaderLines) {
  const std::string_view values[] = {
      "permessage-deflate; client_max_window_bits, x-foo",
      "permessage-deflate; server_max_window_bits=\"10\" ;a=b"};
  const std::vector<ExtensionElement> list = ParseExtensionList(values);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "permessage-deflate");
  ASSERT_EQ(list[0].params.size(), 1u);
  EXPECT_EQ(list[0].params[0].name, "client_max_window_bits");
  EXPECT_EQ(list[0].params[0].value, std::nullopt);
  EXPECT_EQ(list[1].name, "x-foo");
  EXPECT_TRUE(list[1].params.empty());
  ASSERT_EQ(list[2].params.size(), 2u);
  EXPECT_EQ(list[2].params[0].value, "10");
  EXPECT_EQ(list[2].params[1].value, "b");
  for (const ExtensionElement& e : list) EXPECT_FALSE(e.malformed);
}

TEST(ParseExtensionList, MarksMalformedElementsWithoutLosingTheOthers) {
  const std::string_view values[] = {
      "bad name; x, permessage-deflate; p=\"a,b\", "
      "permessage-deflate; q=\"10\", permessage-deflate; r=\"open"};
  const std::vector<ExtensionElement> list = ParseExtensionList(values);
  // The comma inside the quoted string does not split elements.
  ASSERT_EQ(list.size(), 4u);
  EXPECT_TRUE(list[0].malformed);  // name is not a token
  EXPECT_TRUE(list[1].malformed);  // "a,b" is not a token once unquoted
  EXPECT_FALSE(list[2].malformed);
  EXPECT_EQ(list[2].params[0].value, "10");
  EXPECT_TRUE(list[3].malformed);  // unterminated quoted string
}

struct NegotiationCase {
  const char* name;
  const char* offer;
  const char* response;  // nullptr: declined
  DeflateParams params;
};

DeflateParams Params(bool snct, bool cnct, int smwb, int cmwb) {
  DeflateParams p;
  p.server_no_context_takeover = snct;
  p.client_no_context_takeover = cnct;
  p.server_max_window_bits = smwb;
  p.client_max_window_bits = cmwb;
  return p;
}

class Negotiation : public ::testing::TestWithParam<NegotiationCase> {};

TEST_P(Negotiation, AcceptsTheFirstValidOfferOrDeclines) {
  const std::optional<DeflateAgreement> agreed = Negotiate(GetParam().offer);
  if (GetParam().response == nullptr) {
    EXPECT_FALSE(agreed.has_value()) << agreed->response;
    return;
  }
  ASSERT_TRUE(agreed.has_value());
  EXPECT_EQ(agreed->response, GetParam().response);
  EXPECT_EQ(agreed->params, GetParam().params);
}

std::string NegotiationName(
    const ::testing::TestParamInfo<NegotiationCase>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(
    Table, Negotiation,
    ::testing::Values(
        NegotiationCase{"Plain", "permessage-deflate", "permessage-deflate",
                        Params(false, false, 15, 15)},
        NegotiationCase{"ClientBitsWithoutValue",
                        "permessage-deflate; client_max_window_bits",
                        "permessage-deflate", Params(false, false, 15, 15)},
        NegotiationCase{"ClientBitsWithValue",
                        "permessage-deflate; client_max_window_bits=9",
                        "permessage-deflate; client_max_window_bits=9",
                        Params(false, false, 15, 9)},
        NegotiationCase{"ServerBits",
                        "permessage-deflate; server_max_window_bits=8",
                        "permessage-deflate; server_max_window_bits=8",
                        Params(false, false, 8, 15)},
        NegotiationCase{"ServerBits15",
                        "permessage-deflate; server_max_window_bits=15",
                        "permessage-deflate; server_max_window_bits=15",
                        Params(false, false, 15, 15)},
        NegotiationCase{"QuotedBits",
                        "permessage-deflate; server_max_window_bits=\"10\"",
                        "permessage-deflate; server_max_window_bits=10",
                        Params(false, false, 10, 15)},
        NegotiationCase{"ServerNoContextTakeover",
                        "permessage-deflate; server_no_context_takeover",
                        "permessage-deflate; server_no_context_takeover",
                        Params(true, false, 15, 15)},
        NegotiationCase{"ClientNoContextTakeover",
                        "permessage-deflate; client_no_context_takeover",
                        "permessage-deflate; client_no_context_takeover",
                        Params(false, true, 15, 15)},
        NegotiationCase{
            "Everything",
            "permessage-deflate; server_no_context_takeover; "
            "client_no_context_takeover; server_max_window_bits=12; "
            "client_max_window_bits=11",
            "permessage-deflate; server_no_context_takeover; "
            "client_no_context_takeover; server_max_window_bits=12; "
            "client_max_window_bits=11",
            Params(true, true, 12, 11)},
        NegotiationCase{"FirstOfferMalformedSecondTaken",
                        "permessage-deflate; server_max_window_bits=7, "
                        "permessage-deflate; client_no_context_takeover",
                        "permessage-deflate; client_no_context_takeover",
                        Params(false, true, 15, 15)},
        NegotiationCase{"OtherExtensionsSkipped",
                        "x-webkit-deflate-frame, permessage-deflate",
                        "permessage-deflate", Params(false, false, 15, 15)},
        NegotiationCase{"CaseInsensitiveName", "PerMessage-Deflate",
                        "permessage-deflate", Params(false, false, 15, 15)},
        NegotiationCase{
            "OnlyOtherExtensions", "x-webkit-deflate-frame", nullptr, {}},
        NegotiationCase{"WindowBits7",
                        "permessage-deflate; "
                        "server_max_window_bits=7",
                        nullptr,
                        {}},
        NegotiationCase{"WindowBits16",
                        "permessage-deflate; "
                        "client_max_window_bits=16",
                        nullptr,
                        {}},
        NegotiationCase{"LeadingZero",
                        "permessage-deflate; "
                        "server_max_window_bits=09",
                        nullptr,
                        {}},
        NegotiationCase{"ServerBitsWithoutValue",
                        "permessage-deflate; server_max_window_bits",
                        nullptr,
                        {}},
        NegotiationCase{"EmptyValue",
                        "permessage-deflate; client_max_window_bits=",
                        nullptr,
                        {}},
        NegotiationCase{"NonDigitValue",
                        "permessage-deflate; server_max_window_bits=ten",
                        nullptr,
                        {}},
        NegotiationCase{"ValueOnFlag",
                        "permessage-deflate; server_no_context_takeover=1",
                        nullptr,
                        {}},
        NegotiationCase{"DuplicatedFlag",
                        "permessage-deflate; client_no_context_takeover; "
                        "client_no_context_takeover",
                        nullptr,
                        {}},
        NegotiationCase{"DuplicatedBits",
                        "permessage-deflate; server_max_window_bits=10; "
                        "server_max_window_bits=10",
                        nullptr,
                        {}},
        NegotiationCase{"DuplicatedClientBits",
                        "permessage-deflate; client_max_window_bits; "
                        "client_max_window_bits=10",
                        nullptr,
                        {}},
        NegotiationCase{
            "UnknownParameter", "permessage-deflate; foo=1", nullptr, {}}),
    NegotiationName);

TEST(NegotiateDeflate, AppliesTheServerPolicyWhereTheRfcAllows) {
  DeflateOptions policy;
  policy.server_no_context_takeover = true;
  policy.client_no_context_takeover = true;
  policy.server_max_window_bits = 10;
  policy.client_max_window_bits = 9;
  // The client allows client_max_window_bits: the server lowers it.
  std::optional<DeflateAgreement> agreed = Negotiate(
      "permessage-deflate; client_max_window_bits; "
      "server_max_window_bits=12",
      policy);
  ASSERT_TRUE(agreed.has_value());
  EXPECT_EQ(agreed->response,
            "permessage-deflate; server_no_context_takeover; "
            "client_no_context_takeover; server_max_window_bits=10; "
            "client_max_window_bits=9");
  EXPECT_EQ(agreed->params, Params(true, true, 10, 9));
  // Without client_max_window_bits in the offer it must not be sent.
  agreed = Negotiate("permessage-deflate", policy);
  ASSERT_TRUE(agreed.has_value());
  EXPECT_EQ(agreed->response,
            "permessage-deflate; server_no_context_takeover; "
            "client_no_context_takeover; server_max_window_bits=10");
  EXPECT_EQ(agreed->params.client_max_window_bits, 15);
}

TEST(NegotiateDeflate, DeclinesEverythingWhenDisabled) {
  const std::string_view values[] = {"permessage-deflate"};
  EXPECT_FALSE(NegotiateDeflate(values, DeflateOptions{}).has_value());
}

TEST(FormatDeflateOffer, OffersClientWindowBitsAndTheRequestedLimits) {
  DeflateOptions options;
  options.enabled = true;
  EXPECT_EQ(FormatDeflateOffer(options),
            "permessage-deflate; client_max_window_bits");
  options.server_no_context_takeover = true;
  options.client_no_context_takeover = true;
  options.server_max_window_bits = 10;
  options.client_max_window_bits = 11;
  EXPECT_EQ(FormatDeflateOffer(options),
            "permessage-deflate; server_no_context_takeover; "
            "client_no_context_takeover; server_max_window_bits=10; "
            "client_max_window_bits=11");
}

TEST(ParseDeflateResponse, RoundTripsWithNegotiateForEveryOfferedCombination) {
  for (int mask = 0; mask < 16; ++mask) {
    for (int smwb : {8, 12, 15}) {
      for (int cmwb : {8, 11, 15}) {
        DeflateOptions client;
        client.enabled = true;
        client.server_no_context_takeover = (mask & 1) != 0;
        client.client_no_context_takeover = (mask & 2) != 0;
        client.server_max_window_bits = smwb;
        client.client_max_window_bits = cmwb;
        DeflateOptions server;
        server.enabled = true;
        server.server_no_context_takeover = (mask & 4) != 0;
        server.client_no_context_takeover = (mask & 8) != 0;
        const std::string offer = FormatDeflateOffer(client);
        const std::string_view offers[] = {offer};
        const std::optional<DeflateAgreement> agreed =
            NegotiateDeflate(offers, server);
        ASSERT_TRUE(agreed.has_value()) << offer;
        const std::string_view answers[] = {agreed->response};
        absl::StatusOr<std::optional<DeflateParams>> parsed =
            ParseDeflateResponse(answers, client);
        ASSERT_TRUE(parsed.ok()) << offer << " -> " << agreed->response;
        ASSERT_TRUE(parsed->has_value());
        // Both ends agree on what each direction does.
        EXPECT_EQ(**parsed, agreed->params)
            << offer << " -> " << agreed->response;
      }
    }
  }
}

}  // namespace
}  // namespace troupe::net
