// PDF upload and the courses/documents/sections API (issue 4).
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <algorithm>

#include "tests/e2e/e2e_support.hpp"
#include "tests/pdf/pdf_writer.hpp"

using namespace jobserver::testing;
namespace pt = jobserver::pdf::test;

namespace {

/// A PDF with `chapters` numbered chapters of `pages_each` pages.
std::string chapters_pdf(int chapters, int pages_each = 1) {
  pt::pdf_spec spec;
  for (int c = 1; c <= chapters; ++c) {
    for (int p = 0; p < pages_each; ++p) {
      pt::page_builder b;
      if (p == 0) b.heading(std::to_string(c) + " Chapter about topic " + std::to_string(c), 18);
      b.paragraph(pt::prose(c * 10 + p, 12));
      b.paragraph(pt::prose(c * 10 + p + 5, 10));
      spec.pages.push_back(b.build());
    }
  }
  return pt::render_pdf(spec);
}

answer upload(httplib::Client& c, const std::string& bytes, const std::string& user = "user-a",
              httplib::MultipartFormDataItems extra = {}, const std::string& filename = "notes.pdf") {
  httplib::MultipartFormDataItems items{{"file", bytes, filename, "application/pdf"}};
  for (auto& e : extra) items.push_back(e);
  auto r = c.Post("/upload/pdf-structured", {{"X-User-ID", user}}, items);
  answer a;
  if (!r) return a;
  a.status = r->status;
  a.raw = r->body;
  a.body.Parse(a.raw.c_str());
  return a;
}

std::string course(httplib::Client& c, const std::string& user = "user-a") {
  auto a = call(c, "POST", "/courses", R"({"name":"Biology","code":"BIO101","term":"Fall"})", user);
  REQUIRE(a.status == 201);
  return a.body["id"].GetString();
}

size_t files_under(const std::string& dir) {
  std::string cmd = "find '" + dir + "' -type f 2>/dev/null | wc -l";
  FILE* p = popen(cmd.c_str(), "r");
  size_t n = 0;
  if (p != nullptr) {
    if (fscanf(p, "%zu", &n) != 1) n = 0;
    pclose(p);
  }
  return n;
}

}  // namespace

TEST_CASE("an upload answers 202 at once and the document appears with its sections",
          "[upload]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}}};
  s.start();
  auto c = s.client();
  auto course_id = course(*c);
  auto a = upload(*c, chapters_pdf(4), "user-a",
                  {{"course_id", course_id, "", ""}, {"title", "Cell biology", "", ""}});
  INFO(a.raw);
  REQUIRE(a.status == 202);
  CHECK(std::string{a.body["status"].GetString()} == "queued");
  CHECK(std::string{a.body["message"].GetString()} == "Upload queued for processing");
  std::string job_id = a.body["job_id"].GetString();
  std::string document_id = a.body["document_id"].GetString();
  auto job = wait_for_status(*c, job_id, "completed");
  CHECK(job.body["progress"].GetInt() == 100);
  CHECK(std::string{job.body["result"]["document_id"].GetString()} == document_id);
  CHECK(job.body["result"]["section_count"].GetInt() == 4);
  CHECK(std::string{job.body["result"]["title"].GetString()} == "Cell biology");

  auto docs = call(*c, "GET", "/documents?course_id=" + course_id);
  REQUIRE(docs.body["documents"].Size() == 1);
  CHECK(std::string{docs.body["documents"][0]["id"].GetString()} == document_id);
  CHECK(docs.body["documents"][0]["section_count"].GetInt() == 4);
  auto sections = call(*c, "GET", "/sections?document_id=" + document_id);
  REQUIRE(sections.body["sections"].Size() == 4);
  for (int i = 0; i < 4; ++i) {
    const auto& sec = sections.body["sections"][i];
    CHECK(sec["section_number"].GetInt() == i + 1);
    CHECK(std::string{sec["name"].GetString()}.find("Chapter about topic " + std::to_string(i + 1)) !=
          std::string::npos);
    CHECK(sec["page_start"].GetInt() == i + 1);
    CHECK(sec["lesson_id"].IsNull());
  }
  CHECK(files_under(storage.path) == 1);
}

TEST_CASE("bad uploads get the exact status and error and store nothing", "[upload][input]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"MAX_UPLOAD_MB", "1"}}};
  s.start();
  auto c = s.client();
  // No file.
  auto r = c->Post("/upload/pdf-structured", {{"X-User-ID", "user-a"}},
                   httplib::MultipartFormDataItems{{"title", "x", "", ""}});
  REQUIRE(r);
  CHECK(r->status == 400);
  CHECK(r->body.find("Missing PDF file") != std::string::npos);
  // Not multipart at all.
  CHECK(call(*c, "POST", "/upload/pdf-structured", R"({"file":"x"})").status == 400);
  // Empty file.
  auto empty = upload(*c, "");
  CHECK(empty.status == 400);
  // Not a PDF, whatever its name says.
  auto text = upload(*c, "hello, this is plain text\n", "user-a", {}, "fake.pdf");
  CHECK(text.status == 415);
  CHECK(std::string{text.body["error"].GetString()} == "Not a PDF file");
  // Too large (1 MB limit).
  auto big = upload(*c, "%PDF-1.4\n" + std::string(1200 * 1024, 'x'));
  CHECK(big.status == 413);
  // Another user's course.
  auto theirs = course(*c, "user-b");
  auto foreign = upload(*c, chapters_pdf(1), "user-a", {{"course_id", theirs, "", ""}});
  CHECK(foreign.status == 404);
  CHECK(std::string{foreign.body["error"].GetString()} == "Course not found");
  CHECK(count_jobs(f) == 0);
  CHECK(files_under(storage.path) == 0);
}

