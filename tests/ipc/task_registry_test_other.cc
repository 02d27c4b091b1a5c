// Copyright 2026 The concurrent Authors.
//
// A second file for task_registry_test: a `static` function with the same
// name as one in task_registry_test.cc, which makes the name ambiguous.

#include <string>

#include "ipc/task_registry.h"

static std::string same_name_helper() { return "other file"; }
CONCURRENT_REGISTER_TASK(same_name_helper);

std::string (*other_same_name_helper())() { return &same_name_helper; }
