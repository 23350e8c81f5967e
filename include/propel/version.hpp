// SPDX-License-Identifier: BSL-1.0
/// \file Defines propel's version macros.
#pragma once

#define PROPEL_VERSION_MAJOR 0
#define PROPEL_VERSION_MINOR 1
#define PROPEL_VERSION_PATCH 0
