// Lesson generation through the real job path (issue 5): the offline default, the
// de-duplication race, batches, isolation, and a remote provider (the fake LLM server
// speaking the OpenAI and Gemini wire formats).
#include <catch2/catch.hpp>

#include <fstream>
#include <future>
#include <set>

#include "tests/e2e/e2e_support.hpp"
#include "tests/llm/fake_llm_server.hpp"
#include "tests/pdf/pdf_writer.hpp"

using namespace jobserver::testing;
namespace pt = jobserver::pdf::test;

namespace {

const char* photosynthesis =
    "Photosynthesis is the process by which green plants convert light energy into chemical "
    "energy. Chlorophyll is the green pigment that absorbs light in the chloroplasts. The "
    "Calvin cycle uses carbon dioxide and ATP to build glucose. For example, a leaf in "
    "sunlight produces oxygen as a by-product. Stomata are small pores that let carbon "
    "dioxide enter the leaf. Note that photosynthesis must have light to run its first stage.";

/// Uploads a three-chapter PDF and waits for it; returns (document id, section ids).
std::pair<std::string, std::vector<std::string>> uploaded_document(httplib::Client& c,
                                                                   const std::string& user = "user-a") {
  pt::pdf_spec spec;
  for (int i = 1; i <= 3; ++i) {
    pt::page_builder b;
    b.heading(std::to_string(i) + " Plant biology part " + std::to_string(i), 18);
    b.paragraph(photosynthesis);
    b.paragraph(pt::prose(i, 8));
    spec.pages.push_back(b.build());
  }
  auto r = c.Post("/upload/pdf-structured", {{"X-User-ID", user}},
                  httplib::MultipartFormDataItems{{"file", pt::render_pdf(spec), "plants.pdf", "application/pdf"}});
  REQUIRE(r);
  REQUIRE(r->status == 202);
  rapidjson::Document d;
  d.Parse(r->body.c_str());
  wait_for_status(c, d["job_id"].GetString(), "completed", user);
  std::string doc = d["document_id"].GetString();
  auto sections = call(c, "GET", "/sections?document_id=" + doc, {}, user);
  std::vector<std::string> ids;
  for (const auto& s : sections.body["sections"].GetArray()) ids.push_back(s["id"].GetString());
  REQUIRE(ids.size() == 3);
  return {doc, ids};
}

std::string generate_body(const std::string& doc, const std::string& section) {
  return R"({"document_id":")" + doc + R"(","section_id":")" + section + R"("})";
}

void check_lesson_is_valid(const rapidjson::Value& lesson) {
  REQUIRE(lesson["concepts"].IsArray());
  REQUIRE(lesson["concepts"].Size() >= 1);
  CHECK(lesson["concepts"].Size() <= 15);
  CHECK(std::string{lesson["summary"].GetString()}.size() > 0);
  for (const auto& concept_ : lesson["concepts"].GetArray()) {
    for (const auto& q : concept_["check_ins"].GetArray()) {
      REQUIRE(q["options"].Size() == 4);
      int matches = 0;
      for (const auto& o : q["options"].GetArray())
        if (std::string{o.GetString()} == q["expected_answer"].GetString()) ++matches;
      CHECK(matches == 1);
    }
  }
}

}  // namespace

