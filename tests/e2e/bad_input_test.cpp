// Hostile requests against the real binary (issue 9): each gets the exact 4xx and error
// code within a bounded time, a parallel client keeps getting 200s, and nothing stored
// changes. Requests are written to a raw socket, so truncated, stalled and malformed
// ones are sent exactly as a hostile client would.
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include "tests/e2e/e2e_support.hpp"
#include "tests/pdf/pdf_writer.hpp"

using namespace jobserver::testing;
namespace pt = jobserver::pdf::test;
using namespace std::chrono_literals;

namespace {

/// What one raw request sends: `head` (request line and headers, without the blank
/// line), then `body` in pieces of `chunk` bytes `pause` apart; `stall` keeps the
/// connection open without sending the rest of the declared body; `half_close` ends the
/// sending side after the body.
struct raw_request {
  std::string head;
  std::string body;
  size_t chunk = 0;  // 0: all at once
  std::chrono::milliseconds pause{0};
  bool stall = false;
  bool half_close = false;
  bool end_head = true;  // false: the blank line that ends the header block is never sent
};

struct raw_answer {
  int status = 0;  // 0: the connection closed without an answer
  std::string code;
  std::string body;
  std::chrono::milliseconds took{0};
};

struct hostile_case {
  std::string name;
  raw_request request;
  int status;
  std::string code;  // "" when no answer is expected (status 0)
};

const std::string user = "user-a";

raw_answer send_raw(int port, const raw_request& r) {
  raw_answer a;
  auto t0 = std::chrono::steady_clock::now();
  int fd = connect_to(port);
  if (fd < 0) return a;
  std::string head = r.head + (r.end_head ? "\r\n\r\n" : "");
  send_all(fd, head.data(), head.size());
  size_t chunk = r.chunk == 0 ? r.body.size() : r.chunk;
  for (size_t i = 0; i < r.body.size(); i += chunk) {
    if (i > 0) std::this_thread::sleep_for(r.pause);
    send_all(fd, r.body.data() + i, std::min(chunk, r.body.size() - i));
  }
  if (r.half_close) ::shutdown(fd, SHUT_WR);
  std::string in;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    in.append(buf, static_cast<size_t>(n));
    auto end = in.find("\r\n\r\n");
    if (end == std::string::npos) continue;
    auto cl = in.find("Content-Length: ");
    if (cl != std::string::npos && cl < end &&
        in.size() >= end + 4 + std::stoul(in.substr(cl + 16)))
      break;
  }
  ::close(fd);
  a.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  if (in.rfind("HTTP/1.1 ", 0) != 0 || in.size() < 12) return a;
  a.status = std::stoi(in.substr(9, 3));
  auto end = in.find("\r\n\r\n");
  a.body = end == std::string::npos ? "" : in.substr(end + 4);
  rapidjson::Document d;
  d.Parse(a.body.c_str());
  if (d.IsObject() && d.HasMember("code") && d["code"].IsString()) a.code = d["code"].GetString();
  return a;
}

/// A request with a body of `content_type` ("" for none), as `who`.
raw_request req(const std::string& method, const std::string& path, const std::string& body = {},
                const std::string& content_type = "application/json",
                const std::string& extra_headers = {}, const std::string& who = user) {
  raw_request r;
  r.head = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-User-ID: " + who;
  if (!content_type.empty()) r.head += "\r\nContent-Type: " + content_type;
  if (method == "POST" || !body.empty()) r.head += "\r\nContent-Length: " + std::to_string(body.size());
  if (!extra_headers.empty()) r.head += "\r\n" + extra_headers;
  r.body = body;
  return r;
}

/// `r` with its Content-Length header claiming `length`.
raw_request with_length(raw_request r, const std::string& length) {
  auto at = r.head.find("Content-Length: ") + 16;
  auto end = r.head.find("\r\n", at);
  r.head.replace(at, end == std::string::npos ? std::string::npos : end - at, length);
  return r;
}

const std::string boundary = "hostileboundary";

/// One multipart part.
std::string part(const std::string& name, const std::string& value, const std::string& filename = {}) {
  std::string p = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"";
  if (!filename.empty()) p += "; filename=\"" + filename + "\"\r\nContent-Type: application/pdf";
  return p + "\r\n\r\n" + value + "\r\n";
}

raw_request upload(const std::string& parts) {
  return req("POST", "/upload/pdf-structured", parts + "--" + boundary + "--\r\n",
             "multipart/form-data; boundary=" + boundary);
}

