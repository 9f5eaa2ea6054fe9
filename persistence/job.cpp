#include "persistence/job.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <openssl/rand.h>
#include <uuid/uuid.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace jobserver::persistence {
namespace {

using writer_t = rapidjson::Writer<rapidjson::StringBuffer>;

void key_string(writer_t& w, const char* key, const std::string& value) {
  w.Key(key);
  if (value.empty()) w.Null();
  else w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

/// Embeds stored JSON text; text that does not parse (never expected) becomes null.
void key_raw_json(writer_t& w, const char* key, const std::string& json) {
  w.Key(key);
  if (json.empty()) {
    w.Null();
    return;
  }
  rapidjson::Document d;
  if (d.Parse(json.c_str(), json.size()).HasParseError()) {
    w.Null();
    return;
  }
  d.Accept(w);
}

}  // namespace

std::string to_api_json(const job_row& j) {
  rapidjson::StringBuffer buf;
  writer_t w{buf};
  w.StartObject();
  key_string(w, "id", j.id);
  key_string(w, "type", j.type);
  key_string(w, "status", j.status);
  w.Key("progress");
  w.Int(j.progress);
  key_raw_json(w, "data", j.data);
  key_raw_json(w, "result", j.result);
  w.Key("error");
  if (j.has_error) w.String(j.error.c_str(), static_cast<rapidjson::SizeType>(j.error.size()));
  else w.Null();
  key_string(w, "created_at", j.created_at);
  key_string(w, "started_at", j.started_at);
  key_string(w, "completed_at", j.completed_at);
  w.Key("attempts");
  w.Int(j.attempts);
  w.Key("max_attempts");
  w.Int(j.max_attempts);
  w.Key("priority");
  w.Int(j.priority);
  w.Key("cancelled");
  w.Bool(j.cancelled());
  if (!j.parent_id.empty()) key_string(w, "parent_id", j.parent_id);
  if (!j.node_id.empty()) key_string(w, "node", j.node_id);  // the node that ran it last
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string make_uuid() {
  // Version 4 from OpenSSL's DRBG: random bytes without a system call per id
  // (uuid_generate_random asks the kernel each time: seven system calls per job).
  uuid_t u;
  if (RAND_bytes(u, sizeof u) != 1) uuid_generate_random(u);
  u[6] = static_cast<unsigned char>((u[6] & 0x0f) | 0x40);  // version 4
  u[8] = static_cast<unsigned char>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  uuid_unparse_lower(u, out);
  return out;
}

bool is_uuid(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string now_iso8601() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace jobserver::persistence
