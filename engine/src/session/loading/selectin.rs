//! selectin and subquery: one more statement per relationship and level,
//! its rows grouped by the key each belongs to and given to the parents.

use super::super::identity::{FastMap, FastSet, IdentityKey};
use super::super::instance::InstanceData;
use super::super::polymorphic::{PolyColumns, subclass_reads};
use super::super::related::{Related, is_loaded, put_loaded};
use super::super::{Instance, InstanceState, Session};
use super::fill::Filler;
use super::{col, empty, join_on, ptr};
use futures_util::StreamExt;

use crate::db::Row;
use crate::dialect::{Compile, param_limit};
use crate::error::Result;
use crate::query::{Expr, Select, SelectItem};
use crate::schema::{Model, RelationshipDef, RelationshipKind};
use crate::validate::Validators;
use crate::value::Value;

/// The key a related row was found for (one value for most relationships).
type KeyValues = smallvec::SmallVec<[Value; 1]>;

/// The values of `cols` in `d`, if all are loaded and not NULL.
fn key_values(d: &InstanceData, cols: &[usize]) -> Option<KeyValues> {
    cols.iter()
        .map(|&c| d.values.get(c)?.clone().filter(|v| !v.is_null()))
        .collect()
}

/// `key IN (...)`, or for a composite key `(k1 = .. AND k2 = ..) OR ...`.
fn key_filter(keys: &[Expr], batch: &[KeyValues]) -> Expr {
    if let [k] = keys {
        return k
            .clone()
            .in_list(batch.iter().filter_map(|v| v.first().cloned()));
    }
    Expr::any(batch.iter().map(|vals| {
        Expr::all(
            keys.iter()
                .zip(vals.iter())
                .map(|(k, v)| k.clone().eq(v.clone())),
        )
    }))
}

/// Turns a related select's rows into instances, each with its key.
struct RelatedRows<'a> {
    session: &'a Session,
    model: &'a Model,
    cols: &'a [usize],
    validators: Validators,
    /// Every column in order: the row's vector becomes the instance's.
    whole: bool,
    /// The number of key columns after the model's.
    key_width: usize,
    /// For a polymorphic target: how the columns before the key map to the
    /// classes' columns (the subclasses' columns follow the model's).
    poly: Option<PolyColumns>,
}

impl<'a> RelatedRows<'a> {
    fn new(
        session: &'a Session,
        rel: &'a RelationshipDef,
        cols: &'a [usize],
        poly: Option<PolyColumns>,
    ) -> Self {
        let model = &rel.target;
        let whole =
            cols.len() == model.columns().len() && cols.iter().enumerate().all(|(i, &c)| i == c);
        Self {
            session,
            model,
            cols,
            validators: session.opts.registry.validators().clone(),
            whole,
            key_width: rel.local.len(),
            poly,
        }
    }

    fn row(&mut self, row: Row, out: &mut Vec<(Instance, KeyValues)>) -> Result<()> {
        let (m, v) = (self.model, &self.validators);
        let mut vals = row.into_values();
        let key: KeyValues = if self.key_width == 1 {
            smallvec::smallvec![vals.pop().unwrap_or(Value::Null)]
        } else {
            vals.split_off(vals.len().saturating_sub(self.key_width))
                .into_iter()
                .collect()
        };
        if let Some(poly) = &self.poly {
            let (class, raw) = poly.split(vals)?;
            let values = raw
                .into_iter()
                .enumerate()
                .map(|(i, x)| x.map(|x| v.loaded_value(&class, i, x)).transpose())
                .collect::<Result<Vec<_>>>()?;
            if let Some(inst) = self.session.load_values(&class, values, false)? {
                out.push((inst, key));
            }
            return Ok(());
        }
        let values = if self.whole {
            vals.into_iter()
                .enumerate()
                .map(|(c, x)| v.loaded_value(m, c, x).map(Some))
                .collect::<Result<Vec<_>>>()?
        } else {
            let mut values: Vec<Option<Value>> = vec![None; m.columns().len()];
            for (&c, x) in self.cols.iter().zip(vals) {
                values[c] = Some(v.loaded_value(m, c, x)?);
            }
            values
        };
        if let Some(inst) = self.session.load_values(m, values, false)? {
            out.push((inst, key));
        }
        Ok(())
    }
}

