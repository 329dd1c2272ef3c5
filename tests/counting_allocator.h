// Counting global allocation functions, for the tests that require steady
// states to allocate nothing. Linking //tests:counting_allocator replaces
// every replaceable global operator new and delete of the test binary:
// each allocation, on any thread, is counted and served by malloc (or
// posix_memalign); each deallocation frees. The sanitizers replace these
// functions themselves: tag such tests no_asan and no_tsan.
//
// Example:
//   const uint64_t before = test::Allocations();
//   RunTheSteadyState();
//   EXPECT_EQ(test::Allocations() - before, 0u);
//   test::TraceAllocations(true);  // what allocates? backtraces on stderr
#ifndef TROUPE_TESTS_COUNTING_ALLOCATOR_H_
#define TROUPE_TESTS_COUNTING_ALLOCATOR_H_

#include <cstdint>

namespace troupe::test {

// Allocations so far, all threads.
uint64_t Allocations();

// While on, the next three allocations each print a backtrace to stderr
// (backtrace_symbols_fd, which does not allocate).
void TraceAllocations(bool on);

}  // namespace troupe::test

#endif  // TROUPE_TESTS_COUNTING_ALLOCATOR_H_
