// An OpenAI-compatible chat/completions server (OpenAI, Ollama, vLLM, llama.cpp): JSON
// response format, SSE streaming ("data: [DONE]" ends it), Bearer key only when set.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "llm/providers.hpp"
#include "llm/remote_provider.hpp"

namespace jobserver::llm {
namespace {

constexpr const char* default_base_url = "https://api.openai.com/v1";
constexpr const char* default_model = "gpt-4o-mini";
constexpr double temperature = 0.3;

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void write_message(json_writer& w, const char* role, const std::string& content) {
  w.StartObject();
  w.Key("role");
  w.String(role);
  w.Key("content");
  w.String(content);
  w.EndObject();
}

/// `obj[key]` as a string, or "" when absent or not a string.
std::string string_member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) return "";
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) return "";
  return {it->value.GetString(), it->value.GetStringLength()};
}

class openai_provider final : public remote_provider {
 public:
  using remote_provider::remote_provider;
  std::string name() const override { return "openai"; }

 protected:
  http_request make_request(const prompt& p, bool) const override {
    std::string base = options().base_url.empty() ? default_base_url : options().base_url;
    http_request r = base_request(base + "/chat/completions");
    r.headers.push_back("Content-Type: application/json");
    r.headers.push_back(options().stream ? "Accept: text/event-stream"
                                         : "Accept: application/json");
    if (!options().api_key.empty())
      r.headers.push_back("Authorization: Bearer " + options().api_key);

    rapidjson::StringBuffer buffer;
    json_writer w{buffer};
    w.StartObject();
    w.Key("model");
    w.String(options().model.empty() ? default_model : options().model);
    w.Key("messages");
    w.StartArray();
    write_message(w, "system", p.system);
    write_message(w, "user", p.user);
    w.EndArray();
    w.Key("response_format");
    w.StartObject();
    w.Key("type");
    w.String("json_object");
    w.EndObject();
    w.Key("temperature");
    w.Double(temperature);
    w.Key("stream");
    w.Bool(options().stream);
    w.EndObject();
    r.body.assign(buffer.GetString(), buffer.GetSize());
    return r;
  }

  /// A chat.completion.chunk (choices[0].delta.content) when streamed, a chat.completion
  /// (choices[0].message.content) otherwise; or an error object.
  answer_chunk read_chunk(const std::string& json, bool streamed) const override {
    answer_chunk out;
    rapidjson::Document doc;
    if (!parse_event(json, doc, out)) return out;
    if (!doc.HasMember("choices") || !doc["choices"].IsArray() || doc["choices"].Empty())
      return out;
    const auto& choice = doc["choices"][0];
    const char* part = streamed ? "delta" : "message";
    if (!choice.IsObject() || !choice.HasMember(part)) return out;
    out.text = string_member(choice[part], "content");
    out.refusal = string_member(choice[part], "refusal");
    if (string_member(choice, "finish_reason") == "content_filter" && out.refusal.empty())
      out.refusal = "content_filter";
    return out;
  }
};

}  // namespace

std::unique_ptr<provider> make_openai_provider(const provider_options& options) {
  return std::make_unique<openai_provider>(options);
}

}  // namespace jobserver::llm
