"""All external repositories of troupe, offline.

Nothing here downloads. Bazel's built-in WORKSPACE suffix asks for rules_cc,
rules_java and remote_coverage_tools; each is satisfied by a small local stub
under third_party/. The C++ libraries (Abseil, protobuf, GoogleTest, Google
Benchmark, OpenSSL, zlib) come from Debian packages installed by tools/setup
and are wrapped in //third_party:BUILD.bazel; protobuf's compiler and
well-known types come from /usr through @com_google_protobuf.
"""

def troupe_repositories():
    native.local_repository(
        name = "rules_cc",
        path = "third_party/rules_cc",
    )
    native.local_repository(
        name = "rules_java",
        path = "third_party/rules_java",
    )
    native.local_repository(
        name = "remote_coverage_tools",
        path = "third_party/remote_coverage_tools",
    )
    native.new_local_repository(
        name = "com_google_protobuf",
        path = "/usr",
        build_file = "//third_party:protobuf.BUILD",
    )
