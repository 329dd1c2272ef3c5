// The floor of the WebSocket hub's fan-out bar: the least work a chat hub
// on this machine can do to deliver N clients' messages to their rooms over
// loopback TCP, measured with the same shape of load as
// //examples/websocket_hub:loadgen. No WebSocket, no framing beyond fixed
// 40-byte records, no allocation per message, no troupe code: only the
// syscalls every such hub needs (one recv per readable socket, one send per
// recipient). What it costs here bounds from below what the hub can cost.
//
// Server: --threads epoll threads. A room belongs to one thread (room %
// threads), and so do its members' sockets: a publish is read and fanned
// out by the same thread, with no locking on the hot path (the accept
// thread takes a room's mutex only to add a member). Every member of the
// room, the sender included, gets the 40-byte record as read:
//   --coalesce=0 (default): one send() per record per member.
//   --coalesce=1: the records for a member are appended to its buffer and
//     sent with one send() per member after each epoll_wait batch, as an
//     event loop with a per-connection write queue does (troupe's
//     WebSocket writer gathers its queued frames into one write the same
//     way). Under light load a batch holds one publish and nothing
//     changes; under heavy load one send carries several records.
//
// Client: --connections sockets (TCP_NODELAY), socket i in room i % --rooms,
// spread over --threads epoll threads. Each socket publishes --rate records
// per second, the phases spread evenly over the period (socket i at i/N of
// it); a publish carries its CLOCK_MONOTONIC send time, and the receiver
// records publish-to-receipt latency. After --warmup seconds it measures
// --duration seconds: deliveries/s, latency percentiles, and the CPU time
// of itself and of the server (/proc/PID/stat, --server_pid).
//
//   fanout_floor --mode=server --port=0 --threads=2 [--coalesce=1]
//       (stderr: "listening on 127.0.0.1:PORT")
//   fanout_floor --mode=client --port=PORT --server_pid=PID
//       --connections=1000 --rooms=10 --rate=2 --threads=2
//       --warmup=2 --duration=10
//
// The client prints one line of key=value results on stdout.
// bench/floor/run_floor.sh builds and runs it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fanout_floor {
namespace {

// ---------------------------------------------------------------------------
// Wire format: fixed 40-byte records in host byte order (both ends share
// the machine).

enum RecordKind : uint32_t { kJoin = 1, kPublish = 2 };

struct Record {
  uint64_t send_ns;  // CLOCK_MONOTONIC at the publish
  uint32_t kind;     // RecordKind
  uint32_t room;
  uint32_t sender;
  uint32_t reserved;
  uint64_t sequence;
  uint64_t padding;
};
constexpr size_t kRecordSize = 40;
static_assert(sizeof(Record) == kRecordSize);

constexpr size_t kReadBufferSize = size_t{64} * 1024;
constexpr int kMaxEvents = 256;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "fanout_floor: %s: %s\n", what, std::strerror(errno));
  std::exit(2);
}

int64_t NowNanos() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) Die("fcntl");
}

void SetNoDelay(int fd) {
  const int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
    Die("setsockopt(TCP_NODELAY)");
  }
}

sockaddr_in Loopback(int port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return address;
}

// ---------------------------------------------------------------------------
// Flags: --name=value only.

class Flags {
 public:
  // Exits with a message on anything but --name=value with a known name.
  Flags(int argc, char** argv, const std::vector<std::string>& known) {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      const size_t equals = arg.find('=');
      if (arg.rfind("--", 0) != 0 || equals == std::string::npos) {
        Usage(arg);
      }
      const std::string name = arg.substr(2, equals - 2);
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        Usage(arg);
      }
      values_[name] = arg.substr(equals + 1);
    }
  }

  std::string String(const std::string& name, const std::string& def) const {
    const auto it = values_.find(name);
    return it == values_.end() ? def : it->second;
  }
  double Double(const std::string& name, double def) const {
    const auto it = values_.find(name);
    if (it == values_.end()) return def;
    char* end = nullptr;
    const double value = std::strtod(it->second.c_str(), &end);
    if (end == it->second.c_str() || *end != '\0') Usage(it->second);
    return value;
  }
  int Int(const std::string& name, int def) const {
    return static_cast<int>(Double(name, def));
  }

 private:
  [[noreturn]] static void Usage(const std::string& bad) {
    std::fprintf(stderr,
                 "fanout_floor: bad argument %s (see the top of "
                 "bench/floor/fanout_floor.cc)\n",
                 bad.c_str());
    std::exit(1);
  }

  std::map<std::string, std::string> values_;
};

