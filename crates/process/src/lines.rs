//! Cuts a process's output into lines of bounded length, whatever bytes it writes.

/// Accumulates output chunks and hands back complete lines.
///
/// Lines lose their `\n` and a `\r` before it (tmux panes write `\r\n`); invalid UTF-8 becomes
/// U+FFFD; a line longer than the cap is cut, so a process that never writes a newline
/// cannot grow memory.
#[derive(Debug)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
    max: usize,
}

impl LineSplitter {
    pub(crate) fn new(max_line_bytes: usize) -> Self {
        Self {
            pending: Vec::new(),
            max: max_line_bytes.max(1),
        }
    }

    /// Adds `bytes` and returns the lines they complete.
    pub(crate) fn push(&mut self, mut bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        while !bytes.is_empty() {
            let room = self.max - self.pending.len();
            // A newline right after a full line still ends that line, not an empty one.
            match bytes.iter().take(room + 1).position(|&b| b == b'\n') {
                Some(end) => {
                    self.pending.extend_from_slice(&bytes[..end]);
                    bytes = &bytes[end + 1..];
                    lines.push(self.take());
                }
                None if bytes.len() > room => {
                    self.pending.extend_from_slice(&bytes[..room]);
                    bytes = &bytes[room..];
                    lines.push(self.take());
                }
                None => {
                    self.pending.extend_from_slice(bytes);
                    bytes = &[];
                }
            }
        }
        lines
    }

    /// The unfinished last line, at the end of the output.
    pub(crate) fn finish(&mut self) -> Option<String> {
        (!self.pending.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> String {
        if self.pending.last() == Some(&b'\r') {
            self.pending.pop();
        }
        let line = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_may_span_chunks() {
        let mut lines = LineSplitter::new(100);
        assert_eq!(lines.push(b"one\ntw"), ["one"]);
        assert_eq!(lines.push(b"o\r\nthree\n\n"), ["two", "three", ""]);
        assert_eq!(lines.finish(), None);
    }

    #[test]
    fn the_unfinished_line_comes_out_at_the_end() {
        let mut lines = LineSplitter::new(100);
        assert!(lines.push(b"partial").is_empty());
        assert_eq!(lines.finish().as_deref(), Some("partial"));
    }

    #[test]
    fn long_lines_are_cut_at_the_cap() {
        let mut lines = LineSplitter::new(4);
        assert_eq!(lines.push(b"abcdefghij\nxy"), ["abcd", "efgh", "ij"]);
        assert!(lines.push(b"zw").is_empty());
        assert_eq!(lines.push(b"\n"), ["xyzw"]);
        assert_eq!(lines.push(b"abcdefgh\n"), ["abcd", "efgh"]);
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut lines = LineSplitter::new(100);
        assert_eq!(lines.push(b"a\xffb\n"), ["a\u{fffd}b"]);
    }
}
