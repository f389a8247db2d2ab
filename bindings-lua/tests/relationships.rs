//! Relationships from Lua: declarations, both sides of `back_populates`,
//! assignment, cascades, many-to-many, `any` / `has`, joins by relationship
//! name, and the example of DESIGN.md as written. Loading strategies are in
//! `relationships_loading.rs`.

mod common;

use common::{REL_MODELS, lua_for, lua_models, run};
use dbridge_lua::{InstallOptions, StdLib};

dbridge_testkit::each_backend!(declared_in_any_order_and_created, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
local tables = {}
for name in pairs(db:models()) do tables[#tables + 1] = name end
table.sort(tables)
-- The association table of Post.tags was declared (and created) when Tag came.
assert(db:fetch_one("SELECT count(*) AS n FROM post_tags").n == 0)
local rels = {}
for _, row in ipairs(User:describe()) do
  if row.relationship then
    rels[#rels + 1] = row.relationship .. ":" .. row.kind .. ":" .. row.target .. ":" .. tostring(row.back_populates)
  end
end
assert(User:describe()[1].column == "id")
-- Tag.posts is implied by Post.tags' back_populates.
assert(tostring(Tag.posts) == "dbridge.relationship(Tag.posts: many_to_many Post)", tostring(Tag.posts))
assert(tostring(dbridge.belongs_to(User)) == 'dbridge.belongs_to("User")')
return table.concat(tables, " ") .. " | " .. table.concat(rels, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "Comment Post Profile Tag User post_tags | posts:has_many:Post:author profile:has_one:Profile:user"
    );
});

dbridge_testkit::each_backend!(declaration_mistakes_name_what_is_wrong, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
local out = {}
local function err(f) failure(out, f) end
err(function() return dbridge.belongs_to("User", { back_populate = "posts" }) end)
err(function() return dbridge.many_to_many("Tag", {}) end)
err(function() return dbridge.has_many("Post", { secondary = "x" }) end)
err(function() return dbridge.has_many("Post", { cascade = "explode" }) end)
err(function() return dbridge.has_many("Post", { lazy = "eventually" }) end)
err(function() return db:model { name = "Bad", columns = { { "id", "integer", primary_key = true } },
  relations = { x = "User" } } end)
local Lone = db:model { name = "Lone", table = "lone", columns = { { "id", "integer", primary_key = true } },
  relations = { ghost = dbridge.belongs_to("Nobody") } }
err(function() return Lone.ghost end)
return table.concat(out, "\n")
"#,
    )
    .await;
    let lines: Vec<&str> = got.lines().collect();
    assert!(
        lines[0].starts_with("schema: belongs_to(\"User\"): unknown key `back_populate`"),
        "{got}"
    );
    assert!(
        lines[1].contains("`secondary` (a table name) or `through`"),
        "{got}"
    );
    assert!(
        lines[2].contains("`secondary` is for many_to_many"),
        "{got}"
    );
    assert!(lines[3].starts_with("invalid_value:"), "{got}");
    assert!(lines[4].starts_with("invalid_value:"), "{got}");
    assert!(
        lines[5].contains("relation `x` must be made by dbridge.belongs_to"),
        "{got}"
    );
    assert!(
        lines[6].starts_with("schema:") && lines[6].contains("`Nobody`"),
        "{got}"
    );
});

dbridge_testkit::each_backend!(back_populates_both_directions, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
local ada = User { name = "Ada" }
local notes = Post { author = ada, title = "Notes" }        -- in the constructor
assert(rawequal(notes.author, ada) and ada.posts:contains(notes))
local letters = Post { title = "Letters" }
ada.posts:add(letters)                                       -- the other side
assert(rawequal(letters.author, ada) and #ada.posts == 2)
local bob = User { name = "Bob" }
letters.author = bob                                         -- moves it
assert(not ada.posts:contains(letters) and bob.posts:contains(letters))
local me = Profile { bio = "hi" }
ada.profile = me
assert(rawequal(me.user, ada))
local s = db:session({ expire_on_commit = false })
s:add(ada); s:add(bob)
s:commit()
assert(notes.author_id == ada.id and letters.author_id == bob.id and me.user_id == ada.id)
notes.author = nil                                           -- clears the key
assert(not ada.posts:contains(notes))
s:commit()
local row = s:fetch_one("SELECT author_id FROM posts WHERE id = $1", { notes.id })
local got = tostring(row.author_id) .. " " .. #ada.posts .. " " .. bob.posts[1].title
s:close()
return got
"#,
    )
    .await;
    assert_eq!(got, "nil 0 Letters");
});

