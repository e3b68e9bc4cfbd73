//! YAML read into a graph of nodes with their positions, from the events of
//! yaml-rust2 (maintained, pure Rust, YAML 1.2).
//!
//! Why not a `Value` tree: an alias is kept as a reference to the anchored
//! node, never copied, so an alias bomb ("billion laughs") costs one node per
//! alias instead of exponential memory and time; rules only walk fixed paths
//! (`spec.template.spec.containers`), and merge keys (`<<: *base`) are
//! followed to a bounded depth. The parser is driven one event at a time
//! (its own `load` recurses per nesting level), so nesting depth is bounded
//! here too.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};

/// A file's documents.
#[derive(Debug, Default)]
pub struct Yaml {
    pub nodes: Vec<Node>,
    /// The root node of each document.
    pub docs: Vec<usize>,
}

#[derive(Debug)]
pub struct Node {
    pub value: Value,
    /// 1-based line of the node's first character.
    pub line: usize,
    /// 0-based character column.
    pub col: usize,
}

#[derive(Debug)]
pub enum Value {
    Scalar(String),
    Seq(Vec<usize>),
    Map(Vec<(usize, usize)>),
}

/// Why a YAML file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    #[error("invalid YAML at line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("YAML nested deeper than {0} levels")]
    TooDeep(usize),
    #[error("more than {0} YAML nodes")]
    TooManyNodes(usize),
}

/// Deeper than any manifest; only generated or hostile files reach it.
pub const MAX_DEPTH: usize = 256;
/// A 2 MiB manifest has far fewer; a bound on work for whatever gets in.
pub const MAX_NODES: usize = 2_000_000;
/// Merge keys followed through at most this many levels.
const MAX_MERGE_DEPTH: usize = 16;

struct Frame {
    node: usize,
    seq: Vec<usize>,
    map: Vec<(usize, usize)>,
    key: Option<usize>,
    is_map: bool,
}

