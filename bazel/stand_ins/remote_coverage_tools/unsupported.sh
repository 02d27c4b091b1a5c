#!/bin/sh
echo "remote_coverage_tools stand-in: bazel coverage is not available offline" >&2
exit 1
