//! [`Query`]: `db.query(...)` / `s.query(...)`, a SELECT built step by step
//! (`where`, `filter_by`, `join`, `outerjoin` (to a model or table, or along
//! a relationship by name), `group_by`, `having`, `order_by`, `limit`,
//! `offset`, `distinct`, `select_from`, and `options`: loader options) and run
//! by `all`, `first`, `one`, `one_or_none`, `count`, `exists`, or shown by `sql`.
//!
//! A query of a model returns instances (through the session, or a
//! short-lived one for `db.query`); a query of columns returns maps.

use std::fmt;
use std::sync::Arc;

use dbridge_engine::dialect::compile;
use dbridge_engine::query::{
    ColumnRef, Compound, Expr, Lock, LockStrength, LockWait, Run, Select, TableRef, func,
};
use dbridge_engine::schema::Model;
use dbridge_engine::session::{BindingContext, Load, Session};
use dbridge_engine::{Error, Row};
use rhai::{
    Array, Dynamic, Engine, EvalAltResult, INT, ImmutableString, Map, Module, NativeCallContext,
};

use crate::convert::error::{configuration, to_rhai};
use crate::convert::value::row_to_map;
use crate::objects::database::Db;
use crate::objects::expr::{ExprV, expr_of, item_of, order_of, provide_subquery};
use crate::objects::instance::Obj;
use crate::objects::lock::lock_options;
use crate::objects::model::ModelV;
use crate::objects::relation::RelAttr;
use crate::objects::session::Sess;
use crate::objects::statements;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// Where a query runs.
#[derive(Clone)]
enum Target {
    Db(Db),
    Session(Sess),
}

/// A query (Rhai type `Query`); each step returns a new query.
#[derive(Clone)]
pub struct Query {
    pub(crate) select: Select,
    pub(crate) model: Option<Model>,
    target: Target,
    /// Loader options (`q.options(...)`), for a query of a model.
    options: Vec<Load>,
    /// `q.with_expression(name, expr)`: read-only attributes of the instances.
    pub(crate) expressions: Vec<(String, Expr)>,
}

impl fmt::Debug for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Query")
            .field("select", &self.select)
            .finish_non_exhaustive()
    }
}

/// A table (Rhai type `Table`): a derived table from `query.subquery(alias)`,
/// a CTE's from `query.cte(name)`, or a model under an alias from
/// `dbridge::aliased(Model, alias)`; its columns are `t.col(name)` or `t.<name>`.
#[derive(Debug, Clone)]
pub struct Table(pub(crate) TableRef);

impl Query {
    /// The SELECT this query runs.
    pub(crate) fn select(&self) -> Select {
        self.select.clone()
    }

    pub(crate) fn db(&self) -> &Db {
        match &self.target {
            Target::Db(db) => db,
            Target::Session(s) => s.db(),
        }
    }

    fn of_model(m: &ModelV, target: Target) -> Self {
        let columns: Vec<Expr> = m
            .model
            .all_columns()
            .into_iter()
            .zip(m.model.columns())
            .filter(|(_, c)| !c.is_deferred())
            .map(|(e, _)| e)
            .collect();
        // A polymorphic union reads its concrete subclasses' tables too.
        let mut select = Select::from(m.model.query_table()).columns(columns);
        // A single-table subclass keeps to its rows.
        if let Ok(Some(f)) = m.model.identity_filter() {
            select = select.filter(f);
        }
        Self {
            select,
            model: Some(m.model.clone()),
            target,
            options: Vec::new(),
            expressions: Vec::new(),
        }
    }

    /// A query of columns; FROM is the model of the first model column found
    /// in them (also inside functions and operators).
    fn of_columns(items: Array, target: Target) -> Res<Self> {
        let mut select = Select::new();
        let mut from = None;
        for d in items {
            if let Some(m) = d.read_lock::<ModelV>() {
                select = select.columns(m.model.all_columns());
                from.get_or_insert_with(|| m.model.table_ref());
                continue;
            }
            if let Some(t) = d.read_lock::<Table>() {
                select = select.columns(t.0.all_columns());
                from.get_or_insert_with(|| t.0.clone());
                continue;
            }
            let item = item_of(d)?;
            if from.is_none() {
                from = ColumnRef::first_table_in(&item.expr);
            }
            select = select.column(item);
        }
        if let Some(t) = from {
            select = select.and_from(t);
        }
        Ok(Self {
            select,
            model: None,
            target,
            options: Vec::new(),
            expressions: Vec::new(),
        })
    }

