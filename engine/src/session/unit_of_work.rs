//! The unit of work's planner: in what order a flush writes, as pure data.
//!
//! Models are ranked by their foreign keys (referenced tables first). For each
//! model in rank order the plan updates its changed rows, then inserts its new
//! rows, in as few batches as its self-references allow (a tree goes level by
//! level). Deletes come last, in reverse rank order, children before parents.
//! A reference to a row written later (a cycle between models, or between two
//! new rows of one model) is written as NULL and set by a post-update once
//! both rows exist. This module runs nothing: `persist` carries the plan out.

use std::collections::HashMap;

use crate::schema::Model;

/// A foreign key of a row whose value is the key of a new row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Link {
    /// The foreign key's index in the row's model.
    pub(crate) fk: usize,
    /// The new row it references (an index into the inserts).
    pub(crate) target: usize,
    /// Whether its columns accept NULL (needed to break a cycle).
    pub(crate) nullable: bool,
}

/// A new row.
#[derive(Debug, Clone)]
pub(crate) struct InsertNode {
    pub(crate) model: usize,
    pub(crate) links: Vec<Link>,
}

/// A changed row.
#[derive(Debug, Clone)]
pub(crate) struct UpdateNode {
    pub(crate) model: usize,
    pub(crate) links: Vec<Link>,
}

/// A deleted row and the deleted rows of its model it references.
#[derive(Debug, Clone)]
pub(crate) struct DeleteNode {
    pub(crate) model: usize,
    pub(crate) parents: Vec<usize>,
}

/// Which row a post-update writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Row {
    Insert(usize),
    Update(usize),
}

/// One step of a flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// UPDATE of one row.
    Update(usize),
    /// INSERT of rows of one model (batched).
    Insert { model: usize, rows: Vec<usize> },
    /// UPDATE of foreign keys to rows inserted after this one.
    PostUpdate { row: Row, links: Vec<Link> },
    /// DELETE of rows of one model.
    Delete { model: usize, rows: Vec<usize> },
}

/// The steps, and per insert the foreign keys it writes as NULL first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub(crate) steps: Vec<Step>,
    pub(crate) deferred: Vec<Vec<usize>>,
    /// The models the steps' `model` indexes refer to (filled by the caller).
    pub(crate) models: Vec<Model>,
}

/// A link that would close a cycle through a NOT NULL foreign key: the insert
/// and the foreign key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotNullCycle {
    pub(crate) row: usize,
    pub(crate) fk: usize,
}

/// Ranks models: referenced before referencing (cycles broken in DFS order).
pub(crate) fn rank(models: &[Model]) -> Vec<usize> {
    let by_table: HashMap<&str, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.table().as_str(), i))
        .collect();
    let mut state = vec![0u8; models.len()];
    let mut order = Vec::with_capacity(models.len());
    fn visit(
        i: usize,
        models: &[Model],
        by_table: &HashMap<&str, usize>,
        state: &mut [u8],
        order: &mut Vec<usize>,
    ) {
        state[i] = 1;
        for fk in models[i].foreign_keys() {
            if let Some(&j) = by_table.get(fk.table.as_str())
                && state[j] == 0
            {
                visit(j, models, by_table, state, order);
            }
        }
        state[i] = 2;
        order.push(i);
    }
    for i in 0..models.len() {
        if state[i] == 0 {
            visit(i, models, &by_table, &mut state, &mut order);
        }
    }
    order
}

