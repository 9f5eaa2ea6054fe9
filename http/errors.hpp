#pragma once

#include <httplib.h>

#include <string>

#include "config/errors.hpp"

namespace jobserver::http {

/// The one place that maps the project's error codes to HTTP status codes.
int status_of(errc code);

/// Writes `{"error","code"}` with the status that fits `code`.
void send_error(httplib::Response& res, errc code, const std::string& message);

/// Writes `{"error","code"}` with an explicit status and machine code.
void send_error(httplib::Response& res, int status, const std::string& message,
                const std::string& code);

/// Writes a JSON body with a status.
void send_json(httplib::Response& res, int status, std::string body);

}  // namespace jobserver::http
