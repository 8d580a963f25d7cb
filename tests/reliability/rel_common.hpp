// tests/reliability/rel_common.hpp: helpers of the reliability tests; they
// are the shared unit-test helpers of tests/common/test_support.hpp.
#pragma once

#include "../common/test_support.hpp"
