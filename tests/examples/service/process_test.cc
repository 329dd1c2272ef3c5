// The flag helpers the example services share (examples/service/process.h):
// --worker_threads and --listen values, good and bad.

#include "examples/service/process.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace troupe::service {
namespace {

using ::testing::HasSubstr;

TEST(WorkerThreadsFromFlag, ZeroMeansOnePerUsableCpu) {
  absl::StatusOr<int> workers = WorkerThreadsFromFlag(0);
  ASSERT_TRUE(workers.ok()) << workers.status();
  EXPECT_EQ(*workers, UsableCpus());
  EXPECT_GE(*workers, 1);
}

TEST(WorkerThreadsFromFlag, APositiveCountIsTakenAsIsUpToTheLimit) {
  EXPECT_EQ(WorkerThreadsFromFlag(3).value_or(-1), 3);
  EXPECT_EQ(WorkerThreadsFromFlag(kMaxWorkerThreads).value_or(-1),
            kMaxWorkerThreads);
}

TEST(WorkerThreadsFromFlag, NegativeOrTooManyIsRefusedNamingTheFlagAndRange) {
  for (int bad : {-1, kMaxWorkerThreads + 1}) {
    absl::StatusOr<int> workers = WorkerThreadsFromFlag(bad);
    ASSERT_FALSE(workers.ok()) << bad;
    EXPECT_EQ(workers.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(workers.status().message()),
                HasSubstr("--worker_threads=" + std::to_string(bad)));
    EXPECT_THAT(std::string(workers.status().message()),
                HasSubstr("must be 0 (one per CPU) to 1024"));
  }
}

TEST(ResolveListenFlag, ANumericAddressResolvesToItself) {
  absl::StatusOr<net::SocketAddress> address =
      ResolveListenFlag("127.0.0.1:9001");
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(address->ToString(), "127.0.0.1:9001");
}

TEST(ResolveListenFlag, AValueWithoutAPortIsRefusedNamingIt) {
  absl::StatusOr<net::SocketAddress> address = ResolveListenFlag("nonsense");
  ASSERT_FALSE(address.ok());
  EXPECT_THAT(std::string(address.status().message()),
              HasSubstr("--listen=nonsense"));
}

}  // namespace
}  // namespace troupe::service
