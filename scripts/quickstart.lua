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
  relations = { posts = dbridge.has_many("Post", { back_populates = "author", order_by = "id" }) },
}
local Post = db:model {
  name = "Post", table = "qs_posts",
  columns = {
    { "id", "integer", primary_key = true },
    { "author_id", "integer", nullable = false, references = "qs_authors.id", on_delete = "cascade" },
    { "title", "text", nullable = false },
  },
  relations = { author = dbridge.belongs_to(Author, { back_populates = "posts" }) },
}
db:drop_all()
db:create_all()

-- Emails are stored in lower case, whoever writes them.
db:on(Author, "before_insert", function(_, author) author.email = author.email:lower() end)

db:transaction(function(s)                   -- commits; rolls back and re-raises on error
  local ada = s:add(Author { name = "Ada", email = "ADA@example.com" })
  local grace = s:add(Author { name = "Grace", email = "grace@example.com" })
  s:add(Post { author = ada, title = "Notes on the engine" })   -- the key is set at the flush
  ada.posts:add(Post { title = "Bernoulli numbers" })          -- added to the session with ada
  s:add(Post { author = grace, title = "Compilers" })
  s:flush()                                  -- ada.id is set now, and each post's author_id
  assert(#ada.posts == 2 and ada.posts[2].author_id == ada.id)
  ada.karma = ada.karma + 10                 -- tracked, written at commit
end)

-- A duplicate email is an error value with a kind; nothing of that transaction stays.
local ok, err = pcall(function()
  db:transaction(function(s) s:add(Author { name = "Eve", email = "ada@EXAMPLE.com" }) end)
end)
assert(not ok and err.kind == "unique_violation", tostring(err))
print("refused: " .. err.kind)

-- Authors with their posts, loaded in two statements (selectin): no query per author.
local authors = db:query(Author):options(dbridge.selectinload("posts")):order_by(Author.name):all()
local ada = authors[1]
assert(ada.email == "ada@example.com" and ada.karma == 10)
for _, a in ipairs(authors) do
  local titles = {}
  for _, p in ipairs(a.posts) do titles[#titles + 1] = p.title end
  print(a.name .. ": " .. table.concat(titles, ", "))
end

print(string.format("%-8s %6s %6s", "author", "karma", "posts"))
local report = db:query(Author.name, Author.karma, dbridge.func.count(Post.id):label("posts"))
  :outerjoin(Author.posts):group_by(Author.name, Author.karma):order_by(Author.name)
for _, row in ipairs(report:all()) do
  print(string.format("%-8s %6d %6d", row.name, row.karma, row.posts))
end

db:drop_all()