// ---------------------------------------------------------------------------
// Server.

// A room and its members. Members are added by the accept thread and
// removed by the owning epoll thread, both under `mu`; the owning thread
// also holds `mu` while it fans a read's publishes out.
struct ServerConnection;
struct Room {
  std::mutex mu;
  std::vector<ServerConnection*> members;  // guarded by mu
};

// Owned by the epoll thread of its room once added to that thread's epoll
// set (before, by the accept thread).
struct ServerConnection {
  int fd = -1;
  Room* room = nullptr;
  bool closed = false;
  bool watching_writable = false;
  bool dirty = false;     // --coalesce: in the shard's dirty list
  std::string coalesced;  // --coalesce: records for this batch's send
  std::string unsent;     // bytes the kernel has not accepted yet
  size_t partial_size = 0;
  std::array<char, kRecordSize> partial{};  // an incomplete record
};

class ServerShard {
 public:
  explicit ServerShard(bool coalesce)
      : coalesce_(coalesce), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) Die("epoll_create1");
  }

  // Accept thread: hands `c` (already in its room) to this shard.
  void Add(ServerConnection* c) {
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = c;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &event) < 0) {
      Die("epoll_ctl(ADD)");
    }
  }

  void Run() {
    std::vector<char> buffer(kReadBufferSize);
    std::array<epoll_event, kMaxEvents> events{};
    std::vector<ServerConnection*> closing;
    for (;;) {
      const int n = epoll_wait(epoll_fd_, events.data(), kMaxEvents, -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        Die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<ServerConnection*>(events[i].data.ptr);
        if (c->closed) continue;
        if (events[i].events & EPOLLOUT) Flush(c);
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
          ReadAndFanOut(c, buffer.data(), &closing);
        }
      }
      for (ServerConnection* c : dirty_) {
        if (!c->closed) Send(c, c->coalesced.data(), c->coalesced.size());
        c->coalesced.clear();
        c->dirty = false;
      }
      dirty_.clear();
      // Freed only after the batch: a later event may name them.
      for (ServerConnection* c : closing) delete c;
      closing.clear();
    }
  }

 private:
  void ReadAndFanOut(ServerConnection* c, char* buffer,
                     std::vector<ServerConnection*>* closing) {
    std::memcpy(buffer, c->partial.data(), c->partial_size);
    const ssize_t got = recv(c->fd, buffer + c->partial_size,
                             kReadBufferSize - c->partial_size, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got <= 0) {
      Close(c, closing);
      return;
    }
    const size_t size = c->partial_size + static_cast<size_t>(got);
    const size_t whole = size - size % kRecordSize;
    if (whole > 0) {
      std::lock_guard<std::mutex> lock(c->room->mu);
      for (size_t at = 0; at < whole; at += kRecordSize) {
        for (ServerConnection* member : c->room->members) {
          if (!coalesce_) {
            Send(member, buffer + at, kRecordSize);
            continue;
          }
          member->coalesced.append(buffer + at, kRecordSize);
          if (!member->dirty) {
            member->dirty = true;
            dirty_.push_back(member);
          }
        }
      }
    }
    c->partial_size = size - whole;
    std::memcpy(c->partial.data(), buffer + whole, c->partial_size);
  }

  // One send() per recipient; whatever the kernel does not take waits for
  // EPOLLOUT (with 40-byte records and idle clients, it always takes all).
  void Send(ServerConnection* c, const char* data, size_t size) {
    if (!c->unsent.empty()) {
      c->unsent.append(data, size);
      return;
    }
    ssize_t sent = send(c->fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent == static_cast<ssize_t>(size)) return;
    if (sent < 0) {
      // A broken connection: its reader sees the error and closes it.
      if (errno != EAGAIN) return;
      sent = 0;
    }
    c->unsent.append(data + sent, size - static_cast<size_t>(sent));
    WatchWritable(c, true);
  }

  void Flush(ServerConnection* c) {
    if (c->unsent.empty()) return;
    const ssize_t sent =
        send(c->fd, c->unsent.data(), c->unsent.size(), MSG_NOSIGNAL);
    if (sent > 0) c->unsent.erase(0, static_cast<size_t>(sent));
    if (c->unsent.empty()) WatchWritable(c, false);
  }

  void WatchWritable(ServerConnection* c, bool on) {
    if (c->watching_writable == on) return;
    c->watching_writable = on;
    epoll_event event{};
    event.events = on ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    event.data.ptr = c;
    (void)epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &event);
  }

  static void Close(ServerConnection* c,
                    std::vector<ServerConnection*>* closing) {
    {
      std::lock_guard<std::mutex> lock(c->room->mu);
      auto& members = c->room->members;
      members.erase(std::find(members.begin(), members.end(), c));
    }
    close(c->fd);  // also removes it from the epoll set
    c->closed = true;
    closing->push_back(c);
  }

  const bool coalesce_;
  int epoll_fd_;
  std::vector<ServerConnection*> dirty_;  // --coalesce: to send this batch
};