TEST_CASE("a lesson is generated offline for a section and then answered as already generated",
          "[lesson]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  auto a = call(*c, "POST", "/lessons/generate", generate_body(doc, sections[0]));
  INFO(a.raw);
  REQUIRE(a.status == 202);
  CHECK(std::string{a.body["message"].GetString()} == "Lesson generation queued");
  auto job = wait_for_status(*c, a.body["job_id"].GetString(), "completed");
  std::string lesson_id = job.body["result"]["lesson_id"].GetString();
  auto lesson = call(*c, "GET", "/lessons/" + lesson_id);
  REQUIRE(lesson.status == 200);
  check_lesson_is_valid(lesson.body);
  CHECK(std::string{lesson.body["section_id"].GetString()} == sections[0]);
  auto by_section = call(*c, "GET", "/lessons?section_id=" + sections[0]);
  CHECK(by_section.status == 200);
  auto again = call(*c, "POST", "/lessons/generate", generate_body(doc, sections[0]));
  CHECK(again.status == 200);
  CHECK(std::string{again.body["lesson_id"].GetString()} == lesson_id);
  CHECK(std::string{again.body["message"].GetString()} == "Lesson already generated");
  auto listed = call(*c, "GET", "/sections?document_id=" + doc);
  CHECK(std::string{listed.body["sections"][0]["lesson_id"].GetString()} == lesson_id);
  CHECK(listed.body["sections"][0]["concepts_generated"].GetBool());
  CHECK(call(*c, "POST", "/lessons/generate", R"({"section_id":")" + sections[0] + "\"}").status == 400);
  CHECK(call(*c, "GET", "/lessons/" + sections[0]).status == 404);
}

TEST_CASE("twenty simultaneous requests for one section create exactly one job", "[lesson][dedup]") {
  service_fixture f;
  temp_storage storage;
  // No lesson worker on this node: the job stays queued while the requests race.
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"LESSON_CONCURRENCY", "0"}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  std::vector<std::future<answer>> racers;
  for (int i = 0; i < 20; ++i)
    racers.push_back(std::async(std::launch::async, [&, i] {
      auto own = s.client();
      (void)i;
      return call(*own, "POST", "/lessons/generate", generate_body(doc, sections[1]));
    }));
  std::set<std::string> job_ids;
  for (auto& r : racers) {
    auto a = r.get();
    REQUIRE(a.status == 202);
    job_ids.insert(a.body["job_id"].GetString());
  }
  CHECK(job_ids.size() == 1);
  long lesson_jobs = f.db->as_system([](pqxx::work& tx) {
    return tx.exec("SELECT count(*) FROM jobs WHERE type = 'generate_lesson'")[0][0].as<long>();
  });
  CHECK(lesson_jobs == 1);
}

TEST_CASE("generate-all runs one child per section under a parent whose progress follows them",
          "[lesson][batch]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  auto a = call(*c, "POST", "/lessons/generate-all", R"({"document_id":")" + doc + "\"}");
  INFO(a.raw);
  REQUIRE(a.status == 202);
  CHECK(a.body["children"].Size() == 3);
  auto parent = wait_for_status(*c, a.body["job_id"].GetString(), "completed");
  CHECK(parent.body["progress"].GetInt() == 100);
  CHECK(parent.body["result"]["completed"].GetInt() == 3);
  for (const auto& child : a.body["children"].GetArray()) {
    auto job = get_job(*c, child["job_id"].GetString());
    CHECK(std::string{job.body["status"].GetString()} == "completed");
    CHECK(job.body["priority"].GetInt() < 5);
  }
  auto none_left = call(*c, "POST", "/lessons/generate-all", R"({"document_id":")" + doc + "\"}");
  CHECK(none_left.status == 200);
}

TEST_CASE("another user cannot read, generate or list these lessons", "[lesson][isolation]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  auto a = call(*c, "POST", "/lessons/generate", generate_body(doc, sections[0]));
  auto job = wait_for_status(*c, a.body["job_id"].GetString(), "completed");
  std::string lesson_id = job.body["result"]["lesson_id"].GetString();
  CHECK(call(*c, "GET", "/lessons/" + lesson_id, {}, "user-b").status == 404);
  CHECK(call(*c, "GET", "/lessons?section_id=" + sections[0], {}, "user-b").status == 404);
  CHECK(call(*c, "POST", "/lessons/generate", generate_body(doc, sections[1]), "user-b").status == 404);
  CHECK(call(*c, "POST", "/lessons/generate-all", R"({"document_id":")" + doc + "\"}", "user-b").status == 404);
}

