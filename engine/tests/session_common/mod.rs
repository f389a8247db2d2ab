//! Shared fixtures for the session tests: models, tables, a statement log.
#![allow(dead_code, unused_imports)]

use std::sync::Arc;

use dbridge_engine::schema::{Column, ForeignKey, Metadata, Model, ReferentialAction};
use dbridge_engine::session::{Instance, Registry, Session, SessionOptions};
use dbridge_engine::{Database, SqlType, Value};
use parking_lot::Mutex;

pub struct Models {
    pub meta: Metadata,
    pub user: Model,
    pub post: Model,
    pub node: Model,
    pub tag: Model,
    pub doc: Model,
}

pub fn models() -> Models {
    let meta = Metadata::new();
    let user = dbridge_testkit::keyed("User", "users")
        .column(Column::new("name", "text").not_null())
        .column(Column::new("email", "text").unique())
        .column(Column::new("karma", "integer").not_null().default(0))
        .column(Column::new("bio", "text").deferred())
        .build()
        .unwrap();
    let post = dbridge_testkit::keyed("Post", "posts")
        .column(
            Column::new("author_id", SqlType::Int8)
                .not_null()
                .references("users", "id")
                .on_delete(ReferentialAction::Cascade),
        )
        .column(Column::new("title", "text").not_null())
        .build()
        .unwrap();
    let node = dbridge_testkit::keyed("Node", "nodes")
        .column(Column::new("parent_id", SqlType::Int8).references("nodes", "id"))
        .column(Column::new("buddy_id", SqlType::Int8).references("nodes", "id"))
        .column(Column::new("label", "text"))
        .build()
        .unwrap();
    let tag = Model::builder("Tag")
        .table("tags")
        .column(Column::new("kind", "text").primary_key())
        .column(Column::new("code", "integer").primary_key())
        .column(
            Column::new("uid", "uuid")
                .not_null()
                .default_factory(|| Value::Uuid(uuid::Uuid::new_v4())),
        )
        .column(Column::new("label", "text"))
        .build()
        .unwrap();
    let doc = dbridge_testkit::keyed("Doc", "docs")
        .column(Column::new("body", "text"))
        .column(Column::new("version", "integer").not_null())
        .build()
        .unwrap();
    meta.add_all([
        user.clone(),
        post.clone(),
        node.clone(),
        tag.clone(),
        doc.clone(),
    ])
    .unwrap();
    Models {
        meta,
        user,
        post,
        node,
        tag,
        doc,
    }
}

pub async fn setup(db: &Database) -> Models {
    let m = models();
    m.meta.create_all(db).await.unwrap();
    m
}

/// The statements a test database runs (BEGIN left out).
pub use dbridge_testkit::StatementLog as Log;

/// Inserts users straight through SQL; returns their ids.
pub async fn seed_users(db: &Database, names: &[&str]) -> Vec<i64> {
    let mut ids = Vec::new();
    for n in names {
        let row = db
            .fetch_one(
                "INSERT INTO users (name, email) VALUES ($1, $2) RETURNING id",
                &[
                    Value::from(*n),
                    Value::from(format!("{}@example.com", n.to_lowercase())),
                ],
            )
            .await
            .unwrap();
        ids.push(row.get(0).unwrap().as_i64().unwrap());
    }
    ids
}
