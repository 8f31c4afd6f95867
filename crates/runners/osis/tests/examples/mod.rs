//! The examples of a runner's function reference (`docs/runners/*.md`; the `sal` crate
//! includes this file by path): each fenced `rhai` block is followed by a fenced `text`
//! block holding its output, or `error: ` and text the error message contains.

/// One example and what it must give.
#[derive(Debug)]
pub(crate) struct Example {
    /// The line of the `rhai` fence, for failure messages.
    pub(crate) line: usize,
    /// The script.
    pub(crate) script: String,
    /// What running it must give.
    pub(crate) expected: Expected,
}

/// The expected outcome of an [`Example`].
#[derive(Debug)]
pub(crate) enum Expected {
    /// The job's output, exactly.
    Output(String),
    /// Text the job's error message contains.
    Error(String),
}

/// The examples of `markdown`, in order.
///
/// # Panics
///
/// When a `rhai` block is not followed by a `text` block, or a fence is not closed.
pub(crate) fn parse(markdown: &str) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut lines = markdown.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        if line.trim_end() != "```rhai" {
            continue;
        }
        let script = block(&mut lines, index + 1);
        let fence = lines
            .by_ref()
            .map(|(_, line)| line.trim_end())
            .find(|line| !line.is_empty());
        assert_eq!(
            fence,
            Some("```text"),
            "the example at line {} must be followed by a ```text block",
            index + 1
        );
        let text = block(&mut lines, index + 1);
        let expected = match text.strip_prefix("error: ") {
            Some(message) => Expected::Error(message.to_owned()),
            None => Expected::Output(text),
        };
        examples.push(Example {
            line: index + 1,
            script,
            expected,
        });
    }
    examples
}

/// The lines up to the closing fence, joined with `\n`.
fn block<'a>(lines: &mut impl Iterator<Item = (usize, &'a str)>, start: usize) -> String {
    let mut text = Vec::new();
    for (_, line) in lines.by_ref() {
        if line.trim_end() == "```" {
            return text.join("\n");
        }
        text.push(line);
    }
    panic!("the block of the example at line {start} is not closed");
}

impl Example {
    /// `None` when `result` is what the example expects, else what went wrong.
    pub(crate) fn mismatch(&self, result: &Result<String, String>) -> Option<String> {
        let matches = match (&self.expected, result) {
            (Expected::Output(expected), Ok(output)) => output == expected,
            (Expected::Error(expected), Err(error)) => error.contains(expected.as_str()),
            _ => false,
        };
        (!matches).then(|| {
            format!(
                "example at line {}: expected {:?}, got {result:?}",
                self.line, self.expected
            )
        })
    }
}

#[test]
fn examples_pair_each_script_with_its_output() {
    let markdown = "# Title\n\n```rhai\nprint(1);\n2\n```\n\n```text\n1\n2\n```\n\
                    prose\n```rhai\nthrow \"x\"\n```\n```text\nerror: x\n```\n";
    let examples = parse(markdown);
    assert_eq!(examples.len(), 2);
    assert_eq!(examples[0].line, 3);
    assert_eq!(examples[0].script, "print(1);\n2");
    assert!(examples[0].mismatch(&Ok("1\n2".to_owned())).is_none());
    assert!(examples[0].mismatch(&Ok("1".to_owned())).is_some());
    assert!(
        examples[1]
            .mismatch(&Err("Runtime error: x".to_owned()))
            .is_none()
    );
    assert!(examples[1].mismatch(&Ok("x".to_owned())).is_some());
}