TEST_CASE("with an OpenAI-compatible provider the lesson comes from the model, after a retry "
          "of a 500",
          "[lesson][llm]") {
  fake_llm_server llm;
  llm.script({{llm_reply::server_error}, {llm_reply::good_lesson}});
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"LLM_PROVIDER", "openai"},
                       {"LLM_BASE_URL", llm.url() + "/v1"}, {"OPENAI_API_KEY", "sk-test-secret-key"}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  auto a = call(*c, "POST", "/lessons/generate", generate_body(doc, sections[2]));
  REQUIRE(a.status == 202);
  auto job = wait_for_status(*c, a.body["job_id"].GetString(), "completed", "user-a",
                             std::chrono::seconds(30));
  auto lesson = call(*c, "GET", std::string{"/lessons/"} + job.body["result"]["lesson_id"].GetString());
  REQUIRE(lesson.status == 200);
  check_lesson_is_valid(lesson.body);
  CHECK(llm.request_count() == 2);
  // The key travels in the header only and never reaches the job row or the logs.
  CHECK(llm.requests().back().header("Authorization") == "Bearer sk-test-secret-key");
  CHECK(job.raw.find("sk-test-secret-key") == std::string::npos);
  std::ifstream log(s.log_path());
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("sk-test-secret-key") == std::string::npos);
}

TEST_CASE("a model that keeps answering invalid lessons fails the job with a clear error",
          "[lesson][llm]") {
  fake_llm_server llm;
  llm.script({{llm_reply::invalid_lesson}, {llm_reply::invalid_lesson}, {llm_reply::invalid_lesson},
              {llm_reply::invalid_lesson}, {llm_reply::invalid_lesson}, {llm_reply::invalid_lesson}});
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"LLM_PROVIDER", "gemini"},
                       {"LLM_BASE_URL", llm.url()}, {"GEMINI_API_KEY", "gm-test-secret"}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  auto a = call(*c, "POST", "/lessons/generate", generate_body(doc, sections[0]));
  auto job = wait_for_status(*c, a.body["job_id"].GetString(), "failed", "user-a", std::chrono::seconds(30));
  CHECK(std::string{job.body["error"].GetString()}.find("after 3 attempts") != std::string::npos);
  CHECK(job.body["attempts"].GetInt() == 1);  // permanent: not retried as a job
}

TEST_CASE("a server that needs an LLM key it lacks refuses to start, naming the variable", "[lesson]") {
  service_fixture f;
  server_process s{f, {{"LLM_PROVIDER", "gemini"}}};
  CHECK_THROWS(s.start());
  std::ifstream log(s.log_path());
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("GEMINI_API_KEY") != std::string::npos);
}

TEST_CASE("a 429 with Retry-After is honoured and the retry is visible on the job while it waits",
          "[lesson][llm]") {
  fake_llm_server llm;
  llm.script({{llm_reply::rate_limited, {}, {}, 2}, {llm_reply::good_lesson}});
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"LLM_PROVIDER", "openai"},
                       {"LLM_BASE_URL", llm.url() + "/v1"}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  auto a = call(*c, "POST", "/lessons/generate", generate_body(doc, sections[0]));
  std::string id = a.body["job_id"].GetString();
  bool visible = eventually([&] {
    auto j = call(*c, "GET", "/jobs/" + id);
    return j.body["error"].IsString() && std::string{j.body["error"].GetString()}.find("429") != std::string::npos;
  }, std::chrono::seconds(5));
  CHECK(visible);
  auto job = wait_for_status(*c, id, "completed", "user-a", std::chrono::seconds(30));
  CHECK(job.body["error"].IsNull());
  REQUIRE(llm.request_count() == 2);
  auto reqs = llm.requests();
  CHECK(reqs[1].at - reqs[0].at >= std::chrono::milliseconds(1900));
}

TEST_CASE("malformed answers and a dropped stream are asked for again until a good lesson comes",
          "[lesson][llm]") {
  fake_llm_server llm;
  llm.script({{llm_reply::malformed_json}, {llm_reply::dropped}, {llm_reply::good_lesson}});
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"LLM_PROVIDER", "gemini"},
                       {"LLM_BASE_URL", llm.url()}, {"GEMINI_API_KEY", "gm-test-secret"}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  auto a = call(*c, "POST", "/lessons/generate", generate_body(doc, sections[1]));
  auto job = wait_for_status(*c, a.body["job_id"].GetString(), "completed", "user-a", std::chrono::seconds(30));
  CHECK(llm.request_count() == 3);
  for (const auto& r : llm.requests()) {
    CHECK(r.header("x-goog-api-key") == "gm-test-secret");
    CHECK(r.target.find("gm-test-secret") == std::string::npos);
  }
}

