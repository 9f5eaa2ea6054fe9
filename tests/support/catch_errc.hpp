#pragma once

#include <catch2/catch.hpp>

#include "config/errors.hpp"

// Failure messages name the error code instead of printing its byte.
namespace Catch {
template <>
struct StringMaker<jobserver::errc> {
  static std::string convert(jobserver::errc code) { return jobserver::to_string(code); }
};
}  // namespace Catch
