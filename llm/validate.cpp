// validate(): the rules every lesson must meet before it is stored, whoever wrote it.
#include <set>

#include "llm/provider.hpp"
#include "llm/text_util.hpp"

namespace jobserver::llm {
namespace {

constexpr size_t min_concepts = 1;
constexpr size_t max_concepts = 15;
constexpr size_t options_per_check_in = 4;

bool blank(const std::string& s) {
  return trim(s).empty();
}

std::string validate_check_in(const check_in& q, const std::string& where) {
  if (blank(q.question)) return where + " has an empty question";
  if (blank(q.hint)) return where + " has an empty hint";
  if (q.options.size() != options_per_check_in)
    return where + " has " + std::to_string(q.options.size()) + " options instead of 4";
  std::set<std::string> seen;
  size_t matches = 0;
  for (const auto& option : q.options) {
    if (blank(option)) return where + " has an empty option";
    if (!seen.insert(to_lower(trim(option))).second)
      return where + " has a duplicate option \"" + utf8_prefix(option, 60) + "\"";
    if (trim(option) == trim(q.expected_answer)) ++matches;
  }
  if (blank(q.expected_answer)) return where + " has an empty expected_answer";
  if (matches != 1) return where + ": expected_answer is not one of the options";
  return "";
}

}  // namespace

std::string validate(const lesson& l) {
  if (blank(l.topic)) return "the topic is empty";
  if (blank(l.summary)) return "the summary is empty";
  if (blank(l.explanation)) return "the explanation is empty";
  if (l.concepts.size() < min_concepts || l.concepts.size() > max_concepts)
    return "a lesson needs 1-15 concepts, this one has " + std::to_string(l.concepts.size());
  for (size_t i = 0; i < l.concepts.size(); ++i) {
    const auto& c = l.concepts[i];
    std::string where = "concept " + std::to_string(i + 1);
    if (blank(c.name)) return where + " has an empty name";
    if (blank(c.explanation))
      return where + " (" + utf8_prefix(c.name, 60) + ") has an empty explanation";
    for (size_t j = 0; j < c.check_ins.size(); ++j) {
      auto reason = validate_check_in(c.check_ins[j], where + " check-in " + std::to_string(j + 1));
      if (!reason.empty()) return reason;
    }
  }
  return "";
}

}  // namespace jobserver::llm