int RunServer(const Flags& flags) {
  const int port = flags.Int("port", 0);
  const int thread_count = std::max(1, flags.Int("threads", 2));
  const bool coalesce = flags.Int("coalesce", 0) != 0;

  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) Die("socket");
  const int one = 1;
  (void)setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address = Loopback(port);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) <
          0 ||
      listen(listener, 4096) < 0) {
    Die("bind/listen");
  }
  socklen_t length = sizeof address;
  getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  std::fprintf(stderr, "fanout_floor: listening on 127.0.0.1:%d\n",
               ntohs(address.sin_port));

  std::vector<std::unique_ptr<ServerShard>> shards;
  std::vector<std::thread> threads;
  for (int i = 0; i < thread_count; ++i) {
    shards.push_back(std::make_unique<ServerShard>(coalesce));
    threads.emplace_back([shard = shards.back().get()] { shard->Run(); });
  }

  // Accept loop: each client sends a join record right after connecting.
  // Rooms are never freed (the process ends on a signal).
  std::vector<std::unique_ptr<Room>> rooms;
  for (;;) {
    const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      Die("accept4");
    }
    SetNoDelay(fd);
    Record join{};
    if (recv(fd, &join, sizeof join, MSG_WAITALL) !=
            static_cast<ssize_t>(sizeof join) ||
        join.kind != kJoin || join.room > 1'000'000) {
      close(fd);
      continue;
    }
    if (join.room >= rooms.size()) rooms.resize(join.room + 1);
    if (!rooms[join.room]) rooms[join.room] = std::make_unique<Room>();
    SetNonBlocking(fd);
    auto* c = new ServerConnection;
    c->fd = fd;
    c->room = rooms[join.room].get();
    {
      std::lock_guard<std::mutex> lock(c->room->mu);
      c->room->members.push_back(c);
    }
    shards[join.room % shards.size()]->Add(c);
  }
}

// ---------------------------------------------------------------------------
// Client.

// Latencies in log-linear buckets: 32 per power of two of nanoseconds
// (about 3% wide); exact below 64 ns.
class LatencyHistogram {
 public:
  void Record(int64_t nanos) {
    const auto v = static_cast<uint64_t>(std::max<int64_t>(nanos, 0));
    ++counts_[Bucket(v)];
    ++total_;
    max_ = std::max(max_, v);
  }
  void Merge(const LatencyHistogram& other) {
    for (int i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }
  // The upper bound of the bucket holding quantile q, in microseconds.
  double QuantileMicros(double q) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(
        std::max(1.0, std::ceil(q * static_cast<double>(total_))));
    uint64_t seen = 0;
    for (int i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return UpperBound(i) / 1e3;
    }
    return UpperBound(kBuckets - 1) / 1e3;
  }
  double MaxMicros() const { return static_cast<double>(max_) / 1e3; }