    fn new(what: Dynamic, target: Target) -> Res<Self> {
        if let Some(m) = what.read_lock::<ModelV>() {
            return Ok(Self::of_model(&m, target));
        }
        if what.is_array() {
            return Self::of_columns(what.into_array().unwrap_or_default(), target);
        }
        Self::of_columns(vec![what], target)
    }

    fn map(&self, f: impl FnOnce(Select) -> Select) -> Self {
        let mut q = self.clone();
        q.select = f(q.select);
        q
    }

    /// `q.union(other)` (and `union_all`, `intersect`, `except`): a query of
    /// the combined rows, `SELECT * FROM (q UNION other) AS "combined"`, to
    /// which further steps (`order_by`, `limit`, another set operation) apply.
    fn set_op(&self, other: Query, op: fn(Select, Select) -> Compound) -> Res<Query> {
        let compound = op(self.select.clone(), other.select);
        let t = dbridge_engine::query::Query::from(compound)
            .subquery("combined")
            .map_err(to_rhai)?;
        let mut q = self.clone();
        // Rows, not instances: the combined query reads a derived table.
        q.model = None;
        q.options.clear();
        q.select = Select::from(t.clone()).columns_of(&t);
        Ok(q)
    }

    /// `Model.get(pk)`: the instance with that primary key (a composite key
    /// as an array), detached like those of `db.query`, or `()`.
    fn by_key(ctx: &NativeCallContext, m: &ModelV, pk: Dynamic) -> Res<Dynamic> {
        let values = if pk.is_array() {
            pk.into_array().unwrap_or_default()
        } else {
            vec![pk]
        };
        let keys = m.model.primary_key();
        if values.len() != keys.len() {
            return Err(to_rhai(Error::InvalidValue {
                target: "get".into(),
                reason: format!(
                    "{} has a primary key of {} column(s), {} value(s) given",
                    m.model.name(),
                    keys.len(),
                    values.len()
                ),
            }));
        }
        let mut q = Self::of_model(m, Target::Db(m.db.clone()));
        for (&i, v) in keys.iter().zip(values) {
            let name = m.model.columns()[i].name().to_string();
            let value = expr_of(v, "the primary key")?;
            q.select = q.select.filter_by(&name, value).map_err(to_rhai)?;
        }
        // A polymorphic union may hold the key in several tables: the
        // model's own row first, as `s.get` (`Model::union_position`).
        let found = q.instances(ctx, &m.model, q.select.clone())?;
        Ok(found
            .into_iter()
            .min_by_key(|o| m.model.union_position(&o.0.model()).unwrap_or(usize::MAX))
            .map_or(Dynamic::UNIT, Dynamic::from))
    }

    fn filter_by(&self, values: Map) -> Res<Self> {
        let mut select = self.select.clone();
        for (k, v) in values {
            let value = expr_of(v, &format!("filter_by `{k}`"))?;
            select = select.filter_by(&k, value).map_err(to_rhai)?;
        }
        Ok(Self {
            select,
            ..self.clone()
        })
    }

    /// Rows of `select` in the query's target.
    pub(crate) fn rows(&self, ctx: &NativeCallContext, select: Select) -> Res<Vec<Row>> {
        match &self.target {
            Target::Db(db) => statements::then(ctx, db.fetch_built(&select).map_err(to_rhai)),
            Target::Session(s) => s.run(ctx, async move |s: &mut Session| {
                if s.autoflush() {
                    s.flush().await?;
                }
                select.fetch_all(s.transaction().await?).await
            }),
        }
    }

    /// Instances of the query's model read by `select`, with the query's
    /// loader options and the relationships' default eager strategies.
    pub(crate) fn instances(
        &self,
        ctx: &NativeCallContext,
        model: &Model,
        select: Select,
    ) -> Res<Vec<Obj>> {
        let options = self.options.clone();
        let exprs = self.expressions.clone();
        let found = match &self.target {
            Target::Session(s) => s.run(ctx, async move |s: &mut Session| {
                let mut q = s.query(model).map_select(|_| select).options(options);
                for (name, e) in exprs {
                    q = q.with_expression(&name, e)?;
                }
                q.all().await
            })?,
            Target::Db(db) => {
                let s = Sess::new(db, dbridge_engine::TransactionOptions::new());
                // Bound to the handle (not in a migration, whose transaction
                // ends with it): what they have not loaded loads on access.
                let binding: Option<BindingContext> = match db.slot() {
                    None => Some(Arc::new(db.clone())),
                    Some(_) => None,
                };
                s.run(ctx, async move |s: &mut Session| {
                    let found = async {
                        let mut q = s.query(model).map_select(|_| select).options(options);
                        for (name, e) in exprs {
                            q = q.with_expression(&name, e)?;
                        }
                        q.all().await
                    }
                    .await;
                    // Detached with their values: out of the session before
                    // its (read-only) transaction ends, so not expired by it.
                    match binding {
                        Some(b) => s.expunge_all_bound_with(b),
                        None => s.expunge_all(),
                    }
                    // Rolls back (a migration's session: ends without SQL).
                    s.close().await?;
                    found
                })?
            }
        };
        Ok(found.into_iter().map(Obj).collect())
    }

