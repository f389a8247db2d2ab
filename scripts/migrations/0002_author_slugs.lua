-- A data migration: adds authors.slug and fills it from each author's name.
-- `db` is bound to the migration's transaction: the model declared here, its
-- session and its queries all run there (an error rolls all of it back, the
-- new column included), and the model stays out of the application's models.
local M = {}

local function slug(name)
  return (name:lower():gsub("[^%w]+", "-"):gsub("^-+", ""):gsub("-+$", ""))
end

function M.up(db)
  db:execute("ALTER TABLE authors ADD COLUMN slug TEXT")
  -- The table as this migration knows it (not as the application's models
  -- may describe it later).
  local Author = db:model {
    name = "Author", table = "authors",
    columns = {
      { "id", "bigint", primary_key = true },
      { "name", "text", nullable = false },
      { "slug", "text" },
    },
  }
  local s = db:session()
  for _, a in ipairs(s:query(Author):where(Author.slug:is_null()):all()) do
    a.slug = slug(a.name)
  end
  s:commit() -- in a migration: a flush; the runner commits with the history row
  local missing = db:query(Author):where(Author.slug:is_null()):count()
  assert(missing == 0, missing .. " authors without a slug")
end

function M.down(db)
  db:execute("ALTER TABLE authors DROP COLUMN slug")
end

return M
