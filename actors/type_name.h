// TypeName<T>(): a readable, static name for a type ("Increment",
// "troupe::Terminated"), for diagnostics and metrics. Computed at compile
// time from the compiler's function signature; no RTTI, no allocation.
#ifndef TROUPE_ACTORS_TYPE_NAME_H_
#define TROUPE_ACTORS_TYPE_NAME_H_

#include <array>
#include <cstddef>
#include <string_view>

namespace troupe {
namespace internal {

template <typename T>
constexpr std::string_view RawTypeName() {
  // g++: "constexpr std::string_view troupe::internal::RawTypeName() [with
  //       T = Foo; std::string_view = std::basic_string_view<char>]"
  std::string_view s = __PRETTY_FUNCTION__;
  const std::size_t start = s.find("T = ") + 4;
  std::size_t end = s.find(';', start);
  if (end == std::string_view::npos) end = s.find(']', start);
  return s.substr(start, end - start);
}

template <typename T>
struct TypeNameHolder {
  static constexpr std::string_view kView = RawTypeName<T>();
  static constexpr auto kStorage = [] {
    std::array<char, kView.size() + 1> a{};
    for (std::size_t i = 0; i < kView.size(); ++i) a[i] = kView[i];
    return a;
  }();
};

}  // namespace internal

template <typename T>
constexpr const char* TypeName() {
  return internal::TypeNameHolder<T>::kStorage.data();
}

}  // namespace troupe

#endif  // TROUPE_ACTORS_TYPE_NAME_H_
