//! Models declared in either order: a model whose foreign keys reference a
//! table that no registered model maps waits in its [`Metadata`] until a model
//! of that table is added, then both are registered together.

use std::collections::HashSet;

use crate::error::{Error, Result};

use super::metadata::{Metadata, duplicate};
use super::model::Model;

impl Metadata {
    /// Registers `model`, or keeps it waiting while a table its foreign keys
    /// reference has no model yet. Adding a model registers, with it, the
    /// waiting models it completes (so models referencing each other may be
    /// declared in either order). Returns whether `model` is registered now.
    ///
    /// # Errors
    /// [`Error::Schema`] when a registered or waiting model has its name or
    /// table, or as [`Metadata::add_all`] for the models it completes; on error
    /// nothing is registered and `model` does not wait.
    ///
    /// # Examples
    ///
    /// ```
    /// use dbridge_engine::schema::{Column, Metadata, Model};
    ///
    /// let meta = Metadata::new();
    /// let post = Model::builder("Post").table("posts")
    ///     .column(Column::new("id", "bigint").primary_key())
    ///     .column(Column::new("author_id", "bigint").references("users", "id"))
    ///     .build()?;
    /// assert!(!meta.add_or_defer(post)?);               // waits for `users`
    /// assert!(meta.check_complete().is_err());
    /// let user = Model::builder("User").table("users")
    ///     .column(Column::new("id", "bigint").primary_key())
    ///     .build()?;
    /// assert!(meta.add_or_defer(user)?);
    /// assert!(meta.pending().is_empty() && meta.get("Post").is_some());
    /// # Ok::<(), dbridge_engine::Error>(())
    /// ```
    pub fn add_or_defer(&self, model: Model) -> Result<bool> {
        let mut waiting = self.waiting.lock();
        duplicate(&waiting, &model)?;
        duplicate(&self.models(), &model)?;
        let mut all: Vec<Model> = waiting.clone();
        all.push(model.clone());
        // Drop the models whose targets are unknown until none is left to drop.
        let mut ok = vec![true; all.len()];
        loop {
            let tables: HashSet<String> = all
                .iter()
                .zip(&ok)
                .filter(|(_, k)| **k)
                .map(|(m, _)| m.table().to_string())
                .collect();
            let mut changed = false;
            for (m, k) in all.iter().zip(ok.iter_mut()) {
                if *k && !self.targets_known(m, &tables) {
                    *k = false;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let (ready, still): (Vec<_>, Vec<_>) = all.into_iter().zip(ok).partition(|(_, k)| *k);
        let ready: Vec<Model> = ready.into_iter().map(|(m, _)| m).collect();
        let still: Vec<Model> = still.into_iter().map(|(m, _)| m).collect();
        let registered = ready.iter().any(|m| m.ptr_eq(&model));
        if !ready.is_empty() {
            self.add_all(ready)?;
        }
        *waiting = still;
        Ok(registered)
    }

    /// Whether every table `m` references is in `tables` or has a registered model.
    fn targets_known(&self, m: &Model, tables: &HashSet<String>) -> bool {
        m.foreign_keys().iter().all(|fk| {
            tables.contains(fk.table.as_str()) || self.by_table(fk.table.as_str()).is_some()
        })
    }

    /// The models waiting for a model of a table they reference, in the
    /// order they were added.
    pub fn pending(&self) -> Vec<Model> {
        self.waiting.lock().clone()
    }

    /// Checks that no model waits: `create_all` runs it first.
    ///
    /// # Errors
    /// [`Error::Configuration`] naming a waiting model and the tables it
    /// references that no model (registered or waiting) maps.
    pub fn check_complete(&self) -> Result<()> {
        let waiting = self.waiting.lock();
        let mapped =
            |t: &str| self.by_table(t).is_some() || waiting.iter().any(|w| w.table().as_str() == t);
        for m in waiting.iter() {
            let mut missing: Vec<&str> = Vec::new();
            for fk in m.foreign_keys() {
                let t = fk.table.as_str();
                if !mapped(t) && !missing.contains(&t) {
                    missing.push(t);
                }
            }
            if !missing.is_empty() {
                return Err(Error::Configuration(format!(
                    "model `{}` references table `{}`, which no declared model maps",
                    m.name(),
                    missing.join("`, `")
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::schema::Column;

    fn model(name: &str, table: &str, refs: &[&str]) -> Model {
        let mut b = Model::builder(name)
            .table(table)
            .column(Column::new("id", "bigint").primary_key());
        for (i, r) in refs.iter().enumerate() {
            b = b.column(Column::new(format!("ref{i}"), "bigint").references(*r, "id"));
        }
        b.build().unwrap()
    }

    fn names(models: Vec<Model>) -> Vec<String> {
        models.iter().map(|m| m.name().to_string()).collect()
    }

    #[test]
    fn a_model_waits_for_the_table_it_references() {
        let meta = Metadata::new();
        assert!(
            !meta
                .add_or_defer(model("Post", "posts", &["users"]))
                .unwrap()
        );
        assert_eq!(names(meta.pending()), ["Post"]);
        assert!(meta.get("Post").is_none());
        let err = meta.check_complete().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert_eq!(
            err.to_string(),
            "invalid configuration: model `Post` references table `users`, which no declared model maps"
        );
        let err = meta
            .create_statements(crate::error::Backend::Sqlite)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Configuration);
        assert!(meta.add_or_defer(model("User", "users", &[])).unwrap());
        assert!(meta.pending().is_empty());
        assert_eq!(names(meta.models()), ["Post", "User"]);
        meta.check_complete().unwrap();
        assert_eq!(
            meta.create_statements(crate::error::Backend::Sqlite)
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_chain_of_waiting_models_completes_at_once() {
        let meta = Metadata::new();
        assert!(!meta.add_or_defer(model("A", "a", &["b"])).unwrap());
        assert!(!meta.add_or_defer(model("B", "b", &["c"])).unwrap());
        // `a` is mapped (by a waiting model): only `c` is missing.
        let err = meta.check_complete().unwrap_err();
        assert!(err.to_string().contains("model `B` references table `c`"));
        assert!(meta.add_or_defer(model("C", "c", &[])).unwrap());
        assert_eq!(names(meta.models()), ["A", "B", "C"]);
        assert!(meta.pending().is_empty());
    }

    #[test]
    fn self_references_and_known_tables_register_at_once() {
        let meta = Metadata::new();
        assert!(
            meta.add_or_defer(model("Node", "nodes", &["nodes"]))
                .unwrap()
        );
        assert!(
            meta.add_or_defer(model("Leaf", "leaves", &["nodes"]))
                .unwrap()
        );
        assert!(meta.pending().is_empty());
    }

    #[test]
    fn a_name_or_table_taken_by_a_waiting_or_registered_model_is_refused() {
        let meta = Metadata::new();
        meta.add_or_defer(model("Post", "posts", &["users"]))
            .unwrap();
        let err = meta.add_or_defer(model("Post", "other", &[])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Schema);
        assert!(err.to_string().contains("a model named `Post`"));
        let err = meta.add_or_defer(model("Other", "posts", &[])).unwrap_err();
        assert!(err.to_string().contains("table `posts`"));
        meta.add_or_defer(model("User", "users", &[])).unwrap();
        let err = meta.add_or_defer(model("User", "people", &[])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Schema);
        assert_eq!(names(meta.models()), ["Post", "User"]);
    }

    #[test]
    fn a_bad_reference_fails_when_its_table_arrives_and_nothing_is_registered() {
        let meta = Metadata::new();
        let post = Model::builder("Post")
            .table("posts")
            .column(Column::new("id", "bigint").primary_key())
            .column(Column::new("author_id", "bigint").references("users", "nope"))
            .build()
            .unwrap();
        assert!(!meta.add_or_defer(post).unwrap());
        let err = meta.add_or_defer(model("User", "users", &[])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Schema);
        assert!(err.to_string().contains("unknown column `nope`"));
        assert!(meta.models().is_empty());
        assert_eq!(names(meta.pending()), ["Post"]);
    }
}
