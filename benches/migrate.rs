//! Introspection + diff + DDL generation on a synthetic 500-table PostgreSQL
//! schema, the shape `../shared/bench/alembic_bench.py` builds: 500 tables of
//! 10 columns, 2 indexes and 1 foreign key each, compared with models where
//! 10% of the tables gain a column, 5% lose one, 5% change a column's type
//! and 5% gain an index (125 changes). Target: under 100 ms (Alembic's
//! autogenerate of the same: about 1.3 s).
//!
//! `cargo bench --bench migrate` (PostgreSQL at `DBRIDGE_TEST_PG_URL`, default
//! the local server's `test` database). The schema is built once in a database
//! of this process's own (as alembic_bench.py does), dropped at the end.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use dbridge::engine::migrate::{Change, IntrospectOptions, SchemaDiff, SchemaSnapshot, introspect};
use dbridge::engine::schema::{Column, ForeignKey, Index, Metadata, Model};
use dbridge::engine::{Backend, Database};

const TABLES: usize = 500;

fn pg_url() -> String {
    std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

fn name(i: usize) -> String {
    format!("t{i:04}")
}

/// The DDL SQLAlchemy's `create_all` runs for the "old" schema.
fn old_schema_ddl() -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..TABLES {
        let (t, parent) = (name(i), name(i.saturating_sub(1)));
        out.push(format!(
            "CREATE TABLE {t} (id SERIAL NOT NULL, c_text TEXT, c_varchar VARCHAR(100), \
             parent_id INTEGER, c_bigint BIGINT, c_bool BOOLEAN, c_ts TIMESTAMP WITH TIME ZONE, \
             c_num NUMERIC(12, 2), c_jsonb JSONB, c_date DATE, PRIMARY KEY (id))"
        ));
        out.push(format!("CREATE INDEX ix_{t}_parent ON {t} (parent_id)"));
        out.push(format!("CREATE INDEX ix_{t}_vd ON {t} (c_varchar, c_date)"));
        out.push(format!(
            "ALTER TABLE {t} ADD CONSTRAINT fk_{t}_parent FOREIGN KEY (parent_id) REFERENCES {parent} (id)"
        ));
    }
    out
}

/// The "new" models: the old schema with the changes alembic_bench.py makes.
fn new_models() -> Metadata {
    let models = (0..TABLES).map(|i| {
        let (t, parent) = (name(i), name(i.saturating_sub(1)));
        let mut cols = vec![
            Column::new("id", "integer").primary_key(),
            Column::new("c_text", "text"),
            Column::new(
                "c_varchar",
                if i % 20 == 3 {
                    "varchar(255)"
                } else {
                    "varchar(100)"
                },
            ),
            Column::new("parent_id", "integer"),
            Column::new("c_bigint", "bigint"),
        ];
        if i % 20 != 2 {
            cols.push(Column::new("c_bool", "boolean"));
        }
        cols.extend([
            Column::new("c_ts", "timestamptz"),
            Column::new("c_num", "numeric(12,2)"),
            Column::new("c_jsonb", "jsonb"),
            Column::new("c_date", "date"),
        ]);
        if i % 10 == 1 {
            cols.push(Column::new("c_extra", "text"));
        }
        let mut b = Model::builder(t.clone())
            .table(t.clone())
            .columns(cols)
            .foreign_key(
                ForeignKey::new(["parent_id"], parent, ["id"]).named(format!("fk_{t}_parent")),
            )
            .index(Index::new(["parent_id"]).named(format!("ix_{t}_parent")))
            .index(Index::new(["c_varchar", "c_date"]).named(format!("ix_{t}_vd")));
        if i % 20 == 4 {
            b = b.index(Index::new(["c_bigint"]).named(format!("ix_{t}_bigint")));
        }
        b.build().expect("model")
    });
    let meta = Metadata::new();
    meta.add_all(models).expect("models");
    meta
}

/// Introspection + diff + DDL (up and down); returns the number of changes.
async fn autogenerate(db: &Database, meta: &Metadata) -> usize {
    let live = introspect(db, &IntrospectOptions::default())
        .await
        .expect("introspect");
    let wanted = SchemaSnapshot::from_metadata(meta, Backend::Postgres).expect("snapshot");
    let diff = SchemaDiff::between(&live, &wanted);
    let up = diff.up().expect("up");
    let down = diff.down().expect("down");
    assert!(!up.is_empty() && !down.is_empty());
    diff.changes().len()
}

fn migrate(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let database = format!("dbridge_bench_migrate_{}", std::process::id());
    let (admin, db) = rt.block_on(async {
        let admin = Database::connect(&pg_url()).await.expect("connect");
        admin
            .execute(&format!("CREATE DATABASE {database}"), &[])
            .await
            .expect("create the bench database");
        let db = Database::connect(&with_database(&pg_url(), &database))
            .await
            .expect("connect to the bench database");
        let started = Instant::now();
        let mut tx = db.begin().await.expect("begin");
        for s in old_schema_ddl() {
            tx.execute(&s, &[]).await.expect("build the old schema");
        }
        tx.commit().await.expect("commit");
        eprintln!("built {TABLES} tables in {:?}", started.elapsed());
        (admin, db)
    });
    let meta = new_models();

    // Check the diff once: exactly the changes alembic_bench.py expects.
    rt.block_on(async {
        let live = introspect(&db, &IntrospectOptions::default())
            .await
            .expect("introspect");
        assert_eq!(live.tables.len(), TABLES);
        let diff = SchemaDiff::between(
            &live,
            &SchemaSnapshot::from_metadata(&meta, Backend::Postgres).expect("snapshot"),
        );
        let count = |f: fn(&Change) -> bool| diff.changes().iter().filter(|c| f(c)).count();
        assert_eq!(count(|c| matches!(c, Change::AddColumn { .. })), 50);
        assert_eq!(count(|c| matches!(c, Change::DropColumn { .. })), 25);
        assert_eq!(count(|c| matches!(c, Change::AlterColumn { .. })), 25);
        assert_eq!(count(|c| matches!(c, Change::AddIndex { .. })), 25);
        assert_eq!(
            diff.changes().len(),
            125,
            "{:?}",
            &diff.changes()[..5.min(diff.changes().len())]
        );
    });

    let mut g = c.benchmark_group("migrate_500_tables_postgres");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("introspect", |b| {
        b.to_async(&rt).iter(|| async {
            introspect(&db, &IntrospectOptions::default())
                .await
                .expect("introspect")
        })
    });
    g.bench_function("introspect_diff_ddl", |b| {
        b.to_async(&rt).iter(|| autogenerate(&db, &meta))
    });
    g.bench_function("diff_ddl_in_memory", |b| {
        let live = rt
            .block_on(introspect(&db, &IntrospectOptions::default()))
            .expect("introspect");
        b.iter(|| {
            let wanted = SchemaSnapshot::from_metadata(&meta, Backend::Postgres).expect("snapshot");
            let diff = SchemaDiff::between(&live, &wanted);
            (diff.up().expect("up"), diff.down().expect("down"))
        })
    });
    g.finish();

    rt.block_on(async {
        db.close().await;
        admin
            .execute(&format!("DROP DATABASE {database} WITH (FORCE)"), &[])
            .await
            .expect("drop the bench database");
        admin.close().await;
    });
}

criterion_group!(benches, migrate);
criterion_main!(benches);