 private:
  static constexpr int kSubBits = 5;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  static int Bucket(uint64_t v) {
    if (v < uint64_t{2} * kSub) return static_cast<int>(v);
    const int shift = 63 - __builtin_clzll(v) - kSubBits;
    return (shift + 1) * kSub + static_cast<int>((v >> shift) - kSub);
  }
  static double UpperBound(int bucket) {
    if (bucket < 2 * kSub) return bucket + 1;
    const int shift = bucket / kSub - 1;
    return std::ldexp(bucket % kSub + kSub + 1, shift);
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

// Fixed before the client threads start.
struct Plan {
  int connections = 0;
  int64_t period_ns = 0;  // between two publishes of one socket
  int64_t start_ns = 0;   // socket i publishes at start + i*period/N + k*period
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
  int64_t stop_ns = 0;
};

struct ClientConnection {
  int fd = -1;
  int index = 0;
  int room = 0;
  uint64_t sequence = 0;
  size_t partial_size = 0;
  std::array<char, kRecordSize> partial{};
};

// One client thread: publishes for its sockets on schedule and reads the
// deliveries of all of them. Everything here is its own until joined.
class ClientShard {
 public:
  explicit ClientShard(const Plan* plan)
      : plan_(plan), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_fd_ < 0) Die("epoll_create1");
  }

  void Add(ClientConnection* c) {
    owned_.push_back(c);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.ptr = c;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c->fd, &event) < 0) {
      Die("epoll_ctl(ADD)");
    }
  }

  void Run() {
    std::vector<char> buffer(kReadBufferSize);
    std::array<epoll_event, kMaxEvents> events{};
    uint64_t turn = 0;  // publishes done: socket owned_[turn % owned_.size()]
    int64_t due = Due(turn);
    for (;;) {
      int64_t now = NowNanos();
      if (now >= plan_->stop_ns || failed_) break;
      while (due <= now) {
        Publish(owned_[turn % owned_.size()], now, due);
        due = Due(++turn);
      }
      const int64_t wake = std::min(due, plan_->stop_ns);
      const int64_t wait = std::max<int64_t>(wake - now, 0);
      const timespec timeout{.tv_sec = wait / 1'000'000'000,
                             .tv_nsec = wait % 1'000'000'000};
      const int n =
          epoll_pwait2(epoll_fd_, events.data(), kMaxEvents, &timeout, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        Die("epoll_pwait2");
      }
      for (int i = 0; i < n; ++i) {
        Receive(static_cast<ClientConnection*>(events[i].data.ptr),
                buffer.data());
      }
    }
  }

  const LatencyHistogram& latency() const { return latency_; }
  uint64_t delivered() const { return delivered_; }
  uint64_t published() const { return published_; }
  uint64_t late() const { return late_; }
  bool failed() const { return failed_; }

 private:
  int64_t Due(uint64_t turn) const {
    const uint64_t size = owned_.size();
    const ClientConnection* c = owned_[turn % size];
    return plan_->start_ns +
           static_cast<int64_t>(turn / size) * plan_->period_ns +
           plan_->period_ns * c->index / plan_->connections;
  }

  void Publish(ClientConnection* c, int64_t now, int64_t due) {
    Record r{};
    r.send_ns = static_cast<uint64_t>(now);
    r.kind = kPublish;
    r.room = static_cast<uint32_t>(c->room);
    r.sender = static_cast<uint32_t>(c->index);
    r.sequence = c->sequence++;
    const ssize_t sent = send(c->fd, &r, sizeof r, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent != static_cast<ssize_t>(sizeof r)) {
      std::fprintf(stderr, "fanout_floor: publish on socket %d: %s\n", c->index,
                   sent < 0 ? std::strerror(errno) : "short write");
      failed_ = true;
      return;
    }
    if (now >= plan_->window_start_ns && now < plan_->window_end_ns) {
      ++published_;
      // More than a millisecond behind schedule: the client cannot keep up.
      if (now - due > 1'000'000) ++late_;
    }
  }

  void Receive(ClientConnection* c, char* buffer) {
    std::memcpy(buffer, c->partial.data(), c->partial_size);
    const ssize_t got = recv(c->fd, buffer + c->partial_size,
                             kReadBufferSize - c->partial_size, 0);
    if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (got <= 0) {
      std::fprintf(stderr, "fanout_floor: socket %d: %s\n", c->index,
                   got == 0 ? "closed by the server" : std::strerror(errno));
      failed_ = true;
      return;
    }
    const int64_t now = NowNanos();
    const size_t size = c->partial_size + static_cast<size_t>(got);
    const size_t whole = size - size % kRecordSize;
    if (now >= plan_->window_start_ns && now < plan_->window_end_ns) {
      for (size_t at = 0; at < whole; at += kRecordSize) {
        Record r;
        std::memcpy(&r, buffer + at, sizeof r);
        latency_.Record(now - static_cast<int64_t>(r.send_ns));
      }
      delivered_ += whole / kRecordSize;
    }
    c->partial_size = size - whole;
    std::memcpy(c->partial.data(), buffer + whole, c->partial_size);
  }

  const Plan* plan_;
  int epoll_fd_;
  std::vector<ClientConnection*> owned_;  // ascending index
  LatencyHistogram latency_;
  uint64_t delivered_ = 0;  // in the window
  uint64_t published_ = 0;  // in the window
  uint64_t late_ = 0;       // in the window
  bool failed_ = false;
};

