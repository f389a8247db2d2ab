-- A blog: authors write posts, posts carry tags. The story of its first day:
-- the schema, the first posts, the front page, an edit that goes wrong and
-- is rolled back, tagging, and an author who leaves with their posts.

Author = db:model {
  name = "Author", table = "authors",
  columns = {
    { "id", "integer", primary_key = true },
    { "name", "text", nullable = false },
    { "email", "text", nullable = false, unique = true },
  },
  relations = {
    posts = dbridge.has_many("Post", { back_populates = "author", order_by = "id",
      cascade = "save-update, delete, delete-orphan" }),
  },
}
Post = db:model {
  name = "Post", table = "posts",
  columns = {
    { "id", "integer", primary_key = true },
    { "author_id", "integer", nullable = false, references = "authors.id" },
    { "title", "text", nullable = false },
    { "body", "text", deferred = true },
    { "views", "integer", nullable = false, default = 0 },
  },
  relations = {
    author = dbridge.belongs_to("Author", { back_populates = "posts" }),
    tags = dbridge.many_to_many("Tag", { secondary = "post_tags", back_populates = "posts" }),
  },
}
Tag = db:model {
  name = "Tag", table = "tags",
  columns = {
    { "id", "integer", primary_key = true },
    { "label", "text", nullable = false, unique = true },
  },
}
db:create_all()

-- Statements seen, to show what a loader costs.
local selects = 0
db:on("*", "statement", function(ev) if ev.sql:find("^SELECT") then selects = selects + 1 end end)

-- Two authors write their first posts; one flush writes them all, authors first.
db:transaction(function(s)
  local ada = Author { name = "Ada", email = "ada@example.com" }
  local alan = Author { name = "Alan", email = "alan@example.com" }
  local rust, lua, sql = Tag { label = "rust" }, Tag { label = "lua" }, Tag { label = "sql" }
  ada.posts:add(Post { title = "Notes on the engine", body = "...", tags = { rust, sql } })
  ada.posts:add(Post { title = "Scripting it", body = "...", tags = { lua } })
  Post { title = "On computable numbers", body = "...", author = alan, tags = { sql } }
  s:add_all({ ada, alan })
end)
assert(db:query(Author):count() == 2 and db:query(Post):count() == 3 and db:query(Tag):count() == 3)

-- The front page: every post with its author and tags, in two statements.
selects = 0
local page = db:query(Post)
  :options(dbridge.joinedload("author"), dbridge.selectinload("tags"))
  :order_by(Post.id):all()
assert(#page == 3 and selects == 2, "front page took " .. selects .. " selects")
assert(page[1].author.name == "Ada" and #page[1].tags == 2)
assert(page[3].author.name == "Alan" and page[3].tags[1].label == "sql")
selects = 0
assert(page[1].body ~= nil and selects == 1)  -- deferred: loaded when read, one SELECT

-- Readers come: views are counted in the database, not read-modify-written.
for _ = 1, 5 do Post:update({ views = Post.views + 1 }):where(Post.title:like("Notes%")):execute() end
assert(db:query(Post):filter_by({ title = "Notes on the engine" }):one().views == 5)

-- Posts per author, and the tags in use, for the sidebar.
local per_author = db:query(Author.name, dbridge.func.count(Post.id):label("n"))
  :outerjoin(Author.posts):group_by(Author.name):order_by(Author.name):all()
assert(per_author[1].name == "Ada" and per_author[1].n == 2 and per_author[2].n == 1)
assert(db:query(Post):where(Post.tags:any(Tag.label:eq("sql"))):count() == 2)
assert(db:query(Author):where(Author.posts:any(Post.tags:any(Tag.label:eq("lua")))):one().name == "Ada")

-- A second account with a taken email fails as a unique violation; nothing
-- of that transaction stays, not even the post written before it.
ok, err = pcall(db.transaction, db, function(s)
  local alan = s:query(Author):filter_by({ name = "Alan" }):one()
  alan.posts:add(Post { title = "Draft" })
  s:flush()
  s:add(Author { name = "Imposter", email = "ada@example.com" })
end)
assert(not ok and err.kind == "unique_violation", tostring(err))
assert(db:query(Post):filter_by({ title = "Draft" }):count() == 0)

-- Editing in a session: the identity map gives one object per row, and
-- only the changed column is written.
db:transaction(function(s)
  local post = s:query(Post):filter_by({ title = "Scripting it" }):one()
  assert(rawequal(post, s:get(Post, post.id)))
  post.title = "Scripting dbridge"
  assert(post:changed()[1] == "title" and #post:changed() == 1)
  post.tags:add(s:query(Tag):filter_by({ label = "rust" }):one())
end)
local edited = db:query(Post):options(dbridge.selectinload("tags")):filter_by({ title = "Scripting dbridge" }):one()
assert(#edited.tags == 2)

-- Alan leaves: his posts go with him (cascade), the tags and Ada's posts stay.
db:transaction(function(s)
  s:delete(s:query(Author):filter_by({ name = "Alan" }):one())
end)
assert(db:query(Author):count() == 1 and db:query(Post):count() == 2 and db:query(Tag):count() == 3)
assert(db:fetch_one("SELECT count(*) AS n FROM post_tags").n == 4)

-- A post removed from its author's posts is an orphan: deleted, with its tag links.
db:transaction(function(s)
  local ada = s:query(Author):options(dbridge.selectinload("posts")):one()
  ada.posts:remove(ada.posts[2])
end)
assert(db:query(Post):count() == 1 and db:fetch_one("SELECT count(*) AS n FROM post_tags").n == 2)

return "the end"
