#include "persistence/content_store.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "config/errors.hpp"
#include "persistence/database.hpp"
#include "persistence/job.hpp"

namespace jobserver::persistence {
namespace {

#define COURSE_JSON                                                                   \
  "json_build_object('id', c.id, 'name', c.name, 'code', c.code, 'term', c.term, "    \
  "'exam_date', c.exam_date, 'created_at', iso_utc(c.created_at), "                    \
  "'updated_at', iso_utc(c.updated_at))"

constexpr const char* create_course_sql =
    "INSERT INTO courses AS c (id, owner_id, name, code, term, exam_date) "
    "VALUES ($1::uuid, $2, $3, NULLIF($4, ''), NULLIF($5, ''), NULLIF($6, '')::date) "
    "RETURNING " COURSE_JSON "::text";
constexpr const char* list_courses_sql =
    "SELECT coalesce(json_agg(" COURSE_JSON " ORDER BY c.created_at DESC), '[]')::text "
    "FROM courses c WHERE c.owner_id = $1";
constexpr const char* find_course_sql =
    "SELECT " COURSE_JSON "::text FROM courses c WHERE c.id = $1::uuid AND c.owner_id = $2";
constexpr const char* course_documents_sql =
    "SELECT id::text, coalesce(storage_path, '') FROM documents "
    "WHERE course_id = $1::uuid AND owner_id = $2";
constexpr const char* delete_course_sql =
    "DELETE FROM courses WHERE id = $1::uuid AND owner_id = $2";

// Stored documents with their section count, and uploads not (yet) stored, newest first.
constexpr const char* list_documents_sql =
    "SELECT coalesce(json_agg(to_jsonb(x) - 'sort_at' ORDER BY x.sort_at DESC), '[]')::text FROM ("
    " SELECT d.id, d.course_id, d.title, d.original_filename, d.pages, d.material_type, d.chapter,"
    "  iso_utc(d.created_at) AS created_at,"
    "  (SELECT count(*) FROM sections s WHERE s.document_id = d.id AND s.owner_id = $1) AS section_count,"
    "  'ready' AS status, NULL::uuid AS job_id, 100 AS progress, NULL::text AS error,"
    "  d.created_at AS sort_at"
    " FROM documents d WHERE d.owner_id = $1 AND ($2 = '' OR d.course_id = NULLIF($2, '')::uuid)"
    " UNION ALL"
    " SELECT (j.data->>'document_id')::uuid, NULLIF(j.data->>'course_id', '')::uuid,"
    "  j.data->>'title', j.data->>'original_filename', NULL, j.data->>'material_type',"
    "  j.data->>'chapter', iso_utc(j.created_at), 0, j.status, j.id, j.progress, j.error, j.created_at"
    " FROM jobs j WHERE j.owner_id = $1 AND j.type = 'upload_pdf' AND j.status <> 'completed'"
    "  AND ($2 = '' OR j.data->>'course_id' = $2)"
    "  AND NOT EXISTS (SELECT 1 FROM documents d2 WHERE d2.id::text = j.data->>'document_id')"
    ") x";
constexpr const char* find_document_sql =
    "SELECT json_build_object('id', d.id, 'course_id', d.course_id, 'title', d.title, "
    "'original_filename', d.original_filename, 'pages', d.pages, 'material_type', d.material_type, "
    "'chapter', d.chapter, 'created_at', iso_utc(d.created_at), 'status', 'ready', "
    "'section_count', (SELECT count(*) FROM sections s WHERE s.document_id = d.id AND s.owner_id = $2))::text "
    "FROM documents d WHERE d.id = $1::uuid AND d.owner_id = $2";
constexpr const char* delete_document_sql =
    "DELETE FROM documents WHERE id = $1::uuid AND owner_id = $2 "
    "RETURNING id::text, coalesce(storage_path, '')";
constexpr const char* list_sections_sql =
    "SELECT coalesce(json_agg(json_build_object('id', s.id, 'document_id', s.document_id, "
    "'course_id', s.course_id, 'section_number', s.section_number, 'name', s.name, "
    "'description', s.description, 'markdown_text', s.markdown_text, "
    "'page_start', s.page_start, 'page_end', s.page_end, "
    "'concepts_generated', s.concepts_generated, 'lesson_id', l.id, "
    "'created_at', iso_utc(s.created_at)) ORDER BY s.section_number), '[]')::text "
    "FROM sections s LEFT JOIN lessons l ON l.section_id = s.id AND l.owner_id = $2 "
    "WHERE s.document_id = $1::uuid AND s.owner_id = $2";
constexpr const char* document_exists_sql =
    "SELECT 1 FROM documents WHERE id = $1::uuid AND owner_id = $2";
constexpr const char* lock_job_sql =
    "SELECT lease_token, cancel_requested, status FROM jobs "
    "WHERE id = $1::uuid AND owner_id = $2 FOR UPDATE";
constexpr const char* insert_document_sql =
    "INSERT INTO documents (id, owner_id, course_id, title, original_filename, storage_path, "
    "pages, material_type, chapter) VALUES ($1::uuid, $2, NULLIF($3, '')::uuid, $4, $5, $6, $7, "
    "NULLIF($8, ''), NULLIF($9, '')) ON CONFLICT (id) DO NOTHING RETURNING id";
constexpr const char* insert_sections_sql =
    "INSERT INTO sections (id, owner_id, document_id, course_id, section_number, name, "
    "description, markdown_text, page_start, page_end) "
    "SELECT gen_random_uuid(), $1, $2::uuid, NULLIF($3, '')::uuid, s.number, s.name, "
    "s.description, s.markdown, s.page_start, s.page_end "
    "FROM jsonb_to_recordset($4::jsonb) AS s(number int, name text, description text, "
    "markdown text, page_start int, page_end int) RETURNING id::text, section_number";
constexpr const char* section_ids_sql =
    "SELECT id::text FROM sections WHERE document_id = $1::uuid AND owner_id = $2 "
    "ORDER BY section_number";

std::optional<std::string> first_text(const pqxx::result& r) {
  if (r.empty() || r[0][0].is_null()) return std::nullopt;
  return std::string{r[0][0].c_str()};
}

std::string sections_json(const std::vector<section_input>& sections) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  auto str = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  w.StartArray();
  for (const auto& s : sections) {
    w.StartObject();
    w.Key("number");
    w.Int(s.number);
    str("name", s.name);
    str("description", s.description);
    str("markdown", s.markdown);
    w.Key("page_start");
    w.Int(s.page_start);
    w.Key("page_end");
    w.Int(s.page_end);
    w.EndObject();
  }
  w.EndArray();
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

std::string content_store::create_course(const std::string& owner, const course_input& in) {
  return db_.as_user(owner, [&](pqxx::work& tx) {
    return std::string{tx.exec_params(create_course_sql, make_uuid(), owner, in.name, in.code,
                                      in.term, in.exam_date)[0][0].c_str()};
  });
}

std::string content_store::list_courses(const std::string& owner) {
  return db_.as_user(owner, [&](pqxx::work& tx) {
    return std::string{tx.exec_params(list_courses_sql, owner)[0][0].c_str()};
  });
}

std::optional<std::string> content_store::find_course(const std::string& owner, const std::string& id) {
  return db_.as_user(owner, [&](pqxx::work& tx) { return first_text(tx.exec_params(find_course_sql, id, owner)); });
}

bool content_store::course_exists(const std::string& owner, const std::string& id) {
  return find_course(owner, id).has_value();
}

std::optional<std::vector<stored_document>> content_store::delete_course(const std::string& owner,
                                                                         const std::string& id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<std::vector<stored_document>> {
    std::vector<stored_document> docs;
    for (const auto& r : tx.exec_params(course_documents_sql, id, owner))
      docs.push_back({r[0].c_str(), r[1].c_str()});
    if (tx.exec_params(delete_course_sql, id, owner).affected_rows() == 0) return std::nullopt;
    return docs;
  });
}

std::string content_store::list_documents(const std::string& owner, const std::string& course_id) {
  return db_.as_user(owner, [&](pqxx::work& tx) {
    return std::string{tx.exec_params(list_documents_sql, owner, course_id)[0][0].c_str()};
  });
}

std::optional<std::string> content_store::find_document(const std::string& owner, const std::string& id) {
  return db_.as_user(owner, [&](pqxx::work& tx) { return first_text(tx.exec_params(find_document_sql, id, owner)); });
}

std::optional<stored_document> content_store::delete_document(const std::string& owner,
                                                              const std::string& id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<stored_document> {
    auto r = tx.exec_params(delete_document_sql, id, owner);
    if (r.empty()) return std::nullopt;
    return stored_document{r[0][0].c_str(), r[0][1].c_str()};
  });
}