    fn fetch(&self, ctx: &NativeCallContext, select: Select) -> Res<Array> {
        match &self.model {
            Some(m) => Ok(self
                .instances(ctx, m, select)?
                .into_iter()
                .map(Dynamic::from)
                .collect()),
            None => self
                .rows(ctx, select)?
                .into_iter()
                .map(|r| row_to_map(r, &[]).map(Dynamic::from_map))
                .collect(),
        }
    }

    fn all(&self, ctx: &NativeCallContext) -> Res<Array> {
        let found = self.fetch(ctx, self.select.clone())?;
        if found.is_empty() {
            self.note_empty().map_err(to_rhai)?;
        }
        Ok(found)
    }

    /// Keeps the header of an empty result for a host that asked for it
    /// ([`crate::Dbridge::keep_empty_headers`]): the model's columns as its
    /// instances print (deferred ones left out), or the statement's.
    fn note_empty(&self) -> Result<(), Error> {
        let headers = self.db().blocker_ref().headers();
        if !headers.wanted() {
            return Ok(());
        }
        if let Some(m) = &self.model {
            let names = m.columns().iter().filter(|c| !c.is_deferred());
            headers.set(names.map(|c| c.name().to_string()).collect());
            return Ok(());
        }
        let sql = compile(&self.select, self.db().database().backend())?;
        match &self.target {
            Target::Db(db) => crate::objects::raw_sql::note_empty(db, sql.sql()),
            Target::Session(s) => crate::objects::raw_sql::note_empty(s, sql.sql()),
        }
    }

    fn first(&self, ctx: &NativeCallContext) -> Res<Dynamic> {
        let mut rows = self.fetch(ctx, self.select.clone().limit_at_most(1))?;
        Ok(rows.pop().unwrap_or(Dynamic::UNIT))
    }

    fn one_or_none(&self, ctx: &NativeCallContext) -> Res<Dynamic> {
        let mut rows = self.fetch(ctx, self.select.clone().limit_at_most(2))?;
        match rows.len() {
            0 => Ok(Dynamic::UNIT),
            1 => Ok(rows.pop().unwrap_or(Dynamic::UNIT)),
            _ => Err(to_rhai(Error::MultipleRows)),
        }
    }

    fn one(&self, ctx: &NativeCallContext) -> Res<Dynamic> {
        let v = self.one_or_none(ctx)?;
        if v.is_unit() {
            return Err(to_rhai(Error::NotFound));
        }
        Ok(v)
    }

    fn scalar(&self, ctx: &NativeCallContext, select: Select) -> Res<Dynamic> {
        let rows = self.rows(ctx, select)?;
        let v = rows
            .into_iter()
            .next()
            .and_then(|r| r.values().first().cloned())
            .ok_or_else(|| to_rhai(Error::NotFound))?;
        Ok(crate::convert::value::to_dynamic(v))
    }

    pub(crate) fn count(&self, ctx: &NativeCallContext) -> Res<INT> {
        let sub = self.select.clone().subquery("counted").map_err(to_rhai)?;
        let label = func::count_star().label("n").map_err(to_rhai)?;
        let v = self.scalar(ctx, Select::from(sub).column(label))?;
        v.as_int()
            .map_err(|t| configuration(format!("count returned {t}")))
    }

    fn exists(&self, ctx: &NativeCallContext) -> Res<bool> {
        let label = Expr::exists(self.select.clone())
            .label("e")
            .map_err(to_rhai)?;
        let v = self.scalar(ctx, Select::new().column(label))?;
        Ok(v.as_bool()
            .unwrap_or_else(|_| v.as_int().is_ok_and(|i| i != 0)))
    }

