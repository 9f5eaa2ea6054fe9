#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace jobserver::persistence {

class database;

struct course_input {
  std::string name, code, term, exam_date;  // exam_date: YYYY-MM-DD or ""
};

struct document_input {
  std::string id, course_id, title, original_filename, storage_path, material_type, chapter;
  int pages = 0;
};

struct section_input {
  int number = 0;
  std::string name, description, markdown;
  int page_start = 0, page_end = 0;
};

/// A stored document: where its file is (for deletion).
struct stored_document {
  std::string id;
  std::string storage_path;
};

/// Courses, documents and sections. Every call runs under the owner's RLS context and
/// filters by owner too; answers are API JSON (objects or arrays) built by Postgres.
class content_store {
 public:
  explicit content_store(database& db) : db_(db) {}

  std::string create_course(const std::string& owner, const course_input& in);
  std::string list_courses(const std::string& owner);
  std::optional<std::string> find_course(const std::string& owner, const std::string& id);
  bool course_exists(const std::string& owner, const std::string& id);
  /// Deletes the course with its documents, sections and lessons; returns the documents
  /// it had (their files are the caller's to remove), nullopt when there is no such course.
  std::optional<std::vector<stored_document>> delete_course(const std::string& owner,
                                                            const std::string& id);

  /// Documents of a course ("" = all), each with its section count, plus uploads still
  /// being processed (with job id and progress).
  std::string list_documents(const std::string& owner, const std::string& course_id);
  std::optional<std::string> find_document(const std::string& owner, const std::string& id);
  /// Deletes a document (sections and lessons go with it); nullopt when unknown.
  std::optional<stored_document> delete_document(const std::string& owner, const std::string& id);

  /// Sections of a document in order, each with `lesson_id` when a lesson exists;
  /// nullopt when the document is unknown.
  std::optional<std::string> list_sections(const std::string& owner, const std::string& document_id);

  /// Stores a parsed document and all its sections in one transaction, only while the
  /// job `job_id` still holds lease `token` and was not cancelled (else throws
  /// app_error(cancelled)). A document already stored by an earlier run is kept as is.
  /// Returns the section ids in order.
  std::vector<std::string> commit_document(const std::string& owner, const std::string& job_id,
                                           int64_t token, const document_input& doc,
                                           const std::vector<section_input>& sections);

 private:
  database& db_;
};

}  // namespace jobserver::persistence
