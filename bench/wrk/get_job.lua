-- wrk script: GET /jobs/<id>, rotating over the ids in a file.
--   wrk ... -s get_job.lua http://127.0.0.1:PORT -- IDS_FILE USER_ID
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local requests, i

function init(args)
  local ids = read_lines(args[1])
  local headers = {["X-User-ID"] = args[2]}
  requests = {}
  for k, id in ipairs(ids) do
    requests[k] = wrk.format("GET", "/jobs/" .. id, headers)
  end
  i = first or 0
end

function request()
  i = i % #requests + 1
  return requests[i]
end