impl Yaml {
    pub fn parse(src: &str) -> Result<Yaml, YamlError> {
        let mut y = Yaml::default();
        let mut parser = Parser::new_from_str(src);
        let mut anchors: HashMap<usize, usize> = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let (event, mark) = parser.next_token().map_err(|e| YamlError::Syntax {
                line: e.marker().line(),
                message: e.info().to_string(),
            })?;
            let (line, col) = (mark.line(), mark.col());
            let mut new_node = |y: &mut Yaml, value: Value, anchor: usize| {
                y.nodes.push(Node { value, line, col });
                let id = y.nodes.len() - 1;
                if anchor > 0 {
                    anchors.insert(anchor, id);
                }
                id
            };
            let done = match event {
                Event::StreamEnd => break,
                Event::Scalar(s, _, anchor, _) => Some(new_node(&mut y, Value::Scalar(s), anchor)),
                Event::Alias(anchor) => Some(*anchors.get(&anchor).ok_or(YamlError::Syntax {
                    line,
                    message: "alias to an unknown anchor".into(),
                })?),
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    let is_map = matches!(event, Event::MappingStart(..));
                    let node = new_node(&mut y, Value::Seq(Vec::new()), anchor);
                    if stack.len() >= MAX_DEPTH {
                        return Err(YamlError::TooDeep(MAX_DEPTH));
                    }
                    stack.push(Frame {
                        node,
                        seq: Vec::new(),
                        map: Vec::new(),
                        key: None,
                        is_map,
                    });
                    None
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let f = stack.pop().ok_or(YamlError::Syntax {
                        line,
                        message: "unbalanced collection".into(),
                    })?;
                    y.nodes[f.node].value = if f.is_map {
                        Value::Map(f.map)
                    } else {
                        Value::Seq(f.seq)
                    };
                    Some(f.node)
                }
                _ => None,
            };
            if y.nodes.len() > MAX_NODES {
                return Err(YamlError::TooManyNodes(MAX_NODES));
            }
            let Some(id) = done else { continue };
            match stack.last_mut() {
                None => y.docs.push(id),
                Some(f) if !f.is_map => f.seq.push(id),
                Some(f) => match f.key.take() {
                    None => f.key = Some(id),
                    Some(k) => f.map.push((k, id)),
                },
            }
        }
        Ok(y)
    }

    pub fn str(&self, id: usize) -> Option<&str> {
        match &self.nodes[id].value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    pub fn seq(&self, id: usize) -> &[usize] {
        match &self.nodes[id].value {
            Value::Seq(s) => s,
            _ => &[],
        }
    }

    pub fn is_map(&self, id: usize) -> bool {
        matches!(self.nodes[id].value, Value::Map(_))
    }

    /// The value of `key` in a mapping, own keys first, then merge keys.
    pub fn get(&self, map: usize, key: &str) -> Option<usize> {
        self.get_within(map, key, 0)
    }

    fn get_within(&self, map: usize, key: &str, depth: usize) -> Option<usize> {
        let Value::Map(entries) = &self.nodes[map].value else {
            return None;
        };
        if let Some((_, v)) = entries.iter().find(|(k, _)| self.str(*k) == Some(key)) {
            return Some(*v);
        }
        if depth >= MAX_MERGE_DEPTH {
            return None;
        }
        for (k, v) in entries {
            if self.str(*k) != Some("<<") {
                continue;
            }
            let sources: Vec<usize> = match &self.nodes[*v].value {
                Value::Seq(s) => s.clone(),
                _ => vec![*v],
            };
            if let Some(found) = sources
                .iter()
                .find_map(|s| self.get_within(*s, key, depth + 1))
            {
                return Some(found);
            }
        }
        None
    }

    /// Follows a dotted path of mapping keys.
    pub fn path(&self, from: usize, path: &str) -> Option<usize> {
        path.split('.').try_fold(from, |at, key| self.get(at, key))
    }

    /// A scalar at a dotted path.
    pub fn path_str(&self, from: usize, path: &str) -> Option<&str> {
        self.path(from, path).and_then(|n| self.str(n))
    }

    /// The key/value pairs of a mapping (own entries only, merge keys
    /// expanded one level: enough for `environment` and `services`).
    pub fn entries(&self, map: usize) -> Vec<(usize, usize)> {
        let Value::Map(entries) = &self.nodes[map].value else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in entries {
            if self.str(*k) == Some("<<") {
                let sources: Vec<usize> = match &self.nodes[*v].value {
                    Value::Seq(s) => s.clone(),
                    _ => vec![*v],
                };
                for s in sources {
                    if let Value::Map(e) = &self.nodes[s].value {
                        out.extend(e.iter().filter(|(k, _)| self.str(*k) != Some("<<")));
                    }
                }
            } else {
                out.push((*k, *v));
            }
        }
        out
    }

    /// The words of a command given as a list or as one string.
    pub fn words(&self, id: usize) -> Vec<String> {
        match &self.nodes[id].value {
            Value::Scalar(s) => s.split_whitespace().map(str::to_string).collect(),
            Value::Seq(items) => items
                .iter()
                .filter_map(|i| self.str(*i))
                .flat_map(|s| s.split_whitespace().map(str::to_string))
                .collect(),
            Value::Map(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_anchors_and_merge_keys() {
        let src = "a: 1\nbase: &b\n  memory: 2Gi\nc:\n  <<: *b\n  cpu: 1\n---\n- x\n";
        let y = Yaml::parse(src).unwrap();
        assert_eq!(y.docs.len(), 2);
        let root = y.docs[0];
        assert_eq!(y.path_str(root, "c.memory"), Some("2Gi"));
        assert_eq!(y.path_str(root, "c.cpu"), Some("1"));
        let c = y.get(root, "c").unwrap();
        assert_eq!(y.nodes[c].line, 5);
        let a = y.get(root, "a").unwrap();
        assert_eq!((y.nodes[a].line, y.nodes[a].col), (1, 3));
        assert_eq!(y.str(y.seq(y.docs[1])[0]), Some("x"));
    }

    #[test]
    fn alias_bomb_is_linear() {
        let mut src = String::from(
            "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 1..40 {
            let prev = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev},*a{prev}]\n"
            ));
        }
        let y = Yaml::parse(&src).unwrap();
        assert!(y.nodes.len() < 1000, "{} nodes", y.nodes.len());
    }

    #[test]
    fn deep_nesting_and_bad_input_are_errors() {
        let deep = "[".repeat(100_000);
        assert!(Yaml::parse(&deep).is_err());
        assert!(matches!(
            Yaml::parse("a: *nope\n"),
            Err(YamlError::Syntax { .. })
        ));
        assert!(Yaml::parse("a: [1, 2\nb: }\n").is_err());
    }
}
