#include "actors/messages.hpp"

#include "actors/cluster.hpp"

namespace jobserver::actors {

caf::error make_error(errc code, std::string message) {
  return {static_cast<uint8_t>(code), error_category, caf::make_message(std::move(message))};
}

app_error to_app_error(const caf::error& err) {
  if (err.category() == error_category) {
    std::string message = "error";
    if (err.context().match_elements<std::string>()) message = err.context().get_as<std::string>(0);
    auto code = static_cast<errc>(err.code());
    return app_error(code, message, code == errc::unavailable);
  }
  if (err == caf::sec::request_timeout)
    return app_error(errc::unavailable, "the server is busy: request timed out", true);
  return app_error(errc::internal, "internal error");
}

void register_message_types(caf::actor_system_config& cfg) {
  using namespace persistence;
  cfg.add_message_type<job_row>("job_row");
  cfg.add_message_type<new_job>("new_job");
  cfg.add_message_type<claimed_job>("claimed_job");
  cfg.add_message_type<job_outcome>("job_outcome");
  cfg.add_message_type<stalled_job>("stalled_job");
  cfg.add_message_type<member_info>("member_info");
  cfg.add_error_category(error_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    std::string out = to_string(static_cast<errc>(code));
    if (ctx.match_elements<std::string>()) out += ": " + ctx.get_as<std::string>(0);
    return out;
  });
}

}  // namespace jobserver::actors
