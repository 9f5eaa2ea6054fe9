#include "tests/llm/fake_llm_server.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <memory>
#include <stdexcept>

namespace jobserver::testing {
namespace {

constexpr size_t chunk_bytes = 48;

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

/// One Gemini GenerateContentResponse carrying `text`.
std::string gemini_response(const std::string& text, bool last) {
  rapidjson::StringBuffer b;
  json_writer w{b};
  w.StartObject();
  w.Key("candidates");
  w.StartArray();
  w.StartObject();
  w.Key("content");
  w.StartObject();
  w.Key("parts");
  w.StartArray();
  w.StartObject();
  w.Key("text");
  w.String(text);
  w.EndObject();
  w.EndArray();
  w.Key("role");
  w.String("model");
  w.EndObject();
  if (last) {
    w.Key("finishReason");
    w.String("STOP");
  }
  w.Key("index");
  w.Int(0);
  w.EndObject();
  w.EndArray();
  if (last) {
    w.Key("usageMetadata");
    w.StartObject();
    w.Key("promptTokenCount");
    w.Int(100);
    w.EndObject();
  }
  w.EndObject();
  return b.GetString();
}

/// An OpenAI chat.completion.chunk (streamed) or chat.completion carrying `text`.
std::string openai_response(const std::string& text, bool streamed, bool last) {
  rapidjson::StringBuffer b;
  json_writer w{b};
  w.StartObject();
  w.Key("id");
  w.String("chatcmpl-fake");
  w.Key("object");
  w.String(streamed ? "chat.completion.chunk" : "chat.completion");
  w.Key("created");
  w.Int(1700000000);
  w.Key("model");
  w.String("fake-model");
  w.Key("choices");
  w.StartArray();
  w.StartObject();
  w.Key("index");
  w.Int(0);
  w.Key(streamed ? "delta" : "message");
  w.StartObject();
  if (!streamed) {
    w.Key("role");
    w.String("assistant");
  }
  w.Key("content");
  w.String(text);
  w.EndObject();
  w.Key("finish_reason");
  if (last) {
    w.String("stop");
  } else {
    w.Null();
  }
  w.EndObject();
  w.EndArray();
  w.EndObject();
  return b.GetString();
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size(); i += chunk_bytes) out.push_back(text.substr(i, chunk_bytes));
  if (out.empty()) out.emplace_back();
  return out;
}

std::string error_json(int code, const std::string& message, const std::string& status) {
  rapidjson::StringBuffer b;
  json_writer w{b};
  w.StartObject();
  w.Key("error");
  w.StartObject();
  w.Key("code");
  w.Int(code);
  w.Key("message");
  w.String(message);
  w.Key("status");
  w.String(status);
  w.EndObject();
  w.EndObject();
  return b.GetString();
}

}  // namespace

std::string recorded_request::header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

std::string fake_llm_server::good_lesson_json() {
  return R"({"topic":"Photosynthesis","summary":"Plants turn light into chemical energy.",)"
         R"("explanation":"Photosynthesis happens in chloroplasts and makes glucose and oxygen.",)"
         R"("concepts":[{"name":"Chlorophyll","explanation":"A green pigment that absorbs light.",)"
         R"("examples":["Leaves look green because of chlorophyll."],"formulas":[],)"
         R"("important_notes":["It reflects green light."],"check_ins":[{"question":)"
         R"("Which pigment absorbs light in leaves?","options":["Chlorophyll","Glucose",)"
         R"("Oxygen","Starch"],"expected_answer":"Chlorophyll","hint":"It is green."}]},)"
         R"({"name":"Calvin cycle","explanation":"Reactions in the stroma that fix carbon dioxide.",)"
         R"("examples":[],"formulas":["6CO2 + 6H2O = C6H12O6 + 6O2"],"important_notes":[],)"
         R"("check_ins":[{"question":"Where does the Calvin cycle take place?","options":)"
         R"(["Stroma","Thylakoid","Nucleus","Cell wall"],"expected_answer":"Stroma",)"
         R"("hint":"Not in the membranes."}]}]})";
}

std::string fake_llm_server::invalid_lesson_json() {
  std::string json = good_lesson_json();
  auto at = json.find(R"("Oxygen",)");
  return json.erase(at, std::string(R"("Oxygen",)").size());
}

