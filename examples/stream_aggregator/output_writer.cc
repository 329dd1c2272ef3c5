#include "examples/stream_aggregator/output_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace troupe::aggregator {
namespace {

// A file descriptor, written with write(2) until every byte is out.
class FdWriter final : public OutputWriter {
 public:
  FdWriter(int fd, std::string name, bool owned)
      : fd_(fd), name_(std::move(name)), owned_(owned) {}
  ~FdWriter() override {
    if (owned_ && fd_ >= 0) ::close(fd_);
  }

  absl::Status Write(std::string_view bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error("cannot write to");
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  absl::Status Close() override {
    if (!owned_ || fd_ < 0) return absl::OkStatus();
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) return Error("cannot close");
    return absl::OkStatus();
  }

  bool may_block() const override { return true; }

 private:
  absl::Status Error(const char* what) const {
    return absl::UnavailableError(
        absl::StrCat(what, " '", name_, "': ", std::strerror(errno)));
  }

  int fd_;
  const std::string name_;
  const bool owned_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<OutputWriter>> OpenOutput(
    const std::string& path) {
  if (path == "-") {
    return std::make_shared<FdWriter>(STDOUT_FILENO, "standard output",
                                      /*owned=*/false);
  }
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot open '", path, "' for writing: ", std::strerror(errno)));
  }
  return std::make_shared<FdWriter>(fd, path, /*owned=*/true);
}

absl::Status MemoryWriter::Write(std::string_view bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  text_.append(bytes);
  ++writes_;
  return absl::OkStatus();
}

std::string MemoryWriter::text() const {
  std::lock_guard<std::mutex> lock(mu_);
  return text_;
}

std::vector<std::string> MemoryWriter::lines() const {
  const std::string all = text();
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin < all.size()) {
    size_t end = all.find('\n', begin);
    if (end == std::string::npos) end = all.size();
    out.emplace_back(all, begin, end - begin);
    begin = end + 1;
  }
  return out;
}

uint64_t MemoryWriter::writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return writes_;
}

}  // namespace troupe::aggregator
