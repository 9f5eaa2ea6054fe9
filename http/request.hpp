#pragma once

#include <httplib.h>
#include <rapidjson/document.h>

#include <string>

#include "http/auth.hpp"

namespace jobserver::http {

/// Largest JSON body a route accepts.
constexpr size_t max_json_body = 1 << 20;

/// Parses a JSON object body: 413 when too large, 415 when not sent as JSON, 400 when
/// not a JSON object. Iterative parsing, so deep nesting cannot exhaust the stack.
rapidjson::Document parse_json_object(const httplib::Request& req);

/// Throws invalid_input when `v` cannot be stored as JSONB: NUL characters or invalid
/// UTF-8 (a lone surrogate escape) in a string or member name, a number too large for a
/// double, or nesting deeper than 32 levels.
void check_storable(const rapidjson::Value& v, int depth = 0);

/// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates).
bool is_valid_utf8(const std::string& s);

/// Checks a request's declared body size before any of it is read, because cpp-httplib
/// would otherwise read and discard every declared byte until its read timeout (10 s a
/// request, a thread held all that time). A Content-Length that is not a decimal number
/// answers 400; one above max_json_body on any route but the upload (which checks its
/// own limit) answers 413. Returns true when `res` holds that answer.
bool reject_declared_length(const httplib::Request& req, httplib::Response& res);

/// The authenticated user of a request (throws app_error unauthorized).
std::string owner_of(const authenticator& auth, const httplib::Request& req);

/// A path id checked to be a UUID and lower-cased; throws invalid_input otherwise.
std::string path_uuid(const httplib::Request& req, size_t index, const char* what);

/// An optional string member ("" when absent); throws invalid_input when not a string.
std::string string_member(const rapidjson::Value& obj, const char* key, size_t max_len = 4096);

}  // namespace jobserver::http
