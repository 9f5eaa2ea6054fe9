// The offline provider: an extractive lesson writer over the section's own text. No
// network, no key, deterministic: the same text always gives the same lesson.
#include <algorithm>
#include <cmath>
#include <map>

#include "llm/check_in_writer.hpp"
#include "llm/providers.hpp"
#include "llm/term_finder.hpp"
#include "llm/text_util.hpp"
#include "llm/words.hpp"

namespace jobserver::llm {
namespace {

constexpr size_t min_concepts = 3;
constexpr size_t max_concepts = 8;
constexpr size_t max_concept_explanation = 700;
constexpr size_t max_lesson_explanation = 1800;
constexpr size_t max_items = 3;

std::string capitalised(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

/// |a ∩ b| / min(|a|, |b|) of two ascending lists.
double shared_share(const std::vector<size_t>& a, const std::vector<size_t>& b) {
  std::vector<size_t> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return static_cast<double>(both.size()) / static_cast<double>(std::min(a.size(), b.size()));
}

class lesson_writer {
 public:
  lesson_writer(const lesson_request& r, const text_model& m, const std::vector<term>& terms)
      : request_(r), m_(m), terms_(terms), check_ins_(m, terms, chosen_) {}

  lesson write() {
    choose_concepts();
    rate_sentences();
    lesson l;
    l.topic = topic();
    l.summary = summary();
    l.explanation = explanation();
    for (size_t i = 0; i < chosen_.size(); ++i) l.concepts.push_back(concept_for(i));
    if (chosen_.empty()) l.concepts.push_back(fallback_concept(l.topic));
    attach_formulas(l);
    if (request_.include_check_ins) ensure_a_check_in(l);
    return l;
  }

 private:
  size_t prose_sentences() const {
    return static_cast<size_t>(std::count_if(m_.sentences.begin(), m_.sentences.end(),
                                             [](const sentence& s) { return !s.formula; }));
  }

  /// The best terms that are not the same idea as a better one.
  void choose_concepts() {
    // A short text gets fewer concepts: one per three sentences, 3 to 8.
    size_t n = prose_sentences();
    size_t target = std::clamp<size_t>((n + 2) / 3, std::min(min_concepts, n), max_concepts);
    for (size_t i = 0; i < terms_.size() && chosen_.size() < target; ++i) {
      const term& t = terms_[i];
      bool duplicate = std::any_of(chosen_.begin(), chosen_.end(), [&](size_t c) {
        const term& u = terms_[c];
        return to_lower(u.display) == to_lower(t.display) || abbreviates(u, t) ||
               abbreviates(t, u) ||
               (overlaps(u, t) && shared_share(u.sentences, t.sentences) >= 0.6);
      });
      if (!duplicate) chosen_.push_back(i);
    }
  }

  /// How central each sentence is: the weight of the terms it mentions, per word.
  void rate_sentences() {
    weight_.assign(m_.sentences.size(), 0.0);
    for (size_t i = 0; i < terms_.size() && i < 40; ++i) {
      bool concept = std::find(chosen_.begin(), chosen_.end(), i) != chosen_.end();
      for (size_t s : terms_[i].sentences) weight_[s] += terms_[i].score * (concept ? 1.0 : 0.3);
    }
    for (size_t s = 0; s < m_.sentences.size(); ++s) {
      const sentence& sen = m_.sentences[s];
      size_t words = sen.tokens.size();
      if (sen.formula || words < 5 || words > 60) {
        weight_[s] = -1;
        continue;
      }
      weight_[s] = (weight_[s] + 0.1) / std::sqrt(static_cast<double>(words));
      if (s == 0 || m_.sentences[s - 1].paragraph != sen.paragraph) weight_[s] *= 1.15;
      if (s == 0) weight_[s] *= 1.2;
    }
  }

  /// The indexes of the `n` most central sentences among `candidates`, in text order.
  std::vector<size_t> best(std::vector<size_t> candidates, size_t n) const {
    candidates.erase(std::remove_if(candidates.begin(), candidates.end(),
                                    [&](size_t s) { return weight_[s] < 0; }),
                     candidates.end());
    std::stable_sort(candidates.begin(), candidates.end(),
                     [&](size_t a, size_t b) { return weight_[a] > weight_[b]; });
    if (candidates.size() > n) candidates.resize(n);
    std::sort(candidates.begin(), candidates.end());
    return candidates;
  }

  std::string join(const std::vector<size_t>& sentences) const {
    std::string out;
    for (size_t s : sentences) out += (out.empty() ? "" : " ") + m_.sentences[s].text;
    return out;
  }

  std::string topic() const {
    if (!trim(request_.topic).empty()) return trim(request_.topic);
    if (!m_.headings.empty()) return m_.headings[0];
    if (!chosen_.empty()) return capitalised(terms_[chosen_[0]].display);
    return "Lesson";
  }

  std::string summary() const {
    std::vector<size_t> all(m_.sentences.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    size_t n = prose_sentences() >= 8 ? 3 : 2;
    auto picks = best(all, n);
    if (picks.empty()) picks.push_back(0);
    return join(picks);
  }

  /// The most central one or two sentences of every paragraph, paragraphs kept apart.
  std::string explanation() const {
    std::map<size_t, std::vector<size_t>> paragraphs;
    for (size_t s = 0; s < m_.sentences.size(); ++s)
      paragraphs[m_.sentences[s].paragraph].push_back(s);
    std::string out;
    for (const auto& [p, sentences] : paragraphs) {
      std::string part = join(best(sentences, sentences.size() >= 4 ? 2 : 1));
      if (part.empty()) continue;
      if (!out.empty() && out.size() + part.size() > max_lesson_explanation) break;
      out += (out.empty() ? "" : "\n\n") + part;
    }
    return out.empty() ? m_.sentences[0].text : out;
  }

  concept_t concept_for(size_t ordinal) {
    const term& t = terms_[chosen_[ordinal]];
    concept_t c;
    c.name = capitalised(t.display);
    std::vector<size_t> picks;
    if (t.definition != sentence::npos) picks.push_back(t.definition);
    size_t chars = picks.empty() ? 0 : m_.sentences[picks[0]].text.size();
    for (size_t s : t.sentences) {
      const sentence& sen = m_.sentences[s];
      std::string lower = to_lower(sen.text);
      if (has_example_cue(lower) && c.examples.size() < max_items) c.examples.push_back(sen.text);
      if (has_note_cue(lower) && c.important_notes.size() < max_items)
        c.important_notes.push_back(sen.text);
      if (s == t.definition || sen.formula || has_example_cue(lower) || has_note_cue(lower))
        continue;
      if (picks.size() < 4 && chars + sen.text.size() <= max_concept_explanation) {
        picks.push_back(s);
        chars += sen.text.size();
      }
    }
    if (picks.empty()) picks.push_back(t.sentences[0]);
    std::sort(picks.begin() + (t.definition != sentence::npos ? 1 : 0), picks.end());
    std::string text;
    for (size_t s : picks) text += (text.empty() ? "" : " ") + m_.sentences[s].text;
    c.explanation = text;
    if (request_.include_check_ins)
      if (auto q = check_ins_.about_term(chosen_[ordinal], ordinal)) c.check_ins.push_back(*q);
    return c;
  }

  concept_t fallback_concept(const std::string& name) const {
    concept_t c;
    c.name = name;
    std::vector<size_t> all(m_.sentences.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    auto picks = best(all, 3);
    c.explanation = picks.empty() ? m_.sentences[0].text : join(picks);
    return c;
  }

  /// Each equation goes to the concept it names, or else to the concept most mentioned
  /// in the paragraph just before it.
  void attach_formulas(lesson& l) const {
    for (size_t f = 0; f < m_.sentences.size(); ++f) {
      const sentence& eq = m_.sentences[f];
      if (!eq.formula || chosen_.empty()) continue;
      size_t owner = chosen_.size();
      for (size_t i = 0; i < chosen_.size() && owner == chosen_.size(); ++i)
        if (!find_mentions(eq, terms_[chosen_[i]]).empty()) owner = i;
      if (owner == chosen_.size()) owner = most_mentioned_before(f);
      if (owner < l.concepts.size() && l.concepts[owner].formulas.size() < max_items)
        l.concepts[owner].formulas.push_back(eq.text);
    }
  }

  size_t most_mentioned_before(size_t f) const {
    size_t s = f;
    while (s > 0 && m_.sentences[s - 1].formula) --s;  // past a run of equations
    if (s == 0) return 0;
    size_t paragraph = m_.sentences[s - 1].paragraph;
    size_t owner = 0, most = 0;
    for (size_t i = 0; i < chosen_.size(); ++i) {
      size_t n = 0;
      for (size_t k = s; k-- > 0 && m_.sentences[k].paragraph == paragraph;)
        n += find_mentions(m_.sentences[k], terms_[chosen_[i]]).size();
      if (n > most) owner = i, most = n;
    }
    return owner;
  }

  void ensure_a_check_in(lesson& l) const {
    for (const auto& c : l.concepts)
      if (!c.check_ins.empty()) return;
    size_t s = 0;
    while (s + 1 < m_.sentences.size() && m_.sentences[s].formula) ++s;
    l.concepts[0].check_ins.push_back(check_ins_.true_or_false(s, l.topic));
  }

  const lesson_request& request_;
  const text_model& m_;
  const std::vector<term>& terms_;
  std::vector<size_t> chosen_;
  std::vector<double> weight_;
  check_in_writer check_ins_;
};

class offline_provider final : public provider {
 public:
  std::string name() const override { return "offline"; }

  lesson generate(const lesson_request& request, const generation_hooks& hooks) override {
    auto stopped = [&] { return hooks.should_stop && hooks.should_stop(); };
    if (stopped()) throw app_error(errc::cancelled, "offline: generation cancelled", false);
    text_model m = read_text(request.text);
    if (m.sentences.empty())
      throw app_error(errc::invalid_input, "there is no text to write a lesson from", false);
    std::optional<text_model> document;
    if (!trim(request.document_text).empty()) document = read_text(request.document_text);
    std::vector<term> terms = find_terms(m, document ? &*document : nullptr);
    if (stopped()) throw app_error(errc::cancelled, "offline: generation cancelled", false);
    lesson l = lesson_writer{request, m, terms}.write();
    if (auto reason = validate(l); !reason.empty())  // a bug here, never the input's fault
      throw app_error(errc::internal, "offline: wrote an invalid lesson: " + reason, false);
    return l;
  }
};

}  // namespace

std::unique_ptr<provider> make_offline_provider() {
  return std::make_unique<offline_provider>();
}

}  // namespace jobserver::llm
