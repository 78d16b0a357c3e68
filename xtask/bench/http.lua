-- Random inclusion proofs and full level-0 tiles from a log of SIZE entries.
local size = tonumber(os.getenv("CONCORDAT_SIZE"))
local tiles = math.floor(size / 256)

local function encode(index)
  local groups = { string.format("%03d", index % 1000) }
  index = math.floor(index / 1000)
  while index > 0 do
    table.insert(groups, 1, string.format("x%03d", index % 1000))
    index = math.floor(index / 1000)
  end
  return table.concat(groups, "/")
end

local counter = 0
request = function()
  counter = counter + 1
  if counter % 2 == 0 then
    return wrk.format("GET", "/api/entries/" .. math.random(0, size - 1) .. "/proof")
  end
  return wrk.format("GET", "/tile/0/" .. encode(math.random(0, tiles - 1)))
end
