"""Code cites only documents in ``docs/``, and every anchor it cites exists: the repo stands alone.

A citation is ``docs/<file>.md#<anchor>`` or a bare ``docs/<file>.md`` anywhere in a ``.py`` file
under ``leoweb_bot/`` or ``tests/``. The anchor must be the GitHub anchor of a heading of that
file (lowercase, punctuation dropped, spaces → ``-``, ``-1``, ``-2`` … for repeats). Documents
that live outside the repository (a fact sheet of the ``reference`` folder, the design document
of the project's steering folder, that folder itself, the fact sheets' source keys such as
``[D2]``) may not be cited at all. The samples below spell those names in pieces, so that this
file itself cites nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.kit.paths import ROOT

DOCS = ROOT / "docs"
# The names this test refuses, in pieces: written whole, this file would cite them itself.
SHEET = "reference/" + "amocrm-api.md"
DESIGN = "DESIGN" + ".md"
SHARED = "../" + "shared"
SCANNED = ("leoweb_bot", "tests")

CITATION_RE = re.compile(r"(?<![\w.-])docs/((?:[\w-]+/)*[\w.-]+?\.md)(?:#([\w-]+))?")
OFF_REPO: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("reference/<name>.md", re.compile(r"\breference/[\w.-]+\.md")),
    (DESIGN, re.compile(r"\bDESIGN\.md")),
    ("../shared", re.compile(r"\.\./shared\b")),
    (
        "a fact sheet",
        re.compile(r"(?<![\w/-])(?:amocrm-api|telegram-bot-api|peers|style-anchors)\.md"),
    ),
    ("a fact sheet section", re.compile(r"\breference §|\(§ ?\d")),
    ("a fact sheet source key", re.compile(r"(?<![\w\]])\[[DPIC]\d{1,2}\]")),
)
HEADING_RE = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
FENCE_RE = re.compile(r"^ {0,3}(```|~~~)")
HTML_ANCHOR_RE = re.compile(r"<a\s[^>]*?(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
INLINE_LINK_RE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MD_LINK_RE = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
REF_DEF_RE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(\S+)")
EXTERNAL = ("http://", "https://", "mailto:")


# -- the checker ------------------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: link and tag markup out, lowercase, punctuation out,
    each space a hyphen (so ``Empty answers (204)`` → ``empty-answers-204``)."""
    text = INLINE_LINK_RE.sub(r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def without_fences(markdown: str) -> list[str]:
    """The lines of ``markdown`` with fenced code blocks blanked (line numbers kept)."""
    lines, fence = [], None
    for line in markdown.splitlines():
        match = FENCE_RE.match(line)
        if fence is None and match:
            fence = match.group(1)
            lines.append("")
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            lines.append("")
        else:
            lines.append(line)
    return lines


def anchors_of(markdown: str) -> set[str]:
    """Every anchor a link into this document may use: headings (repeats numbered) and
    explicit ``<a id=…>`` / ``<a name=…>``."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in without_fences(markdown):
        anchors.update(HTML_ANCHOR_RE.findall(line))
        match = HEADING_RE.match(line)
        if not match:
            continue
        base = github_anchor(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        anchors.add(base if count == 0 else f"{base}-{count}")
    return anchors


def citations_in(text: str) -> list[tuple[int, str, str | None]]:
    """``(line, file under docs/, anchor or None)`` for every docs citation in ``text``."""
    return [
        (number, match.group(1), match.group(2))
        for number, line in enumerate(text.splitlines(), 1)
        for match in CITATION_RE.finditer(line)
    ]


def off_repo_mentions(text: str) -> list[tuple[int, str]]:
    """``(line, what)`` for every mention of a document that is not in the repository."""
    return [
        (number, label)
        for number, line in enumerate(text.splitlines(), 1)
        for label, pattern in OFF_REPO
        if pattern.search(line)
    ]


def _anchors_in(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        cache[path] = anchors_of(path.read_text(encoding="utf-8"))
    return cache[path]


def problems_in(text: str, docs: Path, cache: dict[Path, set[str]] | None = None) -> list[str]:
    """What is wrong with the citations in one source text, as ``line: message`` strings."""
    cache = {} if cache is None else cache
    problems = [
        f"{n}: cites {what}, which is not in the repository" for n, what in off_repo_mentions(text)
    ]
    for number, name, anchor in citations_in(text):
        target = docs / name
        if not target.is_file():
            problems.append(f"{number}: docs/{name} does not exist")
        elif anchor is not None and anchor not in _anchors_in(target, cache):
            problems.append(f"{number}: docs/{name} has no heading with the anchor #{anchor}")
    return problems


def link_problems(
    markdown: str, here: Path, cache: dict[Path, set[str]] | None = None
) -> list[str]:
    """Broken relative links of a Markdown file at ``here`` (files and ``#anchors``)."""
    cache = {} if cache is None else cache
    problems = []
    for number, line in enumerate(without_fences(markdown), 1):
        targets = MD_LINK_RE.findall(line) + REF_DEF_RE.findall(line)
        for target in targets:
            if target.startswith(EXTERNAL):
                continue
            path_part, _, anchor = target.partition("#")
            if not path_part:
                if anchor not in anchors_of(markdown):
                    problems.append(f"{number}: {target}: no such heading")
                continue
            path = (here.parent / path_part).resolve()
            if not path.exists():
                problems.append(f"{number}: {target}: no such file")
            elif anchor and path.suffix == ".md" and anchor not in _anchors_in(path, cache):
                problems.append(f"{number}: {target}: no such heading")
    return problems


def scanned_files() -> list[Path]:
    this = Path(__file__).resolve()
    return [
        path
        for folder in SCANNED
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.resolve() != this and ".venv" not in path.parts
    ]


# -- the repository ---------------------------------------------------------------------------


def test_code_cites_only_docs_in_the_repository() -> None:
    cache: dict[Path, set[str]] = {}
    problems = [
        f"{path.relative_to(ROOT)}:{problem}"
        for path in scanned_files()
        for problem in problems_in(path.read_text(encoding="utf-8"), DOCS, cache)
    ]
    assert not problems, "\n".join(problems)


# The anchors the rewritten citations point at: renaming a heading breaks its citations.
REQUIRED_ANCHORS = {
    "amocrm.md": {
        "hosts-and-versions",
        "rate-limits",
        "empty-answers-204",
        "errors-and-html-429",
        "authentication",
        "paging",
        "tasks",
        "all-day-tasks",
        "leads-contacts-pipelines",
        "users",
        "account-and-time",
        "api-v2-shapes",
        "webhooks",
        "events-api",
        "incremental-sync",
        "unconfirmed",
    },
    "telegram.md": {
        "webhooks",
        "delivery-and-retries",
        "long-polling",
        "update-types",
        "limits",
        "errors",
        "html-formatting",
        "groups-and-commands",
        "service-accounts",
        "buttons-and-callbacks",
        "command-menus",
        "deep-links",
        "pytelegrambotapi",
        "unconfirmed",
    },
    "architecture.md": {
        "update-flow",
        "scheduled-jobs",
        "cli",
        "sandbox",
        "modules",
        "import-rules",
    },
}


@pytest.mark.parametrize("name", sorted(REQUIRED_ANCHORS))
def test_docs_keep_their_anchors(name: str) -> None:
    anchors = anchors_of((DOCS / name).read_text(encoding="utf-8"))
    assert REQUIRED_ANCHORS[name] <= anchors, sorted(REQUIRED_ANCHORS[name] - anchors)


@pytest.mark.parametrize("path", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_links_between_docs_resolve(path: Path) -> None:
    problems = link_problems(path.read_text(encoding="utf-8"), path)
    assert not problems, "\n".join(problems)


# -- the checker on small strings -------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Rate limits", "rate-limits"),
        ("Empty answers (204)", "empty-answers-204"),
        ("Errors and HTML 429", "errors-and-html-429"),
        ("Leads, contacts, pipelines", "leads-contacts-pipelines"),
        ("API v2 shapes", "api-v2-shapes"),
        ("All-day tasks", "all-day-tasks"),
        ("pyTelegramBotAPI", "pytelegrambotapi"),
        ("`report --json`", "report---json"),
        ("snake_case stays", "snake_case-stays"),
        ("Задачи и сроки", "задачи-и-сроки"),
        ("See [the docs](amocrm.md#tasks)", "see-the-docs"),
        ("  Padded  ", "padded"),
        ("What's new?", "whats-new"),
    ],
)
def test_github_anchor(heading: str, anchor: str) -> None:
    assert github_anchor(heading) == anchor


def test_anchors_of_reads_headings_only_outside_code_and_numbers_repeats() -> None:
    markdown = "\n".join(
        [
            "# Title",
            "## Tasks",
            "text with a #hashtag",
            "#nospace is not a heading",
            "```",
            "# a comment in code",
            "```",
            "### Tasks",
            "## Closed heading ##",
            '<a id="custom"></a>',
            "####### seven is too deep",
        ]
    )
    assert anchors_of(markdown) == {"title", "tasks", "tasks-1", "closed-heading", "custom"}


def test_citations_in_finds_anchored_and_bare_citations() -> None:
    text = (
        "# limits (docs/amocrm.md#rate-limits), see also docs/telegram.md.\n"
        "x = 1  # docs/sub/page.md#a_b-c and mydocs/amocrm.md#tasks\n"
    )
    assert citations_in(text) == [
        (1, "amocrm.md", "rate-limits"),
        (1, "telegram.md", None),
        (2, "sub/page.md", "a_b-c"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        f"# facts: {SHEET} §4",
        f'"""The contract of {DESIGN}."""',
        f"see {SHARED}/reference for sources",
        "# throttle [D1][P5]",
        "# spoofable (peers.md §5)",
        "# only one stage (amocrm-api.md §3.4)",
        "# lifetimes follow reference §1 and §3.1",
        "# HTML, no Retry-After, as amoCRM's gateway (§4)",
    ],
)
def test_off_repo_mentions_are_found(line: str) -> None:
    assert off_repo_mentions(line), line


@pytest.mark.parametrize(
    "line",
    [
        "# throttle (docs/amocrm.md#rate-limits)",
        "value = table[D1]",
        "# SQLite 'How To Corrupt', §2.6",
        "# the Kommo leads reference says so",
        "# a reference/ folder with no file",
    ],
)
def test_ordinary_text_is_not_an_off_repo_mention(line: str) -> None:
    assert not off_repo_mentions(line), line


def test_problems_in_checks_files_and_anchors(tmp_path: Path) -> None:
    (tmp_path / "amocrm.md").write_text("# amoCRM\n\n## Rate limits\n\n## Empty answers (204)\n")
    text = "\n".join(
        [
            "ok = 1  # docs/amocrm.md#rate-limits",
            "ok = 2  # docs/amocrm.md#empty-answers-204 and docs/amocrm.md",
            "bad = 3  # docs/amocrm.md#rate-limit",
            "bad = 4  # docs/missing.md#tasks",
            "bad = 5  # docs/missing.md",
            "bad = 6  # " + "reference/" + "telegram-bot-api.md §1",
        ]
    )
    assert problems_in(text, tmp_path) == [
        "6: cites reference/<name>.md, which is not in the repository",
        "3: docs/amocrm.md has no heading with the anchor #rate-limit",
        "4: docs/missing.md does not exist",
        "5: docs/missing.md does not exist",
    ]


def test_link_problems_between_markdown_files(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\n## Part one\n")
    (tmp_path / "code.py").write_text("")
    page = tmp_path / "b.md"
    markdown = "\n".join(
        [
            "# B",
            "[fine](a.md#part-one) [self](#b) [file](code.py) [web](https://example.com/x#y)",
            "[wrong anchor](a.md#part-two)",
            "[no file](c.md)",
            "```",
            "[in code](nowhere.md)",
            "```",
            "[ref]: a.md#nope",
        ]
    )
    assert link_problems(markdown, page) == [
        "3: a.md#part-two: no such heading",
        "4: c.md: no such file",
        "8: a.md#nope: no such heading",
    ]


def test_every_scanned_file_is_python_under_the_package_or_tests() -> None:
    files = scanned_files()
    assert files and all(p.suffix == ".py" for p in files)
    assert {p.relative_to(ROOT).parts[0] for p in files} == set(SCANNED)
    assert Path(__file__).resolve() not in files
