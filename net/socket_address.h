// SocketAddress: an IPv4 or IPv6 address and a port - what a TCP socket
// binds to, connects to and reports. A value type (a sockaddr_storage and
// its length), trivially copyable.
//
// Contract:
//   - Parse("127.0.0.1:8080"), Parse("[::1]:8080") accept IP literals only
//     (IPv6 in brackets) and a port 0..65535; an empty host (":8080") means
//     every IPv4 interface (0.0.0.0). Anything else is an InvalidArgument
//     error naming the input.
//   - ResolveBlocking("localhost:8080") also accepts host names, through
//     getaddrinfo: it BLOCKS the calling thread (DNS, /etc/hosts). Inside a
//     task use TcpStream::Connect(host_port), which resolves on the blocking
//     pool. Literals never reach getaddrinfo. Every address of the name is
//     returned, in getaddrinfo's order; a name that does not resolve is
//     NotFound, a resolver failure Unavailable, with the resolver's text.
//   - ToString() gives "127.0.0.1:8080" or "[::1]:8080", which Parse reads.
//
// Example:
//   absl::StatusOr<SocketAddress> a = SocketAddress::Parse("[::1]:0");
//   if (a.ok()) ::bind(fd, a->sockaddr_ptr(), a->sockaddr_len());
#ifndef TROUPE_NET_SOCKET_ADDRESS_H_
#define TROUPE_NET_SOCKET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace troupe::net {

class SocketAddress {
 public:
  SocketAddress() = default;  // no address: family() == AF_UNSPEC

  static absl::StatusOr<SocketAddress> Parse(std::string_view host_port);
  // `ip` is a literal without brackets: "10.0.0.1", "::1".
  static absl::StatusOr<SocketAddress> FromIp(std::string_view ip,
                                              uint16_t port);
  // From what the kernel filled in (accept, getsockname, getpeername).
  static absl::StatusOr<SocketAddress> FromSockaddr(const sockaddr* address,
                                                    socklen_t length);
  static SocketAddress Ipv4Loopback(uint16_t port);
  static SocketAddress Ipv6Loopback(uint16_t port);

  // Blocking: see the contract above.
  static absl::StatusOr<std::vector<SocketAddress>> ResolveBlocking(
      std::string_view host_port);

  int family() const { return storage_.ss_family; }
  bool is_ipv4() const { return family() == AF_INET; }
  bool is_ipv6() const { return family() == AF_INET6; }
  uint16_t port() const;
  std::string host() const;  // "127.0.0.1", "::1"; empty for no address
  std::string ToString() const;

  const sockaddr* sockaddr_ptr() const {
    return reinterpret_cast<const sockaddr*>(&storage_);
  }
  socklen_t sockaddr_len() const { return length_; }

  friend bool operator==(const SocketAddress& a, const SocketAddress& b);

 private:
  static SocketAddress FromV4(const in_addr& ip, uint16_t port);
  static SocketAddress FromV6(const in6_addr& ip, uint16_t port);
  void SetPort(uint16_t port);

  sockaddr_storage storage_{};
  socklen_t length_ = 0;
};

}  // namespace troupe::net

#endif  // TROUPE_NET_SOCKET_ADDRESS_H_
