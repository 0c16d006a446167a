"""Every Markdown file cited in a Python source exists, and every section it names is there.

A citation is a path ending in `.md`, relative to the repository root, optionally followed
by the sections it means: `§4.3` (a heading starting "4.3"), `§2` (a heading starting
"2."), `Stage K` or `Stages I` (a heading containing "Stage K", "Stage I"), or a quoted
heading text ("Honest evaluation"), e.g. `docs/method.md §3.2, §2 Stage K`. Plain text
only: no TensorFlow.
"""
import os
import re
import subprocess
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
MD = ".md"  # the self-tests build their citations with it, so that they are not citations here

# A path to a Markdown file: begins with a word character and is not part of a longer name.
PATH = re.compile(r"(?<![\w./-])([\w-][\w./-]*\.md)(?![\w/-])")
# A citation may run over a line break of a docstring or a comment.
LINE_BREAK = re.compile(r"\s*\n\s*(?:#+\s*)?")
SEPARATOR = re.compile(r"[\s,]*")
SECTION_NUMBER = re.compile(r"§(\d+(?:\.\d+)*)")
STAGES = re.compile(r"Stages?\s+([A-Z](?:\s*(?:,|and|&)\s*[A-Z])*)(?!\w)")
QUOTED = re.compile(r'"([A-Za-z][^"]*)"')
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
SKIPPED_DIRS = {".venv", ".git", "__pycache__", "node_modules"}


class Citation(NamedTuple):
    source: str  # file and line, for messages
    path: str  # as written, relative to the repository root
    sections: tuple  # (kind, value): ("number", "4.3"), ("stage", "K"), ("quoted", "Honest evaluation")


def find_citations(text: str, source: str) -> list[Citation]:
    citations = []
    for match in PATH.finditer(text):
        tail = LINE_BREAK.sub(" ", text[match.end():match.end() + 300])
        sections, position = [], 0
        while True:
            position = SEPARATOR.match(tail, position).end()
            number = SECTION_NUMBER.match(tail, position)
            stages = STAGES.match(tail, position)
            quoted = QUOTED.match(tail, position)
            if number:
                sections.append(("number", number.group(1)))
                position = number.end()
            elif stages:
                sections.extend(("stage", letter) for letter in re.findall(r"[A-Z]", stages.group(1)))
                position = stages.end()
            elif quoted:
                sections.append(("quoted", quoted.group(1)))
                position = quoted.end()
            else:
                break
        line = text.count("\n", 0, match.start()) + 1
        citations.append(Citation(f"{source}:{line}", match.group(1), tuple(sections)))
    return citations


def markdown_headings(text: str) -> list[str]:
    """The text of every heading outside fenced code blocks."""
    headings, in_code = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            in_code = not in_code
        elif not in_code and (heading := HEADING.match(line)):
            headings.append(heading.group(1))
    return headings


def section_found(kind: str, value: str, headings: list[str]) -> bool:
    if kind == "number":
        # §4.3: "4.3 ..." but not "4.31" or "4.3.1"; §2: "2. ..." but not "2.1".
        pattern = re.escape(value) + (r"(?!\.?\d)" if "." in value else r"\.(?!\d)")
        return any(re.match(pattern, heading) for heading in headings)
    if kind == "stage":
        return any(re.search(rf"\bStage {value}\b", heading) for heading in headings)
    return any(value in heading for heading in headings)


def problems_of(citation: Citation, root: Path) -> list[str]:
    target = root / citation.path
    if not target.is_file():
        return [f"{citation.source}: {citation.path} does not exist (paths are relative to the repository root)"]
    headings = markdown_headings(target.read_text(encoding="utf-8"))
    shown = {"number": "§{}", "stage": "Stage {}", "quoted": '"{}"'}
    return [f"{citation.source}: {citation.path} has no heading for {shown[kind].format(value)}"
            for kind, value in citation.sections if not section_found(kind, value, headings)]


def python_sources(root: Path) -> list[Path]:
    """The tracked Python files (git ls-files); without git, every .py file outside .venv."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", "*.py"], cwd=root, capture_output=True,
                                check=True).stdout.decode()
        files = [root / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = [name for name in subdirectories if name not in SKIPPED_DIRS]
            files.extend(Path(directory) / name for name in names if name.endswith(".py"))
    return sorted(path for path in files if path.is_file())


def test_every_cited_markdown_file_and_section_exists():
    citations = []
    for path in python_sources(ROOT):
        citations += find_citations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert citations, "no Markdown citation found: the scanner is broken"
    problems = [problem for citation in citations for problem in problems_of(citation, ROOT)]
    assert not problems, "\n".join(problems)


FAKE_DOC = """# Method

## 2. Stages

### Stage I: K-fold LightGBM

### Stage K: the student

## 4. Metrics

### 4.3 Check values

## 5. Honest evaluation

```
## 9. Not a heading, inside a code block
```
"""


@pytest.mark.parametrize("source, expected_problems", [
    (f"# docs/method{MD} §4.3 worked example", 0),
    (f'"""Student (docs/method{MD} §2 Stage K; docs/method{MD}, "Honest\n    evaluation")."""', 0),
    (f"# docs/method{MD} §4.3, §2 Stage K; and docs/method{MD}, Stages I", 0),
    (f"# method{MD} §4.3 worked example", 1),  # not a path from the repository root
    (f"# docs/method{MD}, Stage Z", 1),
    (f"# docs/method{MD}, Stages I and J", 1),
    (f"# docs/method{MD} §4.4", 1),
    (f"# docs/method{MD} §4", 0),
    (f"# docs/method{MD} §9", 1),  # only inside a code block
    (f'# docs/method{MD}, "Dishonest evaluation"', 1),
])
def test_checker_on_fake_sources(tmp_path, source, expected_problems):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / f"method{MD}").write_text(FAKE_DOC, encoding="utf-8")
    citations = find_citations(source, "fake.py")
    assert citations
    problems = [problem for citation in citations for problem in problems_of(citation, tmp_path)]
    assert len(problems) == expected_problems, problems


def test_sources_without_git_skip_the_virtual_environment(monkeypatch):
    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")
    monkeypatch.setattr(subprocess, "run", no_git)
    sources = python_sources(ROOT)
    assert Path(__file__).resolve() in sources
    assert not any(".venv" in path.relative_to(ROOT).parts for path in sources)
