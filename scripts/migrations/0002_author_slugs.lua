-- A data migration: adds authors.slug and fills it from each author's name,
-- in the migration's transaction (an error rolls all of it back).
local M = {}

local function slug(name)
  return (name:lower():gsub("[^%w]+", "-"):gsub("^-+", ""):gsub("-+$", ""))
end

function M.up(db)
  db:execute("ALTER TABLE authors ADD COLUMN slug TEXT")
  for _, a in ipairs(db:fetch_all("SELECT id, name FROM authors")) do
    db:execute("UPDATE authors SET slug = $1 WHERE id = $2", { slug(a.name), a.id })
  end
  local missing = db:fetch_one("SELECT count(*) AS n FROM authors WHERE slug IS NULL").n
  assert(missing == 0, missing .. " authors without a slug")
end

function M.down(db)
  db:execute("ALTER TABLE authors DROP COLUMN slug")
end

return M