std::string small_pdf() {
  pt::pdf_spec spec;
  pt::page_builder b;
  b.heading("1 Chapter about hostile input", 18);
  b.paragraph(pt::prose(1, 12));
  spec.pages.push_back(b.build());
  return pt::render_pdf(spec);
}

std::string repeat(const std::string& s, size_t n, const std::string& sep = {}) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i ? sep : "") + s;
  return out;
}

/// Every row of every user table, and every stored file: what must not change.
std::string snapshot(service_fixture& f, const std::string& storage) {
  std::string out = f.db->as_system([](pqxx::work& tx) {
    std::string s;
    for (const char* t : {"jobs", "courses", "documents", "sections", "lessons"}) {
      auto r = tx.exec(std::string{"SELECT count(*), coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM "} +
                       t + " t");
      s += std::string{t} + " " + r[0][0].c_str() + "\n" + r[0][1].c_str() + "\n";
    }
    return s;
  });
  FILE* p = popen(("find '" + storage + "' -type f -printf '%P %s\\n' | sort").c_str(), "r");
  char line[512];
  while (p != nullptr && fgets(line, sizeof(line), p) != nullptr) out += line;
  if (p != nullptr) pclose(p);
  return out;
}

std::vector<hostile_case> hostile_cases(const std::string& job_id, const std::string& course_id,
                                        const std::string& document_id) {
  const std::string pdf = small_pdf();
  const std::string uuid = "3f2b8c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f";
  const std::string sql = "'; DROP TABLE jobs; --";
  const std::string lua = "]]..redis.call('FLUSHALL')..[[";
  std::vector<hostile_case> c;
  auto add = [&](std::string name, raw_request r, int status, std::string code) {
    c.push_back({std::move(name), std::move(r), status, std::move(code)});
  };

  // Truncated and oversized bodies.
  auto truncated = with_length(req("POST", "/jobs/poll", R"({"job_ids":[")" + job_id), "200");
  truncated.half_close = true;
  // A client that ended its side mid-body can still read: it is told why (400).
  add("a body cut short by the client closing its side", truncated, 400, "invalid_input");
  add("JSON cut off in the middle", req("POST", "/courses", R"({"name":"Bio)"), 400, "invalid_input");
  add("an empty JSON body", req("POST", "/courses", ""), 400, "invalid_input");
  add("a JSON body over 1 MiB", req("POST", "/courses", R"({"name":")" + std::string(1100000, 'x') + "\"}"),
      413, "too_large");
  auto huge_length = with_length(req("POST", "/courses", R"({"name":"x"})"), "99999999999");
  add("a Content-Length of 100 GB", huge_length, 413, "too_large");
  auto huge_upload = with_length(upload(part("file", pdf, "a.pdf")), "5000000000");
  add("an upload declaring 5 GB", huge_upload, 413, "too_large");
  add("an upload whose file passes the size limit",
      upload(part("course_id", course_id) + part("file", "%PDF-1.4\n" + std::string(1200 * 1024, 'x'), "big.pdf")),
      413, "too_large");

  // Wrong content types.
  add("JSON sent as text/plain", req("POST", "/courses", R"({"name":"Bio"})", "text/plain"), 415,
      "unsupported_media_type");
  add("a poll sent as a form", req("POST", "/jobs/poll", "job_ids=" + job_id, "application/x-www-form-urlencoded"),
      415, "unsupported_media_type");
  add("an upload sent as JSON", req("POST", "/upload/pdf-structured", R"({"file":"x"})"), 400, "missing_file");
  add("an upload without a file part", upload(part("title", "Notes")), 400, "missing_file");
  add("an upload of an empty file", upload(part("file", "", "empty.pdf")), 400, "empty_file");
  add("an upload of a text file named .pdf", upload(part("file", "hello, not a pdf", "notes.pdf")), 415,
      "unsupported_media_type");
  add("a multipart body without its boundary", req("POST", "/upload/pdf-structured", part("file", pdf, "a.pdf"),
                                                   "multipart/form-data"),
      400, "missing_file");
  add("an upload cut off before its closing boundary",
      req("POST", "/upload/pdf-structured", part("file", pdf, "a.pdf"), "multipart/form-data; boundary=" + boundary),
      400, "invalid_input");
  add("an upload with junk after a boundary line",
      req("POST", "/upload/pdf-structured", "--" + boundary + "junk\r\n" + part("file", pdf, "a.pdf") + "--" + boundary + "--\r\n",
          "multipart/form-data; boundary=" + boundary),
      400, "missing_file");

  // Deep nesting and huge numbers.
  add("JSON nested 100,000 levels", req("POST", "/courses", repeat("[", 100000) + repeat("]", 100000)), 400,
      "invalid_input");
  add("an object nested 40 levels in a field",
      req("POST", "/jobs", R"({"type":"noop","data":)" + repeat(R"({"a":)", 40) + "1" + repeat("}", 40) + "}"),
      400, "invalid_input");
  add("a name nested 50,000 arrays deep", req("POST", "/courses", R"({"name":)" + repeat("[", 50000) + repeat("]", 50000) + "}"),
      400, "invalid_input");
  add("a priority of 1e400", req("POST", "/jobs", R"({"type":"noop","priority":1e400})"), 400, "invalid_input");
  add("a priority of 2^70", req("POST", "/jobs", R"({"type":"noop","priority":1180591620717411303424})"), 400,
      "invalid_input");
  add("a number whose digits carry it past a double",
      req("POST", "/jobs", R"({"type":"noop","data":{"e":123000000802914994194783e307}})"), 400, "invalid_input");
  add("a 10,000-digit number", req("POST", "/courses", R"({"name":"x","code":)" + std::string(10000, '9') + "}"),
      400, "invalid_input");
  add("a history limit of 10^11", req("GET", "/jobs?limit=99999999999"), 400, "invalid_input");
  add("a negative history limit", req("GET", "/jobs?limit=-1"), 400, "invalid_input");

  // Invalid UTF-8 and NUL bytes.
  add("a name with invalid UTF-8", req("POST", "/courses", "{\"name\":\"\xff\xfe\"}"), 400, "invalid_input");
  add("a name with an overlong slash", req("POST", "/courses", "{\"name\":\"\xc0\xaf\"}"), 400, "invalid_input");
  add("a name with a lone surrogate escape", req("POST", "/courses", R"({"name":"\ud800"})"), 400, "invalid_input");
  add("a name with a lone low-surrogate escape", req("POST", "/courses", R"({"name":"x\ude00y"})"), 400,
      "invalid_input");
  add("job data with a lone low-surrogate escape", req("POST", "/jobs", R"({"type":"noop","data":{"k":"\udfff"}})"),
      400, "invalid_input");
  add("an upload title with invalid UTF-8", upload(part("title", "\xed\xa0\x80") + part("file", pdf, "a.pdf")), 400,
      "invalid_input");
  add("a name with an escaped NUL", req("POST", "/courses", R"({"name":"a\u0000b"})"), 400, "invalid_input");
  add("a raw NUL byte in a JSON body", req("POST", "/courses", std::string{"{\"name\":\"a\0b\"}", 14}), 400,
      "invalid_input");
  add("a job id ending in an encoded NUL", req("GET", "/jobs/" + job_id + "%00"), 400, "invalid_input");
  add("a NUL in a job data key", req("POST", "/jobs", R"({"type":"noop","data":{"a\u0000":1}})"), 400,
      "invalid_input");

  // Path traversal in file names and paths.
  add("a traversal file name on a non-PDF", upload(part("file", "MZ\x90\x00", "../../../../etc/passwd")), 415,
      "unsupported_media_type");
  add("a Windows traversal file name with a bad course",
      upload(part("course_id", "..\\..\\win.ini") + part("file", pdf, "..\\..\\boot.ini")), 400, "invalid_input");
  add("a traversal file name with another user's course",
      upload(part("course_id", uuid) + part("file", pdf, "/etc/passwd")), 404, "not_found");
  add("a traversal document path", req("GET", "/documents/..%2F..%2Fetc%2Fpasswd"), 404, "not_found");
  add("a traversal path of several segments", req("GET", "/documents/../../etc/passwd"), 404, "not_found");

  // SQL and Lua metacharacters in every string field that is not free text.
  add("SQL in a job type", req("POST", "/jobs", R"({"type":")" + sql + "\"}"), 400, "invalid_input");
  add("Lua in a job type", req("POST", "/jobs", R"({"type":")" + lua + "\"}"), 400, "invalid_input");
  add("SQL in a poll id", req("POST", "/jobs/poll", R"({"job_ids":[")" + sql + "\"]}"), 400, "invalid_input");
  add("Lua in a poll id", req("POST", "/jobs/poll", R"({"job_ids":[")" + lua + "\"]}"), 400, "invalid_input");
  add("SQL in an exam date", req("POST", "/courses", R"({"name":"x","exam_date":"2026'--01"})"), 400,
      "invalid_input");
  add("SQL in a history status", req("GET", "/jobs?status=queued'%20OR%20'1'='1"), 400, "invalid_input");
  add("SQL in a history cursor", req("GET", "/jobs?before='%20OR%20''='"), 400, "invalid_input");
  add("a history type of 65 characters", req("GET", "/jobs?type=" + std::string(65, 'x')), 400, "invalid_input");
  add("SQL in a lesson document id", req("POST", "/lessons/generate", R"({"document_id":")" + sql + "\"}"), 400,
      "invalid_input");
  add("Lua in a lesson section id",
      req("POST", "/lessons/generate", R"({"document_id":")" + document_id + R"(","section_id":")" + lua + "\"}"),
      400, "invalid_input");
  add("SQL in a documents course filter", req("GET", "/documents?course_id=1'%20OR%20'1'='1"), 400,
      "invalid_input");
  add("Lua in a sections document filter", req("GET", "/sections?document_id=redis.call(1)"), 400, "invalid_input");
  add("SQL in a lessons section filter", req("GET", "/lessons?section_id='%20OR%201=1"), 400, "invalid_input");
  add("SQL in an upload course id", upload(part("course_id", sql) + part("file", pdf, "a.pdf")), 400,
      "invalid_input");
  add("SQL in the user header", req("GET", "/jobs/" + job_id, {}, "", {}, "a' OR 1=1 --"), 401, "unauthorized");
  add("Lua in the user header", req("GET", "/jobs/" + job_id, {}, "", {}, "x\"]]..redis.call('FLUSHALL')"), 401,
      "unauthorized");

  // Ids that are not UUIDs.
  add("a numeric job id", req("GET", "/jobs/123"), 400, "invalid_input");
  add("a cancel of a non-hex id", req("POST", "/jobs/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz/cancel"), 400,
      "invalid_input");
  add("a retry of a braced id", req("POST", "/jobs/{" + job_id + "}/retry"), 400, "invalid_input");
  add("a delete of a course id with SQL", req("DELETE", "/courses/1%20OR%201=1"), 400, "invalid_input");
  add("a lesson id one character too long", req("GET", "/lessons/" + uuid + "0"), 400, "invalid_input");
  add("a document id of 10,000 characters", req("GET", "/documents/" + std::string(10000, 'a')), 414,
      "too_large");
  add("a Content-Length that is negative", with_length(req("POST", "/courses", R"({"name":"x"})"), "-5"), 400,
      "invalid_input");
  add("a Content-Length that is not a number", with_length(req("POST", "/jobs/poll", "{}"), "12abc"), 400,
      "invalid_input");
  add("a 2 MB body declared on a route without a body",
      with_length(req("POST", "/jobs/" + job_id + "/cancel", "{}"), "2000000"), 413, "too_large");

  // Poll with 10,000 ids.
  add("a poll of 10,000 valid ids", req("POST", "/jobs/poll", R"({"job_ids":[)" + repeat("\"" + job_id + "\"", 10000, ",") + "]}"),
      400, "invalid_input");
  add("a poll of 10,000 numbers", req("POST", "/jobs/poll", R"({"job_ids":[)" + repeat("1", 10000, ",") + "]}"), 400,
      "invalid_input");

  // Malformed framing.
  add("a chunked body with a bad chunk size",
      [] {
        raw_request r;
        r.head = "POST /jobs/poll HTTP/1.1\r\nHost: x\r\nX-User-ID: user-a\r\nContent-Type: application/json\r\n"
                 "Connection: close\r\nTransfer-Encoding: chunked";
        r.body = "zz\r\n{}\r\n0\r\n\r\n";
        return r;
      }(),
      400, "invalid_input");

  // Slow clients: a body trickled slowly still gets its answer; a stalled body or header
  // block is answered 400 once the read timeout (10 s) passes.
  auto trickle = req("POST", "/courses", R"({"name":"x","exam_date":"not-a-date"})");
  trickle.chunk = 4;
  trickle.pause = 100ms;
  add("a body trickled 4 bytes every 100 ms", trickle, 400, "invalid_input");
  auto stalled = with_length(req("POST", "/jobs/poll", R"({"job_ids":[")" + job_id + R"("]})"), "1000");
  stalled.stall = true;
  add("a body that stops half way", stalled, 400, "invalid_input");
  raw_request stalled_head;
  stalled_head.head = "GET /jobs/" + job_id + " HTTP/1.1\r\nHost: x\r\nX-User-";
  stalled_head.stall = true;
  stalled_head.end_head = false;
  add("a header block that never ends", stalled_head, 400, "invalid_input");
  return c;
}