TEST_CASE("a PDF without text fails at once with the reason and leaves no document",
          "[upload]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}}};
  s.start();
  auto c = s.client();
  pt::pdf_spec spec;
  pt::page_spec image_only;
  image_only.image = true;
  spec.pages = {image_only, image_only};
  auto a = upload(*c, pt::render_pdf(spec));
  REQUIRE(a.status == 202);
  auto job = wait_for_status(*c, a.body["job_id"].GetString(), "failed");
  CHECK(std::string{job.body["error"].GetString()} == "No extractable text (scanned PDF?)");
  CHECK(job.body["attempts"].GetInt() == 1);  // deterministic: not retried
  CHECK(call(*c, "GET", std::string{"/documents/"} + a.body["document_id"].GetString()).status == 404);
  auto listed = call(*c, "GET", "/documents");
  REQUIRE(listed.body["documents"].Size() == 1);  // shown as a failed upload, with its error
  CHECK(std::string{listed.body["documents"][0]["status"].GetString()} == "failed");
}

TEST_CASE("upload progress only rises and 100 comes once the document is stored", "[upload]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}}};
  s.start();
  auto c = s.client();
  auto a = upload(*c, chapters_pdf(60, 5));
  REQUIRE(a.status == 202);
  std::string job_id = a.body["job_id"].GetString();
  std::string doc = a.body["document_id"].GetString();
  std::vector<int> seen;
  bool stored_when_100 = true;
  eventually([&] {
    auto j = call(*c, "GET", "/jobs/" + job_id);
    int p = j.body["progress"].GetInt();
    seen.push_back(p);
    // Whenever 100 is visible, the document and its sections are already committed.
    if (p == 100 && call(*c, "GET", "/documents/" + doc).status != 200) stored_when_100 = false;
    return std::string{j.body["status"].GetString()} == "completed";
  }, std::chrono::seconds(60));
  REQUIRE(seen.back() == 100);
  for (size_t i = 1; i < seen.size(); ++i) CHECK(seen[i] >= seen[i - 1]);
  CHECK(stored_when_100);
  CHECK(std::any_of(seen.begin(), seen.end(), [](int p) { return p > 0 && p < 100; }));
  CHECK(call(*c, "GET", "/documents/" + doc).status == 200);
}

TEST_CASE("another user cannot see, list or delete a document or course", "[upload][isolation]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}}};
  s.start();
  auto c = s.client();
  auto course_id = course(*c);
  auto a = upload(*c, chapters_pdf(2), "user-a", {{"course_id", course_id, "", ""}});
  REQUIRE(a.status == 202);
  wait_for_status(*c, a.body["job_id"].GetString(), "completed");
  std::string doc = a.body["document_id"].GetString();
  CHECK(call(*c, "GET", "/documents/" + doc, {}, "user-b").status == 404);
  CHECK(call(*c, "GET", "/sections?document_id=" + doc, {}, "user-b").status == 404);
  CHECK(call(*c, "GET", "/documents", {}, "user-b").body["documents"].Size() == 0);
  CHECK(call(*c, "DELETE", "/documents/" + doc, {}, "user-b").status == 404);
  CHECK(call(*c, "GET", "/courses/" + course_id, {}, "user-b").status == 404);
  CHECK(call(*c, "GET", "/courses", {}, "user-b").body["courses"].Size() == 0);
  CHECK(call(*c, "DELETE", "/courses/" + course_id, {}, "user-b").status == 404);
  CHECK(call(*c, "GET", "/documents/" + doc).status == 200);
  // The owner deletes the course: its document, sections and file go with it.
  CHECK(call(*c, "DELETE", "/courses/" + course_id).status == 200);
  CHECK(call(*c, "GET", "/documents/" + doc).status == 404);
  CHECK(files_under(storage.path) == 0);
}

TEST_CASE("deleting a document while it is processing leaves nothing behind", "[upload]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}}};
  s.start();
  auto c = s.client();
  auto a = upload(*c, chapters_pdf(100, 5));
  REQUIRE(a.status == 202);
  std::string job_id = a.body["job_id"].GetString();
  std::string doc = a.body["document_id"].GetString();
  wait_for_status(*c, job_id, "processing");
  CHECK(call(*c, "DELETE", "/documents/" + doc).status == 200);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  CHECK(call(*c, "GET", "/documents/" + doc).status == 404);
  CHECK(call(*c, "GET", "/documents").body["documents"].Size() == 0);
  CHECK(files_under(storage.path) == 0);
  long sections = f.db->as_system([](pqxx::work& tx) {
    return tx.exec("SELECT count(*) FROM sections")[0][0].as<long>();
  });
  CHECK(sections == 0);
}

TEST_CASE("courses are created, listed, read and validated", "[content]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  auto id = course(*c);
  auto one = call(*c, "GET", "/courses/" + id);
  CHECK(one.status == 200);
  CHECK(std::string{one.body["name"].GetString()} == "Biology");
  CHECK(call(*c, "GET", "/courses").body["courses"].Size() == 1);
  CHECK(call(*c, "POST", "/courses", R"({"code":"X"})").status == 400);
  CHECK(call(*c, "POST", "/courses", R"({"name":"A","exam_date":"2026-13-40"})").status == 400);
  CHECK(call(*c, "GET", "/courses/not-a-uuid").status == 400);
  CHECK(call(*c, "GET", "/sections").status == 400);
}