impl Session {
    /// The select of `rel`'s targets (columns `cols`, then the key each
    /// belongs to, labelled `dbr_key`, or `dbr_key0`, `dbr_key1`... for a
    /// composite key), and the key columns to filter on.
    ///
    /// A polymorphic target is read as a query of it is: its table (or
    /// union), with its subclasses' columns after `cols`
    /// ([`subclass_reads`]).
    fn related_select(rel: &RelationshipDef, cols: &[usize]) -> Result<(Select, Vec<Expr>)> {
        let t = rel.target.query_table();
        let mut select = Select::from(t.clone());
        for &c in cols {
            select = select.column(col(&t, &rel.target, c)?);
        }
        let reads = subclass_reads(&rel.target, &t, false, None, &select)?;
        for e in reads.columns {
            select = select.column(e);
        }
        for (table, on) in reads.joins {
            select = select.left_join(table, on);
        }
        let keys = match &rel.secondary {
            Some(sec) => {
                let s = sec.model.table_ref();
                let on = join_on(&s, &sec.model, &sec.to_target, &t, &rel.target, &rel.remote)?;
                select = select.join(s.clone(), on);
                sec.to_owner
                    .iter()
                    .map(|&c| col(&s, &sec.model, c))
                    .collect::<Result<Vec<_>>>()?
            }
            None => rel
                .remote
                .iter()
                .map(|&c| col(&t, &rel.target, c))
                .collect::<Result<Vec<_>>>()?,
        };
        for (i, k) in keys.iter().enumerate() {
            let label = if keys.len() == 1 {
                "dbr_key".to_owned()
            } else {
                format!("dbr_key{i}")
            };
            select = select.column(k.clone().label(&label)?);
        }
        if let Some(o) = rel.order_by {
            select = select.order_by(col(&t, &rel.target, o)?);
        }
        if let Some(f) = rel.target.identity_filter()? {
            select = select.filter(f); // a subclass target keeps to its rows
        }
        Ok((select, keys))
    }

    /// Runs a related select; each instance with the key it was found for.
    /// Rows become instances as they arrive, while the server sends the next.
    async fn fetch_related(
        &mut self,
        rel: &RelationshipDef,
        cols: &[usize],
        select: &Select,
        out: &mut Vec<(Instance, KeyValues)>,
    ) -> Result<()> {
        let compiled = select.compile_for(self.db.backend())?;
        let poly = rel.target.is_polymorphic().then(|| {
            let n = compiled.columns.len().saturating_sub(rel.local.len());
            let main = select.from.first().map(|t| t.qualifier().clone());
            let main = main.unwrap_or_else(|| rel.target.table().clone());
            PolyColumns::new(&rel.target, &compiled.columns[..n], &main)
        });
        let mut tx = self.take_tx().await?;
        let read = {
            let mut rows = tx.fetch_statement(compiled.statement);
            let mut reader = RelatedRows::new(self, rel, cols, poly);
            async {
                while let Some(row) = rows.next().await {
                    reader.row(row?, out)?;
                }
                Ok(())
            }
            .await
        };
        self.tx = Some(tx);
        read
    }

    /// The parents whose relationship is not loaded yet (each once).
    fn unloaded(rel: &RelationshipDef, parents: &[Instance]) -> Vec<Instance> {
        let mut seen = FastSet::default();
        parents
            .iter()
            .filter(|p| seen.insert(ptr(p)))
            .filter(|p| !is_loaded(&p.read(), rel.name.as_str()))
            .cloned()
            .collect()
    }

