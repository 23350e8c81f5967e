// SPDX-License-Identifier: BSL-1.0
// Checks the compile-fail machinery itself: this file compiles as is, and with
// PROPEL_EXPECT_FAIL it stops at an #error whose text the test's regex expects.
#ifdef PROPEL_EXPECT_FAIL
#error propel_compile_fail_sanity
#endif

void propel_compile_fail_sanity_ok() {}
