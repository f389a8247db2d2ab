//! Completion in a Rhai session: the members of a chain's type, followed
//! through the registered functions' return types (their signatures, kept
//! by rhai's `metadata` feature); only the base variable is looked at.

use dbridge_engine::schema::Model;
use dbridge_rhai::ModelV;
use rhai::Dynamic;

use super::RhaiSession;
use crate::complete;

/// One registered function: its name, first parameter's type and return type.
#[derive(Debug, Clone)]
struct Signature {
    name: String,
    receiver: String,
    returns: String,
}

/// `where(query: Query, cond: Expr) -> Query` as a [`Signature`].
fn parse_signature(sig: &str) -> Option<Signature> {
    let (name, rest) = sig.split_once('(')?;
    let (params, ret) = rest.split_once(')')?;
    let first = params.split(',').next()?;
    let receiver = first.split_once(':')?.1.trim();
    let receiver = receiver.trim_start_matches("&mut ").trim_start_matches('&');
    let returns = ret.trim().trim_start_matches("->").trim();
    Some(Signature {
        name: name.trim().to_owned(),
        receiver: receiver.to_owned(),
        returns: returns.to_owned(),
    })
}

/// `T` of `core::result::Result<T, E>`; any other type as it is.
pub(super) fn ok_type(ty: &str) -> &str {
    let Some(inner) = ty
        .strip_prefix("core::result::Result<")
        .or_else(|| ty.strip_prefix("Result<"))
    else {
        return ty;
    };
    let mut depth = 0usize;
    for (i, c) in inner.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => return inner[..i].trim(),
            _ => {}
        }
    }
    ty
}

impl RhaiSession {
    /// The registered functions, their types in Rhai's names (`Query`, not
    /// `Result<dbridge_rhai::query::Query, ...>`).
    fn signatures(&self) -> Vec<Signature> {
        self.engine
            .gen_fn_signatures(false)
            .iter()
            .filter_map(|s| parse_signature(s))
            .map(|mut s| {
                s.returns = self.engine.map_type_name(ok_type(&s.returns)).to_owned();
                s
            })
            .collect()
    }

    /// The friendly type name of a value (`Database`, `Query`, `Model`...).
    fn type_name(&self, v: &Dynamic) -> String {
        self.engine.map_type_name(v.type_name()).to_owned()
    }

    /// The type a chain evaluates to, followed through the registered
    /// functions' return types (nothing is evaluated but the base variable).
    fn type_of(&self, chain: &str, sigs: &[Signature]) -> Option<String> {
        let steps = complete::steps(chain)?;
        let base = steps.first()?;
        if base.args.is_some() {
            return None;
        }
        let v = self.scope.get_value::<Dynamic>(base.name)?;
        let mut ty = self.type_name(&v);
        for step in &steps[1..] {
            let wanted = match step.args {
                Some(_) => step.name.to_owned(),
                None => format!("get${}", step.name),
            };
            ty = match sigs.iter().find(|s| s.name == wanted && s.receiver == ty) {
                Some(s) => s.returns.clone(),
                // A model's column (`track.name`): its indexer's type.
                None if step.args.is_none() => sigs
                    .iter()
                    .find(|s| s.name == "index$get$" && s.receiver == ty)?
                    .returns
                    .clone(),
                None => return None,
            };
        }
        Some(ty)
    }

    /// The model a chain is about: its base when that is a model, or the
    /// variable passed to `query(...)`.
    fn chain_model(&self, chain: &str) -> Option<Model> {
        let steps = complete::steps(chain)?;
        let model_of = |name: &str| {
            self.scope
                .get_value::<ModelV>(name.trim())
                .map(|m| m.model().clone())
        };
        if let Some(m) = steps.first().and_then(|s| model_of(s.name)) {
            return Some(m);
        }
        let q = steps.iter().find(|s| s.name == "query")?;
        model_of(q.args?.trim_start_matches('(').trim_end_matches(')'))
    }

    /// What a value of the chain's type offers after `.`: the functions
    /// taking it first, its properties, and for a model or instance the
    /// model's columns and relationships.
    pub(super) fn members(&self, receiver: &str) -> Vec<String> {
        let sigs = self.signatures();
        let Some(ty) = self.type_of(receiver, &sigs) else {
            return Vec::new();
        };
        let mut names: Vec<String> = sigs
            .iter()
            .filter(|s| s.receiver == ty && (!s.name.contains('$') || s.name.starts_with("get$")))
            .map(|s| s.name.trim_start_matches("get$").to_owned())
            .collect();
        if matches!(ty.as_str(), "Model" | "Instance")
            && let Some(model) = self.chain_model(receiver)
        {
            names.extend(model.columns().iter().map(|c| c.name().as_str().to_owned()));
            names.extend(model.relationship_names());
        }
        names
    }
}
