// The floor of the WebSocket echo bar: an ideal single-threaded epoll
// echo server, the least a WebSocket echo server on this machine can do
// per message over loopback TCP. It speaks just enough WebSocket for
// //examples/echo:load_client: the HTTP upgrade (Sec-WebSocket-Accept
// with OpenSSL's SHA-1), then for every complete client frame (masked, any
// size, opcode kept as received) the unmasked frame back; a close frame is
// answered and the connection closed, a ping answered with a pong. No
// extensions, no UTF-8 checks, no message reassembly (frames are echoed
// one by one, so fragmented messages come back fragmented the same way).
// One recv() per readable socket and one send() for all the frames it
// completed: in a closed loop, one of each per message.
//
//   echo_floor --port=0   (stderr: "listening on 127.0.0.1:PORT")
//   load_client --url=ws://127.0.0.1:PORT/ --connections=100 --size=32
//
// bench/floor/run_floor.sh builds and runs it next to //examples/echo:echo
// and //bench:websocketpp_echo_server. It runs until killed.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace echo_floor {
namespace {

constexpr size_t kReadBufferSize = size_t{64} * 1024;
constexpr size_t kMaxHandshake = size_t{16} * 1024;
constexpr uint64_t kMaxFrame = uint64_t{64} << 20;
constexpr int kMaxEvents = 256;
constexpr std::string_view kWebSocketGuid =
    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

enum Opcode : uint8_t { kClose = 0x8, kPing = 0x9, kPong = 0xA };

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "echo_floor: %s: %s\n", what, std::strerror(errno));
  std::exit(2);
}

struct Connection {
  int fd = -1;
  bool upgraded = false;
  bool closed = false;
  bool watching_writable = false;
  std::string unparsed;  // an incomplete handshake or frame
  std::string unsent;    // bytes the kernel has not accepted yet
};

// base64(SHA-1(key + GUID)), RFC 6455 section 4.2.2.
std::string AcceptKey(std::string_view key) {
  std::string input(key);
  input.append(kWebSocketGuid);
  std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
       digest.data());
  std::array<unsigned char, 4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1> encoded{};
  const int length =
      EVP_EncodeBlock(encoded.data(), digest.data(), SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(encoded.data()),
                     static_cast<size_t>(length));
}

// The value of the Sec-WebSocket-Key header in an HTTP request head, or
// empty.
std::string_view FindKey(std::string_view head) {
  constexpr std::string_view kName = "sec-websocket-key:";
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos && line + 2 < head.size()) {
    const size_t start = line + 2;
    const size_t end = head.find("\r\n", start);
    const std::string_view header =
        head.substr(start, end == std::string_view::npos ? end : end - start);
    if (header.size() > kName.size() &&
        std::equal(
            kName.begin(), kName.end(), header.begin(), [](char a, char b) {
              return a == static_cast<char>(
                              std::tolower(static_cast<unsigned char>(b)));
            })) {
      std::string_view value = header.substr(kName.size());
      while (!value.empty() &&
             (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      return value;
    }
    line = end;
  }
  return {};
}

void AppendFrameHeader(uint8_t first_byte, uint64_t size, std::string* out) {
  out->push_back(static_cast<char>(first_byte));
  if (size < 126) {
    out->push_back(static_cast<char>(size));
  } else if (size <= 0xFFFF) {
    out->push_back(static_cast<char>(126));
    out->push_back(static_cast<char>(size >> 8));
    out->push_back(static_cast<char>(size));
  } else {
    out->push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out->push_back(static_cast<char>(size >> shift));
    }
  }
}

