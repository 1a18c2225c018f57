"""Definition cards: a term the notes define ("**Encapsulation** is …", "A heap is a …", "***Cover***. Walls…",
"❒ Dropout – Dropout is …"), asked back as "What is …?" with the lines that define it (pure)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from rag.answer.note import NoteView
from rag.answer.units import SENTENCE_END, is_lead_in
from rag.ingest.headings import RUN_IN
from rag.quiz.card import Card, Point, answers_here, make_card, point
from rag.quiz.wording import (
    LIST_NOUNS,
    VAGUE,
    heading_title,
    name_case,
    names_topic,
    shares_word,
    term_case,
    word_set,
)

# "**Term** is a ...", "An **abstract class** is a class ...", "**RNNs** are a class ...", "X refers to ..."
DEFINES = re.compile(
    r"^(?P<article>(?:an?|the)\s+)?\*\*(?P<term>[^*]{2,60}?)\*\*(?P<aside>\s*\([^)]{1,40}\))?\s*,?\s+"
    r"(?P<verb>is|are|refers? to)\s+(?:an?\b|the\b|one of\b|defined as\b|used (?:to|for)\b|when\b|a set of\b)", re.I)
PLAIN_REFERS = re.compile(r"^(?:the\s+)?(?P<term>[A-Za-z][\w\- ]{2,40}?)\s+(?P<verb>refers? to)\s+(?!this|that|it)\S",
                          re.I)
# "A heap is a specialized tree-based data structure ...": a plain subject, "is a/an", what it is.
PLAIN_DEFINES = re.compile(r"^(?P<article>(?:an?|the)\s+)?(?P<term>[A-Za-z][\w\-' ]{1,40}?)\s+(?P<verb>is)\s+an?\s+"
                           r"(?!(?:good|great|bad|nice|lot|bit|little|few|must|very)\b)\w", re.I)
# Words no term holds: the subject of "In this case we refer to …" is not a name of anything.
NOT_NOUNS = word_set("""i we you he she it they this that these those there here one each every another such also
not only then still just now thus hence however our your their its his her them us my me is are was were be can will
would should could may might must has have had do does did if when while where which who what how why so above below""")
# Words a term does not open with, but holds ("Image segmentation in deep learning").
PREPOSITIONS = word_set("""of in on at for with by from to into about after before between over under through without
within during against among per via than as and or but""")
# Labels that mark a kind of remark, not a term being defined.
REMARKS = re.compile(r"^(?:note|nota bene|remark|tip|hint|warning|caution|beware|important|attention|info|update|"
                     r"edit|definition|problem|solution|answer|question|description|purpose|effect|impact|result|"
                     r"output|input|pros?|cons?|advantages?|disadvantages?|goal|idea|key idea|intuition|source|"
                     r"prompt|reason|example|examples|step \d+|part \d+|tl;?dr|caveat|important note)$", re.I)
MIN_WORDS = 8  # in a definition's answer
GLYPH = re.compile(r"[❒•▪◦●■□➢►‣]\s*\w")
MAX_LED = 6  # rows, code or formulas a run-in lead-in brings along
RUN_IN_LINES = 6  # a run-in definition is read up to this many lines, to the end of its second sentence


def definition_card(view: NoteView, i: int) -> Card | None:
    """"**Encapsulation** is ..." or "A heap is a ..." asked back as "What is encapsulation?", answered by its
    sentence (and up to two more of its paragraph, or an item's nested items)."""
    unit = view.units[i]
    text = re.sub(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+", "", unit.text) if unit.kind == "item" else unit.text
    found = DEFINES.match(text)
    if not found and unit.kind == "sentence":
        found = PLAIN_REFERS.match(text) or PLAIN_DEFINES.match(text)
        if found and not (is_noun_phrase(found.group("term")) and is_topic_of(view, found.group("term"))):
            return None
    if not found or text.rstrip("*_ ").endswith(":"):  # "X is defined as:" introduces a formula, its own card
        return None
    term = found.group("term").strip(" :")
    if len(term.split()) > 6 or not re.search(r"[A-Za-z]{2}", term):
        return None
    aside = (found.groupdict().get("aside") or "").strip()
    if re.search(r"[:\[\]*]", aside) or len(aside.split()) > 4:  # "(Māori: *Aotearoa* [aɔˈtɛaɾɔa])": a gloss to read
        aside = ""
    article = (found.groupdict().get("article") or "").lower()
    name = f"{article}{name_case(view, term)} {aside}".strip()
    verb = "are" if found.group("verb").lower() == "are" or (found.group("verb").lower() == "refer to") else "is"
    points = [point(unit)]
    nxt = i + 1
    if unit.kind == "sentence":  # the rest of the paragraph explains the definition, up to two more sentences
        while (nxt < len(view.units) and len(points) < 3 and view.units[nxt].kind == "sentence"
               and view.units[nxt].block == unit.block and answers_here(view.units[nxt])):
            points.append(point(view.units[nxt]))
            nxt += 1
    else:  # an item's nested items
        while nxt < len(view.units) and view.units[nxt].kind == "item" and view.units[nxt].depth > unit.depth:
            points.append(point(view.units[nxt]))
            nxt += 1
        points = points[:4]
    if len(re.findall(r"\w+", " ".join(p.text for p in points))) < MIN_WORDS:
        return None
    return make_card(view, i, f"What {verb} {name}?", "definition", points)


def is_noun_phrase(term: str) -> bool:
    """"Binary search", "k-Means algorithm": a name, not a clause's opening ("In this case we", "It")."""
    words = term.lower().split()
    return 0 < len(words) <= 6 and words[0] not in PREPOSITIONS and not set(words) & NOT_NOUNS \
        and not any(w.endswith("ly") for w in words) and all(re.fullmatch(r"[a-z][\w'-]*", w) for w in words)


def is_topic_of(view: NoteView, term: str) -> bool:
    """A term the note comes back to (or titles a section with): what it defines, not a passing subject."""
    pattern = re.compile(rf"\b{re.escape(term.lower())}", re.I)
    headings = " ".join(u.text for u in view.units if u.kind == "heading")
    return pattern.search(headings) is not None or len(pattern.findall("\n".join(view.lines))) >= 2


def run_in_cards(view: NoteView) -> Iterator[Card]:
    """A paragraph that opens with a term set off as a label ("***Cover***. …", "❒ Dropout – …"): "What is cover?"
    answered by the label's paragraph up to its second sentence. A label used twice in the note names an aspect
    ("**Pros**:", "**LoRA**:" under each heading), not a term, and is skipped."""
    found = [(n, m) for n, line in enumerate(view.lines) if (m := RUN_IN.match(line))]
    counts = Counter(label_of(m).lower() for _, m in found)
    starts = {n for n, _ in found}
    for n, match in found:
        label = label_of(match)
        if match.group("mark") in ("**", "__") and not (match.group("inner") or match.group("outer")):
            continue  # "**VLANs** and **subnets** …": bold words in a sentence, not a label set off from it
        j = unit_at(view, n + 1)
        if counts[label.lower()] > 1 or j is None or view.units[j].kind not in ("sentence", "item") \
                or not is_label(label):
            continue
        name = name_case(view, label)
        if len(label.split()) == 1:  # "Speed": of what, the heading it sits under says
            topic = heading_title(view.paths[j][-1]) if view.paths[j] else ""
            if names_topic(topic) and not re.search(r"[:\d]", topic) and not shares_word(topic, label) \
                    and not set(topic.lower().split()) & LIST_NOUNS:
                name = f"{name} ({term_case(topic)})"
        point = run_in_point(view, n, match.group("rest"), starts)
        if point is not None:
            yield make_card(view, j, f"What {plural_verb(label)} {name}?", "definition", [point])
            continue
        led = led_points(view, j, label, n + 1)  # "❒ Filtering – We can filter rows … as follows:" and the code
        if led:
            yield make_card(view, j, f"Explain {name}", "question", led)


def led_points(view: NoteView, j: int, label: str, line: int) -> list[Point]:
    """A run-in paragraph that leads into code, a table or a formula ("… as follows:"), with what it leads into."""
    last = j
    while last + 1 < len(view.units) and view.units[last + 1].kind == "sentence" \
            and view.units[last + 1].block == view.units[j].block:
        last += 1
    if not is_lead_in(view.units[last]):
        return []
    led = [k for k in range(last + 1, min(last + 1 + MAX_LED, len(view.units)))
           if view.units[k].lead == last and answers_here(view.units[k]) and not is_lead_in(view.units[k])
           and (len(view.units[k].text.split()) >= 2 or view.units[k].kind == "formula")]  # not "Type" alone
    if not led or led[0] > last + 2:
        return []
    first = view.units[j]
    at = first.text.find(label)  # a PDF's line may join the label to the sentence before it ("Remark: … ❒ Label")
    opening = Point(re.sub(r"^\W*", "", first.text[at:]) if at > 0 else first.text, max(line, first.start_line),
                    first.end_line, first.kind)
    if GLYPH.search(opening.text[len(label):]):  # another label starts in the same line: where this one ends
        return []
    points = [opening] + [point(view.units[k]) for k in range(j + 1, last + 1)] + [point(view.units[k]) for k in led]
    return points if len(re.findall(r"\w+", " ".join(p.text for p in points))) >= MIN_WORDS else []


def label_of(match: re.Match[str]) -> str:
    return (match.group("label") or match.group("glyph_label") or "").strip(" .:")


def is_label(label: str) -> bool:
    """A label that names a term: a few words, not a remark ("Note"), a step, or a question."""
    words = label.split()
    return 0 < len(words) <= 6 and re.search(r"[A-Za-z]{2}", label) is not None and not label.endswith("?") \
        and not REMARKS.match(label) and not VAGUE.match(label) and words[0].lower() not in NOT_NOUNS | PREPOSITIONS


def plural_verb(label: str) -> str:
    """"are" for "Hit Points", "is" for "Damage at 0 Hit Points": the head noun is the last before a preposition."""
    words = label.lower().split()
    if words[0].endswith("ing"):  # "Changing columns" is one thing to do
        return "is"
    head = next((n for n, w in enumerate(words) if n and w in PREPOSITIONS), len(words))
    last = words[head - 1]
    return "are" if last.endswith("s") and not last.endswith(("ss", "us", "is", "ics")) else "is"


def unit_at(view: NoteView, line: int) -> int | None:
    """The unit that holds a line."""
    for j in view.units_in(max(1, line - RUN_IN_LINES * 4), line)[::-1]:
        if view.units[j].start_line <= line <= view.units[j].end_line:
            return j
    return None


def run_in_point(view: NoteView, n: int, rest: str, starts: set[int]) -> Point | None:
    """The definition after a label: its paragraph's lines up to the end of its second sentence (or the next
    label, blank line or heading)."""
    texts, last = [rest.strip()], n
    for k in range(n + 1, min(n + RUN_IN_LINES, len(view.lines))):
        line = view.lines[k].strip()
        if not line or k in starts or line.startswith(("#", "-", "*", "|", "```", ">")) or sentences(texts) >= 2:
            break
        texts.append(line)
        last = k
    text = " ".join(texts)
    ends = [m.start() for m in SENTENCE_END.finditer(text)]
    if len(ends) >= 2:
        text = text[: ends[1]]
        reach = 0
        for k, line in enumerate(texts):  # the last line the cut text reaches
            reach += len(line) + (k > 0)
            if reach >= len(text):
                last = n + k
                break
    if len(re.findall(r"\w+", text)) < MIN_WORDS or text.rstrip("*_ ").endswith(":"):
        return None  # a lead-in ("… as follows:") without what it leads into
    return Point(text, n + 1, last + 1, "sentence")


def sentences(texts: list[str]) -> int:
    text = " ".join(texts)
    return len(SENTENCE_END.findall(text)) + bool(re.search(r"[.!?]$", text))