dbridge_testkit::each_backend!(assigning_an_array_replaces_the_collection, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
local s = db:session({ expire_on_commit = false })
local ada = s:add(User { name = "Ada", posts = { Post { title = "a" }, Post { title = "b" } } })
s:commit()
assert(#ada.posts == 2 and ada.posts[2].author == ada)
local kept, gone = ada.posts[2], ada.posts[1]
ada.posts = { Post { title = "c" }, kept }                 -- `a` is an orphan now
assert(ada.posts[1].title == "c" and rawequal(ada.posts[2], kept) and gone.author == nil)
s:commit()
local titles = {}
for _, r in ipairs(s:fetch_all("SELECT title FROM posts ORDER BY title")) do titles[#titles + 1] = r.title end
local ok, e = pcall(function() ada.posts = { Tag { name = "x" } } end)
assert(not ok and e.kind == "type_mismatch" and e.message:find("takes an array of `Post` instances"), tostring(e))
ok, e = pcall(function() kept.author = "Ada" end)
assert(not ok and e.message:find("takes a `User` instance or nil, got string"), tostring(e))
s:close()
-- Replacing a collection or a has-one that is not loaded loads it first (its
-- old members are what the replacement releases).
local log = statements(function()
  db:transaction(function(s2)
    local a = s2:query(User):one()
    a.posts = { Post { title = "d" } }             -- b and c are orphans now
    a.profile = Profile { bio = "new" }
  end)
end)
local lazy = 0
for _, sql in ipairs(log) do if sql:find('"dbr_key"') then lazy = lazy + 1 end end
local left = {}
for _, r in ipairs(db:fetch_all("SELECT title FROM posts ORDER BY title")) do left[#left + 1] = r.title end
return table.concat(titles, " ") .. " " .. gone:state() .. " " .. lazy .. " " .. table.concat(left, " ")
"#,
    )
    .await;
    assert_eq!(got, "b c detached 2 d");
});

dbridge_testkit::each_backend!(cascades_through_a_lua_session, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
seed(2, 3)
db:transaction(function(s)
  local p = s:query(Post):where(Post.title:eq("p1.2")):one()
  p.comments:add(Comment { text = "c1" })
  p.comments:add(Comment { text = "c2" })
end)
local out = {}
db:transaction(function(s)
  local u1 = s:query(User):filter_by({ name = "u1" }):one()
  local orphan
  for _, p in ipairs(u1.posts) do             -- a lazy load
    if p.title == "p1.1" then orphan = p end
  end
  u1.posts:remove(orphan)                     -- delete-orphan
  s:flush()
  out[#out + 1] = orphan:state()
  local u2 = s:query(User):filter_by({ name = "u2" }):one()
  s:delete(u2)                                -- delete cascades to the posts
end)
out[#out + 1] = db:fetch_one("SELECT count(*) AS n FROM posts").n
-- Post.comments is passive: deleting a post leaves its comments to ON DELETE CASCADE.
local log = statements(function()
  db:transaction(function(s)
    s:delete(s:query(Post):where(Post.title:eq("p1.2")):one())
  end)
end)
for _, sql in ipairs(log) do assert(not sql:find('FROM "comments"'), sql) end
out[#out + 1] = db:fetch_one("SELECT count(*) AS n FROM comments").n
return table.concat(out, " ")
"#,
    )
    .await;
    // u1 lost one post (orphan), u2 and its three posts went: 2 posts remain,
    // then one more is deleted with its comments by the database.
    assert_eq!(got, "deleted 2 0");
});

dbridge_testkit::each_backend!(many_to_many_collections, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
seed(1, 2)
local out = {}
db:transaction(function(s)
  local rust, lua_, sql = s:add(Tag { name = "rust" }), s:add(Tag { name = "lua" }), s:add(Tag { name = "sql" })
  local p = s:query(Post):where(Post.title:eq("p1.1")):one()
  p.tags:add(rust):add(lua_)
  p.tags:add(rust)                                   -- already there: nothing
  assert(p.tags:contains(rust) and not p.tags:contains(sql) and rust.posts:contains(p))
  local n = 0
  for _, tag in pairs(p.tags) do n = n + 1; assert(tag == rust or tag == lua_) end
  assert(n == 2 and p.tags == p.tags and p.tags ~= rust.posts)
  assert(tostring(p.tags) == "dbridge.collection(Post.tags, 2)", tostring(p.tags))
  local q = s:query(Post):where(Post.title:eq("p1.2")):one()
  q.tags = { sql, rust }
end)
local function names(list)
  local t = {}
  for _, x in ipairs(list) do t[#t + 1] = x.name end
  return table.concat(t, ",")
end
db:transaction(function(s)
  local p = s:query(Post):where(Post.title:eq("p1.1")):one()
  out[#out + 1] = names(p.tags)                      -- reloaded from post_tags
  local rust = s:query(Tag):filter_by({ name = "rust" }):one()
  out[#out + 1] = #rust.posts
  p.tags:remove(rust)
  assert(not rust.posts:contains(p))
end)
db:transaction(function(s)
  local p = s:query(Post):where(Post.title:eq("p1.1")):one()
  out[#out + 1] = names(p.tags:all())
  p.tags:clear()
end)
out[#out + 1] = db:fetch_one("SELECT count(*) AS n FROM post_tags").n
local q = db:query(Post):where(Post.title:eq("p1.2")):options(dbridge.selectinload("tags")):one()
out[#out + 1] = names(q.tags)
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "rust,lua 2 lua 2 rust,sql");
});

dbridge_testkit::each_backend!(many_to_many_through_a_model, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
Student = db:model { name = "Student", table = "students",
  columns = { { "id", "integer", primary_key = true }, { "name", "text" } },
  relations = { courses = dbridge.many_to_many("Course", { through = "Enrollment", back_populates = "students" }) } }
Course = db:model { name = "Course", table = "courses",
  columns = { { "id", "integer", primary_key = true }, { "title", "text" } } }
Enrollment = db:model { name = "Enrollment", table = "enrollments",
  columns = {
    { "student_id", "integer", primary_key = true, references = "students.id" },
    { "course_id", "integer", primary_key = true, references = "courses.id" },
    { "grade", "text", default = "n/a" },
  } }
db:create_all()
db:transaction(function(s)
  local ann = s:add(Student { name = "Ann" })
  ann.courses:add(Course { title = "Logic" })
end)
local c = db:query(Course):options(dbridge.selectinload("students")):one()
return c.students[1].name .. " " .. db:fetch_one("SELECT grade FROM enrollments").grade
"#,
    )
    .await;
    assert_eq!(got, "Ann n/a");
});

dbridge_testkit::each_backend!(any_and_has_conditions, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
db:transaction(function(s)
  s:add(User { name = "Ada", posts = { Post { title = "Analytical", tags = { Tag { name = "math" } } } } })
  s:add(User { name = "Bob", posts = { Post { title = "Building" } } })
  s:add(User { name = "Cy" })
end)
local function names(q)
  local t = {}
  for _, x in ipairs(q:all()) do t[#t + 1] = x:to_table().name or x.title end
  return table.concat(t, ",")
end
local out = {
  names(db:query(User):where(User.posts:any(Post.title:like("A%")))),
  names(db:query(User):where(User.posts:any()):order_by(User.name)),
  names(db:query(User):where(dbridge.not_(User.posts:any()))),
  names(db:query(Post):where(Post.author:has(User.name:eq("Bob")))),
  names(db:query(Post):where(Post.tags:any(Tag.name:eq("math")))),
  names(db:query(User):where(User.posts:any(Post.tags:any()))),
}
local ok, e = pcall(function() return User.posts:has() end)
assert(not ok and e.kind == "schema" and e.message:find("is a collection: use `any`"), tostring(e))
ok, e = pcall(function() return Post.author:any() end)
assert(not ok and e.message:find("is not a collection: use `has`"), tostring(e))
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(got, "Ada Ada,Bob Cy Building Analytical Ada");
});

dbridge_testkit::each_backend!(joins_by_relationship_name, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
db:transaction(function(s)
  s:add(User { name = "Ada", posts = { Post { title = "A1", tags = { Tag { name = "math" } } }, Post { title = "A2" } } })
  s:add(User { name = "Bob", posts = { Post { title = "B1" } } })
  s:add(User { name = "Cy" })
  s:add(Post { title = "orphan" })
end)
local out = {}
out[#out + 1] = db:query(Post):join("author"):where(User.name:eq("Ada")):count()
out[#out + 1] = db:query(Post):join(User):where(User.name:eq("Bob")):count()      -- by model, as before
out[#out + 1] = db:query(Post):join("tags"):where(Tag.name:eq("math")):one().title
out[#out + 1] = db:query(User):join(User.posts):where(Post.title:eq("B1")):one().name
local rows = db:query(User.name, dbridge.func.count(Post.id):label("n"))
  :outerjoin("posts"):group_by(User.name):order_by(User.name):all()
for _, r in ipairs(rows) do out[#out + 1] = r.name .. "=" .. r.n end
-- contains_eager fills the relationship from the join: one statement.
local posts
local log = statements(function()
  posts = db:query(Post):outerjoin("author"):options(dbridge.contains_eager("author")):order_by(Post.title):all()
end)
out[#out + 1] = #log
for _, p in ipairs(posts) do out[#out + 1] = p.title .. ":" .. (p.author and p.author.name or "-") end
local ok, e = pcall(function() return db:query(User):join("postz"):all() end)
assert(not ok and e.kind == "schema" and e.message:find("no relationship `postz` on model `User`"), tostring(e))
return table.concat(out, " ")
"#,
    )
    .await;
    assert_eq!(
        got,
        "2 1 A1 Bob Ada=2 Bob=1 Cy=0 1 A1:Ada A2:Ada B1:Bob orphan:-"
    );
});

/// The example of DESIGN.md, as written there (the database from
/// `DATABASE_URL`, set to the test's database).
const DESIGN_EXAMPLE: &str = r#"
local db = dbridge.connect(os.getenv("DATABASE_URL") or "sqlite::memory:")

local User = db:model {
  name = "User", table = "users",
  columns = {                                   -- an array: column order is kept
    { "id", "integer", primary_key = true },
    { "name", "text", nullable = false },
    { "email", "text", unique = true },
    { "karma", "integer", default = 0 },
    { "created_at", "timestamptz", default = dbridge.now },
  },
}
local Post = db:model {
  name = "Post", table = "posts",
  columns = {
    { "id", "integer", primary_key = true },
    { "author_id", "integer", references = "users.id", on_delete = "cascade" },
    { "title", "text" },
    { "body", "text", deferred = true },
  },
  relations = { author = dbridge.belongs_to("User", { back_populates = "posts" }) },
}
db:create_all()

db:on(User, "before_insert", function(session, user) user.email = user.email:lower() end)

db:transaction(function(s)                      -- commits; rolls back and re-raises on error
  local ada = s:add(User { name = "Ada", email = "ADA@example.com" })
  s:flush()                                     -- ada.id is now set
  s:add(Post { author = ada, title = "Notes" })
  ada.karma = ada.karma + 1                     -- tracked as dirty, flushed at commit
end)

local top = db:query(User)
  :where(User.karma:gt(0), User.name:like("A%"))
  :options(dbridge.selectinload("posts"))
  :order_by(User.karma:desc()):limit(10):all()

for row in db:stream("SELECT id, name FROM users WHERE karma > $1", { 0 }) do print(row.id, row.name) end
"#;

dbridge_testkit::each_backend!(design_example_runs_as_written, |t| async move {
    let lua = dbridge_lua::new_lua(InstallOptions::new().libs(StdLib::ALL_SAFE)).unwrap();
    lua.globals().set("URL", t.url.clone()).unwrap();
    run::<()>(
        &lua,
        r#"
local getenv = os.getenv
os.getenv = function(k) if k == "DATABASE_URL" then return URL end return getenv(k) end
printed = {}
print = function(...) printed[#printed + 1] = table.concat({ ... }, " ") end
"#,
    )
    .await;
    // The example's locals are read by checks appended to the same chunk.
    let checks = r#"
assert(#top == 1 and top[1].email == "ada@example.com" and top[1].karma == 1)
assert(#top[1].posts == 1 and top[1].posts[1].title == "Notes")
assert(rawequal(top[1].posts[1].author, top[1]))
db:close()
return table.concat(printed, "\n")
"#;
    let got: String = run(&lua, &format!("{DESIGN_EXAMPLE}{checks}")).await;
    assert_eq!(got, "1 Ada");
});

dbridge_testkit::each_backend!(a_model_waits_for_the_table_it_references, |t| async move {
    let lua = lua_for(&t);
    let got: String = run(
        &lua,
        r#"
local out = {}
-- Post references users.id before any model maps `users`: it waits.
local Post = db:model { name = "Post", table = "posts",
  columns = { { "id", "integer", primary_key = true },
    { "author_id", "integer", references = "users.id" } },
  relations = { author = dbridge.belongs_to("User", { back_populates = "posts" }) } }
assert(db:models().Post == Post)                    -- listed while it waits
local ok, e = pcall(db.create_all, db)
out[#out + 1] = e.kind .. ": " .. e.message
ok, e = pcall(db.model, db, { name = "Post", table = "other",
  columns = { { "id", "integer", primary_key = true } } })
out[#out + 1] = e.kind .. ": " .. e.message
local User = db:model { name = "User", table = "users",
  columns = { { "id", "integer", primary_key = true }, { "name", "text" } } }
db:create_all()
local names = {}
for name in pairs(db:models()) do names[#names + 1] = name end
table.sort(names)
out[#out + 1] = table.concat(names, " ")
local ada = User { name = "Ada" }
local p = Post { author = ada }
assert(ada.posts:contains(p))
db:transaction(function(s) s:add(p) end)
out[#out + 1] = db:fetch_one("SELECT count(*) AS n FROM posts WHERE author_id IS NOT NULL").n
return table.concat(out, "\n")
"#,
    )
    .await;
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(
        lines[0],
        "configuration: invalid configuration: model `Post` references table `users`, which no declared model maps"
    );
    assert!(
        lines[1].starts_with("schema:") && lines[1].contains("a model named `Post`"),
        "{got}"
    );
    assert_eq!(&lines[2..], ["Post User", "1"]);
});

dbridge_testkit::each_backend!(models_describe_themselves_by_name, |t| async move {
    let lua = lua_models(&t, REL_MODELS).await;
    let got: String = run(
        &lua,
        r#"
local out = {}
out[#out + 1] = Post:model_name() .. " " .. Post:table_name()
out[#out + 1] = table.concat(Post:column_names(), " ")
out[#out + 1] = table.concat(User:relationship_names(), " ")
out[#out + 1] = table.concat(Tag:relationship_names(), " ")  -- implied by back_populates
local r = User:relationships()[1]
out[#out + 1] = table.concat({ r.relationship, r.kind, r.target, r.back_populates }, " ")
local ok, e = pcall(function() return User.nope end)
out[#out + 1] = e.kind .. ": " .. e.message
local u = User { name = "x" }
ok, e = pcall(function() return u.nope end)
out[#out + 1] = e.kind .. ": " .. e.message
return table.concat(out, "\n")
"#,
    )
    .await;
    assert_eq!(
        got,
        "Post posts\nid author_id title body\nposts profile\nposts\nposts has_many Post author\n\
         schema: no column, relationship or method `nope` on model `User`\n\
         schema: no column or relationship `nope` on model `User`"
    );
});
