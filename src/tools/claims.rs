//! Who holds each tool name that a `[spaces.*]` table generates.
//!
//! `[spaces.<alias>]` tools are named `<alias>_<endpoint>`, so two tables
//! (`flux` and `flux_dev`), or a table and a built-in tool (`await` and
//! `await_job`), *can* want one name. Whether they do is known only once
//! the Spaces are read, and they almost never do; so the config is not
//! refused for it. Here a name is decided when it is wanted: a built-in
//! tool and a `[tools.*]` table keep theirs, and between tables the first
//! in the file keeps it, however the Spaces' answers arrive. The other tool
//! is left out with a [`Clash`] that says what to do; nothing is replaced
//! without a word.

use std::collections::HashMap;
use std::fmt;

/// An endpoint of a `[spaces.*]` table that wants a tool name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claimant {
    /// The table's place in the file: the first keeps a contested name.
    pub(crate) order: usize,
    /// The table's alias (`[spaces.<alias>]`).
    pub(crate) alias: String,
    /// The endpoint, as the Space names it (`/infer`).
    pub(crate) api: String,
}

impl Claimant {
    /// Within one table, endpoints come in name order: the first keeps it.
    fn precedes(&self, other: &Claimant) -> bool {
        (self.order, &self.api) < (other.order, &other.api)
    }
}

/// Who keeps a contested name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Keeper {
    /// One of the server's own tools.
    Builtin,
    /// A `[tools.<name>]` table.
    Declared,
    /// An endpoint of an earlier `[spaces.*]` table (or an earlier endpoint
    /// of the same table).
    Table(Claimant),
}

/// Two wants of one tool name, and which of them was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Clash {
    pub(crate) name: String,
    pub(crate) keeper: Keeper,
    pub(crate) left_out: Claimant,
}

impl fmt::Display for Clash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Clash {
            name,
            keeper,
            left_out,
        } = self;
        let out = format!("[spaces.{}] endpoint {}", left_out.alias, left_out.api);
        match keeper {
            Keeper::Builtin => write!(
                f,
                "tool {name}: {out} would take the name of a built-in tool; it is left out. To list it, rename the alias, or declare it as [tools.<another name>] with space and api = \"{}\"",
                left_out.api
            ),
            Keeper::Declared => write!(
                f,
                "tool {name}: [tools.{name}] and {out} both take this name; [tools.{name}] keeps it and the endpoint is left out. To list both, rename the alias, or declare the endpoint as [tools.<another name>]"
            ),
            Keeper::Table(first) if first.alias == left_out.alias => write!(
                f,
                "tool {name}: endpoints {} and {} of [spaces.{}] both become this name; {} keeps it and {} is left out. To list both, declare one as [tools.<another name>] with space and api",
                first.api, left_out.api, first.alias, first.api, left_out.api
            ),
            Keeper::Table(first) => write!(
                f,
                "tool {name}: [spaces.{}] endpoint {} and {out} both become this name; [spaces.{}] comes first in the file and keeps it, {out} is left out. To list both, rename one of the two aliases, or declare the endpoint as [tools.<another name>]",
                first.alias, first.api, first.alias
            ),
        }
    }
}

/// What a want of a name came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Claimed {
    /// The name is the claimant's (first want, or its own again).
    Granted,
    /// The name is the claimant's, taken from a later table that was read
    /// first: that tool is replaced, and the clash says so.
    TakenOver(Clash),
    /// The name stays with another: the claimant is left out.
    Refused(Clash),
}

/// The generated names and who holds them.
#[derive(Debug, Default)]
pub(crate) struct Claims {
    /// Names no table may take: built-in tools.
    builtin: Vec<String>,
    /// Names no table may take: `[tools.*]` tables.
    declared: Vec<String>,
    held: HashMap<String, Claimant>,
}

impl Claims {
    pub(crate) fn new(builtin: &[&str], declared: Vec<String>) -> Claims {
        Claims {
            builtin: builtin.iter().map(|b| b.to_string()).collect(),
            declared,
            held: HashMap::new(),
        }
    }

    /// Decides who holds `name`, which `claimant` wants.
    pub(crate) fn claim(&mut self, name: &str, claimant: Claimant) -> Claimed {
        let refused = |keeper| {
            Claimed::Refused(Clash {
                name: name.to_string(),
                keeper,
                left_out: claimant.clone(),
            })
        };
        if self.builtin.iter().any(|b| b == name) {
            return refused(Keeper::Builtin);
        }
        if self.declared.iter().any(|d| d == name) {
            return refused(Keeper::Declared);
        }
        match self.held.get(name) {
            None => {
                self.held.insert(name.to_string(), claimant);
                Claimed::Granted
            }
            Some(holder) if *holder == claimant => Claimed::Granted,
            Some(holder) if holder.precedes(&claimant) => refused(Keeper::Table(holder.clone())),
            Some(_) => {
                let displaced = self
                    .held
                    .insert(name.to_string(), claimant.clone())
                    .unwrap_or_else(|| claimant.clone());
                Claimed::TakenOver(Clash {
                    name: name.to_string(),
                    keeper: Keeper::Table(claimant),
                    left_out: displaced,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(order: usize, alias: &str, api: &str) -> Claimant {
        Claimant {
            order,
            alias: alias.into(),
            api: api.into(),
        }
    }

    #[test]
    fn the_first_table_in_the_file_keeps_a_name_whichever_is_read_first() {
        // flux_dev's /x is read before flux's /dev_x: flux, first in the
        // file, takes the name over, and the clash names both.
        let mut claims = Claims::new(&["await_job"], vec![]);
        assert_eq!(
            claims.claim("flux_dev_x", c(1, "flux_dev", "/x")),
            Claimed::Granted
        );
        let Claimed::TakenOver(clash) = claims.claim("flux_dev_x", c(0, "flux", "/dev_x")) else {
            panic!("the earlier table did not take its name");
        };
        let text = clash.to_string();
        for part in [
            "[spaces.flux]",
            "/dev_x",
            "[spaces.flux_dev]",
            "/x",
            "rename",
        ] {
            assert!(text.contains(part), "{part} missing from: {text}");
        }
        // The later table, read again, stays out; the earlier keeps it.
        assert!(matches!(
            claims.claim("flux_dev_x", c(1, "flux_dev", "/x")),
            Claimed::Refused(_)
        ));
        assert_eq!(
            claims.claim("flux_dev_x", c(0, "flux", "/dev_x")),
            Claimed::Granted
        );
    }

    #[test]
    fn built_in_and_declared_names_are_never_taken() {
        let mut claims = Claims::new(&["await_job"], vec!["paint".into()]);
        let Claimed::Refused(clash) = claims.claim("await_job", c(0, "await", "/job")) else {
            panic!("a built-in name was given away");
        };
        assert_eq!(clash.keeper, Keeper::Builtin);
        assert!(clash.to_string().contains("built-in"), "{clash}");
        let Claimed::Refused(clash) = claims.claim("paint", c(0, "pa", "/int")) else {
            panic!("a declared name was given away");
        };
        assert!(
            clash.to_string().contains("[tools.paint] keeps it"),
            "{clash}"
        );
    }

    #[test]
    fn names_apart_never_clash() {
        let mut claims = Claims::new(&[], vec![]);
        assert_eq!(claims.claim("flux_x", c(0, "flux", "/x")), Claimed::Granted);
        assert_eq!(
            claims.claim("flux_dev_x", c(1, "flux_dev", "/x")),
            Claimed::Granted
        );
    }
}
