-- dbridge quickstart: two related tables, a transaction, a query, a table.
--   dbridge-repl run scripts/quickstart.lua                 (SQLite in memory)
--   dbridge-repl --url postgres://... run scripts/quickstart.lua
-- `db` is the connected database.

db:execute("DROP TABLE IF EXISTS qs_posts")
db:execute("DROP TABLE IF EXISTS qs_authors")
db:execute([[CREATE TABLE qs_authors (
  id BIGINT PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, karma INTEGER NOT NULL DEFAULT 0)]])
db:execute([[CREATE TABLE qs_posts (
  id BIGINT PRIMARY KEY,
  author_id BIGINT NOT NULL REFERENCES qs_authors (id) ON DELETE CASCADE,
  title TEXT NOT NULL)]])

db:transaction(function(tx)
  tx:execute("INSERT INTO qs_authors (id, name, email) VALUES ($1, $2, $3), ($4, $5, $6)",
             { 1, "Ada", "ada@example.com", 2, "Grace", "grace@example.com" })
  for i, p in ipairs({ { 1, "Notes on the engine" }, { 1, "Bernoulli numbers" }, { 2, "Compilers" } }) do
    tx:execute("INSERT INTO qs_posts (id, author_id, title) VALUES ($1, $2, $3)", { i, p[1], p[2] })
  end
  tx:execute("UPDATE qs_authors SET karma = karma + $1 WHERE name = $2", { 10, "Ada" })
end)

-- A duplicate email is an error value with a kind; nothing of that transaction stays.
local ok, err = pcall(function()
  db:transaction(function(tx)
    tx:execute("INSERT INTO qs_authors (id, name, email) VALUES ($1, $2, $3)", { 3, "Eve", "ada@example.com" })
  end)
end)
assert(not ok and err.kind == "unique_violation", tostring(err))
print("refused: " .. err.kind)

print(string.format("%-8s %6s %6s", "author", "karma", "posts"))
for row in db:stream([[SELECT a.name, a.karma, count(p.id) AS posts
                       FROM qs_authors a LEFT JOIN qs_posts p ON p.author_id = a.id
                       GROUP BY a.name, a.karma ORDER BY a.name]]) do
  print(string.format("%-8s %6d %6d", row.name, row.karma, row.posts))
end

db:execute("DROP TABLE qs_posts")
db:execute("DROP TABLE qs_authors")
