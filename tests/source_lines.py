"""Test helper: the line number of a `# MARKER` comment in a test file, so assertions about
user lines do not hard-code numbers that move when the file is edited."""


def marked_line(path: str, marker: str) -> int:
    with open(path) as f:
        for i, ln in enumerate(f, 1):
            if ln.rstrip().endswith(f"# {marker}"):
                return i
    raise AssertionError(f"no line ends with '# {marker}' in {path}")