/// Depth of each node in a DAG given by `edges(node)` (edges closing a cycle
/// are reported through `broken` and ignored).
fn levels(
    nodes: &[usize],
    edges: impl Fn(usize) -> Vec<(usize, usize)>,
    broken: &mut Vec<(usize, usize)>,
) -> HashMap<usize, usize> {
    // (node) -> level; iterative DFS to survive deep trees.
    let mut level: HashMap<usize, usize> = HashMap::with_capacity(nodes.len());
    let mut on_stack: HashMap<usize, bool> = HashMap::new();
    for &start in nodes {
        if level.contains_key(&start) {
            continue;
        }
        let mut stack = vec![(start, edges(start), 0usize)];
        on_stack.insert(start, true);
        while let Some((node, out, pos)) = stack.last_mut() {
            if *pos < out.len() {
                let (tag, next) = out[*pos];
                *pos += 1;
                if on_stack.get(&next).copied().unwrap_or(false) {
                    broken.push((*node, tag));
                } else if !level.contains_key(&next) {
                    on_stack.insert(next, true);
                    let e = edges(next);
                    stack.push((next, e, 0));
                }
            } else {
                let node = *node;
                let lv = out
                    .iter()
                    .filter(|(tag, _)| !broken.contains(&(node, *tag)))
                    .filter_map(|(_, n)| level.get(n).map(|l| l + 1))
                    .max()
                    .unwrap_or(0);
                level.insert(node, lv);
                on_stack.insert(node, false);
                stack.pop();
            }
        }
    }
    level
}

