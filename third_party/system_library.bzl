"""system_library: a cc_library over a library installed by Debian."""

def system_library(name, libs, deps = [], linkopts = []):
    """Links the system libraries `libs` (without the "lib" prefix).

    Args:
      name: target name.
      libs: library names as passed to -l, in link order.
      deps: other system_library targets these libraries need.
      linkopts: extra link options.
    """
    native.cc_library(
        name = name,
        linkopts = ["-l" + lib for lib in libs] + linkopts,
        deps = deps,
    )