TEST_CASE("cancelling a lesson job aborts a slow model answer within a second", "[lesson][llm]") {
  fake_llm_server llm;
  llm.script({{llm_reply::slow_lesson, std::chrono::milliseconds(20000), std::chrono::milliseconds(500)}});
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"LLM_PROVIDER", "openai"},
                       {"LLM_BASE_URL", llm.url() + "/v1"}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  auto a = call(*c, "POST", "/lessons/generate", generate_body(doc, sections[2]));
  std::string id = a.body["job_id"].GetString();
  REQUIRE(eventually([&] { return llm.request_count() == 1; }, std::chrono::seconds(10)));
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(call(*c, "POST", "/jobs/" + id + "/cancel").status == 200);
  auto job = wait_for_status(*c, id, "failed", "user-a", std::chrono::seconds(5));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1500));
  CHECK(job.body["cancelled"].GetBool());
  CHECK(call(*c, "GET", "/lessons?section_id=" + sections[2]).status == 404);
}

TEST_CASE("cancelling a batch cancels the children it waits for", "[lesson][batch]") {
  service_fixture f;
  temp_storage storage;
  // No lesson worker: the children stay queued, the parent waits for them.
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"LESSON_CONCURRENCY", "0"}}};
  s.start();
  auto c = s.client();
  auto [doc, sections] = uploaded_document(*c);
  auto a = call(*c, "POST", "/lessons/generate-all", R"({"document_id":")" + doc + "\"}");
  REQUIRE(a.status == 202);
  std::string parent = a.body["job_id"].GetString();
  wait_for_status(*c, parent, "processing");
  REQUIRE(call(*c, "POST", "/jobs/" + parent + "/cancel").status == 200);
  wait_for_status(*c, parent, "failed");
  for (const auto& child : a.body["children"].GetArray()) {
    auto job = get_job(*c, child["job_id"].GetString());
    CHECK(std::string{job.body["status"].GetString()} == "failed");
    CHECK(job.body["cancelled"].GetBool());
  }
}

TEST_CASE("a click made during a batch starts before the batch's remaining children",
          "[lesson][batch][priority]") {
  fake_llm_server llm;
  // The first child keeps the only lesson slot busy while the click arrives.
  llm.script({{llm_reply::slow_lesson, std::chrono::milliseconds(1500), std::chrono::milliseconds(0)}});
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"LESSON_CONCURRENCY", "1"},
                       {"LLM_PROVIDER", "openai"}, {"LLM_BASE_URL", llm.url() + "/v1"}}};
  s.start();
  auto c = s.client();
  auto [doc_a, sections_a] = uploaded_document(*c);
  auto [doc_b, sections_b] = uploaded_document(*c);
  auto batch = call(*c, "POST", "/lessons/generate-all", R"({"document_id":")" + doc_a + "\"}");
  REQUIRE(batch.status == 202);
  REQUIRE(eventually([&] { return llm.request_count() >= 1; }, std::chrono::seconds(10)));
  auto click = call(*c, "POST", "/lessons/generate", generate_body(doc_b, sections_b[0]));
  REQUIRE(click.status == 202);
  auto clicked = wait_for_status(*c, click.body["job_id"].GetString(), "completed", "user-a",
                                 std::chrono::seconds(30));
  std::string click_started = clicked.body["started_at"].GetString();
  int children_before_click = 0;
  wait_for_status(*c, batch.body["job_id"].GetString(), "completed", "user-a", std::chrono::seconds(30));
  for (const auto& child : batch.body["children"].GetArray()) {
    auto job = get_job(*c, child["job_id"].GetString());
    if (std::string{job.body["started_at"].GetString()} < click_started) ++children_before_click;
  }
  CHECK(children_before_click == 1);  // only the one already running
}
