#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace jobserver::persistence {

class database;

/// What a lesson is generated from.
struct lesson_source {
  std::string document_id, course_id, section_id;  // section_id "" = whole document
  std::string topic;          // the section's name, or the document's title
  std::string text;           // the section's markdown, or all sections' markdown
  std::string document_text;  // the whole document's text (for context)
};

/// A generated lesson to store; `concepts` is the JSON array.
struct lesson_input {
  std::string topic, summary, explanation, concepts;
};

/// Lessons, under the owner's RLS context (and owner filters) like everything else.
class lesson_store {
 public:
  explicit lesson_store(database& db) : db_(db) {}

  std::optional<std::string> find(const std::string& owner, const std::string& id);
  std::optional<std::string> find_by_section(const std::string& owner, const std::string& section_id);
  /// The lesson of a section ("" = the document's whole-document lesson), as JSON.
  std::optional<std::string> find_for(const std::string& owner, const std::string& document_id,
                                      const std::string& section_id);
  /// The id of that lesson, if any.
  std::optional<std::string> id_for(const std::string& owner, const std::string& document_id,
                                    const std::string& section_id);
  /// The document (and section, when given) of `owner`: nullopt when either is unknown or
  /// not theirs. `with_text` loads the texts too.
  std::optional<lesson_source> source(const std::string& owner, const std::string& document_id,
                                      const std::string& section_id, bool with_text);
  /// Sections of a document that have no lesson yet, in order.
  std::vector<std::string> sections_without_lesson(const std::string& owner,
                                                   const std::string& document_id);
  /// Stores the lesson and marks its section `concepts_generated` in one transaction,
  /// only while job `job_id` holds lease `token` (else app_error(cancelled)). If the
  /// lesson exists already, that one's id is returned and nothing changes.
  std::string commit(const std::string& owner, const std::string& job_id, int64_t token,
                     const lesson_source& src, const lesson_input& lesson);

 private:
  database& db_;
};

}  // namespace jobserver::persistence
