-- Splits each customer's full name into first and last names and keeps a
-- running total of what they spent, backfilled from the orders.
local M = {}

function M.up(db)
  db:execute("ALTER TABLE customers ADD COLUMN first_name TEXT")
  db:execute("ALTER TABLE customers ADD COLUMN last_name TEXT")
  db:execute("ALTER TABLE customers ADD COLUMN lifetime_cents BIGINT NOT NULL DEFAULT 0")
  local Customer = db:model { name = "Customer", table = "customers", columns = {
    { "id", "bigint", primary_key = true },
    { "full_name", "text", nullable = false },
    { "first_name", "text" },
    { "last_name", "text" },
    { "lifetime_cents", "bigint", nullable = false },
  } }
  local Order = db:model { name = "Order", table = "orders", columns = {
    { "id", "bigint", primary_key = true },
    { "customer_id", "bigint", nullable = false },
    { "total_cents", "integer", nullable = false },
  } }
  local spent = {}
  for _, row in ipairs(db:query(Order.customer_id, dbridge.func.sum(Order.total_cents):label("cents"))
      :group_by(Order.customer_id):all()) do
    spent[row.customer_id] = row.cents
  end
  local s = db:session()
  for _, c in ipairs(s:query(Customer):where(Customer.first_name:is_null()):all()) do
    local first, last = c.full_name:match("^(%S+)%s+(.+)$")
    c.first_name = first or c.full_name
    c.last_name = last
    c.lifetime_cents = spent[c.id] or 0
  end
  s:commit()
  assert(db:query(Customer):where(Customer.first_name:is_null()):count() == 0)
end

function M.down(db)
  db:execute("ALTER TABLE customers DROP COLUMN lifetime_cents")
  db:execute("ALTER TABLE customers DROP COLUMN last_name")
  db:execute("ALTER TABLE customers DROP COLUMN first_name")
end

return M