fake_llm_server::fake_llm_server() : lesson_(good_lesson_json()) {
  server_.Post(
      R"(/v1beta/models/([^/:]+):(generateContent|streamGenerateContent))",
      [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, true); });
  server_.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, false);
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("fake LLM server: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

fake_llm_server::~fake_llm_server() {
  stopping_ = true;
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

std::string fake_llm_server::url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

void fake_llm_server::script(std::vector<scripted_reply> replies) {
  std::lock_guard<std::mutex> lock{mutex_};
  script_.assign(replies.begin(), replies.end());
}

void fake_llm_server::set_lesson(std::string json) {
  std::lock_guard<std::mutex> lock{mutex_};
  lesson_ = std::move(json);
}

std::vector<recorded_request> fake_llm_server::requests() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return requests_;
}

size_t fake_llm_server::request_count() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return requests_.size();
}

bool fake_llm_server::pause(std::chrono::milliseconds ms) const {
  auto until = std::chrono::steady_clock::now() + ms;
  while (std::chrono::steady_clock::now() < until) {
    if (stopping_) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return !stopping_;
}

void fake_llm_server::handle(const httplib::Request& req, httplib::Response& res, bool gemini) {
  bool stream = false;
  if (gemini) {
    stream = req.path.find(":streamGenerateContent") != std::string::npos &&
             req.get_param_value("alt") == "sse";
  } else {
    rapidjson::Document body;
    body.Parse(req.body.c_str());
    stream = !body.HasParseError() && body.IsObject() && body.HasMember("stream") &&
             body["stream"].IsBool() && body["stream"].GetBool();
  }
  scripted_reply how;
  std::string lesson;
  {
    std::lock_guard<std::mutex> lock{mutex_};
    recorded_request r;
    r.path = req.path;
    r.target = req.target;
    r.body = req.body;
    r.headers = req.headers;
    r.streamed = stream;
    r.at = std::chrono::steady_clock::now();
    requests_.push_back(std::move(r));
    if (!script_.empty()) {
      how = script_.front();
      script_.pop_front();
    }
    lesson = lesson_;
  }
  if (!pause(how.first_byte_delay)) return;

  switch (how.kind) {
    case llm_reply::rate_limited:
      res.status = 429;
      res.set_header("Retry-After", std::to_string(how.retry_after_s));
      res.set_content(
          error_json(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED"),
          "application/json");
      return;
    case llm_reply::server_error:
      res.status = 500;
      res.set_content(error_json(500, "An internal error has occurred.", "INTERNAL"),
                      "application/json");
      return;
    case llm_reply::bad_request: {
      std::string key =
          gemini ? req.get_header_value("x-goog-api-key") : req.get_header_value("Authorization");
      res.status = 400;
      res.set_content(error_json(400, "API key not valid: " + key, "INVALID_ARGUMENT"),
                      "application/json");
      return;
    }
    case llm_reply::malformed_json:
      reply_text(req, res, gemini, stream, R"({"topic": "Photosynthesis", "summary": "Pla)", how);
      return;
    case llm_reply::invalid_lesson:
      reply_text(req, res, gemini, stream, invalid_lesson_json(), how);
      return;
    default:
      reply_text(req, res, gemini, stream, lesson, how);
  }
}

void fake_llm_server::reply_text(const httplib::Request&, httplib::Response& res, bool gemini,
                                 bool stream, const std::string& text, const scripted_reply& how) {
  if (!stream) {
    res.set_content(gemini ? gemini_response(text, true) : openai_response(text, false, true),
                    "application/json");
    return;
  }
  auto chunks = std::make_shared<std::vector<std::string>>(split(text));
  bool drop = how.kind == llm_reply::dropped;
  auto delay = how.chunk_delay;
  res.set_chunked_content_provider(
      "text/event-stream", [this, chunks, gemini, drop, delay](size_t, httplib::DataSink& sink) {
        for (size_t i = 0; i < chunks->size(); ++i) {
          if (drop && i == 2) return false;  // close the connection mid-stream
          if (i > 0 && !pause(delay)) return false;
          bool last = i + 1 == chunks->size();
          std::string event = "data: " +
                              (gemini ? gemini_response((*chunks)[i], last)
                                      : openai_response((*chunks)[i], true, last)) +
                              (gemini ? "\r\n\r\n" : "\n\n");
          if (!sink.write(event.data(), event.size())) return false;
        }
        if (!gemini) {
          std::string done = "data: [DONE]\n\n";
          if (!sink.write(done.data(), done.size())) return false;
        }
        sink.done();
        return true;
      });
}

}  // namespace jobserver::testing
