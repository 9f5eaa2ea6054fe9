-- wrk script for the nginx baseline: GET of the URL's path through request(), so the
-- client does the same per-request work as with get_job.lua.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local req

function init(args)
  req = wrk.format("GET", wrk.path)
end

function request()
  return req
end
