-- wrk script: POST /jobs/poll with COUNT ids (default 20), rotating over windows of the
-- ids in a file.
--   wrk ... -s poll_jobs.lua http://127.0.0.1:PORT -- IDS_FILE USER_ID [COUNT]
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "report.lua")

local requests, i

function init(args)
  local ids = read_lines(args[1])
  local count = tonumber(args[3] or "20")
  local headers = {["X-User-ID"] = args[2], ["Content-Type"] = "application/json"}
  requests = {}
  for start = 1, #ids - count + 1, count do
    local window = {}
    for k = start, start + count - 1 do window[#window + 1] = '"' .. ids[k] .. '"' end
    local body = '{"job_ids":[' .. table.concat(window, ",") .. "]}"
    requests[#requests + 1] = wrk.format("POST", "/jobs/poll", headers, body)
  end
  assert(#requests > 0, "fewer than " .. count .. " ids")
  i = first or 0
end

function request()
  i = i % #requests + 1
  return requests[i]
end