bool is_slow(const hostile_case& h) { return h.request.stall || h.request.pause.count() > 0; }

}  // namespace

TEST_CASE("hostile requests get the exact 4xx in bounded time while others are served and "
          "nothing stored changes",
          "[e2e][input][hostile]") {
  service_fixture f;
  temp_storage storage;
  server_process s{f, {{"STORAGE_DIR", storage.path}, {"MAX_UPLOAD_MB", "1"}}};
  s.start();
  auto c = s.client();

  // What the user has before: a finished job, a course and a processed document.
  auto job_id = create_job(*c, "noop");
  wait_for_status(*c, job_id, "completed");
  auto course = call(*c, "POST", "/courses", R"({"name":"Biology","code":"BIO101"})");
  REQUIRE(course.status == 201);
  std::string course_id = course.body["id"].GetString();
  auto up = c->Post("/upload/pdf-structured", {{"X-User-ID", user}},
                    httplib::MultipartFormDataItems{{"file", small_pdf(), "notes.pdf", "application/pdf"},
                                                    {"course_id", course_id, "", ""}});
  REQUIRE(up);
  REQUIRE(up->status == 202);
  rapidjson::Document upload_answer;
  upload_answer.Parse(up->body.c_str());
  std::string upload_job = upload_answer["job_id"].GetString();
  std::string document_id = upload_answer["document_id"].GetString();
  wait_for_status(*c, upload_job, "completed");
  const auto before = snapshot(f, storage.path);

  // Someone else keeps reading the job throughout.
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::thread reader([&] {
    auto rc = s.client();
    while (!done) {
      auto r = rc->Get(("/jobs/" + job_id).c_str(), {{"X-User-ID", user}});
      (r && r->status == 200 ? ok : failed)++;
      std::this_thread::sleep_for(5ms);
    }
  });

  auto cases = hostile_cases(job_id, course_id, document_id);
  REQUIRE(cases.size() >= 40);
  std::vector<std::pair<const hostile_case*, std::future<raw_answer>>> answers;
  // The slow ones run side by side with the rest.
  for (const auto& h : cases)
    if (is_slow(h))
      answers.emplace_back(&h, std::async(std::launch::async, [&, port = s.port()] { return send_raw(port, h.request); }));
  for (const auto& h : cases)
    if (!is_slow(h)) {
      std::promise<raw_answer> p;
      p.set_value(send_raw(s.port(), h.request));
      answers.emplace_back(&h, p.get_future());
    }
  for (auto& [h, fut] : answers) {
    auto a = fut.get();
    INFO(h->name << ": " << a.status << " " << a.body.substr(0, 200) << " after " << a.took.count() << " ms");
    CHECK(a.status == h->status);
    CHECK(a.code == h->code);
    // The read timeout is 10 s; everything else answers at once.
    CHECK(a.took < (is_slow(*h) ? 15s : 5s));
  }

  done = true;
  reader.join();
  INFO("parallel reader: " << ok << " answers of 200, " << failed << " others");
  CHECK(failed == 0);
  CHECK(ok > 10);
  CHECK(s.running());
  CHECK(snapshot(f, storage.path) == before);
}

