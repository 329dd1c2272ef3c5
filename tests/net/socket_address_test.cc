// SocketAddress: parsing IP literals with ports, formatting them back,
// the errors for bad input, and blocking resolution of names.

#include "net/socket_address.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace troupe::net {
namespace {

TEST(SocketAddress, AnIpv4LiteralWithAPortParsesAndPrintsBack) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse("10.1.2.3:8080");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->is_ipv4());
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->host(), "10.1.2.3");
  EXPECT_EQ(a->ToString(), "10.1.2.3:8080");
}

TEST(SocketAddress, AnIpv6LiteralNeedsBracketsAndPrintsWithThem) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse("[::1]:443");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->is_ipv6());
  EXPECT_EQ(a->port(), 443);
  EXPECT_EQ(a->ToString(), "[::1]:443");
  EXPECT_EQ(*a, SocketAddress::Ipv6Loopback(443));
  EXPECT_TRUE(
      absl::IsInvalidArgument(SocketAddress::Parse("::1:443").status()));
}

TEST(SocketAddress, AnEmptyHostMeansEveryIpv4Interface) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(":9000");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ToString(), "0.0.0.0:9000");
}

TEST(SocketAddress, BadInputIsAnInvalidArgumentThatQuotesIt) {
  for (const char* bad :
       {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:8o",
        "[::1]8080", "localhost:80", "300.1.1.1:80"}) {
    const absl::Status status = SocketAddress::Parse(bad).status();
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << bad << ": " << status;
    EXPECT_NE(status.message().find(bad), std::string::npos) << status;
  }
}

TEST(SocketAddress, ThePortMayBeZeroOrTheLargest) {
  EXPECT_EQ(SocketAddress::Parse("127.0.0.1:0")->port(), 0);
  EXPECT_EQ(SocketAddress::Parse("127.0.0.1:65535")->port(), 65535);
}

TEST(SocketAddress, LoopbacksAreTheUsualAddresses) {
  EXPECT_EQ(SocketAddress::Ipv4Loopback(1).ToString(), "127.0.0.1:1");
  EXPECT_EQ(SocketAddress::Ipv6Loopback(1).ToString(), "[::1]:1");
  EXPECT_EQ(SocketAddress().ToString(), "(no address)");
}

TEST(SocketAddress, ResolvingALiteralNeedsNoResolver) {
  absl::StatusOr<std::vector<SocketAddress>> found =
      SocketAddress::ResolveBlocking("127.0.0.1:7");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0], SocketAddress::Ipv4Loopback(7));
}

TEST(SocketAddress, LocalhostResolvesToALoopbackAddressWithThePort) {
  absl::StatusOr<std::vector<SocketAddress>> found =
      SocketAddress::ResolveBlocking("localhost:8080");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_FALSE(found->empty());
  bool loopback = false;
  for (const SocketAddress& a : *found) {
    EXPECT_EQ(a.port(), 8080);
    loopback |= a == SocketAddress::Ipv4Loopback(8080) ||
                a == SocketAddress::Ipv6Loopback(8080);
  }
  EXPECT_TRUE(loopback);
}

TEST(SocketAddress, ANameThatDoesNotResolveIsAnError) {
  const absl::Status status =
      SocketAddress::ResolveBlocking("no-such-host.invalid:80").status();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("no-such-host.invalid"), std::string::npos)
      << status;
}

}  // namespace
}  // namespace troupe::net