    /// selectin: `WHERE key IN (...)` for the parents' keys, in batches.
    pub(crate) async fn selectin(
        &mut self,
        rel: &RelationshipDef,
        parents: &[Instance],
        cols: &[usize],
    ) -> Result<Vec<Instance>> {
        let todo = Self::unloaded(rel, parents);
        let mut waiting: Vec<Instance> = Vec::with_capacity(todo.len());
        let mut keys: Vec<KeyValues> = Vec::with_capacity(todo.len());
        let mut asked: FastSet<IdentityKey> = FastSet::default();
        let by_pk =
            rel.kind == RelationshipKind::BelongsTo && rel.target.primary_key() == rel.remote;
        let mut found = Vec::new();
        for p in todo {
            let v = key_values(&p.read(), &rel.local);
            let Some(v) = v else {
                put_loaded(&p, rel.name.shared(), empty(rel.kind));
                continue;
            };
            let Some(hk) = IdentityKey::new(&rel.target, &v) else {
                continue;
            };
            if by_pk
                && let Some(t) = self.map.get(&hk)
                && t.state() == InstanceState::Persistent
            {
                put_loaded(&p, rel.name.shared(), Related::One(Some(t.clone())));
                found.push(t);
                continue;
            }
            if asked.insert(hk) {
                keys.push(v);
            }
            waiting.push(p);
        }
        if waiting.is_empty() {
            return Ok(found);
        }
        let (select, key_cols) = Self::related_select(rel, cols)?;
        let chunk = ((param_limit(self.db.backend()) - 16) / key_cols.len().max(1)).max(1);
        let mut rows = Vec::new();
        for batch in keys.chunks(chunk) {
            let q = select.clone().filter(key_filter(&key_cols, batch));
            self.fetch_related(rel, cols, &q, &mut rows).await?;
        }
        found.extend(Self::assign(rel, &waiting, rows));
        // The joined subclasses that load by a second SELECT.
        self.load_subclass_columns(&rel.target, &found, false)
            .await?;
        Ok(found)
    }

    /// subquery: `WHERE key IN (SELECT <parent key> FROM <parent query>)`.
    pub(super) async fn subquery(
        &mut self,
        rel: &RelationshipDef,
        parents: &[Instance],
        cols: &[usize],
        parent_query: Select,
    ) -> Result<(Vec<Instance>, Select)> {
        let (l, _) = rel.single()?;
        let mut keys = parent_query;
        keys.items = vec![SelectItem::from(
            rel.owner.col(rel.owner.columns()[l].name().as_str())?,
        )];
        let (select, key_cols) = Self::related_select(rel, cols)?;
        let key_col = key_cols.into_iter().next().ok_or_else(|| {
            crate::error::Error::InvalidState(format!("{} has no key columns", rel.describe()))
        })?;
        let select = select.filter(key_col.in_query(keys));
        let mut rows = Vec::new();
        self.fetch_related(rel, cols, &select, &mut rows).await?;
        let todo = Self::unloaded(rel, parents);
        let found = Self::assign(rel, &todo, rows);
        self.load_subclass_columns(&rel.target, &found, false)
            .await?;
        // The next level's parent query: this one's rows.
        let mut next = select;
        next.items.pop();
        Ok((found, next))
    }

    /// Groups found rows by key and stores them in the parents; returns
    /// the instances found, each once.
    fn assign(
        rel: &RelationshipDef,
        parents: &[Instance],
        rows: Vec<(Instance, KeyValues)>,
    ) -> Vec<Instance> {
        let mut by_key: FastMap<IdentityKey, Vec<Instance>> = FastMap::default();
        let mut found = Vec::with_capacity(rows.len());
        let mut seen = FastSet::default();
        for (inst, key) in rows {
            // An instance met before (through an association table, or a
            // key repeated by the database) may be on this key's list already.
            let first = seen.insert(ptr(&inst));
            if let Some(hk) = IdentityKey::new(&rel.target, &key) {
                let list = by_key.entry(hk).or_default();
                if first || !list.iter().any(|i| i.ptr_eq(&inst)) {
                    list.push(inst.clone());
                }
            }
            if first {
                found.push(inst);
            }
        }
        let filler = Filler::new(rel);
        for p in parents {
            let list = key_values(&p.read(), &rel.local)
                .and_then(|v| IdentityKey::new(&rel.target, &v))
                .and_then(|hk| by_key.get(&hk).cloned())
                .unwrap_or_default();
            filler.fill(p, list);
        }
        found
    }
}
