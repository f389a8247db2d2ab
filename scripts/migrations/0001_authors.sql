-- The example migrations: `dbridge-repl migrate --dir scripts/migrations up`
-- applies this file and 0002_author_slugs.lua (see docs/migrations.md).

-- up
CREATE TABLE authors (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL
);
INSERT INTO authors (id, name) VALUES (1, 'Ada Lovelace'), (2, 'Alan Turing'), (3, 'Grace Hopper');

-- down
DROP TABLE authors;
