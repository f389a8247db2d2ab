-- Reporting on a database dbridge did not create: a Chinook-style music
-- store (artists, albums, genres, tracks, customers, invoices, invoice
-- lines) made in SQL with foreign keys, reflected into models, filled, and
-- reported on with joins and groups. Every report is checked against the
-- same figures computed here from the data as it was generated.

db:execute_script([[
  CREATE TABLE artists (artist_id INTEGER PRIMARY KEY, name TEXT NOT NULL);
  CREATE TABLE albums (album_id INTEGER PRIMARY KEY, title TEXT NOT NULL,
    artist_id INTEGER NOT NULL REFERENCES artists (artist_id));
  CREATE TABLE genres (genre_id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
  CREATE TABLE tracks (track_id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    album_id INTEGER NOT NULL REFERENCES albums (album_id),
    genre_id INTEGER NOT NULL REFERENCES genres (genre_id),
    milliseconds INTEGER NOT NULL, price_cents INTEGER NOT NULL);
  CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name TEXT NOT NULL, country TEXT NOT NULL);
  CREATE TABLE invoices (invoice_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    invoice_date TEXT NOT NULL, total_cents INTEGER);
  CREATE TABLE invoice_lines (line_id INTEGER PRIMARY KEY,
    invoice_id INTEGER NOT NULL REFERENCES invoices (invoice_id),
    track_id INTEGER NOT NULL REFERENCES tracks (track_id),
    price_cents INTEGER NOT NULL, quantity INTEGER NOT NULL);
]])

-- Reflected: a model per table, with its columns and foreign keys.
local R = db:reflect()
local Artist, Album, Genre, Track = R.artists, R.albums, R.genres, R.tracks
local Customer, Invoice, Line = R.customers, R.invoices, R.invoice_lines
for _, name in ipairs({ "artists", "albums", "genres", "tracks", "customers", "invoices", "invoice_lines" }) do
  assert(R[name], "not reflected: " .. name)
end
assert(table.concat(Line:column_names(), " ") == "line_id invoice_id track_id price_cents quantity")
local refs = {}
for _, row in ipairs(Track:describe()) do if row.references then refs[row.column] = row.references end end
assert(refs.album_id and refs.album_id:find("albums") and refs.genre_id:find("genres"), "foreign keys not reflected")

-- The store's data, generated; the expected figures are kept as it goes.
local GENRES = { "Rock", "Jazz", "Metal", "Blues" }
local COUNTRIES = { "Brazil", "Canada", "France", "USA" }
local rows = { artists = {}, albums = {}, genres = {}, tracks = {}, customers = {}, invoices = {}, invoice_lines = {} }
for a = 1, 5 do rows.artists[a] = { artist_id = a, name = "Artist " .. a } end
for a = 1, 10 do rows.albums[a] = { album_id = a, title = "Album " .. a, artist_id = (a - 1) % 5 + 1 } end
for g, name in ipairs(GENRES) do rows.genres[g] = { genre_id = g, name = name } end
for t = 1, 40 do
  rows.tracks[t] = { track_id = t, name = "Track " .. t, album_id = (t - 1) % 10 + 1,
    genre_id = t % 4 + 1, milliseconds = 180000 + t * 1000, price_cents = 99 + (t % 3) * 100 }