TEST_CASE("SQL and Lua metacharacters in free-text fields are stored and read back verbatim",
          "[e2e][input][hostile]") {
  service_fixture f;
  server_process s{f};
  s.start();
  auto c = s.client();
  const std::string nasty = R"(Robert'); DROP TABLE courses; -- ]]..redis.call('FLUSHALL')..[[ \" $1 %s)";
  rapidjson::Document body;
  body.SetObject();
  auto& al = body.GetAllocator();
  body.AddMember("name", rapidjson::Value(nasty.c_str(), al), al);
  body.AddMember("code", rapidjson::Value("'--", al), al);
  body.AddMember("term", rapidjson::Value("\";--", al), al);
  rapidjson::StringBuffer text;
  rapidjson::Writer<rapidjson::StringBuffer> w{text};
  body.Accept(w);
  auto created = call(*c, "POST", "/courses", text.GetString());
  REQUIRE(created.status == 201);
  std::string id = created.body["id"].GetString();
  auto read = call(*c, "GET", "/courses/" + id);
  REQUIRE(read.status == 200);
  CHECK(std::string{read.body["name"].GetString()} == nasty);
  CHECK(std::string{read.body["code"].GetString()} == "'--");
  CHECK(std::string{read.body["term"].GetString()} == "\";--");
  auto job = create_job(*c, "noop", R"j({"note":"'; DELETE FROM jobs; --","lua":"redis.call('del','x')"})j");
  wait_for_status(*c, job, "completed");
  CHECK(job_column(f, job, "data->>'note'") == "'; DELETE FROM jobs; --");
  CHECK(count_jobs(f) == 1);
  CHECK(call(*c, "GET", "/courses").body["courses"].Size() == 1);
}
