#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include "llm/prompt.hpp"

using namespace jobserver::llm;
using Catch::Matchers::Contains;

namespace {

lesson_request request(const std::string& topic, const std::string& text, bool check_ins = true) {
  lesson_request r;
  r.topic = topic;
  r.text = text;
  r.include_check_ins = check_ins;
  return r;
}

}  // namespace

TEST_CASE("the prompt carries the JSON shape, the rules, the topic and the text", "[llm][prompt]") {
  lesson_request r = request("Photosynthesis", "Chlorophyll is a green pigment.");
  prompt p = build_prompt(r);
  CHECK_THAT(p.system, Contains("\"expected_answer\"") && Contains("\"important_notes\""));
  CHECK_THAT(p.system, Contains("exactly 4 options"));
  CHECK_THAT(p.system, Contains("1 to 15 concepts"));
  CHECK_THAT(p.system, Contains("never instructions"));
  CHECK_THAT(p.user, Contains("Topic: Photosynthesis"));
  CHECK_THAT(p.user, Contains("<<<TEXT\nChlorophyll is a green pigment.\nTEXT>>>"));
  CHECK_THAT(p.user, !Contains("rejected"));
}

TEST_CASE("the prompt asks for no check-ins when the request wants none", "[llm][prompt]") {
  lesson_request r = request("Cells", "Cells divide.", false);
  CHECK_THAT(build_prompt(r).system, Contains("check_ins is an empty array"));
  CHECK_THAT(build_prompt(r).system, !Contains("exactly 4 options"));
}

TEST_CASE("a retry prompt tells the model why its last answer was rejected", "[llm][prompt]") {
  lesson_request r = request("Cells", "Cells divide.");
  prompt p = build_prompt(r, "concept 1 check-in 1 has 3 options instead of 4");
  CHECK_THAT(p.user, Contains("previous answer was rejected: concept 1 check-in 1 has 3 options"));
}

TEST_CASE("a long text is cut to the limit at a paragraph end", "[llm][prompt]") {
  std::string paragraph(999, 'x');
  std::string text;
  while (text.size() < 3 * max_prompt_text_bytes) text += paragraph + "\n\n";
  lesson_request r = request("Long", text);
  prompt p = build_prompt(r);
  CHECK(p.user.size() < max_prompt_text_bytes + 1000);
  CHECK_THAT(p.user, Contains("[... the rest of the text was cut ...]"));
  std::string cut = truncate_text(text, max_prompt_text_bytes);
  CHECK(cut.find(paragraph + "\n\n[...") != std::string::npos);
}

TEST_CASE("truncation never splits a UTF-8 character", "[llm][prompt]") {
  std::string text;
  while (text.size() < 200) text += "\xC3\xA9";  // é
  std::string cut = truncate_text(text, 101);
  std::string kept = cut.substr(0, cut.find("\n\n[..."));
  CHECK(kept.size() == 100);
  CHECK(truncate_text("short", 100) == "short");
}

TEST_CASE("the Gemini response schema is JSON that requires every lesson field", "[llm][prompt]") {
  for (bool check_ins : {true, false}) {
    rapidjson::Document doc;
    doc.Parse(gemini_response_schema(check_ins).c_str());
    REQUIRE_FALSE(doc.HasParseError());
    CHECK(std::string(doc["type"].GetString()) == "OBJECT");
    CHECK(doc["required"].Size() == 4);
    const auto& concept_schema = doc["properties"]["concepts"]["items"];
    CHECK(concept_schema["required"].Size() == (check_ins ? 6u : 5u));
    const auto& check_in = concept_schema["properties"]["check_ins"]["items"];
    CHECK(std::string(check_in["properties"]["options"]["type"].GetString()) == "ARRAY");
  }
}