end
for c = 1, 10 do rows.customers[c] = { customer_id = c, name = "Customer " .. c, country = COUNTRIES[c % 4 + 1] } end
local by_genre, by_artist, by_country, by_month, sold, revenue = {}, {}, {}, {}, {}, 0
for i = 1, 30 do
  local customer = (i * 3) % 10 + 1
  local date = string.format("2024-%02d-%02d", i % 12 + 1, i % 28 + 1)
  rows.invoices[i] = { invoice_id = i, customer_id = customer, invoice_date = date }
  local country = rows.customers[customer].country
  by_country[country] = (by_country[country] or 0) + 1
  by_month[date:sub(1, 7)] = (by_month[date:sub(1, 7)] or 0) + 1
  for k = 1, i % 4 + 1 do
    local track = rows.tracks[(i * 7 + k * 5) % 40 + 1]
    local quantity = k % 2 + 1
    local line = { line_id = #rows.invoice_lines + 1, invoice_id = i, track_id = track.track_id,
      price_cents = track.price_cents, quantity = quantity }
    rows.invoice_lines[#rows.invoice_lines + 1] = line
    local genre = GENRES[track.genre_id]
    by_genre[genre] = (by_genre[genre] or 0) + line.price_cents * quantity
    local artist = "Artist " .. rows.albums[track.album_id].artist_id
    by_artist[artist] = (by_artist[artist] or 0) + quantity
    sold[track.track_id] = true
    revenue = revenue + line.price_cents * quantity
  end
end
for _, model in ipairs({ Artist, Album, Genre, Track, Customer, Invoice, Line }) do
  assert(model:insert(rows[model:table_name()]) == #rows[model:table_name()])
end

-- Invoice totals, written by one UPDATE with a correlated subquery.
local line_cents = dbridge.func.sum(Line.price_cents * Line.quantity)
Invoice:update({ total_cents = db:query(line_cents):where(Line.invoice_id:eq(Invoice.invoice_id)) }):execute()
assert(db:query(dbridge.func.sum(Invoice.total_cents):label("t")):one().t == revenue)

local function as_map(list, key, value)
  local out = {}
  for _, row in ipairs(list) do out[row[key]] = row[value] end
  return out
end
local function same(got, want, what)
  for k, v in pairs(want) do assert(got[k] == v, what .. " " .. k .. ": " .. tostring(got[k]) .. " ~= " .. v) end
  for k in pairs(got) do assert(want[k], what .. ": unexpected " .. k) end
end

-- Revenue per genre, best first.
local genres = db:query(Genre.name, line_cents:label("cents"))
  :join(Track, Track.genre_id:eq(Genre.genre_id))
  :join(Line, Line.track_id:eq(Track.track_id))
  :group_by(Genre.name):order_by("-cents"):all()
same(as_map(genres, "name", "cents"), by_genre, "revenue of genre")
for i = 2, #genres do assert(genres[i - 1].cents >= genres[i].cents) end

-- The three artists who sold the most tracks.
local top = db:query(Artist.name, dbridge.func.sum(Line.quantity):label("sold"))
  :join(Album, Album.artist_id:eq(Artist.artist_id))
  :join(Track, Track.album_id:eq(Album.album_id))
  :join(Line, Line.track_id:eq(Track.track_id))
  :group_by(Artist.name):order_by("-sold"):limit(3):all()
assert(#top == 3)
local counts = {}
for _, n in pairs(by_artist) do counts[#counts + 1] = n end
table.sort(counts, function(a, b) return a > b end)
for i, row in ipairs(top) do assert(row.sold == by_artist[row.name] and row.sold == counts[i]) end

-- Invoices per country, for the countries with more than five.
local busy = db:query(Customer.country, dbridge.func.count(Invoice.invoice_id):label("n"))
  :join(Invoice, Invoice.customer_id:eq(Customer.customer_id))
  :group_by(Customer.country):having(dbridge.func.count(Invoice.invoice_id):gt(5)):all()
local want = {}
for country, n in pairs(by_country) do if n > 5 then want[country] = n end end
same(as_map(busy, "country", "n"), want, "invoices of country")

-- Invoices per day, folded into months here. (The Rhai story groups by
-- substr(date, 1, 7) in SQL: Lua has no cast yet, and a Lua integer binds as
-- bigint, for which PostgreSQL has no substr.)
local months = {}
for _, row in ipairs(db:query(Invoice.invoice_date, dbridge.func.count():label("n"))
    :group_by(Invoice.invoice_date):all()) do
  local m = row.invoice_date:sub(1, 7)
  months[m] = (months[m] or 0) + row.n
end
same(months, by_month, "invoices of month")

-- Tracks nobody bought, through an outer join.
local unsold = 0
for t = 1, 40 do if not sold[t] then unsold = unsold + 1 end end
assert(unsold > 0)
assert(db:query(Track):outerjoin(Line, Line.track_id:eq(Track.track_id))
  :where(Line.line_id:is_null()):count() == unsold)

-- Reflection made relationships from the foreign keys: a track's `album`,
-- an album's `tracks`. The albums with a Rock track, through them:
local rock_albums = {}
for _, t in ipairs(rows.tracks) do if t.genre_id == 1 then rock_albums[t.album_id] = true end end
local n = 0
for _ in pairs(rock_albums) do n = n + 1 end
assert(db:query(Album):where(Album.tracks:any(Track.genre_id:eq(1))):count() == n)
local s = db:session()
local first = s:query(Track):order_by(Track.track_id):first()
assert(first.album.title == "Album 1" and #first.album.tracks == 4)
s:close()

return "the end"