class EchoServer {
 public:
  explicit EchoServer(int listener)
      : listener_(listener), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) Die("epoll_create1");
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = nullptr;  // the listener
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listener_, &event) < 0) {
      Die("epoll_ctl(listener)");
    }
  }

  [[noreturn]] void Run() {
    std::vector<char> buffer(kReadBufferSize);
    std::array<epoll_event, kMaxEvents> events{};
    std::vector<Connection*> closing;
    for (;;) {
      const int n = epoll_wait(epoll_fd_, events.data(), kMaxEvents, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        Die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Connection*>(events[i].data.ptr);
        if (c == nullptr) {
          AcceptAll();
          continue;
        }
        if (c->closed) continue;
        if (events[i].events & EPOLLOUT) Flush(c, &closing);
        if (!c->closed &&
            (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
          OnReadable(c, buffer.data(), &closing);
        }
      }
      // Freed only after the batch: a later event may name them.
      for (Connection* c : closing) delete c;
      closing.clear();
    }
  }

 private:
  void AcceptAll() {
    for (;;) {
      const int fd =
          accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
        Die("accept4");
      }
      const int one = 1;
      (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto* c = new Connection;
      c->fd = fd;
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.ptr = c;
      if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) < 0) {
        Die("epoll_ctl(ADD)");
      }
    }
  }

  void OnReadable(Connection* c, char* buffer,
                  std::vector<Connection*>* closing) {
    const ssize_t got = recv(c->fd, buffer, kReadBufferSize, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got <= 0) {
      Close(c, closing);
      return;
    }
    // Parse in place from the read buffer unless an earlier read left a
    // partial frame behind.
    char* data = buffer;
    size_t size = static_cast<size_t>(got);
    if (!c->unparsed.empty()) {
      c->unparsed.append(buffer, size);
      data = c->unparsed.data();
      size = c->unparsed.size();
    }
    reply_.clear();
    size_t used = 0;
    bool close_after = false;
    if (!c->upgraded) {
      used = Handshake(c, std::string_view(data, size), &close_after);
    }
    if (c->upgraded && !close_after) {
      used += Frames(data + used, size - used, &close_after);
    }
    if (!reply_.empty()) Send(c, reply_);
    if (close_after) {
      Close(c, closing);
      return;
    }
    if (data == buffer) {
      c->unparsed.assign(buffer + used, size - used);
    } else {
      c->unparsed.erase(0, used);
    }
  }

  // Answers a complete upgrade request; returns the bytes it used.
  size_t Handshake(Connection* c, std::string_view data, bool* close_after) {
    const size_t end = data.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      *close_after = data.size() > kMaxHandshake;
      return 0;
    }
    const std::string_view key = FindKey(data.substr(0, end + 2));
    if (key.empty()) {
      reply_.append("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
      *close_after = true;
      return end + 4;
    }
    reply_.append(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Accept: ");
    reply_.append(AcceptKey(key));
    reply_.append("\r\n\r\n");
    c->upgraded = true;
    return end + 4;
  }

  // Echoes every complete frame in data into reply_; returns the bytes
  // used. A close frame (or a protocol error) sets *close_after.
  size_t Frames(char* data, size_t size, bool* close_after) {
    size_t at = 0;
    while (size - at >= 2) {
      const auto* p = reinterpret_cast<const uint8_t*>(data + at);
      const uint8_t first = p[0] & 0x8F;  // FIN and opcode; no RSV bits
      const bool masked = (p[1] & 0x80) != 0;
      uint64_t length = p[1] & 0x7F;
      size_t header = 2;
      if (length == 126) {
        if (size - at < 4) break;
        length = (uint64_t{p[2]} << 8) | p[3];
        header = 4;
      } else if (length == 127) {
        if (size - at < 10) break;
        length = 0;
        for (int i = 2; i < 10; ++i) length = (length << 8) | p[i];
        header = 10;
      }
      if (!masked || length > kMaxFrame) {
        *close_after = true;  // clients must mask; no giant frames
        return at;
      }
      header += 4;
      if (size - at < header + length) break;
      const uint8_t* mask = p + header - 4;
      char* payload = data + at + header;
      for (uint64_t i = 0; i < length; ++i) {
        payload[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
      }
      const uint8_t opcode = first & 0x0F;
      at += header + length;
      if (opcode == kPong) continue;
      AppendFrameHeader(opcode == kPing ? (0x80 | kPong) : first, length,
                        &reply_);
      reply_.append(payload, length);
      if (opcode == kClose) {
        *close_after = true;
        break;
      }
    }
    return at;
  }

  // One send(); whatever the kernel does not take waits for EPOLLOUT.
  void Send(Connection* c, const std::string& bytes) {
    if (!c->unsent.empty()) {
      c->unsent.append(bytes);
      return;
    }
    ssize_t sent = send(c->fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent == static_cast<ssize_t>(bytes.size())) return;
    if (sent < 0) {
      if (errno != EAGAIN) return;  // the next read sees the error
      sent = 0;
    }
    c->unsent.append(bytes, static_cast<size_t>(sent));
    WatchWritable(c, true);
  }

  void Flush(Connection* c, std::vector<Connection*>* closing) {
    const ssize_t sent =
        send(c->fd, c->unsent.data(), c->unsent.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN) {
      Close(c, closing);
      return;
    }
    if (sent > 0) c->unsent.erase(0, static_cast<size_t>(sent));
    if (c->unsent.empty()) WatchWritable(c, false);
  }

  void WatchWritable(Connection* c, bool on) {
    if (c->watching_writable == on) return;
    c->watching_writable = on;
    epoll_event event{};
    event.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    event.data.ptr = c;
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &event);
  }

  static void Close(Connection* c, std::vector<Connection*>* closing) {
    close(c->fd);  // also removes it from the epoll set
    c->closed = true;
    closing->push_back(c);
  }

  int listener_;
  int epoll_fd_;
  std::string reply_;  // what one read's frames produce, sent at once
};

int Main(int argc, char** argv) {
  int port = 9001;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    char* end = nullptr;
    if (arg.rfind("--port=", 0) == 0) {
      port = static_cast<int>(std::strtol(argv[i] + 7, &end, 10));
    }
    if (end == nullptr || *end != '\0' || port < 0 || port > 65535) {
      std::fprintf(stderr, "usage: echo_floor [--port=PORT] (0: any)\n");
      return 1;
    }
  }
  const int listener =
      socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listener < 0) Die("socket");
  const int one = 1;
  (void)setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) <
          0 ||
      listen(listener, 1024) < 0) {
    Die("bind/listen");
  }
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::fprintf(stderr, "echo_floor: listening on 127.0.0.1:%d\n",
               ntohs(address.sin_port));
  EchoServer(listener).Run();
}

}  // namespace
}  // namespace echo_floor

int main(int argc, char** argv) { return echo_floor::Main(argc, argv); }
