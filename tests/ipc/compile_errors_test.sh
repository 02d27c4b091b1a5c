#!/usr/bin/env bash
# What cannot cross a process boundary is a compile-time error with a message
# that says what to do: each snippet below must fail to compile, and the
# compiler's output must contain the expected text.
set -uo pipefail

cxx=${CXX:-g++}
failures=0
passed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

preamble() {
  echo '#include <functional>'
  echo '#include "ipc/codec.h"'
  echo '#include "ipc/task_registry.h"'
  echo 'int add(int a, int b) { return a + b; }'
  echo 'CONCURRENT_REGISTER_TASK(add);'
  echo 'struct W { int m(int x) { return x; } };'
  echo 'concurrent::Buffer b;'
}

names=()
declare -A expected

# expect_error NAME EXPECTED_TEXT <<< SNIPPET: NAME must not compile, and the
# compiler must say EXPECTED_TEXT. (Compiled later, in parallel.)
expect_error() {
  names+=("$1")
  expected[$1]=$2
  {
    preamble
    cat
  } >"$tmp/$1.cc"
}

# The control: the preamble and a valid call compile.
{
  preamble
  echo 'void f() { concurrent::encode_call(b, &add, 1, 2); }'
} >"$tmp/control.cc"

fn_object="a lambda, std::function or other function object cannot cross a process boundary"

expect_error captureless_lambda "$fn_object" <<'CC'
void f() { concurrent::encode_call(b, [](int x) { return x; }, 1); }
CC
expect_error capturing_lambda "$fn_object" <<'CC'
void f(int k) { concurrent::encode_call(b, [k](int x) { return x + k; }, 1); }
CC
expect_error std_function "$fn_object" <<'CC'
void f() { concurrent::encode_call(b, std::function<int(int)>(), 1); }
CC
expect_error member_function "a member function cannot cross a process boundary" <<'CC'
void f() { concurrent::encode_call(b, &W::m, 1); }
CC
expect_error mutable_reference "not non-const references" <<'CC'
int g(int& x) { return x; }
void f() { int x = 0; concurrent::encode_call(b, &g, x); }
CC
expect_error pointer_parameter "a task's parameters and result must be codable" <<'CC'
int g(const char* s) { return s != nullptr; }
void f() { concurrent::encode_call(b, &g, "x"); }
CC
expect_error wrong_arity "the number of arguments differs" <<'CC'
void f() { concurrent::encode_call(b, &add, 1); }
CC
expect_error wrong_argument_type "an argument does not convert" <<'CC'
void f() { concurrent::encode_call(b, &add, 1, "two"); }
CC
expect_error register_lambda "CONCURRENT_REGISTER_TASK: not a free function" <<'CC'
inline auto square = [](int x) { return x * x; };
CONCURRENT_REGISTER_TASK(square);
CC
expect_error register_pointer_result "a task's parameters and result must be codable" <<'CC'
int* leak() { return nullptr; }
CONCURRENT_REGISTER_TASK(leak);
CC
expect_error encode_pointer "this type cannot cross a process boundary" <<'CC'
void f() { int x = 0; concurrent::encode(b, &x); }
CC
expect_error encode_string_view "this type cannot cross a process boundary" <<'CC'
#include <string_view>
void f() { concurrent::encode(b, std::string_view("x")); }
CC

# Compile everything, as many at once as there are CPUs.
export cxx tmp
printf '%s\n' control "${names[@]}" |
  xargs -P "$(nproc)" -I{} sh -c \
    '"$cxx" -std=c++20 -fsyntax-only -I. "$tmp/{}.cc" >"$tmp/{}.log" 2>&1; echo $? >"$tmp/{}.rc"'

if [[ $(cat "$tmp/control.rc") == 0 ]]; then
  echo "ok   control (a valid call compiles)"
  passed=$((passed + 1))
else
  echo "FAIL control: a valid call does not compile"
  head -20 "$tmp/control.log"
  failures=$((failures + 1))
fi
for name in "${names[@]}"; do
  if [[ $(cat "$tmp/$name.rc") == 0 ]]; then
  echo "FAIL $name: compiled, expected an error containing: ${expected[$name]}"
    failures=$((failures + 1))
  elif ! grep -qF -- "${expected[$name]}" "$tmp/$name.log"; then
  echo "FAIL $name: the error does not say: ${expected[$name]}"
    head -20 "$tmp/$name.log"
    failures=$((failures + 1))
  else
  echo "ok   $name"
    passed=$((passed + 1))
  fi
done

echo "$passed passed, $failures failed"
((failures == 0))