    /// The statement this query would run: SQL text and bound parameters
    /// for its database's backend.
    ///
    /// # Errors
    /// What compiling the query reports (an unsupported feature, a bad query).
    pub fn statement(&self) -> dbridge_engine::Result<dbridge_engine::db::Statement> {
        compile(&self.select, self.db().database().backend())
    }

    fn sql(&self) -> Res<String> {
        let backend = self.db().database().backend();
        compile(&self.select, backend)
            .map(|s| s.sql().to_owned())
            .map_err(to_rhai)
    }
}

/// The joins along the relationship `rel` (a name or `Model.<relationship>`)
/// of the query's model: `q.join("posts")`, `q.outerjoin(User.posts)`.
fn join_related(q: &Query, rel: &Dynamic, outer: bool) -> Res<Query> {
    let func = if outer { "outerjoin" } else { "join" };
    let name = crate::objects::relation::path_of(rel, func)?;
    let model = match (rel.read_lock::<RelAttr>(), &q.model) {
        (Some(a), _) => a.model.clone(),
        (None, Some(m)) => m.clone(),
        (None, None) => {
            return Err(configuration(format!(
                "{func}(\"{name}\"): a join by relationship name needs a query of a model"
            )));
        }
    };
    let path = model
        .relationship(&name)
        .and_then(|r| r.join_path())
        .map_err(to_rhai)?;
    Ok(q.map(|s| {
        path.into_iter().fold(s, |s, (t, on)| {
            if outer {
                s.left_join(t, on)
            } else {
                s.join(t, on)
            }
        })
    }))
}

/// `q.options(a, b, ...)`: loader options, one by one or in arrays.
fn with_options(q: &Query, args: Vec<Dynamic>) -> Res<Query> {
    if q.model.is_none() {
        return Err(configuration(
            "options: loader options need a query of a model",
        ));
    }
    let mut q = q.clone();
    q.options
        .extend(crate::objects::loader::list(args, "options")?);
    Ok(q)
}

fn table_of(d: Dynamic) -> Res<TableRef> {
    if let Some(m) = d.read_lock::<ModelV>() {
        return Ok(m.model.table_ref());
    }
    if let Some(t) = d.read_lock::<Table>() {
        return Ok(t.0.clone());
    }
    Err(configuration(format!(
        "join needs a Model or a Table (from query.subquery, query.cte or dbridge::aliased), got {}",
        d.type_name()
    )))
}

fn lock(strength: LockStrength, wait: LockWait) -> Lock {
    Lock { strength, wait }
}

/// Which clause [`Query::named`] adds to.
#[derive(Clone, Copy)]
enum Term {
    Group,
    Having,
    Order,
}

impl Query {
    /// Adds a term or an array of terms to GROUP BY, HAVING or ORDER BY: a
    /// string is a column or label name of the query (resolved by the engine,
    /// never bound), anything else an expression.
    fn named(&self, by: Dynamic, term: Term) -> Res<Query> {
        let items = if by.is_array() && !matches!(term, Term::Having) {
            by.into_array().unwrap_or_default()
        } else {
            vec![by]
        };
        let mut s = self.select.clone();
        for d in items {
            s = named_term(s, d, term)?;
        }
        Ok(self.map(|_| s))
    }
}

fn named_term(s: Select, d: Dynamic, term: Term) -> Res<Select> {
    if d.is_string() {
        let name = d.into_immutable_string().unwrap_or_default();
        return match term {
            Term::Group => s.group_by_name(&name),
            Term::Order => s.order_by_name(&name),
            Term::Having => s.name_ref(&name).map(|c| s.having(c)),
        }
        .map_err(to_rhai);
    }
    Ok(match term {
        Term::Group => s.group_by([expr_of(d, "a GROUP BY term")?]),
        Term::Having => s.having(expr_of(d, "a HAVING condition")?),
        Term::Order => s.order_by(order_of(d)?),
    })
}

/// Registers `where` and its alias `where_` with 1 to 4 conditions.
fn register_where(engine: &mut Engine) {
    for name in ["where", "where_", "filter"] {
        engine
            .register_fn(name, |q: &mut Query, a: Dynamic| -> Res<Query> {
                let a = expr_of(a, "a condition")?;
                Ok(q.map(|s| s.filter(a)))
            })
            .register_fn(
                name,
                |q: &mut Query, a: Dynamic, b: Dynamic| -> Res<Query> {
                    let (a, b) = (expr_of(a, "a condition")?, expr_of(b, "a condition")?);
                    Ok(q.map(|s| s.filter(a).filter(b)))
                },
            )
            .register_fn(
                name,
                |q: &mut Query, a: Dynamic, b: Dynamic, c: Dynamic| -> Res<Query> {
                    let conds = [a, b, c]
                        .into_iter()
                        .map(|d| expr_of(d, "a condition"))
                        .collect::<Res<Vec<_>>>()?;
                    Ok(q.map(|s| conds.into_iter().fold(s, Select::filter)))
                },
            );
    }
}

