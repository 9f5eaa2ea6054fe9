// The `upload_pdf` job: extract the stored PDF's structure with Poppler (pdf/), then
// store the document and all its sections in one transaction that also checks the
// job's lease, so a run that lost its lease (or was cancelled) stores nothing.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>

#include "actors/job_types.hpp"
#include "actors/runtime.hpp"
#include "config/errors.hpp"
#include "pdf/extractor.hpp"

namespace jobserver::actors {
namespace {

std::string field(const rapidjson::Document& d, const char* key) {
  if (!d.IsObject() || !d.HasMember(key) || !d[key].IsString()) return {};
  return {d[key].GetString(), d[key].GetStringLength()};
}

std::string title_for(const std::string& form_title, const pdf::document_structure& doc,
                      const std::string& filename) {
  if (!form_title.empty()) return form_title;
  if (!doc.title.empty()) return doc.title;
  std::string name = filename;
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".pdf") == 0) name.resize(name.size() - 4);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".PDF") == 0) name.resize(name.size() - 4);
  return name.empty() ? "Untitled document" : name;
}

std::string result_json(const persistence::document_input& doc,
                        const std::vector<persistence::section_input>& sections) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  w.StartObject();
  w.Key("document_id");
  w.String(doc.id.c_str());
  w.Key("title");
  w.String(doc.title.c_str(), static_cast<rapidjson::SizeType>(doc.title.size()));
  w.Key("page_count");
  w.Int(doc.pages);
  w.Key("section_count");
  w.Int(static_cast<int>(sections.size()));
  w.Key("sections");
  w.StartArray();
  for (const auto& s : sections) {
    w.StartObject();
    w.Key("section_number");
    w.Int(s.number);
    w.Key("name");
    w.String(s.name.c_str(), static_cast<rapidjson::SizeType>(s.name.size()));
    w.Key("description");
    w.String(s.description.c_str(), static_cast<rapidjson::SizeType>(s.description.size()));
    w.Key("markdown_length");
    w.Uint64(s.markdown.size());
    w.Key("page_start");
    w.Int(s.page_start);
    w.Key("page_end");
    w.Int(s.page_end);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

std::string run_upload(runtime& rt, job_context& ctx) {
  rapidjson::Document data;
  data.Parse(ctx.job.data.c_str());
  persistence::document_input doc;
  doc.id = field(data, "document_id");
  doc.course_id = field(data, "course_id");
  doc.original_filename = field(data, "original_filename");
  doc.storage_path = field(data, "storage_path");
  doc.material_type = field(data, "material_type");
  doc.chapter = field(data, "chapter");
  if (doc.id.empty() || doc.storage_path.empty())
    throw app_error(errc::invalid_input, "The upload job has no document");
  auto path = rt.files->absolute(doc.storage_path);
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    throw app_error(errc::not_found, "The uploaded file is no longer available; upload it again");

  pdf::extract_options opts;
  opts.max_pages = rt.settings.max_pdf_pages;
  opts.progress = [&ctx](int pct) { ctx.progress(pct); };
  opts.should_stop = [&ctx] { return ctx.stopping(); };
  auto structure = pdf::extract_structure(path, opts);

  doc.title = title_for(field(data, "title"), structure, doc.original_filename);
  doc.pages = structure.page_count;
  std::vector<persistence::section_input> sections;
  for (const auto& s : structure.sections)
    sections.push_back({s.number, s.name, s.description, s.markdown, s.page_start, s.page_end});
  if (ctx.stopping()) throw app_error(errc::cancelled, "stopped");
  rt.content->commit_document(ctx.job.owner_id, ctx.job.id, ctx.job.lease_token, doc, sections);
  return result_json(doc, sections);
}

}  // namespace

void add_upload_job_type(job_registry& registry, runtime& rt) {
  job_type t;
  t.name = "upload_pdf";
  t.run = [&rt](job_context& ctx) { return run_upload(rt, ctx); };
  t.blocking = true;
  t.concurrency = rt.settings.upload_concurrency;
  t.retry = rt.settings.upload_retry;
  t.timeout = std::chrono::minutes(15);
  t.priority = 7;
  registry.add(std::move(t));
}

}  // namespace jobserver::actors