// utime + stime of a process in seconds; -1 if unreadable. Fields are
// counted after the last ')' (the command name may hold spaces).
double ProcessCpuSeconds(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!file || !std::getline(file, line)) return -1;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(line.substr(paren + 1));
  std::string field;
  uint64_t ticks = 0;
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14 || index == 15) ticks += std::stoull(field);
  }
  return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

void SleepUntil(int64_t deadline_ns) {
  const timespec at{.tv_sec = deadline_ns / 1'000'000'000,
                    .tv_nsec = deadline_ns % 1'000'000'000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr) ==
         EINTR) {
  }
}

int RunClient(const Flags& flags) {
  const int port = flags.Int("port", 0);
  const int server_pid = flags.Int("server_pid", 0);
  const int connections = std::max(1, flags.Int("connections", 1000));
  const int rooms = std::max(1, flags.Int("rooms", 10));
  const double rate = flags.Double("rate", 2);
  const int thread_count = std::max(1, flags.Int("threads", 2));
  const double warmup = flags.Double("warmup", 2);
  const double duration = flags.Double("duration", 10);
  if (port <= 0 || rate <= 0 || duration <= 0 || thread_count > connections) {
    std::fprintf(stderr,
                 "fanout_floor: need --port, --rate > 0, --duration > 0 and "
                 "--threads <= --connections\n");
    return 1;
  }

  // 1. Connect and join, one socket at a time.
  std::vector<ClientConnection> conns(static_cast<size_t>(connections));
  for (int i = 0; i < connections; ++i) {
    ClientConnection& c = conns[static_cast<size_t>(i)];
    c.index = i;
    c.room = i % rooms;
    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0) Die("socket");
    const sockaddr_in address = Loopback(port);
    if (connect(c.fd, reinterpret_cast<const sockaddr*>(&address),
                sizeof address) < 0) {
      Die("connect");
    }
    SetNoDelay(c.fd);
    Record join{};
    join.kind = kJoin;
    join.room = static_cast<uint32_t>(c.room);
    join.sender = static_cast<uint32_t>(i);
    if (send(c.fd, &join, sizeof join, MSG_NOSIGNAL) !=
        static_cast<ssize_t>(sizeof join)) {
      Die("send(join)");
    }
    SetNonBlocking(c.fd);
  }
  std::fprintf(stderr, "fanout_floor: %d connections in %d rooms\n",
               connections, rooms);
  // Let the server's accept thread register the last joins.
  SleepUntil(NowNanos() + 200'000'000);

  // 2. Run: publish from `start`, measure [window_start, window_end).
  Plan plan;
  plan.connections = connections;
  plan.period_ns = static_cast<int64_t>(1e9 / rate);
  plan.start_ns = NowNanos() + 10'000'000;
  plan.window_start_ns = plan.start_ns + static_cast<int64_t>(warmup * 1e9);
  plan.window_end_ns =
      plan.window_start_ns + static_cast<int64_t>(duration * 1e9);
  plan.stop_ns = plan.window_end_ns + 100'000'000;
  std::vector<std::unique_ptr<ClientShard>> shards;
  shards.reserve(static_cast<size_t>(thread_count));
  for (int i = 0; i < thread_count; ++i) {
    shards.push_back(std::make_unique<ClientShard>(&plan));
  }
  for (ClientConnection& c : conns) {
    shards[static_cast<size_t>(c.index % thread_count)]->Add(&c);
  }
  std::vector<std::thread> threads;
  threads.reserve(shards.size());
  for (auto& shard : shards) {
    threads.emplace_back([s = shard.get()] { s->Run(); });
  }

  SleepUntil(plan.window_start_ns);
  const double client_cpu_start = ProcessCpuSeconds(getpid());
  const double server_cpu_start =
      server_pid > 0 ? ProcessCpuSeconds(server_pid) : -1;
  SleepUntil(plan.window_end_ns);
  const double client_cpu = ProcessCpuSeconds(getpid()) - client_cpu_start;
  const double server_cpu =
      server_pid > 0 ? ProcessCpuSeconds(server_pid) - server_cpu_start : -1;
  for (std::thread& t : threads) t.join();

  // 3. Report.
  LatencyHistogram latency;
  uint64_t delivered = 0;
  uint64_t published = 0;
  uint64_t late = 0;
  bool failed = false;
  for (const auto& s : shards) {
    latency.Merge(s->latency());
    delivered += s->delivered();
    published += s->published();
    late += s->late();
    failed = failed || s->failed();
  }
  for (ClientConnection& c : conns) close(c.fd);
  const double expected =
      rate * connections * (static_cast<double>(connections) / rooms);
  std::printf(
      "connections=%d rooms=%d rate=%g threads=%d seconds=%g "
      "published_per_s=%.0f deliveries_per_s=%.0f expected_per_s=%.0f "
      "p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f late_publishes=%llu "
      "client_cpu_s=%.2f server_cpu_s=%.2f client_cores=%.3f "
      "server_cores=%.3f total_cores=%.3f\n",
      connections, rooms, rate, thread_count, duration,
      static_cast<double>(published) / duration,
      static_cast<double>(delivered) / duration, expected,
      latency.QuantileMicros(0.5), latency.QuantileMicros(0.99),
      latency.QuantileMicros(0.999), latency.MaxMicros(),
      static_cast<unsigned long long>(late), client_cpu, server_cpu,
      client_cpu / duration, server_cpu / duration,
      (client_cpu + std::max(server_cpu, 0.0)) / duration);
  std::fflush(stdout);
  return failed ? 2 : 0;
}

}  // namespace
}  // namespace fanout_floor

int main(int argc, char** argv) {
  const fanout_floor::Flags flags(
      argc, argv,
      {"mode", "port", "threads", "coalesce", "server_pid", "connections",
       "rooms", "rate", "warmup", "duration"});
  const std::string mode = flags.String("mode", "");
  if (mode == "server") return fanout_floor::RunServer(flags);
  if (mode == "client") return fanout_floor::RunClient(flags);
  std::fprintf(stderr,
               "fanout_floor: --mode=server or --mode=client (see the top of "
               "bench/floor/fanout_floor.cc)\n");
  return 1;
}
