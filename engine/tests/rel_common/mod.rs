//! Shared fixtures for the relationship tests: a blog schema declared with
//! relationships by model name (targets declared after the models that name
//! them), a statement log, and a bulk seed.
#![allow(dead_code, unused_imports)]

use std::sync::Arc;

use dbridge_engine::query::{Insert, Run};
use dbridge_engine::schema::{Column, Metadata, Model, ReferentialAction, Relationship};
use dbridge_engine::{Database, SqlType, Value};
use parking_lot::Mutex;

pub struct Blog {
    pub meta: Metadata,
    pub user: Model,
    pub post: Model,
    pub comment: Model,
    pub profile: Model,
    pub tag: Model,
    pub node: Model,
    pub site: Model,
    pub entry: Model,
    pub note: Model,
}

pub fn models() -> Blog {
    let meta = Metadata::new();
    // Declared before their targets: relationships name models, resolved later.
    let post = dbridge_testkit::keyed("Post", "posts")
        .column(Column::new("author_id", SqlType::Int8).references("users", "id"))
        .column(Column::new("title", "text").not_null())
        .column(Column::new("body", "text").deferred())
        .relationship(
            "author",
            Relationship::belongs_to("User").back_populates("posts"),
        )
        .relationship(
            "comments",
            Relationship::has_many("Comment")
                .back_populates("post")
                .cascade_str("all, delete-orphan")
                .unwrap()
                .order_by("id"),
        )
        .relationship(
            "tags",
            Relationship::many_to_many("Tag")
                .secondary("post_tags")
                .back_populates("posts"),
        )
        .build()
        .unwrap();
    let comment = dbridge_testkit::keyed("Comment", "comments")
        .column(
            Column::new("post_id", SqlType::Int8)
                .not_null()
                .references("posts", "id"),
        )
        .column(Column::new("author_id", SqlType::Int8).references("users", "id"))
        .column(Column::new("text", "text"))
        .relationship("author", Relationship::belongs_to("User"))
        .build()
        .unwrap();
    let user = dbridge_testkit::keyed("User", "users")
        .column(Column::new("name", "text").not_null())
        .relationship(
            "posts",
            Relationship::has_many("Post")
                .back_populates("author")
                .cascade_str("all")
                .unwrap()
                .order_by("id"),
        )
        .relationship(
            "profile",
            Relationship::has_one("Profile")
                .back_populates("user")
                .cascade_str("all, delete-orphan")
                .unwrap(),
        )
        .build()
        .unwrap();
    let profile = dbridge_testkit::keyed("Profile", "profiles")
        .column(
            Column::new("user_id", SqlType::Int8)
                .unique()
                .references("users", "id"),
        )
        .column(Column::new("bio", "text"))
        .build()
        .unwrap();
    let tag = dbridge_testkit::keyed("Tag", "tags")
        .column(Column::new("name", "text").not_null())
        .build()
        .unwrap();
    let node = dbridge_testkit::keyed("Node", "nodes")
        .column(Column::new("parent_id", SqlType::Int8).references("nodes", "id"))
        .column(Column::new("label", "text"))
        .relationship(
            "parent",
            Relationship::belongs_to("Node")
                .foreign_key("parent_id")
                .back_populates("children"),
        )
        .relationship(
            "children",
            Relationship::has_many("Node")
                .foreign_key("parent_id")
                .back_populates("parent")
                .cascade_str("all")
                .unwrap()
                .order_by("id"),
        )
        .build()
        .unwrap();
    // The database deletes entries (CASCADE) and unlinks notes (SET NULL).
    let site = dbridge_testkit::keyed("Site", "sites")
        .relationship(
            "entries",
            Relationship::has_many("Entry")
                .back_populates("site")
                .cascade_str("all")
                .unwrap()
                .passive_deletes(true),
        )
        .build()
        .unwrap();
    let entry = dbridge_testkit::keyed("Entry", "entries")
        .column(
            Column::new("site_id", SqlType::Int8)
                .not_null()
                .references("sites", "id")
                .on_delete(ReferentialAction::Cascade),
        )
        .build()
        .unwrap();
    let note = dbridge_testkit::keyed("Note", "notes")
        .column(
            Column::new("entry_id", SqlType::Int8)
                .references("entries", "id")
                .on_delete(ReferentialAction::SetNull),
        )
        .relationship("entry", Relationship::belongs_to("Entry"))
        .build()
        .unwrap();
    meta.add_all([
        post.clone(),
        comment.clone(),
        user.clone(),
        profile.clone(),
        tag.clone(),
        node.clone(),
        site.clone(),
        entry.clone(),
        note.clone(),
    ])
    .unwrap();
    Blog {
        meta,
        user,
        post,
        comment,
        profile,
        tag,
        node,
        site,
        entry,
        note,
    }
}

pub async fn setup(db: &Database) -> Blog {
    let m = models();
    m.meta.create_all(db).await.unwrap();
    m
}

/// `users` users (ids 1..) with `per` posts each (ids 1..), straight through Core.
pub async fn seed(db: &Database, m: &Blog, users: i64, per: i64) {
    let rows = (1..=users).map(|i| vec![Value::from(i), Value::from(format!("user{i}"))]);
    Insert::into(&m.user)
        .columns(["id", "name"])
        .unwrap()
        .rows(rows)
        .unwrap()
        .execute(db)
        .await
        .unwrap();
    if per == 0 {
        return;
    }
    let rows = (0..users * per).map(|k| {
        vec![
            Value::from(k + 1),
            Value::from(k / per + 1),
            Value::from(format!("post{}", k + 1)),
        ]
    });
    Insert::into(&m.post)
        .columns(["id", "author_id", "title"])
        .unwrap()
        .rows(rows)
        .unwrap()
        .execute(db)
        .await
        .unwrap();
}

/// The statements a test database runs (BEGIN left out).
pub use dbridge_testkit::StatementLog as Log;

pub fn names(list: &[dbridge_engine::session::Instance], col: &str) -> Vec<String> {
    list.iter()
        .map(|i| i.get(col).unwrap().as_str().unwrap_or("NULL").to_owned())
        .collect()
}
