#include "llm/sse_parser.hpp"

namespace jobserver::llm {

void sse_parser::feed(std::string_view bytes) {
  for (char ch : bytes) {
    if (ch == '\n' && last_was_cr_) {  // the LF of a CRLF pair
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = ch == '\r';
    if (ch == '\r' || ch == '\n') {
      line(pending_);
      pending_.clear();
    } else {
      pending_.push_back(ch);
    }
  }
}

void sse_parser::finish() {
  if (!pending_.empty()) {
    line(pending_);
    pending_.clear();
  }
  dispatch();
}

void sse_parser::line(std::string_view text) {
  if (text.empty()) {
    dispatch();
    return;
  }
  if (text.front() == ':') return;  // a comment
  auto colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field != "data") return;
  if (has_data_) data_.push_back('\n');
  data_.append(value);
  has_data_ = true;
}

void sse_parser::dispatch() {
  if (!has_data_) return;
  std::string data;
  data.swap(data_);
  has_data_ = false;
  ++events_;
  on_event_(data);
}

}  // namespace jobserver::llm