std::optional<std::string> content_store::list_sections(const std::string& owner,
                                                        const std::string& document_id) {
  return db_.as_user(owner, [&](pqxx::work& tx) -> std::optional<std::string> {
    if (tx.exec_params(document_exists_sql, document_id, owner).empty()) return std::nullopt;
    return first_text(tx.exec_params(list_sections_sql, document_id, owner));
  });
}

std::vector<std::string> content_store::commit_document(const std::string& owner,
                                                        const std::string& job_id, int64_t token,
                                                        const document_input& doc,
                                                        const std::vector<section_input>& sections) {
  return db_.as_user(owner, [&](pqxx::work& tx) {
    auto job = tx.exec_params(lock_job_sql, job_id, owner);
    if (job.empty() || job[0][0].as<int64_t>() != token || job[0][1].as<bool>() ||
        std::string{job[0][2].c_str()} != status::processing)
      throw app_error(errc::cancelled, "the job was cancelled or taken over; nothing stored");
    if (!doc.course_id.empty() && tx.exec_params(find_course_sql, doc.course_id, owner).empty())
      throw app_error(errc::not_found, "The course was deleted while the document was processed");
    std::vector<std::string> ids;
    auto inserted = tx.exec_params(insert_document_sql, doc.id, owner, doc.course_id, doc.title,
                                   doc.original_filename, doc.storage_path, doc.pages,
                                   doc.material_type, doc.chapter);
    if (!inserted.empty())
      tx.exec_params(insert_sections_sql, owner, doc.id, doc.course_id, sections_json(sections));
    for (const auto& r : tx.exec_params(section_ids_sql, doc.id, owner)) ids.emplace_back(r[0].c_str());
    return ids;
  });
}

}  // namespace jobserver::persistence
