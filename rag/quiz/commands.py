"""Command cards: a cheat sheet's line that says what to do, asked as "How do you …?", answered by its command (pure).

Cheat sheets are written one way whatever their format: a description ("- Connect through a jump host:", a
`# To list all the stashed changes:` comment, a comment over a stanza of a long code block), then the command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from rag.answer.note import NoteView
from rag.answer.units import Unit, is_lead_in, is_output
from rag.ingest.chunk import note_title
from rag.ingest.headings import FENCE
from rag.quiz.card import Card, Point, make_card
from rag.quiz.wording import GENERIC_NAME, VAGUE, heading_title, lower_first, shares_word, word_set

# Verbs a how-to line opens with ("Connect to a remote server:", "-- List available databases.").
VERBS = word_set("""abort access activate add allow append apply archive assign attach automate bind build calculate
call cancel capture change check checkout clean clear clone close combine commit compare compile compress compute
concatenate configure connect continue convert copy count create cut deactivate debug declare decode decompress decrypt
define delete deploy destroy detach diff disable disconnect display download drop dump edit enable encode encrypt end
enter escape evaluate exclude execute exit expand export expose extract fetch filter find fix flush follow force format
forward freeze generate get give go grant grep group hide highlight ignore import include increase indent initialize
insert inspect install invoke join jump keep kill launch limit link list load lock log login look make map mark match
measure merge modify monitor mount move open output overwrite pack paginate parse partition pass paste patch pause
perform pick ping pipe play plot preserve prevent preview print profile prompt prune publish pull push put query quit
raise read reapply rebase receive record redirect reduce reformat refresh register release reload remove remux rename
reorder repeat replace rerun reset resize resolve restart restore resume retrieve return reverse revert rotate run
save scale scan schedule scroll search seed select send serve set share show sign signal skip sleep slice sort
source spawn specify split squash stage start stash stop store stream strip submit substitute sum suspend swap switch
sync tag tail terminate test time toggle touch trace track transcode transfer translate trim truncate tunnel turn type
unbind uncompress undo uninstall unlink unmount unpack unset unshallow unstage unzip update upgrade upload use validate
verify view wait watch wrap write zip
prepare train fit predict visualize instantiate estimate normalize transform tokenize reshape stack shuffle
simulate solve""")
# Words after which the first word was a noun after all ("Make will use ...", "Sort is stable").
AUXILIARIES = word_set("is are was were will can could should would may might must has have does do")
# A description that points at what it cannot name ("To load this file:") or trails off ("tasks with:").
DEICTIC = word_set("this these those it them here above below following")
TRAILING = word_set("with to for of in on by from use type run or and like so as e.g i.e")
TO = re.compile(r"^to\s+(?=[a-z])", re.I)
COMMENT = re.compile(r"^\s*(?:#+|//+|--|;+|%)(?=\s)")  # "# Create a table", not "#include" or "#!/bin/sh"
LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
INLINE_CODE = re.compile(r"^`[^`]+`$")
MNEMONIC = re.compile(r"(\w?)\[(\w{1,3})\]")  # tldr's "[i]dentity": the letters its option is named after
ASIDE = re.compile(r"\s*\(([^()]*)\)")
# Where a description's first clause ends: a sentence's end, a colon, ", which …", "e.g.", a dash.
CLAUSE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)[.;!:][\"')\]]*(?=\s+[(\"A-Z]|\s*$)|[;:]\s"
                        r"|,\s+(?:this|which|so|but|and then)\b|\s+(?:e\.g|i\.e)\b|\s+[-–—]\s+")
MAX_COMMAND_LINES = 12
MAX_WORDS = 24  # a longer description is prose, not a how-to line


def command_cards(view: NoteView) -> Iterator[Card]:
    """Every "How do you …?" card of the note, each answered by the command its description line announces."""
    for i, unit in enumerate(view.units):
        if unit.kind == "heading":
            card = comment_heading_card(view, i)
        elif unit.lead is not None and unit.kind in ("sentence", "code"):
            card = described_card(view, i)
        elif unit.kind == "code":
            card = stanza_card(view, i)
        else:
            card = None
        if card:
            yield card


def described_card(view: NoteView, i: int) -> Card | None:
    """"- Connect through a jump host:" then the command on its own line (inline code or a short code block)."""
    unit = view.units[i]
    lead = view.units[unit.lead] if unit.lead is not None else None
    if lead is None or not is_lead_in(lead) or lead.end_line < unit.start_line - 2 or not is_command(unit):
        return None
    question = how_to(LIST_MARK.sub("", lead.text), topic(view, i))
    return make_card(view, i, question, "code", [command_point(view, unit)]) if question else None


def comment_heading_card(view: NoteView, i: int) -> Card | None:
    """A plain-text cheat sheet's `# To …` comment lines (read as headings) and the command line under them."""
    units = view.units
    if i > 0 and units[i - 1].kind == "heading" and units[i - 1].end_line == units[i].start_line - 1:
        return None  # not the first line of its comment
    last = i
    while last + 1 < len(units) and units[last + 1].kind == "heading" and \
            units[last + 1].start_line == units[last].end_line + 1:
        last += 1
    if last + 1 >= len(units):
        return None
    command = units[last + 1]
    if command.start_line != units[last].end_line + 1 or command.kind not in ("sentence", "item") \
            or not looks_like_code(command):
        return None
    said = joined([strip_comment(view.lines[n - 1]) for n in range(units[i].start_line, units[last].end_line + 1)])
    if not (TO.match(said) or said.rstrip().endswith(":") or opens_with_verb(said)):
        return None
    question = how_to(said, note_title(view.source))  # a plain-text cheat sheet is titled by its file name
    return make_card(view, last + 1, question, "code", [command_point(view, command)]) if question else None