/// Registers `q.options(...)` with one to ten arguments.
macro_rules! register_options {
    ($engine:ident; $($($n:ident)+);+) => {$(
        $engine.register_fn("options", |q: &mut Query, $($n: Dynamic),+| {
            with_options(q, vec![$($n),+])
        });
    )+};
}

/// Registers the expressions over a query (`e.in_(q)`, `e.not_in(q)`,
/// `dbridge::exists(q)`), and makes a query a subquery where an expression is
/// expected. Here rather than in `expr.rs`, which lies below queries.
pub(crate) fn register_in_expr(engine: &mut Engine, module: &mut Module) {
    provide_subquery(|d| d.read_lock::<Query>().map(|q| q.select()));
    engine
        .register_fn("in_", |a: &mut ExprV, q: Query| {
            ExprV(a.0.clone().in_query(q.select()))
        })
        .register_fn("not_in", |a: &mut ExprV, q: Query| {
            ExprV(a.0.clone().not_in_query(q.select()))
        });
    module.set_native_fn("exists", |q: Query| Ok(ExprV(Expr::exists(q.select()))));
    module.set_native_fn("not_exists", |q: Query| {
        Ok(ExprV(Expr::not_exists(q.select())))
    });
    module.set_native_fn(
        "aliased",
        |m: ModelV, alias: ImmutableString| -> Res<Table> {
            m.model.alias(&alias).map(Table).map_err(to_rhai)
        },
    );
}

