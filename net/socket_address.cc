#include "net/socket_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace troupe::net {
namespace {

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;
};

absl::Status BadAddress(std::string_view input, const char* why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad socket address '", std::string(input), "': ", why));
}

absl::StatusOr<HostPort> SplitHostPort(std::string_view input) {
  std::string_view host;
  std::string_view port;
  if (!input.empty() && input.front() == '[') {
    const std::size_t close = input.find("]:");
    if (close == std::string_view::npos) {
      return BadAddress(input, "expected [ipv6]:port");
    }
    host = input.substr(1, close - 1);
    port = input.substr(close + 2);
  } else {
    const std::size_t colon = input.rfind(':');
    if (colon == std::string_view::npos) {
      return BadAddress(input, "expected host:port");
    }
    host = input.substr(0, colon);
    port = input.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return BadAddress(input, "an IPv6 address needs brackets: [::1]:80");
    }
  }
  if (port.empty() || port.size() > 5) {
    return BadAddress(input, "the port must be a number from 0 to 65535");
  }
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') {
      return BadAddress(input, "the port must be a number from 0 to 65535");
    }
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  if (value > 65535) {
    return BadAddress(input, "the port must be a number from 0 to 65535");
  }
  return HostPort{host.empty() ? std::string("0.0.0.0") : std::string(host),
                  static_cast<uint16_t>(value)};
}

}  // namespace

SocketAddress SocketAddress::FromV4(const in_addr& ip, uint16_t port) {
  SocketAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage_);
  v4->sin_family = AF_INET;
  v4->sin_addr = ip;
  address.length_ = sizeof(sockaddr_in);
  address.SetPort(port);
  return address;
}

SocketAddress SocketAddress::FromV6(const in6_addr& ip, uint16_t port) {
  SocketAddress address;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage_);
  v6->sin6_family = AF_INET6;
  v6->sin6_addr = ip;
  address.length_ = sizeof(sockaddr_in6);
  address.SetPort(port);
  return address;
}

void SocketAddress::SetPort(uint16_t port) {
  if (is_ipv4()) {
    reinterpret_cast<sockaddr_in*>(&storage_)->sin_port = htons(port);
  } else if (is_ipv6()) {
    reinterpret_cast<sockaddr_in6*>(&storage_)->sin6_port = htons(port);
  }
}

absl::StatusOr<SocketAddress> SocketAddress::FromIp(std::string_view ip,
                                                    uint16_t port) {
  const std::string text(ip);  // inet_pton wants a terminated string
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) return FromV4(v4, port);
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) return FromV6(v6, port);
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not an IPv4 or IPv6 address"));
}

absl::StatusOr<SocketAddress> SocketAddress::Parse(std::string_view host_port) {
  absl::StatusOr<HostPort> split = SplitHostPort(host_port);
  if (!split.ok()) return split.status();
  absl::StatusOr<SocketAddress> address = FromIp(split->host, split->port);
  if (!address.ok()) {
    return BadAddress(host_port, "the host is not an IP address literal");
  }
  return address;
}

absl::StatusOr<SocketAddress> SocketAddress::FromSockaddr(
    const sockaddr* address, socklen_t length) {
  const bool v4 =
      address->sa_family == AF_INET && length >= sizeof(sockaddr_in);
  const bool v6 =
      address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6);
  if (!v4 && !v6) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported socket address family ",
                     static_cast<int>(address->sa_family)));
  }
  SocketAddress result;
  result.length_ = v4 ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  std::memcpy(&result.storage_, address, result.length_);
  return result;
}

SocketAddress SocketAddress::Ipv4Loopback(uint16_t port) {
  in_addr loopback{};
  loopback.s_addr = htonl(INADDR_LOOPBACK);
  return FromV4(loopback, port);
}

SocketAddress SocketAddress::Ipv6Loopback(uint16_t port) {
  return FromV6(in6addr_loopback, port);
}

absl::StatusOr<std::vector<SocketAddress>> SocketAddress::ResolveBlocking(
    std::string_view host_port) {
  absl::StatusOr<HostPort> split = SplitHostPort(host_port);
  if (!split.ok()) return split.status();
  if (absl::StatusOr<SocketAddress> literal = FromIp(split->host, split->port);
      literal.ok()) {
    return std::vector<SocketAddress>{*literal};
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(split->host.c_str(), nullptr, &hints, &found);
  if (rc != 0) {
    const std::string message =
        absl::StrCat("resolving '", split->host, "': ", gai_strerror(rc));
    if (rc == EAI_NONAME || rc == EAI_NODATA) {
      return absl::NotFoundError(message);
    }
    return absl::UnavailableError(message);
  }
  std::vector<SocketAddress> addresses;
  for (const addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    absl::StatusOr<SocketAddress> a =
        FromSockaddr(ai->ai_addr, static_cast<socklen_t>(ai->ai_addrlen));
    if (!a.ok()) continue;
    a->SetPort(split->port);
    addresses.push_back(*a);
  }
  freeaddrinfo(found);
  if (addresses.empty()) {
    return absl::NotFoundError(
        absl::StrCat("resolving '", split->host, "': no IP address"));
  }
  return addresses;
}

uint16_t SocketAddress::port() const {
  if (is_ipv4()) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  }
  if (is_ipv6()) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::host() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_ipv4()) {
    inet_ntop(AF_INET,
              &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
              sizeof(text));
  } else if (is_ipv6()) {
    inet_ntop(AF_INET6,
              &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr,
              text, sizeof(text));
  }
  return text;
}

std::string SocketAddress::ToString() const {
  if (is_ipv6()) return absl::StrCat("[", host(), "]:", port());
  if (is_ipv4()) return absl::StrCat(host(), ":", port());
  return "(no address)";
}

bool operator==(const SocketAddress& a, const SocketAddress& b) {
  return a.length_ == b.length_ &&
         std::memcmp(&a.storage_, &b.storage_, a.length_) == 0;
}

}  // namespace troupe::net
