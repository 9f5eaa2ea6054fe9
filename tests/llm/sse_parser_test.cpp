#include <catch2/catch.hpp>

#include "llm/sse_parser.hpp"

using jobserver::llm::sse_parser;

TEST_CASE("the SSE parser delivers each event's data, however the bytes are split", "[llm][sse]") {
  std::string stream =
      ": a comment\r\nevent: message\r\ndata: {\"a\":1}\r\n\r\n"
      "data: first line\ndata: second line\nid: 7\n\n"
      "data:no space\r\rdata: [DONE]\n\n";
  for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, stream.size()}) {
    std::vector<std::string> events;
    sse_parser parser([&](const std::string& data) { events.push_back(data); });
    for (size_t i = 0; i < stream.size(); i += piece) parser.feed(stream.substr(i, piece));
    parser.finish();
    INFO("piece size " << piece);
    REQUIRE(events.size() == 4);
    CHECK(events[0] == "{\"a\":1}");
    CHECK(events[1] == "first line\nsecond line");
    CHECK(events[2] == "no space");
    CHECK(events[3] == "[DONE]");
    CHECK(parser.events() == 4);
  }
}

TEST_CASE("the SSE parser delivers a last event that lacks the blank line at finish",
          "[llm][sse]") {
  std::vector<std::string> events;
  sse_parser parser([&](const std::string& data) { events.push_back(data); });
  parser.feed("data: one\n\ndata: two");
  CHECK(events.size() == 1);
  parser.finish();
  CHECK(events == std::vector<std::string>{"one", "two"});
}

TEST_CASE("a plain JSON body is no SSE event", "[llm][sse]") {
  sse_parser parser([](const std::string&) { FAIL("no event expected"); });
  parser.feed("{\"candidates\": []}\n");
  parser.finish();
  CHECK(parser.events() == 0);
}
