#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "llm/provider.hpp"
#include "tests/llm/sample_texts.hpp"
#include "tests/support/catch_errc.hpp"

using namespace jobserver;
using namespace jobserver::llm;
using Catch::Matchers::Contains;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

/// The text with line breaks as spaces, lower case: what an answer must appear in.
std::string searchable(const std::string& text) {
  std::string out = lower(text);
  std::replace(out.begin(), out.end(), '\n', ' ');
  return out;
}

/// Whether `text` contains `word` as a whole word or phrase (case-insensitive).
bool contains_word(const std::string& text, const std::string& word) {
  std::string t = lower(text), w = lower(word);
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; };
  for (size_t at = t.find(w); at != std::string::npos; at = t.find(w, at + 1)) {
    bool left = at == 0 || !is_word(t[at - 1]);
    bool right = at + w.size() >= t.size() || !is_word(t[at + w.size()]);
    if (left && right) return true;
  }
  return false;
}

lesson offline_lesson(const std::string& topic, const std::string& text, bool check_ins = true) {
  lesson_request r;
  r.topic = topic;
  r.text = text;
  r.include_check_ins = check_ins;
  return make_provider({})->generate(r, {});
}

/// Every check-in of `l`: valid, its answer and its distractors taken from `text`.
void check_every_check_in(const lesson& l, const std::string& text) {
  std::string haystack = searchable(text);
  size_t count = 0;
  for (const auto& c : l.concepts) {
    for (const auto& q : c.check_ins) {
      ++count;
      INFO("question: " << q.question);
      REQUIRE(q.options.size() == 4);
      CHECK(std::count(q.options.begin(), q.options.end(), q.expected_answer) == 1);
      std::set<std::string> distinct;
      for (const auto& o : q.options) distinct.insert(lower(o));
      CHECK(distinct.size() == 4);
      CHECK_THAT(haystack, Contains(lower(q.expected_answer)));
      for (const auto& o : q.options) {
        CHECK_THAT(haystack, Contains(lower(o)));
        // A distractor written in the question would rule itself out.
        if (o != q.expected_answer) CHECK_FALSE(contains_word(q.question, o));
      }
      CHECK_THAT(q.question, Contains("_____"));
      CHECK_FALSE(contains_word(q.question, q.expected_answer));
      CHECK_FALSE(q.hint.empty());
      CHECK_FALSE(contains_word(q.hint, q.expected_answer));
    }
  }
  CHECK(count >= 3);
}

std::vector<std::string> concept_names(const lesson& l) {
  std::vector<std::string> names;
  for (const auto& c : l.concepts) names.push_back(lower(c.name));
  return names;
}

bool has_concept(const lesson& l, const std::string& name) {
  auto names = concept_names(l);
  return std::find(names.begin(), names.end(), lower(name)) != names.end();
}

}  // namespace

TEST_CASE("the offline provider writes a valid lesson about photosynthesis from its text",
          "[llm][offline]") {
  lesson l = offline_lesson("Photosynthesis", testing::photosynthesis_section);
  CHECK(validate(l).empty());
  CHECK(l.topic == "Photosynthesis");
  CHECK(l.concepts.size() >= 3);
  CHECK(l.concepts.size() <= 8);
  // The defined terms of the text become concepts.
  CHECK(has_concept(l, "Photosynthesis"));
  CHECK(has_concept(l, "Chlorophyll"));
  CHECK(has_concept(l, "Calvin cycle"));
  CHECK(has_concept(l, "Limiting factor"));
  CHECK_THAT(l.summary, Contains("Photosynthesis is the process by which"));
  check_every_check_in(l, testing::photosynthesis_section);
}

TEST_CASE("the offline provider writes a valid lesson about TCP from its text", "[llm][offline]") {
  lesson l = offline_lesson("Transmission Control Protocol", testing::tcp_section);
  CHECK(validate(l).empty());
  CHECK(l.concepts.size() >= 3);
  CHECK(has_concept(l, "TCP"));
  // The acronym and its expansion are one concept, never two.
  CHECK_FALSE(has_concept(l, "Transmission Control Protocol"));
  CHECK(has_concept(l, "Congestion window"));
  check_every_check_in(l, testing::tcp_section);
}

TEST_CASE("an acronym's check-in neither shows its expansion nor offers it as a distractor",
          "[llm][offline]") {
  lesson l = offline_lesson("TCP", testing::tcp_section);
  for (const auto& c : l.concepts) {
    for (const auto& q : c.check_ins) {
      if (q.expected_answer != "TCP") continue;
      CHECK_THAT(q.question, !Contains("Transmission Control Protocol"));
      for (const auto& o : q.options) CHECK(o != "Transmission Control Protocol");
    }
  }
}

TEST_CASE("the same text gives the identical lesson every time", "[llm][offline]") {
  for (const char* text : {testing::photosynthesis_section, testing::tcp_section}) {
    std::string first = to_json(offline_lesson("Topic", text));
    for (int i = 0; i < 3; ++i) CHECK(to_json(offline_lesson("Topic", text)) == first);
  }
}

