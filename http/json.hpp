#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>

namespace jobserver::http {

/// Serialises a RapidJSON value.
inline std::string to_json(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

/// `{"error": message, "code": code}`.
std::string error_body(const std::string& message, const std::string& code);

}  // namespace jobserver::http
