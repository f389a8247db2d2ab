-- A game's inventory: players own items and trade them for gold, many
-- trades at the same time. An item is a row with a version column: a trade
-- that read an item another trade has since moved fails with `stale_data`
-- at its flush and is tried again, so no item is sold twice, and gold moves
-- by SQL arithmetic in the same transaction, so none is made or lost.

Player = db:model {
  name = "Player", table = "players",
  columns = {
    { "id", "integer", primary_key = true },
    { "name", "text", nullable = false, unique = true },
    { "gold", "integer", nullable = false },
  },
}
Item = db:model {
  name = "Item", table = "items", version = "version",
  columns = {
    { "id", "integer", primary_key = true },
    { "name", "text", nullable = false },
    { "owner_id", "integer", nullable = false, references = "players.id" },
    { "version", "integer", nullable = false },
  },
}
Trade = db:model {
  name = "Trade", table = "trades",
  columns = {
    { "id", "integer", primary_key = true },
    { "item_id", "integer", nullable = false, references = "items.id" },
    { "seller_id", "integer", nullable = false, references = "players.id" },
    { "buyer_id", "integer", nullable = false, references = "players.id" },
    { "price", "integer", nullable = false },
  },
}
db:create_all()

local PLAYERS, ITEMS, GOLD = 4, 6, 1000
for p = 1, PLAYERS do Player:insert({ { id = p, name = "player" .. p, gold = GOLD } }) end
db:transaction(function(s)
  for i = 1, ITEMS do s:add(Item { id = i, name = "sword " .. i, owner_id = (i % PLAYERS) + 1 }) end
end)
assert(db:query(Item):first().version == 1)

-- One trade: `buyer` buys `item_id` from whoever owns it now. Returns
-- "bought", "own" (the buyer already had it) or raises.
local function trade(item_id, buyer, price)
  return db:transaction(function(s)
    local item = s:get(Item, item_id)
    local seller = item.owner_id
    if seller == buyer then return "own" end
    item.owner_id = buyer
    s:execute("UPDATE players SET gold = gold - $1 WHERE id = $2", { price, buyer })
    s:execute("UPDATE players SET gold = gold + $1 WHERE id = $2", { price, seller })
    s:add(Trade { item_id = item_id, seller_id = seller, buyer_id = buyer, price = price })
  end, { retries = 10 }) or "bought"
end

-- An offer made on an item read earlier: another trade moves the item
-- first, so the offer's flush finds the row at a newer version, fails with
-- stale_data and leaves nothing behind.
local offer = Item:get(1)
assert(offer.owner_id == 2 and offer.version == 1)
assert(trade(1, 4, 10) == "bought")
local s = db:session()
s:add(offer)
offer.owner_id = 3
local ok, err = pcall(s.commit, s)
assert(not ok and err.kind == "stale_data", tostring(err))
s:close()
local item1 = Item:get(1)
assert(item1.owner_id == 4 and item1.version == 2)

-- A trade that fails half way (the buyer does not exist) leaves the item
-- with its owner and every coin in place.
ok, err = pcall(trade, 2, 99, 10)
assert(not ok and err.kind == "foreign_key_violation", tostring(err))
assert(Item:get(2).owner_id == 3 and db:query(Trade):count() == 1)

-- With a retry on stale_data, such a trade goes through on fresh data.
local function trade_until_done(item_id, buyer, price)
  for attempt = 1, 50 do
    local ok, result = pcall(trade, item_id, buyer, price)
    if ok then return result, attempt end
    if result.kind ~= "stale_data" then error(result, 0) end
  end
  error("a trade kept failing on stale data")
end

-- Twenty traders at once, each making five trades on six contested items.
local outcomes = concurrently(20, function(trader)
  local bought, retried = 0, 0
  for k = 1, 5 do
    local result, attempts = trade_until_done((trader * 7 + k) % ITEMS + 1, trader % PLAYERS + 1, k)
    if result == "bought" then bought = bought + 1 end
    retried = retried + attempts - 1
  end
  return { bought = bought, retried = retried }
end)
assert(#outcomes == 20)
local bought = 0
for _, o in ipairs(outcomes) do bought = bought + o.bought end

-- Every item is still there, owned by its last buyer; every coin too.
local trades = db:query(Trade):order_by(Trade.id):all()
assert(#trades == bought + 1, #trades .. " trades recorded, " .. bought .. " made")
local last_buyer = {}
for _, t in ipairs(trades) do last_buyer[t.item_id] = t.buyer_id end
local items = db:query(Item):order_by(Item.id):all()
assert(#items == ITEMS)
for _, item in ipairs(items) do
  local moved = db:query(Trade):filter_by({ item_id = item.id }):count()
  assert(item.version == 1 + moved, "item " .. item.id .. " version " .. item.version)
  assert(item.owner_id == (last_buyer[item.id] or (item.id % PLAYERS) + 1))
end
local total = db:query(dbridge.func.sum(Player.gold):label("g")):one().g
assert(total == PLAYERS * GOLD, "gold made or lost: " .. tostring(total))
local spent = db:query(Player.id, Player.gold):order_by(Player.id):all()
for _, p in ipairs(spent) do
  local paid = db:query(dbridge.func.coalesce(dbridge.func.sum(Trade.price), 0):label("n"))
    :where(Trade.buyer_id:eq(p.id)):one().n
  local got = db:query(dbridge.func.coalesce(dbridge.func.sum(Trade.price), 0):label("n"))
    :where(Trade.seller_id:eq(p.id)):one().n
  assert(p.gold == GOLD - paid + got, "player " .. p.id)
end

return "the end"
