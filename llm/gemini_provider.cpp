// Google Gemini: generateContent with a JSON response schema, streamGenerateContent?alt=sse
// when streaming. The key travels in the x-goog-api-key header, never in the URL.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "llm/providers.hpp"
#include "llm/remote_provider.hpp"

namespace jobserver::llm {
namespace {

constexpr const char* default_base_url = "https://generativelanguage.googleapis.com";
constexpr const char* default_model = "gemini-1.5-flash";
constexpr double temperature = 0.3;

class gemini_provider final : public remote_provider {
 public:
  using remote_provider::remote_provider;
  std::string name() const override { return "gemini"; }

 protected:
  http_request make_request(const prompt& p, bool include_check_ins) const override {
    std::string base = options().base_url.empty() ? default_base_url : options().base_url;
    std::string model = options().model.empty() ? default_model : options().model;
    if (model.rfind("models/", 0) == 0) model = model.substr(7);
    std::string url = base + "/v1beta/models/" + model +
                      (options().stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    http_request r = base_request(std::move(url));
    r.headers.push_back("Content-Type: application/json");
    r.headers.push_back(options().stream ? "Accept: text/event-stream"
                                         : "Accept: application/json");
    r.headers.push_back("x-goog-api-key: " + options().api_key);

    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w{buffer};
    w.StartObject();
    w.Key("systemInstruction");
    w.StartObject();
    w.Key("parts");
    w.StartArray();
    w.StartObject();
    w.Key("text");
    w.String(p.system);
    w.EndObject();
    w.EndArray();
    w.EndObject();
    w.Key("contents");
    w.StartArray();
    w.StartObject();
    w.Key("role");
    w.String("user");
    w.Key("parts");
    w.StartArray();
    w.StartObject();
    w.Key("text");
    w.String(p.user);
    w.EndObject();
    w.EndArray();
    w.EndObject();
    w.EndArray();
    w.Key("generationConfig");
    w.StartObject();
    w.Key("responseMimeType");
    w.String("application/json");
    w.Key("responseSchema");
    std::string schema = gemini_response_schema(include_check_ins);
    w.RawValue(schema.c_str(), schema.size(), rapidjson::kObjectType);
    w.Key("temperature");
    w.Double(temperature);
    w.EndObject();
    w.EndObject();
    r.body.assign(buffer.GetString(), buffer.GetSize());
    return r;
  }

  /// A GenerateContentResponse: candidates[0].content.parts[].text, or an error, or a
  /// prompt blocked by promptFeedback.blockReason. Streamed events have the same shape.
  answer_chunk read_chunk(const std::string& json, bool) const override {
    answer_chunk out;
    rapidjson::Document doc;
    if (!parse_event(json, doc, out)) return out;
    if (doc.HasMember("promptFeedback") && doc["promptFeedback"].IsObject()) {
      const auto& fb = doc["promptFeedback"];
      if (fb.HasMember("blockReason") && fb["blockReason"].IsString())
        out.refusal = std::string("blockReason ") + fb["blockReason"].GetString();
    }
    if (!doc.HasMember("candidates") || !doc["candidates"].IsArray() || doc["candidates"].Empty())
      return out;
    const auto& candidate = doc["candidates"][0];
    if (!candidate.IsObject()) return out;
    if (candidate.HasMember("finishReason") && candidate["finishReason"].IsString()) {
      std::string reason = candidate["finishReason"].GetString();
      if (reason == "SAFETY" || reason == "RECITATION" || reason == "BLOCKLIST" ||
          reason == "PROHIBITED_CONTENT")
        out.refusal = "finishReason " + reason;
    }
    if (!candidate.HasMember("content") || !candidate["content"].IsObject()) return out;
    const auto& content = candidate["content"];
    if (!content.HasMember("parts") || !content["parts"].IsArray()) return out;
    for (const auto& part : content["parts"].GetArray()) {
      if (!part.IsObject() || !part.HasMember("text") || !part["text"].IsString()) continue;
      if (part.HasMember("thought") && part["thought"].IsBool() && part["thought"].GetBool())
        continue;  // a thinking model's reasoning is not the answer
      out.text.append(part["text"].GetString(), part["text"].GetStringLength());
    }
    return out;
  }
};

}  // namespace

std::unique_ptr<provider> make_gemini_provider(const provider_options& options) {
  return std::make_unique<gemini_provider>(options);
}

}  // namespace jobserver::llm
