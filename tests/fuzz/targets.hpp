#pragma once

// The fuzz targets' entry points. Each takes one input, runs it through the same code the
// server runs, and returns normally; a violated invariant throws std::logic_error (a crash
// for libFuzzer, a failure for the Catch2 replay in replay_test.cpp).

#include <rapidjson/document.h>

#include <cstddef>
#include <cstring>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>

#include "config/errors.hpp"

namespace jobserver::fuzz {

/// JSON request bodies: parse_json_object / check_storable, then the /jobs/poll and
/// POST /jobs body parsers. The first byte picks the Content-Type.
void json_body(const uint8_t* data, size_t size);

/// A multipart/form-data upload body through cpp-httplib's parser and read_upload_form,
/// then the field checks of POST /upload/pdf-structured.
void multipart(const uint8_t* data, size_t size);

/// JWT authentication: the first byte picks the mode (0: a raw Authorization header,
/// 1: "header JSON\nclaims JSON" signed with the test secret, 2: a JWKS document).
void jwt(const uint8_t* data, size_t size);

/// PDF extraction (extract_structure) of the input as a file.
void pdf(const uint8_t* data, size_t size);

/// Rethrows `e` as std::logic_error unless its code is one of `allowed`.
inline void expect_code(const app_error& e, std::initializer_list<errc> allowed) {
  for (errc c : allowed)
    if (e.code() == c) return;
  throw std::logic_error(std::string{"unexpected error code "} + to_string(e.code()) + ": " +
                         e.what());
}

/// Throws std::logic_error with `what` when `ok` is false.
inline void require(bool ok, const char* what) {
  if (!ok) throw std::logic_error(what);
}

/// True when a string (or member name) anywhere in `v` holds a NUL character, which
/// Postgres cannot store in JSONB.
inline bool has_nul(const rapidjson::Value& v) {
  auto nul = [](const rapidjson::Value& s) {
    return std::memchr(s.GetString(), '\0', s.GetStringLength()) != nullptr;
  };
  if (v.IsString()) return nul(v);
  if (v.IsArray())
    for (const auto& x : v.GetArray())
      if (has_nul(x)) return true;
  if (v.IsObject())
    for (const auto& m : v.GetObject())
      if (nul(m.name) || has_nul(m.value)) return true;
  return false;
}

}  // namespace jobserver::fuzz