def stanza_card(view: NoteView, i: int) -> Card | None:
    """A stanza of a long commented code block (learn-X-in-Y-minutes) that opens with a comment saying what to do
    ("-- List available databases.") and then does it."""
    unit = view.units[i]
    if not any(u.kind == "code" and u.block == unit.block and u is not unit for u in view.units):
        return None  # a code block of its own, not a cheat sheet's stanza
    lines = [(n, view.lines[n - 1]) for n in range(unit.start_line, unit.end_line + 1)]
    lines = [(n, line) for n, line in lines if line.strip() and not FENCE.match(line)]
    said = []
    while lines and COMMENT.match(lines[0][1]):
        said.append(strip_comment(lines.pop(0)[1]))
    code = []
    for n, line in lines:
        if COMMENT.match(line):
            break  # the next comment says what the lines after it do
        code.append((n, line))
    question = how_to(joined(said), topic(view, i)) if said and code else ""
    if not question:
        return None
    point = Point("\n".join(line for _, line in code), code[0][0], code[-1][0], "code")
    return make_card(view, i, question, "code", [point])


def how_to(description: str, topic: str) -> str:
    """"How do you list all the stashed changes (git)?" from "To list all the stashed changes:"; "" when the line
    does not say what to do (it opens with no verb a how-to line uses, points at "this", or trails off)."""
    text = MNEMONIC.sub(lambda m: m.group(1) + (m.group(2).lower() if m.group(1) else m.group(2)), description)
    text = text.strip()
    text = ASIDE.sub(lambda m: "" if is_aside(m.group(1)) else m.group(0), text)
    to = TO.match(text)
    if to:  # "To X, do Y:": the purpose is X
        text = text[to.end():].split(", ")[0]
    if ": " in text and not opens_with_verb(text):  # "SSH tunneling: Forward a specific port"
        text = text.split(": ", 1)[1]
    cut = CLAUSE_END.search(text)
    text = (text[: cut.start()] if cut else text).strip().rstrip(":.").strip()
    words = [w.lower().strip("\"'`*_,") for w in text.split()]
    if not words or len(words) > MAX_WORDS or not opens_with_verb(text) or set(words) & DEICTIC \
            or words[-1] in TRAILING or "://" in text:
        return ""
    about = f" ({topic})" if topic and not shares_word(text, topic) else ""
    return f"How do you {lower_first(text)}{about}?"


def opens_with_verb(text: str) -> bool:
    """"Connect to …", "Recursively find …", "Add/remove …": a verb (after at most one adverb) with its object."""
    words = text.split()
    if words and (words[0].lower().endswith("ly") or words[0].lower() == "only"):
        words = words[1:]
    if len(words) < 2 or text.rstrip().endswith("?"):
        return False
    first = words[0].split("/")[0]
    return first[:1].isalpha() and first.lower() in VERBS and first[1:] == first[1:].lower() \
        and words[1].lower() not in AUXILIARIES


def is_aside(text: str) -> bool:
    """A parenthetical a question does without: code, a note, or a long remark."""
    return "`" in text or re.search(r"[:.]\S", text) is not None or len(text.split()) > 4 \
        or text.lower().startswith(("note", "e.g", "i.e", "a.k.a"))


def is_command(unit: Unit) -> bool:
    """A short code block, or a line that is all inline code."""
    if unit.kind == "code":
        return not is_output(unit) and len(unit.text.split("\n")) <= MAX_COMMAND_LINES + 2
    return INLINE_CODE.match(unit.text.strip()) is not None


def looks_like_code(unit: Unit) -> bool:
    """A line of a plain-text cheat sheet that is a command, not prose: it does not open like a sentence."""
    first = unit.text.split()[0].strip("*_") if unit.text.split() else ""
    prose = re.fullmatch(r"[A-Z][a-z]+,?", first) is not None and len(unit.text.split()) > 3
    return bool(first) and not prose and not unit.text.rstrip("*_ ").endswith((".", ":"))


def command_point(view: NoteView, unit: Unit) -> Point:
    """The command as the notes write it, line by line."""
    text = "\n".join(view.lines[n - 1] for n in range(unit.start_line, unit.end_line + 1)) if unit.kind != "code" \
        else unit.text
    return Point(text.strip(), unit.start_line, unit.end_line, "code")


def strip_comment(line: str) -> str:
    return COMMENT.sub("", line).lstrip("#/-;% ").strip() if COMMENT.match(line) else line.strip().lstrip("#").strip()


def joined(lines: list[str]) -> str:
    """Comment lines as one text; a line that opens with a capital after one that did not end a clause starts a
    new sentence ("Show counters in the status bar" / "Requires tmux-mem-cpu-load")."""
    text = ""
    for line in lines:
        if text and line[:1].isupper() and not text.endswith((",", "(", ":", "-", ".")):
            text += "."
        text = f"{text} {line}".strip()
    return text


def topic(view: NoteView, i: int) -> str:
    """What the commands are of: the nearest heading above that names it in a few words; the note's name when no
    heading is above."""
    path = view.paths[i] if i < len(view.paths) else ()
    for title in reversed(path) if path else [note_title(view.source)]:
        title = heading_title(title).strip("` ")
        if title and len(title.split()) <= 4 and re.fullmatch(r"[\w .+#/-]+", title) and not re.search(r"\d", title) \
                and not VAGUE.match(title) and not GENERIC_NAME.match(title):
            return title
    return ""
