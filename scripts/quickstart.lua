-- dbridge quickstart: two related models, a transaction, queries, a table.
--   dbridge-repl run scripts/quickstart.lua                 (SQLite in memory)
--   dbridge-repl --url postgres://... run scripts/quickstart.lua
-- `db` is the connected database.

local Author = db:model {
  name = "Author", table = "qs_authors",
  columns = {
    { "id", "integer", primary_key = true },
    { "name", "text", nullable = false },
    { "email", "text", unique = true },
    { "karma", "integer", default = 0 },
  },
}
local Post = db:model {
  name = "Post", table = "qs_posts",
  columns = {
    { "id", "integer", primary_key = true },
    { "author_id", "integer", nullable = false, references = "qs_authors.id", on_delete = "cascade" },
    { "title", "text", nullable = false },
  },
}
db:drop_all()
db:create_all()

-- Emails are stored in lower case, whoever writes them.
db:on(Author, "before_insert", function(_, author) author.email = author.email:lower() end)

db:transaction(function(s)                   -- commits; rolls back and re-raises on error
  local ada = s:add(Author { name = "Ada", email = "ADA@example.com" })
  local grace = s:add(Author { name = "Grace", email = "grace@example.com" })
  s:flush()                                  -- ada.id and grace.id are set now
  s:add_all({
    Post { author_id = ada.id, title = "Notes on the engine" },
    Post { author_id = ada.id, title = "Bernoulli numbers" },
    Post { author_id = grace.id, title = "Compilers" },
  })
  ada.karma = ada.karma + 10                 -- tracked, written at commit
end)

-- A duplicate email is an error value with a kind; nothing of that transaction stays.
local ok, err = pcall(function()
  db:transaction(function(s) s:add(Author { name = "Eve", email = "ada@EXAMPLE.com" }) end)
end)
assert(not ok and err.kind == "unique_violation", tostring(err))
print("refused: " .. err.kind)

local ada = db:query(Author):filter_by { name = "Ada" }:one()
assert(ada.email == "ada@example.com" and ada.karma == 10)

print(string.format("%-8s %6s %6s", "author", "karma", "posts"))
local report = db:query(Author.name, Author.karma, dbridge.func.count(Post.id):label("posts"))
  :outerjoin(Post):group_by(Author.name, Author.karma):order_by(Author.name)
for _, row in ipairs(report:all()) do
  print(string.format("%-8s %6d %6d", row.name, row.karma, row.posts))
end

db:drop_all()
