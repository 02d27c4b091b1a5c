"""The external repositories this project's targets use, declared by one macro.

In a consumer's WORKSPACE (README, "Depending on one target from another
repository"; examples/consumer is the tested copy):

    local_repository(
        name = "concurrent",
        path = "/path/to/concurrent",
    )

    load("@concurrent//bazel:deps.bzl", "concurrent_dependencies")

    concurrent_dependencies()

This repository's own WORKSPACE calls the same macro with `dev = True`, so what
a consumer gets cannot drift from what our tests build with.

Every repository is declared only if the workspace has not declared one of that
name already (`maybe`): a consumer who declares upstream Abseil, or its own
@rules_cc, before the call keeps it.

Adding a dependency is one entry in `SYSTEM_LIBRARIES` below (plus its Debian
package in ./bazelw's list, the one place that installs packages):

    "upstream_repository_name": struct(
        packages = "libfoo-dev",       # named in the error when pkg-config fails
        targets = {"foo:bar": ["foo"]},  # see //bazel:system_library.bzl
        dev = False,                   # True: only tests/benchmarks/tour use it
    ),
"""

load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load("//bazel:system_library.bzl", "system_library")

def _ours(label):
    """`label`, a target of this repository, spelled to resolve from anywhere.

    Label() in a .bzl file resolves against the repository the file was loaded
    from: `@concurrent` in a consumer, the main repository (`@`) in ours or in a
    workspace that vendored bazel/. Spelled with its repository name, the label
    also resolves from inside the generated repositories (a bare `//...` there
    would mean @com_google_absl itself).
    """
    resolved = Label(label)
    return "@%s//%s:%s" % (resolved.workspace_name, resolved.package, resolved.name)

# Debian-packaged libraries, each under its upstream repository name with
# upstream's package paths and target names, so a workspace that has the
# upstream repositories can use them instead without touching a BUILD file.
SYSTEM_LIBRARIES = {
    # Abseil (futures/, executors/, gil/).
    "com_google_absl": struct(
        packages = "libabsl-dev",
        targets = {
            "absl/base": ["absl_base"],
            "absl/base:core_headers": ["absl_core_headers"],
            "absl/cleanup": ["absl_cleanup"],
            "absl/container:fixed_array": ["absl_fixed_array"],
            "absl/container:flat_hash_map": ["absl_flat_hash_map"],
            "absl/container:flat_hash_set": ["absl_flat_hash_set"],
            "absl/container:inlined_vector": ["absl_inlined_vector"],
            # ipc/task_registry names unregistered functions from the
            # symbol table.
            "absl/debugging:symbolize": ["absl_symbolize"],
            "absl/functional:any_invocable": ["absl_any_invocable"],
            "absl/functional:bind_front": ["absl_bind_front"],
            "absl/functional:function_ref": ["absl_function_ref"],
            "absl/random": ["absl_random_random"],
            "absl/status": ["absl_status"],
            "absl/status:statusor": ["absl_statusor"],
            "absl/strings": ["absl_strings"],
            "absl/strings:str_format": ["absl_str_format"],
            # Debian's prebuilt libabsl_synchronization is not built with
            # ThreadSanitizer: the shim tells TSan what absl::Mutex, CondVar and
            # Notification do (it compiles to nothing outside --config=tsan).
            "absl/synchronization": [
                "absl_synchronization",
                _ours("//third_party/absl:tsan_shim"),
            ],
            "absl/time": ["absl_time"],
            "absl/types:optional": ["absl_optional"],
            "absl/types:span": ["absl_span"],
        },
        dev = False,
    ),
    # Boost: Interprocess for ipc/; Asio, Thread and Serialization are
    # benchmark peers.
    "boost": struct(
        packages = "libboost-dev libboost-thread-dev libboost-serialization-dev",
        targets = {
            ":interprocess": [
                "-lrt",
                "-lpthread",
            ],
            ":asio": ["-lpthread"],
            ":thread": [
                "-lboost_thread",
                "-lpthread",
            ],
            ":serialization": ["-lboost_serialization"],
        },
        dev = False,
    ),
    # GoogleTest and GoogleMock: tests.
    "com_google_googletest": struct(
        packages = "libgtest-dev libgmock-dev",
        targets = {
            ":gtest": ["gtest"],
            ":gtest_main": ["gtest_main"],
            ":gmock": ["gmock"],
            ":gmock_main": ["gmock_main"],
        },
        dev = True,
    ),
    # Google Benchmark: benchmarks (no .pc file for benchmark_main).
    "com_github_google_benchmark": struct(
        packages = "libbenchmark-dev",
        targets = {
            ":benchmark": [
                "benchmark",
                "-lpthread",
            ],
            ":benchmark_main": [
                "-lbenchmark_main",
                "benchmark",
                "-lpthread",
            ],
        },
        dev = True,
    ),
    # nlohmann/json: the tour's JSON file, and reading CPython's figures
    # (benchmarks/tour). Header-only.
    "nlohmann_json": struct(
        packages = "nlohmann-json3-dev",
        targets = {
            ":json": ["nlohmann_json"],
        },
        dev = True,
    ),
    # oneTBB: a benchmark peer.
    "onetbb": struct(
        packages = "libtbb-dev",
        targets = {
            ":tbb": ["tbb"],
        },
        dev = True,
    ),
    # cereal (header-only): a peer of the ipc/ codec's benchmark.
    "com_github_uscilab_cereal": struct(
        packages = "libcereal-dev",
        targets = {
            ":cereal": [],
        },
        dev = True,
    ),
    # msgpack-cxx (header-only): a peer of the ipc/ codec's benchmark.
    "com_github_msgpack_msgpack_c": struct(
        packages = "libmsgpack-cxx-dev",
        targets = {
            ":msgpack": [],
        },
        dev = True,
    ),
}

# Repositories that Bazel 4.2.3's own @bazel_tools loads and would otherwise
# download: local stand-ins in bazel/stand_ins/<name>/ (each folder says what
# it forwards to). The build never downloads anything.
STAND_INS = [
    "rules_cc",
    "rules_java",
    "remote_coverage_tools",
]

def _stand_in_impl(rctx):
    # The folder is found from this file's own label, so it is right wherever
    # this repository sits: a local_repository, an archive, or vendored.
    folder = rctx.path(rctx.attr._anchor).dirname.get_child("stand_ins").get_child(rctx.name)
    if not folder.exists:
        fail("stand-in %s: %s does not exist" % (rctx.name, folder))
    for entry in folder.readdir():
        rctx.symlink(entry, entry.basename)

_stand_in = repository_rule(
    implementation = _stand_in_impl,
    attrs = {
        "_anchor": attr.label(default = Label("//bazel:deps.bzl")),
    },
    doc = "A repository whose contents are bazel/stand_ins/<name>/ of this repository.",
)

def concurrent_dependencies(dev = False):
    """Declares the repositories this project's targets need, unless already declared.

    Args:
      dev: also declare those that only tests and benchmarks use (GoogleTest,
        Google Benchmark, oneTBB, cereal, msgpack-cxx, nlohmann/json). This
        repository's own WORKSPACE sets it; a consumer does not need it.
    """
    for name in STAND_INS:
        maybe(_stand_in, name = name)
    for name, library in SYSTEM_LIBRARIES.items():
        if dev or not library.dev:
            maybe(
                system_library,
                name = name,
                packages = library.packages,
                targets = library.targets,
            )
