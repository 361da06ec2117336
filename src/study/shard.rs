//! Shards: a deterministic share of a study's units, from `--shard I/N` or from the
//! scheduler's environment (SLURM job arrays, Kubernetes indexed jobs).

use crate::error::{Error, Result};

/// Shard `index` of `count` (numbered from 0): the units whose position in the sorted
/// list is `index` modulo `count`.
///
/// ```
/// use cem::study::Shard;
/// let s = Shard::parse("1/3").unwrap();
/// assert_eq!(s.select(&["a", "b", "c", "d", "e"]), [&"b", &"e"]);
/// assert!(Shard::parse("3/2").unwrap_err().to_string().contains("3/2"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// The whole study.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// A checked shard.
    pub fn new(index: usize, count: usize) -> Result<Shard> {
        let text = format!("{index}/{count}");
        if count == 0 {
            return Err(Error::invalid(
                "shard",
                text,
                "the count must be at least 1",
            ));
        }
        if index >= count {
            return Err(Error::invalid(
                "shard",
                text,
                format!(
                    "the index must be below the count: shards are numbered 0 to {}",
                    count - 1
                ),
            ));
        }
        Ok(Shard { index, count })
    }

    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Shard> {
        let bad = || Error::invalid("shard", text, "expected I/N, e.g. 0/4");
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        Shard::new(
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        )
        .map_err(|e| match e {
            Error::InvalidParameter { reason, .. } => Error::invalid("shard", text, reason),
            e => e,
        })
    }

    /// The shard the scheduler gives this process, if any: SLURM's
    /// `SLURM_ARRAY_TASK_ID` (less `SLURM_ARRAY_TASK_MIN`) of `SLURM_ARRAY_TASK_COUNT`,
    /// or Kubernetes' `JOB_COMPLETION_INDEX` of `CEM_SHARD_COUNT`.
    pub fn from_env() -> Result<Option<Shard>> {
        Shard::from_vars(|k| std::env::var(k).ok())
    }

    /// [`Shard::from_env`] over any variable lookup.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let num = |k: &str| -> Result<Option<usize>> {
            match var(k) {
                None => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| Error::invalid(k, &v, "not a non-negative integer")),
            }
        };
        if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
            let count = num("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
                Error::invalid(
                    "SLURM_ARRAY_TASK_COUNT",
                    "(unset)",
                    "SLURM_ARRAY_TASK_ID is set without it; pass --shard I/N",
                )
            })?;
            let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let index = id.checked_sub(min).ok_or_else(|| {
                Error::invalid(
                    "SLURM_ARRAY_TASK_ID",
                    id,
                    format!("below SLURM_ARRAY_TASK_MIN {min}"),
                )
            })?;
            return Shard::new(index, count).map(Some);
        }
        if let Some(index) = num("JOB_COMPLETION_INDEX")? {
            let count = num("CEM_SHARD_COUNT")?.ok_or_else(|| {
                Error::invalid(
                    "CEM_SHARD_COUNT",
                    "(unset)",
                    "JOB_COMPLETION_INDEX is set: set CEM_SHARD_COUNT to the job's completions, or pass --shard I/N",
                )
            })?;
            return Shard::new(index, count).map(Some);
        }
        Ok(None)
    }

    /// This shard's share of `items` (already in their stable order).
    pub fn select<'a, T>(&self, items: &'a [T]) -> Vec<&'a T> {
        items
            .iter()
            .enumerate()
            .filter(|(i, _)| i % self.count == self.index)
            .map(|(_, t)| t)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn shards_cover_every_item_once() {
        let items: Vec<usize> = (0..11).collect();
        let mut seen: Vec<usize> = (0..4)
            .flat_map(|i| {
                Shard::new(i, 4)
                    .unwrap()
                    .select(&items)
                    .into_iter()
                    .copied()
            })
            .collect();
        seen.sort();
        assert_eq!(seen, items);
    }

    #[test]
    fn bad_shards_name_the_value() {
        for (text, want) in [
            ("3/2", "numbered 0 to 1"),
            ("0/0", "at least 1"),
            ("a/2", "expected I/N"),
            ("2", "expected I/N"),
        ] {
            let err = Shard::parse(text).unwrap_err().to_string();
            assert!(err.contains(text) && err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn scheduler_variables() {
        let env = |pairs: &[(&str, &str)]| {
            let m: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |k: &str| m.get(k).cloned()
        };
        assert_eq!(Shard::from_vars(env(&[])).unwrap(), None);
        let s = Shard::from_vars(env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "2"),
            ("SLURM_ARRAY_TASK_MIN", "2"),
        ]))
        .unwrap();
        assert_eq!(s, Some(Shard { index: 1, count: 2 }));
        let s = Shard::from_vars(env(&[
            ("JOB_COMPLETION_INDEX", "0"),
            ("CEM_SHARD_COUNT", "5"),
        ]))
        .unwrap();
        assert_eq!(s, Some(Shard { index: 0, count: 5 }));
        let err = Shard::from_vars(env(&[("JOB_COMPLETION_INDEX", "0")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("CEM_SHARD_COUNT"), "{err}");
    }
}
