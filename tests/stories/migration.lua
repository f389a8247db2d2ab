-- A data migration: the shop's customers had one full name; the team splits
-- it into first and last names and keeps each customer's lifetime spend,
-- backfilled from the orders (migrations/0002_split_names.lua), then
-- makes emails unique. The unique index fails on live data first, is
-- fixed, applied, undone and done again.

local m = db:migrator(MIGRATIONS)
local function states()
  local out = {}
  for _, st in ipairs(m:status()) do out[#out + 1] = st.state end
  return table.concat(out, " ")
end
assert(states() == "pending pending pending", states())

-- The shop as it shipped, with a year of data.
m:up(1)
db:execute_script([[
  INSERT INTO customers (id, full_name, email) VALUES
    (1, 'Ada Lovelace', 'ada@example.com'),
    (2, 'Grace Brewster Hopper', 'grace@example.com'),
    (3, 'Prince', 'prince@example.com'),
    (4, 'Ada L.', 'ada@example.com');
  INSERT INTO orders (id, customer_id, total_cents) VALUES
    (1, 1, 1250), (2, 1, 750), (3, 2, 99), (4, 4, 500);
]])

-- The backfill runs and stays; the unique index fails on the shared email,
-- is rolled back, and the error names its file.
local ok, err = pcall(m.up, m)
assert(not ok and err.kind == "migration", tostring(err))
assert(err.message:find("0003_unique_emails.sql", 1, true), err.message)
assert(states() == "applied applied pending", states())

local function customers()
  return db:fetch_all("SELECT id, first_name, last_name, lifetime_cents FROM customers ORDER BY id")
end
local function check_backfill()
  local c = customers()
  assert(c[1].first_name == "Ada" and c[1].last_name == "Lovelace" and c[1].lifetime_cents == 2000)
  assert(c[2].first_name == "Grace" and c[2].last_name == "Brewster Hopper" and c[2].lifetime_cents == 99)
  assert(c[3].first_name == "Prince" and c[3].last_name == nil and c[3].lifetime_cents == 0)
  assert(#c == 4)
end
check_backfill()

-- Support merges the duplicate account; the index goes on and holds.
db:transaction(function(tx)
  tx:execute("UPDATE orders SET customer_id = 1 WHERE customer_id = 4")
  tx:execute("DELETE FROM customers WHERE id = 4")
end)
m:up()
assert(states() == "applied applied applied", states())
ok, err = pcall(db.execute, db, "INSERT INTO customers (id, full_name, email) VALUES (5, 'Ada again', 'ada@example.com')")
assert(not ok and err.kind == "unique_violation", tostring(err))

-- Undone: the columns and the index are gone, the original data is not.
m:down(2)
assert(states() == "applied pending pending", states())
ok, err = pcall(db.fetch_all, db, "SELECT first_name FROM customers")
assert(not ok, "first_name survived the down migration")
db:execute("INSERT INTO customers (id, full_name, email) VALUES (5, 'Ada again', 'ada@example.com')")
db:execute("DELETE FROM customers WHERE id = 5")
assert(db:fetch_one("SELECT full_name FROM customers WHERE id = 2").full_name == "Grace Brewster Hopper")

-- Done again, the backfill gives the same answers (Ada now has order 4 too).
m:up()
assert(states() == "applied applied applied", states())
local c = customers()
assert(c[1].lifetime_cents == 2500 and c[2].last_name == "Brewster Hopper" and c[3].first_name == "Prince")

return "the end"
