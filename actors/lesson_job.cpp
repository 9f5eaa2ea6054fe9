// The `generate_lesson` job (a lesson for one section, or a whole document) and the
// `generate_lesson_batch` job (the parent of a "generate all sections" request, which
// follows its children).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <thread>

#include "actors/job_types.hpp"
#include "actors/runtime.hpp"
#include "config/errors.hpp"
#include "config/log.hpp"
#include "llm/provider.hpp"

namespace jobserver::actors {
namespace {

std::string field(const rapidjson::Document& d, const char* key) {
  if (!d.IsObject() || !d.HasMember(key) || !d[key].IsString()) return {};
  return {d[key].GetString(), d[key].GetStringLength()};
}

std::string lesson_result(const std::string& lesson_id, size_t concepts) {
  return "{\"lesson_id\":\"" + lesson_id + "\",\"concept_count\":" + std::to_string(concepts) + "}";
}

size_t concept_count(const std::string& lesson_json) {
  rapidjson::Document d;
  d.Parse(lesson_json.c_str());
  return d.IsObject() && d.HasMember("concepts") && d["concepts"].IsArray() ? d["concepts"].Size() : 0;
}

/// The lesson's fields as stored: concepts as a JSON array.
persistence::lesson_input to_input(const llm::lesson& l) {
  rapidjson::Document d;
  auto json = llm::to_json(l);
  d.Parse(json.c_str());
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w{buf};
  d["concepts"].Accept(w);
  return {l.topic, l.summary, l.explanation, {buf.GetString(), buf.GetSize()}};
}

std::string run_lesson(runtime& rt, job_context& ctx) {
  rapidjson::Document data;
  data.Parse(ctx.job.data.c_str());
  auto document_id = field(data, "document_id");
  auto section_id = field(data, "section_id");
  bool check_ins = !(data.IsObject() && data.HasMember("include_check_ins") &&
                     data["include_check_ins"].IsBool() && !data["include_check_ins"].GetBool());
  const auto& owner = ctx.job.owner_id;
  if (auto existing = rt.lessons->find_for(owner, document_id, section_id))
    return lesson_result(*rt.lessons->id_for(owner, document_id, section_id), concept_count(*existing));
  auto src = rt.lessons->source(owner, document_id, section_id, true);
  if (!src) throw app_error(errc::not_found, "The document or section no longer exists");
  ctx.progress(10);

  llm::lesson_request request{src->topic, src->text, check_ins, src->document_text};
  llm::generation_hooks hooks;
  hooks.should_stop = [&ctx] { return ctx.stopping(); };
  hooks.on_partial = [&ctx](const std::string& text, size_t chars) {
    // 20-80 % while text streams in (a lesson is a few thousand characters).
    ctx.progress(20 + static_cast<int>(std::min<size_t>(60, chars * 60 / 6000)));
    ctx.partial(text);
  };
  hooks.on_retry = [&ctx](int attempt, const std::string& error) {
    logger("worker")->warn("job {}: LLM request {} after: {}", ctx.job.id, attempt, error);
    ctx.problem("LLM request " + std::to_string(attempt) + " after: " + error);
  };
  ctx.progress(20);
  auto provider = llm::make_provider(rt.llm_options);
  auto lesson = provider->generate(request, hooks);
  ctx.progress(85);
  auto id = rt.lessons->commit(owner, ctx.job.id, ctx.job.lease_token, *src, to_input(lesson));
  ctx.progress(90);
  return lesson_result(id, lesson.concepts.size());
}

/// Follows the children until all have finished; progress is the share finished.
std::string run_batch(runtime& rt, job_context& ctx) {
  for (;;) {
    auto c = rt.store->children(ctx.job.id);
    if (c.total > 0) ctx.progress(std::min(99, c.finished * 100 / c.total));
    if (c.finished == c.total)
      return "{\"children\":" + std::to_string(c.total) + ",\"completed\":" +
             std::to_string(c.finished - c.failed) + ",\"failed\":" + std::to_string(c.failed) + "}";
    for (int i = 0; i < 10; ++i) {
      if (ctx.stopping()) throw app_error(errc::cancelled, "stopped");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace

void add_lesson_job_types(job_registry& registry, runtime& rt) {
  job_type lesson;
  lesson.name = "generate_lesson";
  lesson.run = [&rt](job_context& ctx) { return run_lesson(rt, ctx); };
  lesson.concurrency = rt.settings.lesson_concurrency;
  lesson.retry = rt.settings.lesson_retry;
  lesson.timeout = std::chrono::minutes(10);
  lesson.priority = 5;
  registry.add(std::move(lesson));

  job_type batch;
  batch.name = "generate_lesson_batch";
  batch.run = [&rt](job_context& ctx) { return run_batch(rt, ctx); };
  batch.concurrency = rt.settings.batch_concurrency;  // it only waits for its children
  batch.retry = {3, 1000};
  batch.timeout = std::chrono::hours(6);
  batch.priority = 5;
  registry.add(std::move(batch));
}

}  // namespace jobserver::actors
