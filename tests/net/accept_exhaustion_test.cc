// Running out of file descriptors while connections arrive: Accept neither
// fails nor spins; it backs off, says so once, and accepts the waiting
// connection as soon as descriptors are free again. (Its own binary: it
// lowers the process's RLIMIT_NOFILE for a moment.)

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "executor/join_handle.h"
#include "executor/runtime.h"
#include "executor/sleep.h"
#include "gtest/gtest.h"
#include "net/tcp_listener.h"
#include "net/tcp_stream.h"
#include "tests/net/tcp_test_util.h"
#include "tests/runtime_flavours.h"

namespace troupe::net {
namespace {

// While alive, the process cannot open another descriptor: the soft
// RLIMIT_NOFILE is lowered to a little above the highest open descriptor
// and the gap is filled with duplicates.
class DescriptorsExhausted {
 public:
  DescriptorsExhausted() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(HighestOpenFd()) + 16;
    setrlimit(RLIMIT_NOFILE, &lowered);
    const int base = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (base >= 0) filler_.push_back(base);
    for (;;) {
      const int fd = base >= 0 ? dup(base) : -1;
      if (fd < 0) {
        full_ = errno == EMFILE;
        break;
      }
      filler_.push_back(fd);
    }
  }
  bool full() const { return full_; }
  ~DescriptorsExhausted() {
    for (int fd : filler_) close(fd);
    setrlimit(RLIMIT_NOFILE, &saved_);
  }
  DescriptorsExhausted(const DescriptorsExhausted&) = delete;
  DescriptorsExhausted& operator=(const DescriptorsExhausted&) = delete;

 private:
  static int HighestOpenFd() {
    int highest = 2;
    if (DIR* dir = opendir("/proc/self/fd")) {
      while (dirent* entry = readdir(dir)) {
        highest = std::max(highest, std::atoi(entry->d_name));
      }
      closedir(dir);
    }
    return highest;
  }

  rlimit saved_{};
  std::vector<int> filler_;
  bool full_ = false;
};

template <typename F>
class AcceptExhaustionTest : public ::testing::Test {
 protected:
  Runtime runtime_{F::Options()};
};
TYPED_TEST_SUITE(AcceptExhaustionTest, test::RuntimeFlavours);

Task<absl::StatusOr<TcpStream>> AcceptOnce(TcpListener* listener) {
  co_return co_await listener->Accept();
}

// Accepts one connection from a raw client and reads "ping" through it.
// With `exhaust`, the descriptor table is full from before the client
// connects until well after: Accept must wait it out.
Task<std::string> PingThroughAccept(TcpListener* listener, bool exhaust) {
  const SocketAddress address = listener->LocalAddress();
  // The client's descriptor exists before the table fills up; connecting
  // needs no new one, and loopback completes the handshake at once.
  const int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0) co_return "no client socket";
  JoinHandle<absl::StatusOr<TcpStream>> acceptor = Spawn(AcceptOnce(listener));
  bool finished_while_full = false;
  {
    std::optional<DescriptorsExhausted> full;
    if (exhaust && !full.emplace().full()) {
      full.reset();
      close(client);
      co_return "could not exhaust the descriptor table";
    }
    if (connect(client, address.sockaddr_ptr(), address.sockaddr_len()) != 0) {
      full.reset();
      close(client);
      co_return "connect failed";
    }
    // Long enough for several EMFILE retries with back-off.
    co_await SleepFor(std::chrono::milliseconds(exhaust ? 150 : 1));
    finished_while_full = exhaust && acceptor.IsFinished();
  }
  absl::StatusOr<TcpStream> accepted = co_await acceptor;
  if (!accepted.ok()) {
    close(client);
    co_return accepted.status().ToString();
  }
  (void)!send(client, "ping", 4, MSG_NOSIGNAL);
  absl::StatusOr<std::string> got = co_await test::ReadExactly(&*accepted, 4);
  close(client);
  if (finished_while_full) co_return "accepted while no descriptor was free";
  co_return got.ok() ? *got : got.status().ToString();
}

Task<std::string> AcceptWhileExhausted() {
  absl::StatusOr<TcpListener> listener = TcpListener::Bind("127.0.0.1:0");
  if (!listener.ok()) co_return listener.status().ToString();
  // A normal round first. Besides showing the listener at work, it lets
  // UBSan (the asan config) see every polymorphic type on this path once:
  // its vptr check probes memory through a pipe, which cannot be created
  // while the table is full, and would report false errors.
  const std::string normal = co_await PingThroughAccept(&*listener, false);
  if (normal != "ping") co_return "before exhaustion: " + normal;
  co_return co_await PingThroughAccept(&*listener, true);
}

TYPED_TEST(AcceptExhaustionTest,
           AcceptBacksOffWithoutDescriptorsAndAcceptsOnceTheyAreBack) {
  testing::internal::CaptureStderr();
  const std::string result = this->runtime_.BlockOn(AcceptWhileExhausted());
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(result, "ping");
  // Reported, and only once however many retries there were.
  const std::string note = "reported once per listener";
  const std::size_t first = log.find(note);
  EXPECT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find(note, first + 1), std::string::npos) << log;
  EXPECT_NE(log.find("Too many open files"), std::string::npos) << log;
}

}  // namespace
}  // namespace troupe::net
