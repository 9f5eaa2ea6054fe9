#pragma once

#include "config/settings.hpp"
#include "http/router.hpp"

namespace jobserver::http {

class authenticator;

/// `GET /me` (and `/api/me`): who the request authenticates as, and the auth mode, so
/// the browser UI knows whether to offer a user switcher (dev) or a token field (jwt).
void add_identity_route(router& r, const config::settings& settings, const authenticator& auth);

/// The browser UI embedded from web/ at build time: `GET /` is web/index.html, every
/// other file is served at `/<name>` (e.g. `/course.html`, `/jobs.js`). Names are looked
/// up in the embedded table, never on disk, so no path can reach another file. Only
/// `/<name>.<html|css|js|...>` is routed here: the API's paths have no extension, so
/// nothing under `/jobs`, `/courses`, ... is shadowed, and `/api/...` stays API only.
void add_web_routes(httplib::Server& server);

}  // namespace jobserver::http
