// ErrnoStatus: a failed system call as an absl::Status - the code that
// absl::ErrnoToStatusCode maps `err` to, and the message "<what>: <the
// system's text for err>".
//
// The same as absl::ErrnoToStatus, but with the text from strerror_r:
// Abseil's builds its table of texts once, lazily, in a library that
// Debian does not build for ThreadSanitizer, so two threads failing a
// call at the same time are reported as a data race under --config=tsan.
//
// Example:
//   if (fd < 0) return ErrnoStatus(errno, "socket");
#ifndef TROUPE_EXECUTOR_ERRNO_STATUS_H_
#define TROUPE_EXECUTOR_ERRNO_STATUS_H_

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace troupe::internal {

inline absl::Status ErrnoStatus(int err, absl::string_view what) {
  char buffer[128];
  // The GNU strerror_r: returns the text (in `buffer` or a static string).
  const char* text = strerror_r(err, buffer, sizeof(buffer));
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(what, ": ", text));
}

}  // namespace troupe::internal

#endif  // TROUPE_EXECUTOR_ERRNO_STATUS_H_
