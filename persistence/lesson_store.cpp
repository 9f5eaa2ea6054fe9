#include "persistence/lesson_store.hpp"

#include "config/errors.hpp"
#include "persistence/database.hpp"
#include "persistence/job.hpp"

namespace jobserver::persistence {
namespace {

#define LESSON_JSON                                                                       \
  "json_build_object('id', l.id, 'document_id', l.document_id, 'section_id', l.section_id, " \
  "'course_id', l.course_id, 'topic', l.topic, 'summary', l.summary, "                      \
  "'explanation', l.explanation, 'concepts', l.concepts, 'created_at', iso_utc(l.created_at))::text"

constexpr const char* find_sql =
    "SELECT " LESSON_JSON " FROM lessons l WHERE l.id = $1::uuid AND l.owner_id = $2";
constexpr const char* find_by_section_sql =
    "SELECT " LESSON_JSON " FROM lessons l WHERE l.section_id = $1::uuid AND l.owner_id = $2";
constexpr const char* find_for_sql =
    "SELECT " LESSON_JSON ", l.id::text FROM lessons l WHERE l.owner_id = $1 "
    "AND l.document_id = $2::uuid AND l.section_id IS NOT DISTINCT FROM NULLIF($3, '')::uuid";
constexpr const char* document_sql =
    "SELECT d.title, coalesce(d.course_id::text, '') FROM documents d "
    "WHERE d.id = $1::uuid AND d.owner_id = $2";
constexpr const char* section_sql =
    "SELECT s.name, coalesce(s.markdown_text, '') FROM sections s "
    "WHERE s.id = $1::uuid AND s.document_id = $2::uuid AND s.owner_id = $3";
constexpr const char* document_text_sql =
    "SELECT coalesce(string_agg('# ' || s.name || E'\\n\\n' || coalesce(s.markdown_text, ''), "
    "E'\\n\\n' ORDER BY s.section_number), '') FROM sections s "
    "WHERE s.document_id = $1::uuid AND s.owner_id = $2";
constexpr const char* without_lesson_sql =
    "SELECT s.id::text FROM sections s WHERE s.document_id = $1::uuid AND s.owner_id = $2 "
    "AND NOT EXISTS (SELECT 1 FROM lessons l WHERE l.section_id = s.id AND l.owner_id = $2) "
    "ORDER BY s.section_number";
constexpr const char* lock_job_sql =
    "SELECT lease_token, cancel_requested, status FROM jobs "
    "WHERE id = $1::uuid AND owner_id = $2 FOR UPDATE";
constexpr const char* insert_sql =
    "INSERT INTO lessons (id, owner_id, document_id, course_id, section_id, topic, summary, "
    "explanation, concepts) VALUES (gen_random_uuid(), $1, $2::uuid, NULLIF($3, '')::uuid, "
    "NULLIF($4, '')::uuid, $5, $6, $7, $8::jsonb) ON CONFLICT DO NOTHING RETURNING id::text";
constexpr const char* mark_section_sql =
    "UPDATE sections SET concepts_generated = true WHERE id = $1::uuid AND owner_id = $2";

}  // namespace

std::optional<std::string> lesson_store::find(const std::string& owner, const std::string& id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<std::string> {
    auto r = tx.exec_params(find_sql, id, owner);
    if (r.empty()) return std::nullopt;
    return std::string{r[0][0].c_str()};
  });
}

std::optional<std::string> lesson_store::find_by_section(const std::string& owner,
                                                         const std::string& section_id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<std::string> {
    auto r = tx.exec_params(find_by_section_sql, section_id, owner);
    if (r.empty()) return std::nullopt;
    return std::string{r[0][0].c_str()};
  });
}

std::optional<std::string> lesson_store::find_for(const std::string& owner,
                                                  const std::string& document_id,
                                                  const std::string& section_id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<std::string> {
    auto r = tx.exec_params(find_for_sql, owner, document_id, section_id);
    if (r.empty()) return std::nullopt;
    return std::string{r[0][0].c_str()};
  });
}

std::optional<std::string> lesson_store::id_for(const std::string& owner,
                                                const std::string& document_id,
                                                const std::string& section_id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<std::string> {
    auto r = tx.exec_params(find_for_sql, owner, document_id, section_id);
    if (r.empty()) return std::nullopt;
    return std::string{r[0][1].c_str()};
  });
}

std::optional<lesson_source> lesson_store::source(const std::string& owner,
                                                  const std::string& document_id,
                                                  const std::string& section_id, bool with_text) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<lesson_source> {
    auto d = tx.exec_params(document_sql, document_id, owner);
    if (d.empty()) return std::nullopt;
    lesson_source src;
    src.document_id = document_id;
    src.course_id = d[0][1].c_str();
    src.section_id = section_id;
    src.topic = d[0][0].c_str();
    if (!section_id.empty()) {
      auto s = tx.exec_params(section_sql, section_id, document_id, owner);
      if (s.empty()) return std::nullopt;
      src.topic = s[0][0].c_str();
      if (with_text) src.text = s[0][1].c_str();
    }
    if (with_text) {
      src.document_text = tx.exec_params(document_text_sql, document_id, owner)[0][0].c_str();
      if (section_id.empty()) src.text = src.document_text;
    }
    return src;
  });
}

std::vector<std::string> lesson_store::sections_without_lesson(const std::string& owner,
                                                               const std::string& document_id) {
  return db_.as_user(owner, [&](pqxx::work& tx) {
    std::vector<std::string> ids;
    for (const auto& r : tx.exec_params(without_lesson_sql, document_id, owner)) ids.emplace_back(r[0].c_str());
    return ids;
  });
}

std::string lesson_store::commit(const std::string& owner, const std::string& job_id, int64_t token,
                                 const lesson_source& src, const lesson_input& lesson) {
  return db_.as_user(owner, [&](pqxx::work& tx) {
    auto job = tx.exec_params(lock_job_sql, job_id, owner);
    if (job.empty() || job[0][0].as<int64_t>() != token || job[0][1].as<bool>() ||
        std::string{job[0][2].c_str()} != status::processing)
      throw app_error(errc::cancelled, "the job was cancelled or taken over; nothing stored");
    auto inserted = tx.exec_params(insert_sql, owner, src.document_id, src.course_id, src.section_id,
                                   lesson.topic, lesson.summary, lesson.explanation, lesson.concepts);
    if (!src.section_id.empty()) tx.exec_params(mark_section_sql, src.section_id, owner);
    if (!inserted.empty()) return std::string{inserted[0][0].c_str()};
    auto existing = tx.exec_params(find_for_sql, owner, src.document_id, src.section_id);
    if (existing.empty()) throw app_error(errc::not_found, "The document or section was deleted");
    return std::string{existing[0][1].c_str()};
  });
}

}  // namespace jobserver::persistence