/// Plans a flush of `models`' rows.
pub(crate) fn plan(
    models: &[Model],
    inserts: &[InsertNode],
    updates: &[UpdateNode],
    deletes: &[DeleteNode],
) -> Result<Plan, NotNullCycle> {
    let ranked = rank(models);
    let mut steps = Vec::new();
    let mut insert_step = vec![usize::MAX; inserts.len()];
    let mut update_step = vec![usize::MAX; updates.len()];
    let mut broken: Vec<(usize, usize)> = Vec::new(); // (insert row, link index)
    for &m in &ranked {
        for (u, node) in updates.iter().enumerate().filter(|(_, n)| n.model == m) {
            update_step[u] = steps.len();
            steps.push(Step::Update(u));
            let _ = node;
        }
        let rows: Vec<usize> = (0..inserts.len())
            .filter(|&i| inserts[i].model == m)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let same_model = |i: usize| -> Vec<(usize, usize)> {
            inserts[i]
                .links
                .iter()
                .enumerate()
                .filter(|(_, l)| inserts[l.target].model == m && l.target != i)
                .map(|(k, l)| (k, l.target))
                .collect()
        };
        let lv = levels(&rows, same_model, &mut broken);
        let depth = rows.iter().map(|r| lv[r]).max().unwrap_or(0);
        for d in 0..=depth {
            let batch: Vec<usize> = rows.iter().copied().filter(|r| lv[r] == d).collect();
            for &r in &batch {
                insert_step[r] = steps.len();
            }
            steps.push(Step::Insert {
                model: m,
                rows: batch,
            });
        }
    }
    let mut deferred = vec![Vec::new(); inserts.len()];
    let mut post = Vec::new();
    for (i, node) in inserts.iter().enumerate() {
        let late: Vec<Link> = node
            .links
            .iter()
            .copied()
            .filter(|l| insert_step[l.target] >= insert_step[i])
            .collect();
        for l in &late {
            if !l.nullable {
                return Err(NotNullCycle { row: i, fk: l.fk });
            }
            deferred[i].push(l.fk);
        }
        if !late.is_empty() {
            post.push(Step::PostUpdate {
                row: Row::Insert(i),
                links: late,
            });
        }
    }
    for (u, node) in updates.iter().enumerate() {
        let late: Vec<Link> = node
            .links
            .iter()
            .copied()
            .filter(|l| insert_step[l.target] > update_step[u])
            .collect();
        if !late.is_empty() {
            post.push(Step::PostUpdate {
                row: Row::Update(u),
                links: late,
            });
        }
    }
    steps.extend(post);
    for &m in ranked.iter().rev() {
        let rows: Vec<usize> = (0..deletes.len())
            .filter(|&i| deletes[i].model == m)
            .collect();
        if rows.is_empty() {
            continue;
        }
        // A parent's level is above its children's: children go first.
        let mut children: HashMap<usize, Vec<(usize, usize)>> = HashMap::new();
        for &r in &rows {
            for (k, &p) in deletes[r].parents.iter().enumerate() {
                if p != r {
                    children.entry(p).or_default().push((k, r));
                }
            }
        }
        let mut ignored = Vec::new();
        let lv = levels(
            &rows,
            |p| children.get(&p).cloned().unwrap_or_default(),
            &mut ignored,
        );
        let depth = rows.iter().map(|r| lv[r]).max().unwrap_or(0);
        for d in 0..=depth {
            steps.push(Step::Delete {
                model: m,
                rows: rows.iter().copied().filter(|r| lv[r] == d).collect(),
            });
        }
    }
    Ok(Plan {
        steps,
        deferred,
        models: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Column;

    fn models() -> Vec<Model> {
        let post = Model::builder("Post")
            .table("posts")
            .column(Column::new("id", "bigint").primary_key())
            .column(Column::new("author_id", "bigint").references("users", "id"))
            .build()
            .unwrap();
        let user = Model::builder("User")
            .table("users")
            .column(Column::new("id", "bigint").primary_key())
            .column(Column::new("boss_id", "bigint").references("users", "id"))
            .build()
            .unwrap();
        vec![post, user]
    }

    fn link(target: usize) -> Link {
        Link {
            fk: 0,
            target,
            nullable: true,
        }
    }

    #[test]
    fn referenced_models_go_first() {
        let m = models();
        assert_eq!(rank(&m), vec![1, 0]);
        let inserts = vec![
            InsertNode {
                model: 0,
                links: vec![link(1)],
            },
            InsertNode {
                model: 1,
                links: vec![],
            },
            InsertNode {
                model: 0,
                links: vec![link(1)],
            },
        ];
        let p = plan(&m, &inserts, &[], &[]).unwrap();
        assert_eq!(
            p.steps,
            vec![
                Step::Insert {
                    model: 1,
                    rows: vec![1]
                },
                Step::Insert {
                    model: 0,
                    rows: vec![0, 2]
                },
            ]
        );
    }

    #[test]
    fn trees_go_level_by_level_and_cycles_post_update() {
        let m = models();
        // 0 <- 1 <- 2 (boss links), and 3 <-> 4 in a cycle.
        let inserts = vec![
            InsertNode {
                model: 1,
                links: vec![],
            },
            InsertNode {
                model: 1,
                links: vec![link(0)],
            },
            InsertNode {
                model: 1,
                links: vec![link(1)],
            },
            InsertNode {
                model: 1,
                links: vec![link(4)],
            },
            InsertNode {
                model: 1,
                links: vec![link(3)],
            },
        ];
        let p = plan(&m, &inserts, &[], &[]).unwrap();
        let inserts_only: Vec<_> = p
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Insert { .. }))
            .collect();
        assert_eq!(inserts_only.len(), 3);
        assert_eq!(
            p.steps
                .iter()
                .filter(|s| matches!(s, Step::PostUpdate { .. }))
                .count(),
            1
        );
        assert_eq!(p.deferred.iter().filter(|d| !d.is_empty()).count(), 1);

        let mut strict = inserts.clone();
        for n in &mut strict {
            for l in &mut n.links {
                l.nullable = false;
            }
        }
        assert!(plan(&m, &strict, &[], &[]).is_err());
    }

    #[test]
    fn deletes_children_first_in_reverse_rank() {
        let m = models();
        let deletes = vec![
            DeleteNode {
                model: 1,
                parents: vec![],
            },
            DeleteNode {
                model: 1,
                parents: vec![0],
            },
            DeleteNode {
                model: 0,
                parents: vec![],
            },
        ];
        let p = plan(&m, &[], &[], &deletes).unwrap();
        assert_eq!(
            p.steps,
            vec![
                Step::Delete {
                    model: 0,
                    rows: vec![2]
                },
                Step::Delete {
                    model: 1,
                    rows: vec![1]
                },
                Step::Delete {
                    model: 1,
                    rows: vec![0]
                },
            ]
        );
    }
}