TEST_CASE("concepts carry the text's examples, formulas and important notes", "[llm][offline]") {
  lesson l = offline_lesson("Photosynthesis", testing::photosynthesis_section);
  std::vector<std::string> examples, formulas, notes;
  for (const auto& c : l.concepts) {
    examples.insert(examples.end(), c.examples.begin(), c.examples.end());
    formulas.insert(formulas.end(), c.formulas.begin(), c.formulas.end());
    notes.insert(notes.end(), c.important_notes.begin(), c.important_notes.end());
  }
  CHECK(std::find(formulas.begin(), formulas.end(), "6CO2 + 6H2O + light energy = C6H12O6 + 6O2") !=
        formulas.end());
  CHECK(std::find(examples.begin(), examples.end(),
                  "For example, on a cold but bright morning, temperature is the limiting "
                  "factor.") != examples.end());
  CHECK(std::any_of(notes.begin(), notes.end(),
                    [](const std::string& n) { return n.rfind("Growers must keep", 0) == 0; }));

  lesson tcp = offline_lesson("TCP", testing::tcp_section);
  bool window_formula = false;
  for (const auto& c : tcp.concepts)
    for (const auto& f : c.formulas)
      window_formula |= f == "effective window = min(receive window, congestion window)";
  CHECK(window_formula);
}

TEST_CASE("a concept is explained by the sentences of the text that define and use it",
          "[llm][offline]") {
  lesson l = offline_lesson("Photosynthesis", testing::photosynthesis_section);
  auto it = std::find_if(l.concepts.begin(), l.concepts.end(),
                         [](const concept_t& c) { return c.name == "Chlorophyll"; });
  REQUIRE(it != l.concepts.end());
  CHECK(it->explanation.rfind("Chlorophyll is a green pigment", 0) == 0);
  CHECK_THAT(it->explanation, Contains("thylakoid membranes"));
}

TEST_CASE("a lesson without check-ins has none", "[llm][offline]") {
  lesson l = offline_lesson("Photosynthesis", testing::photosynthesis_section, false);
  CHECK(validate(l).empty());
  for (const auto& c : l.concepts) CHECK(c.check_ins.empty());
}

TEST_CASE("a one-sentence text still gives a valid lesson with a check-in", "[llm][offline]") {
  lesson l = offline_lesson("", testing::tiny_section);
  CHECK(validate(l).empty());
  REQUIRE(l.concepts.size() >= 1);
  CHECK(l.concepts[0].name == "Osmosis");
  size_t check_ins = 0;
  for (const auto& c : l.concepts) check_ins += c.check_ins.size();
  CHECK(check_ins >= 1);
}

TEST_CASE("a text with nothing to teach is refused as invalid input", "[llm][offline]") {
  lesson_request r;
  r.text = "  \n\n# Only a heading\n";
  try {
    make_provider({})->generate(r, {});
    FAIL("expected an error");
  } catch (const app_error& e) {
    CHECK(e.code() == errc::invalid_input);
    CHECK_FALSE(e.transient());
  }
}

TEST_CASE("the offline provider stops when the job is cancelled", "[llm][offline]") {
  lesson_request r;
  r.text = testing::photosynthesis_section;
  generation_hooks hooks;
  hooks.should_stop = [] { return true; };
  try {
    make_provider({})->generate(r, hooks);
    FAIL("expected cancellation");
  } catch (const app_error& e) {
    CHECK(e.code() == errc::cancelled);
  }
}

TEST_CASE("a large document gives at most 8 concepts and valid check-ins", "[llm][offline]") {
  std::string big;
  for (int i = 0; big.size() < 100000; ++i) {
    big += testing::photosynthesis_section;
    big += "\n\n";
    big += testing::tcp_section;
    big += "\n\n";
  }
  lesson l = offline_lesson("Everything", big);
  CHECK(validate(l).empty());
  CHECK(l.concepts.size() == 8);
  check_every_check_in(l, big);
  CHECK(l.explanation.size() <= 2500);
}

TEST_CASE("terms common across the whole document rank below the section's own terms",
          "[llm][offline]") {
  // "energy" is the most frequent word of this section, but the document uses it
  // everywhere; "mitochondrion" is what makes the section special.
  std::string section =
      "Energy is stored in food. Energy moves through the body. Plants capture energy from "
      "sunlight. The mitochondrion releases energy from glucose. Energy flows to the heart. A "
      "mitochondrion has two membranes. Every mitochondrion holds its own genome.";
  std::string document = section;
  for (int i = 0; i < 30; ++i) document += " Energy appears in chapter " + std::to_string(i) + ".";
  lesson_request r;
  r.topic = "Cells";
  r.text = section;
  lesson without = make_provider({})->generate(r, {});
  r.document_text = document;
  lesson with = make_provider({})->generate(r, {});
  CHECK(lower(without.concepts[0].name) == "energy");
  CHECK(lower(with.concepts[0].name) == "mitochondrion");
}
