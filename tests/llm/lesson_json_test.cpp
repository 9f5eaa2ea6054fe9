#include <catch2/catch.hpp>

#include "llm/provider.hpp"

using namespace jobserver::llm;
using Catch::Matchers::Contains;

namespace {

check_in good_check_in() {
  return {"Which pigment absorbs light?",
          {"Chlorophyll", "Glucose", "Oxygen", "Starch"},
          "Chlorophyll",
          "It is green."};
}

concept_t good_concept(const std::string& name = "Chlorophyll") {
  concept_t c;
  c.name = name;
  c.explanation = "A green pigment that absorbs red and blue light.";
  c.examples = {"Leaves look green."};
  c.formulas = {"E = h f"};
  c.important_notes = {"It reflects green light."};
  c.check_ins = {good_check_in()};
  return c;
}

lesson good_lesson() {
  lesson l;
  l.topic = "Photosynthesis";
  l.summary = "Plants turn light into chemical energy.";
  l.explanation = "It happens in chloroplasts.";
  l.concepts = {good_concept(), good_concept("Calvin cycle")};
  return l;
}

}  // namespace

TEST_CASE("a complete lesson passes validation", "[llm][validate]") {
  CHECK(validate(good_lesson()).empty());
}

TEST_CASE("validation rejects a check-in with 3 options", "[llm][validate]") {
  auto l = good_lesson();
  l.concepts[0].check_ins[0].options.pop_back();
  CHECK_THAT(validate(l), Contains("3 options instead of 4"));
}

TEST_CASE("validation rejects a check-in with 5 options", "[llm][validate]") {
  auto l = good_lesson();
  l.concepts[1].check_ins[0].options.push_back("Starch grains");
  CHECK_THAT(validate(l), Contains("concept 2") && Contains("5 options"));
}

TEST_CASE("validation rejects duplicate options, also when only the case differs",
          "[llm][validate]") {
  auto l = good_lesson();
  l.concepts[0].check_ins[0].options[3] = "glucose";
  CHECK_THAT(validate(l), Contains("duplicate option"));
}

TEST_CASE("validation rejects an expected answer that is not among the options",
          "[llm][validate]") {
  auto l = good_lesson();
  l.concepts[0].check_ins[0].expected_answer = "Carotene";
  CHECK_THAT(validate(l), Contains("not one of the options"));
}

TEST_CASE("validation rejects a lesson without concepts and one with 16", "[llm][validate]") {
  auto none = good_lesson();
  none.concepts.clear();
  CHECK_THAT(validate(none), Contains("1-15 concepts") && Contains("has 0"));

  auto many = good_lesson();
  many.concepts.assign(16, good_concept());
  CHECK_THAT(validate(many), Contains("has 16"));

  auto fifteen = good_lesson();
  fifteen.concepts.assign(15, good_concept());
  CHECK(validate(fifteen).empty());
}

TEST_CASE("validation rejects every empty field", "[llm][validate]") {
  auto check = [](auto&& breaks, const std::string& reason) {
    auto l = good_lesson();
    breaks(l);
    INFO(reason);
    CHECK_THAT(validate(l), Contains(reason));
  };
  check([](lesson& l) { l.topic = "  "; }, "topic is empty");
  check([](lesson& l) { l.summary.clear(); }, "summary is empty");
  check([](lesson& l) { l.explanation.clear(); }, "explanation is empty");
  check([](lesson& l) { l.concepts[1].name = "\n"; }, "concept 2 has an empty name");
  check([](lesson& l) { l.concepts[0].explanation.clear(); }, "empty explanation");
  check([](lesson& l) { l.concepts[0].check_ins[0].question.clear(); }, "empty question");
  check([](lesson& l) { l.concepts[0].check_ins[0].hint.clear(); }, "empty hint");
  check([](lesson& l) { l.concepts[0].check_ins[0].options[2] = " "; }, "empty option");
}

TEST_CASE("a lesson survives a round trip through JSON", "[llm][json]") {
  auto l = good_lesson();
  auto parsed = from_json(to_json(l));
  REQUIRE(parsed);
  CHECK(to_json(*parsed) == to_json(l));
  CHECK(parsed->concepts[0].check_ins[0].options.size() == 4);
  CHECK(parsed->concepts[0].formulas == std::vector<std::string>{"E = h f"});
}

TEST_CASE("to_json writes the documented field names", "[llm][json]") {
  auto json = to_json(good_lesson());
  for (const char* key : {"\"topic\"", "\"summary\"", "\"explanation\"", "\"concepts\"", "\"name\"",
                          "\"examples\"", "\"formulas\"", "\"important_notes\"", "\"check_ins\"",
                          "\"question\"", "\"options\"", "\"expected_answer\"", "\"hint\""})
    CHECK_THAT(json, Contains(key));
}

TEST_CASE("from_json strips Markdown fences and prose around the object", "[llm][json]") {
  std::string answer = "Sure! Here is your lesson:\n```json\n" + to_json(good_lesson()) +
                       "\n```\nGood luck with your studies.";
  auto parsed = from_json(answer);
  REQUIRE(parsed);
  CHECK(parsed->topic == "Photosynthesis");
  CHECK(validate(*parsed).empty());
}

TEST_CASE("from_json accepts common aliases and an answer given as index or letter",
          "[llm][json]") {
  auto parsed = from_json(R"({"lesson": {"title": "Cells", "summary": "About cells.",
      "overview": "Cells are the units of life.",
      "concepts": [{"term": "Nucleus", "definition": "Holds the DNA.", "example": "Egg yolk",
        "questions": [
          {"question": "What holds DNA?", "choices": ["Nucleus", "Wall", "Vacuole", "Ribosome"],
           "answer": 0, "hint": "Centre."},
          {"prompt": "Which is outside?", "options": ["Nucleus", "Wall", "Vacuole", "Ribosome"],
           "correct_answer": "B", "clue": "Plants have it."}]}]}})");
  REQUIRE(parsed);
  CHECK(parsed->topic == "Cells");
  CHECK(parsed->explanation == "Cells are the units of life.");
  REQUIRE(parsed->concepts.size() == 1);
  const auto& c = parsed->concepts[0];
  CHECK(c.name == "Nucleus");
  CHECK(c.explanation == "Holds the DNA.");
  CHECK(c.examples == std::vector<std::string>{"Egg yolk"});
  REQUIRE(c.check_ins.size() == 2);
  CHECK(c.check_ins[0].expected_answer == "Nucleus");
  CHECK(c.check_ins[1].expected_answer == "Wall");
  CHECK(c.check_ins[1].hint == "Plants have it.");
  CHECK(validate(*parsed).empty());
}

TEST_CASE("from_json gives nothing for an answer that is not a lesson", "[llm][json]") {
  CHECK_FALSE(from_json(""));
  CHECK_FALSE(from_json("I cannot help with that."));
  CHECK_FALSE(from_json(R"({"topic": "Photosynthesis", "summary": "Pla)"));
  CHECK_FALSE(from_json(R"({"topic": "x", "concepts": "none"})"));
  CHECK_FALSE(from_json("[1, 2, 3]"));
}

TEST_CASE("from_json survives deeply nested input without overflowing the stack", "[llm][json]") {
  std::string hostile =
      "{\"concepts\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  auto parsed = from_json(hostile);
  CHECK((!parsed || !validate(*parsed).empty()));
  std::string unclosed = "{\"concepts\":" + std::string(200000, '[');
  CHECK_FALSE(from_json(unclosed));
}
