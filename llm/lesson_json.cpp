// to_json and from_json: the lesson's JSON shape, and a tolerant reader of a model's answer.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <strings.h>

#include <cctype>
#include <initializer_list>

#include "llm/provider.hpp"
#include "llm/text_util.hpp"

namespace jobserver::llm {
namespace {

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_strings(json_writer& w, const char* key, const std::vector<std::string>& items) {
  w.Key(key);
  w.StartArray();
  for (const auto& s : items) w.String(s);
  w.EndArray();
}

void write_check_in(json_writer& w, const check_in& c) {
  w.StartObject();
  w.Key("question");
  w.String(c.question);
  write_strings(w, "options", c.options);
  w.Key("expected_answer");
  w.String(c.expected_answer);
  w.Key("hint");
  w.String(c.hint);
  w.EndObject();
}

void write_concept(json_writer& w, const concept_t& c) {
  w.StartObject();
  w.Key("name");
  w.String(c.name);
  w.Key("explanation");
  w.String(c.explanation);
  write_strings(w, "examples", c.examples);
  write_strings(w, "formulas", c.formulas);
  write_strings(w, "important_notes", c.important_notes);
  w.Key("check_ins");
  w.StartArray();
  for (const auto& q : c.check_ins) write_check_in(w, q);
  w.EndArray();
  w.EndObject();
}

// ---- reading ----------------------------------------------------------------------------

using json_value = rapidjson::Value;

/// The first member of `obj` named like one of `keys` (exact, then case-insensitive).
const json_value* member(const json_value& obj, std::initializer_list<const char*> keys) {
  if (!obj.IsObject()) return nullptr;
  for (const char* key : keys) {
    auto it = obj.FindMember(key);
    if (it != obj.MemberEnd()) return &it->value;
  }
  for (const char* key : keys) {
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
      if (it->name.IsString() && strcasecmp(it->name.GetString(), key) == 0) return &it->value;
    }
  }
  return nullptr;
}

std::string scalar_text(const json_value* v) {
  if (v == nullptr) return "";
  if (v->IsString()) return trim(std::string(v->GetString(), v->GetStringLength()));
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsNumber()) return trim(std::to_string(v->GetDouble()));
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  return "";
}

std::string text_of(const json_value& obj, std::initializer_list<const char*> keys) {
  return scalar_text(member(obj, keys));
}

/// An array of strings; a lone string counts as a one-element array.
std::vector<std::string> strings_of(const json_value& obj,
                                    std::initializer_list<const char*> keys) {
  std::vector<std::string> out;
  const json_value* v = member(obj, keys);
  if (v == nullptr) return out;
  if (v->IsArray()) {
    for (const auto& item : v->GetArray()) {
      auto s = scalar_text(&item);
      if (!s.empty()) out.push_back(std::move(s));
    }
  } else {
    auto s = scalar_text(v);
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

/// A model sometimes answers with the option's index or letter instead of its text.
std::string resolve_answer(const json_value* answer, const std::vector<std::string>& options) {
  std::string text = scalar_text(answer);
  for (const auto& o : options)
    if (o == text) return text;
  if (answer != nullptr && answer->IsInt64()) {
    auto i = answer->GetInt64();
    if (i >= 0 && i < static_cast<int64_t>(options.size())) return options[i];
  }
  if (text.size() == 1 && std::isalpha(static_cast<unsigned char>(text[0]))) {
    size_t i = std::toupper(static_cast<unsigned char>(text[0])) - 'A';
    if (i < options.size()) return options[i];
  }
  return text;
}

check_in read_check_in(const json_value& obj) {
  check_in c;
  c.question = text_of(obj, {"question", "prompt", "q"});
  c.options = strings_of(obj, {"options", "choices", "answers"});
  c.expected_answer = resolve_answer(member(obj, {"expected_answer", "expectedAnswer",
                                                  "correct_answer", "correctAnswer", "answer"}),
                                     c.options);
  c.hint = text_of(obj, {"hint", "clue"});
  return c;
}

concept_t read_concept(const json_value& obj) {
  concept_t c;
  c.name = text_of(obj, {"name", "title", "term", "concept"});
  c.explanation = text_of(obj, {"explanation", "description", "definition"});
  c.examples = strings_of(obj, {"examples", "example"});
  c.formulas = strings_of(obj, {"formulas", "formulae", "equations", "formula"});
  c.important_notes =
      strings_of(obj, {"important_notes", "importantNotes", "notes", "key_points", "keyPoints"});
  if (const json_value* qs =
          member(obj, {"check_ins", "checkIns", "checkins", "questions", "quiz"});
      qs != nullptr && qs->IsArray()) {
    for (const auto& q : qs->GetArray())
      if (q.IsObject()) c.check_ins.push_back(read_check_in(q));
  }
  return c;
}

/// The text between the first ``` fence line and the next fence, or `text` itself.
std::string strip_fences(const std::string& text) {
  auto open = text.find("```");
  if (open == std::string::npos) return text;
  auto body = text.find('\n', open);
  if (body == std::string::npos) return text;
  auto close = text.find("```", body + 1);
  return text.substr(body + 1, close == std::string::npos ? std::string::npos : close - body - 1);
}

}  // namespace

std::string to_json(const lesson& l) {
  rapidjson::StringBuffer buffer;
  json_writer w{buffer};
  w.StartObject();
  w.Key("topic");
  w.String(l.topic);
  w.Key("summary");
  w.String(l.summary);
  w.Key("explanation");
  w.String(l.explanation);
  w.Key("concepts");
  w.StartArray();
  for (const auto& c : l.concepts) write_concept(w, c);
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::optional<lesson> from_json(const std::string& text) {
  std::string body = strip_fences(text);
  auto start = body.find('{');
  if (start == std::string::npos) return std::nullopt;
  rapidjson::Document doc;
  // Iterative: a hostile answer cannot overflow the stack with deep nesting.
  doc.Parse<rapidjson::kParseStopWhenDoneFlag | rapidjson::kParseIterativeFlag>(
      body.c_str() + start, body.size() - start);
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;

  const json_value* root = &doc;
  if (member(*root, {"concepts", "key_concepts", "keyConcepts"}) == nullptr) {
    // {"lesson": {...}}: one wrapping object.
    if (const json_value* inner = member(*root, {"lesson"}); inner && inner->IsObject())
      root = inner;
  }
  const json_value* concepts = member(*root, {"concepts", "key_concepts", "keyConcepts"});
  if (concepts == nullptr || !concepts->IsArray()) return std::nullopt;

  lesson l;
  l.topic = text_of(*root, {"topic", "title"});
  l.summary = text_of(*root, {"summary"});
  l.explanation = text_of(*root, {"explanation", "overview", "introduction"});
  for (const auto& c : concepts->GetArray())
    if (c.IsObject()) l.concepts.push_back(read_concept(c));
  return l;
}

}  // namespace jobserver::llm
