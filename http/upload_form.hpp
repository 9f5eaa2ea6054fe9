#pragma once

#include <httplib.h>

#include <functional>
#include <map>
#include <string>

namespace jobserver::http {

/// What a multipart upload body held, as read_upload_form collected it.
struct upload_form {
  std::map<std::string, std::string> fields;  // each at most 4096 bytes, names 64 chars
  std::string filename;                       // the client's name for the file, raw
  bool has_file = false;
  bool too_many_parts = false;  // reading stopped after 32 parts
  bool complete = false;        // the body ended with its closing delimiter
};

/// Receives the bytes of the file part; false stops reading the body.
using file_sink = std::function<bool(const char* data, size_t len)>;

/// Reads the multipart/form-data body of `req` as it streams in through `reader`
/// (http/multipart.hpp): the first part named "file" goes to the sink that `open_file`
/// returns when that part starts (nothing of it is kept in memory); every other part
/// becomes a field. More than 32 parts stop the parsing (too_many_parts); the rest of the
/// body is then read and dropped, unless the file sink refused its bytes.
upload_form read_upload_form(const httplib::Request& req, const httplib::ContentReader& reader,
                             const std::function<file_sink()>& open_file);

/// A form field as stored: control characters become spaces, trimmed, UTF-8 checked,
/// 500 bytes at most. Throws invalid_input naming `name`.
std::string clean_field(std::string v, const char* name);

/// The client's file name, kept only as data: its last path component, control
/// characters replaced, 255 bytes at most; "upload.pdf" when nothing valid is left.
std::string clean_filename(const std::string& raw);

/// The `upload_pdf` job's data (JSON text) for a stored upload; validates the fields
/// (throws invalid_input).
std::string upload_data(const std::string& document_id, const std::string& storage_path,
                        const upload_form& f);

}  // namespace jobserver::http
