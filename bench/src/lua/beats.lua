-- wrk script: PUT beats, cycling through pre-made bodies (one JSON body per line of the file
-- named by BEAT_BODIES), formatted once in init so wrk's own cost per request stays tiny.
local requests = {}
local count = 0
local index = 0

function init(args)
  local path = os.getenv("BEAT_PATH") or "/api/v1/heartbeat"
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  for line in io.lines(os.getenv("BEAT_BODIES")) do
    if #line > 0 then
      count = count + 1
      headers["Content-Length"] = nil
      requests[count] = wrk.format("PUT", path, headers, line)
    end
  end
end

function request()
  index = index + 1
  if index > count then index = 1 end
  return requests[index]
end
