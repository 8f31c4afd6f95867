//! The `[runner_endpoint]` table: where runners reach the store through the supervisor.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the runner endpoint listens.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunnerEndpointConfig {
    /// The Unix socket runners connect to with `--supervisor unix://PATH`, created with mode
    /// 0600. Default: `<data_dir>/runner.sock`; `""` serves no socket.
    pub socket: Option<PathBuf>,
}

impl RunnerEndpointConfig {
    /// The socket in force, or `None` when it is turned off.
    pub fn socket_path(&self, data_dir: &Path) -> Option<PathBuf> {
        match &self.socket {
            None => Some(data_dir.join("runner.sock")),
            Some(path) if path.as_os_str().is_empty() => None,
            Some(path) => Some(path.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    #[test]
    fn the_socket_defaults_to_the_data_dir_and_an_empty_path_turns_it_off() {
        let data = Path::new("/data");
        let default = parse("").expect("an empty config parses");
        assert_eq!(
            default.runner_endpoint.socket_path(data),
            Some(PathBuf::from("/data/runner.sock"))
        );
        let off = parse("[runner_endpoint]\nsocket = \"\"").expect("parses");
        assert_eq!(off.runner_endpoint.socket_path(data), None);
        let set = parse("[runner_endpoint]\nsocket = \"/run/r.sock\"").expect("parses");
        assert_eq!(
            set.runner_endpoint.socket_path(data),
            Some(PathBuf::from("/run/r.sock"))
        );
        assert!(parse("[runner_endpoint]\nport = 1").is_err());
    }
}
