#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace jobserver::llm {

/// An incremental reader of a Server-Sent Events stream: feed it bytes as they arrive and
/// it calls `on_event` with the data of each complete event (its `data:` lines joined by
/// "\n"). Comments, `event:`, `id:` and `retry:` lines are ignored.
class sse_parser {
 public:
  explicit sse_parser(std::function<void(const std::string& data)> on_event)
      : on_event_(std::move(on_event)) {}

  void feed(std::string_view bytes);
  /// Ends the stream: an event that was not followed by a blank line is delivered too.
  void finish();
  /// How many events were delivered.
  size_t events() const { return events_; }

 private:
  void line(std::string_view text);
  void dispatch();

  std::function<void(const std::string&)> on_event_;
  std::string pending_;  // an incomplete line
  std::string data_;     // the data lines of the current event
  bool has_data_ = false;
  bool last_was_cr_ = false;
  size_t events_ = 0;
};

}  // namespace jobserver::llm