/// Registers `Query`, `Table`, `db.query(...)` and `s.query(...)`.
pub(crate) fn register(engine: &mut Engine) {
    engine
        .register_type_with_name::<Query>("Query")
        .register_type_with_name::<Table>("Table")
        .register_fn("query", |db: &mut Db, what: Dynamic| {
            Query::new(what, Target::Db(db.clone()))
        })
        .register_fn("query", |s: &mut Sess, what: Dynamic| {
            Query::new(what, Target::Session(s.clone()))
        })
        .register_fn(
            "get",
            |ctx: NativeCallContext, m: &mut ModelV, pk: Dynamic| Query::by_key(&ctx, m, pk),
        )
        .register_fn("filter_by", |q: &mut Query, m: Map| q.filter_by(m))
        .register_fn("join", |q: &mut Query, rel: Dynamic| {
            join_related(q, &rel, false)
        })
        .register_fn("outerjoin", |q: &mut Query, rel: Dynamic| {
            join_related(q, &rel, true)
        })
        .register_fn(
            "join",
            |q: &mut Query, t: Dynamic, on: Dynamic| -> Res<Query> {
                let (t, on) = (table_of(t)?, expr_of(on, "a join condition")?);
                Ok(q.map(|s| s.join(t, on)))
            },
        )
        .register_fn(
            "outerjoin",
            |q: &mut Query, t: Dynamic, on: Dynamic| -> Res<Query> {
                let (t, on) = (table_of(t)?, expr_of(on, "a join condition")?);
                Ok(q.map(|s| s.left_join(t, on)))
            },
        )
        .register_fn(
            "right_join",
            |q: &mut Query, t: Dynamic, on: Dynamic| -> Res<Query> {
                let (t, on) = (table_of(t)?, expr_of(on, "a join condition")?);
                Ok(q.map(|s| s.right_join(t, on)))
            },
        )
        .register_fn(
            "full_join",
            |q: &mut Query, t: Dynamic, on: Dynamic| -> Res<Query> {
                let (t, on) = (table_of(t)?, expr_of(on, "a join condition")?);
                Ok(q.map(|s| s.full_join(t, on)))
            },
        )
        .register_fn("cross_join", |q: &mut Query, t: Dynamic| -> Res<Query> {
            let t = table_of(t)?;
            Ok(q.map(|s| s.cross_join(t)))
        })
        .register_fn("union", |q: &mut Query, o: Query| {
            q.set_op(o, Select::union)
        })
        .register_fn("union_all", |q: &mut Query, o: Query| {
            q.set_op(o, Select::union_all)
        })
        .register_fn("intersect", |q: &mut Query, o: Query| {
            q.set_op(o, Select::intersect)
        })
        .register_fn("except", |q: &mut Query, o: Query| {
            q.set_op(o, Select::except)
        })
        .register_fn("select_from", |q: &mut Query, t: Dynamic| -> Res<Query> {
            let t = table_of(t)?;
            Ok(q.map(|s| s.and_from(t)))
        })
        .register_fn("group_by", |q: &mut Query, by: Dynamic| {
            q.named(by, Term::Group)
        })
        .register_fn("having", |q: &mut Query, cond: Dynamic| {
            q.named(cond, Term::Having)
        })
        .register_fn("order_by", |q: &mut Query, by: Dynamic| {
            q.named(by, Term::Order)
        })
        .register_fn("limit", |q: &mut Query, n: INT| -> Res<Query> {
            let n = u64::try_from(n).map_err(|_| configuration("limit must not be negative"))?;
            Ok(q.map(|s| s.limit(n)))
        })
        .register_fn("offset", |q: &mut Query, n: INT| -> Res<Query> {
            let n = u64::try_from(n).map_err(|_| configuration("offset must not be negative"))?;
            Ok(q.map(|s| s.offset(n)))
        })
        .register_fn("distinct", |q: &mut Query| q.map(Select::distinct))
        .register_fn("distinct_on", |q: &mut Query, on: Dynamic| -> Res<Query> {
            let on = if on.is_array() {
                on.into_array().unwrap_or_default()
            } else {
                vec![on]
            };
            let on = on
                .into_iter()
                .map(|d| expr_of(d, "a DISTINCT ON term"))
                .collect::<Res<Vec<_>>>()?;
            Ok(q.map(|s| s.distinct_on(on)))
        })
        .register_fn("for_update", |q: &mut Query| {
            q.map(|s| s.lock(Some(lock(LockStrength::Update, LockWait::Wait))))
        })
        .register_fn("for_update", |q: &mut Query, opts: Map| -> Res<Query> {
            let l = lock_options(LockStrength::Update, opts, "for_update")?;
            Ok(q.map(|s| s.lock(Some(l))))
        })
        .register_fn("for_share", |q: &mut Query| {
            q.map(|s| s.lock(Some(lock(LockStrength::Share, LockWait::Wait))))
        })
        .register_fn("for_share", |q: &mut Query, opts: Map| -> Res<Query> {
            let l = lock_options(LockStrength::Share, opts, "for_share")?;
            Ok(q.map(|s| s.lock(Some(l))))
        })
        .register_fn("on_primary", |q: &mut Query| {
            let mut q = q.clone();
            if let Target::Db(db) = &q.target {
                q.target = Target::Db(db.primary());
            }
            q
        })
        .register_fn(
            "subquery",
            |q: &mut Query, alias: ImmutableString| -> Res<Table> {
                q.select
                    .clone()
                    .subquery(&alias)
                    .map(Table)
                    .map_err(to_rhai)
            },
        )
        .register_fn(
            "col",
            |t: &mut Table, name: ImmutableString| -> Res<ExprV> {
                t.0.col(&name).map(ExprV).map_err(to_rhai)
            },
        )
        .register_indexer_get(|t: &mut Table, name: ImmutableString| -> Res<ExprV> {
            t.0.col(&name).map(ExprV).map_err(to_rhai)
        })
        .register_fn("all", |ctx: NativeCallContext, q: &mut Query| q.all(&ctx))
        .register_fn("first", |ctx: NativeCallContext, q: &mut Query| {
            q.first(&ctx)
        })
        .register_fn("one", |ctx: NativeCallContext, q: &mut Query| q.one(&ctx))
        .register_fn("one_or_none", |ctx: NativeCallContext, q: &mut Query| {
            q.one_or_none(&ctx)
        })
        .register_fn("count", |ctx: NativeCallContext, q: &mut Query| {
            q.count(&ctx)
        })
        .register_fn("exists", |ctx: NativeCallContext, q: &mut Query| {
            q.exists(&ctx)
        })
        .register_fn("sql", |q: &mut Query| q.sql())
        .register_fn("to_string", |q: &mut Query| {
            q.sql().unwrap_or_else(|_| "Query(?)".into())
        });
    register_where(engine);
    register_options!(engine; a; a b; a b c; a b c d; a b c d e; a b c d e f;
        a b c d e f g; a b c d e f g h; a b c d e f g h i; a b c d e f g h i j);
}
