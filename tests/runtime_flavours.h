// The two runtime flavours as gtest type parameters, so one scenario runs
// on the multi-thread (2 workers) and the current-thread runtime.
//
// Example:
//   template <typename F> class FooTest : public ::testing::Test {
//    protected: Runtime runtime_{F::Options()};
//   };
//   TYPED_TEST_SUITE(FooTest, test::RuntimeFlavours);
#ifndef TROUPE_TESTS_RUNTIME_FLAVOURS_H_
#define TROUPE_TESTS_RUNTIME_FLAVOURS_H_

#include "executor/runtime.h"
#include "gtest/gtest.h"

namespace troupe::test {

struct MultiThread {
  static RuntimeOptions Options() {
    return {.flavor = Flavor::kMultiThread, .worker_threads = 2};
  }
};
struct CurrentThread {
  static RuntimeOptions Options() { return {.flavor = Flavor::kCurrentThread}; }
};
using RuntimeFlavours = ::testing::Types<MultiThread, CurrentThread>;

}  // namespace troupe::test

#endif  // TROUPE_TESTS_RUNTIME_FLAVOURS_H_
