"""A note's units -> study cards: questions the notes ask or define, each with its expected answer's lines (pure)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from rag.answer.note import NoteView
from rag.answer.question import content_words
from rag.answer.select import is_filler
from rag.answer.units import Unit, is_lead_in


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


RULES = 6  # raise when the rules below change: every note's cards are derived again (their histories kept)
KINDS = ("question", "definition", "list", "formula", "code")
MAX_POINTS = 8  # an expected answer longer than this is a chapter, not a card
MIN_ITEMS, MAX_ITEMS = 2, 12
# A heading that asks: ends with "?", or opens with a question word or an exercise verb.
ASKS = re.compile(r"^(?:how|what|why|when|which|where|who|is|are|can|does|do|should|explain|describe|define|"
                  r"compare|write|implement|list|name|differentiate)\b", re.I)
# Headings nobody can be asked about: a card under them would be vague.
VAGUE = re.compile(r"^(?:summary|in summary|conclusion|conclusions|overview|introduction|notes?|additional notes|"
                   r"example|examples|output|explanation|code|code example|example usage|usage|result|results|"
                   r"final thoughts|recap|tl;?dr|note|answer|solution|details|more|misc|other|why|how|what|"
                   r"example (?:in|with|of|without)\b.*|explanation of .*|.*\bexample\b.*|.*\boutput\b.*|"
                   r"step \d+.*)$", re.I)
CHAT = re.compile(r"^(?:so|but|and|then|ok|okay|yes|no|also|actually|wait|hmm|right)\b", re.I)
NONE = ("", "")
IMPERATIVE = word_set("""analyze analyse augment use apply check choose handle avoid consider try collect monitor tune
evaluate define identify select perform ensure add remove train test compute calculate plot
implement run start keep make let get set build create""")
VAGUE_WORDS = frozenset({"use", "one", "which", "choose", "work", "works", "matter", "matters", "mean", "better"})
# "**Term** is a ...", "An **abstract class** is a class ...", "**RNNs** are a class ...", "X refers to ..."
DEFINES = re.compile(
    r"^(?P<article>(?:an?|the)\s+)?\*\*(?P<term>[^*]{2,60}?)\*\*(?P<aside>\s*\([^)]{1,40}\))?\s*,?\s+"
    r"(?P<verb>is|are|refers? to)\s+(?:an?\b|the\b|one of\b|defined as\b|used (?:to|for)\b|when\b|a set of\b)", re.I)
PLAIN_REFERS = re.compile(r"^(?:the\s+)?(?P<term>[A-Za-z][\w\- ]{2,40}?)\s+(?P<verb>refers? to)\s+(?!this|that|it)\S",
                          re.I)
# The bold term a formula's lead-in names: at its start, or as what "is defined as" / "is given by".
NAMED_FORMULA = re.compile(r"^\W*(?:\d{1,3}[.)]\s*)?(?:(?:the|an?)\s+)?\*\*(?P<term>[^*]{2,60}?)\*\*"
                           r"|\*\*(?P<named>[^*]{2,60}?)\*\*\s*(?:\([^)]{1,40}\)\s*)?"
                           r"(?:is|are|can be)\s+(?:defined|given|calculated|computed|expressed|written)", re.I)
# "..., the cross-entropy loss is given by:" (the clause after the last comma names it)
FORMULA_SUBJECT = re.compile(r"^(?:the\s+)?(?P<term>[\w\- ()]{3,40}?)\s+(?:is|are|can be)\s+"
                             r"(?:defined|given|calculated|computed|expressed|written)\s+(?:as|by)\b", re.I)
FORMULA_OF = re.compile(r"\b(?:formula|equation|expression)\s+(?:for|of)\s+(?:the\s+)?(?P<term>[\w\- ()]{3,50}?)"
                        r"\s*(?:is|:|$)", re.I)
FORMULA_VAGUE = frozenset({"overview", "formulation", "intuition", "derivation", "equations", "equation", "formula",
                           "formulas", "mathematical", "example", "interpretation", "explanation", "step", "steps",
                           "optimization", "problem", "solution", "conditions", "case", "definition", "calculation",
                           "computation", "evaluation"})
LEGEND = re.compile(r"^\W*where\b", re.I)
LATEX_WORDS = word_set("""frac text sum cdot partial hat bar tilde times sqrt log exp prod int dots ldots cdots quad
leq geq le ge neq in mathbb mathrm mathbf begin end cases if left right operatorname max min lim approx""")
# A legend item opens with the symbol it explains: "- \\( y_i \\) is ...", "- $n$: ...", "- `lr` = ...".
LEGEND_SYMBOL = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+(?:\\\((.{1,200}?)\\\)|\$(.{1,60}?)\$|`(.{1,30}?)`)")
NUMBERING = re.compile(r"^\s*(?:\d{1,3}(?:\.\d{1,3})*|[A-Za-z]|[IVX]+)[.)]?\s+(?=\S)"
                       r"|^\s*(?:step|part)\s+\d+\s*[:.)-]\s*", re.I)
# Nouns a reader is asked to name the members of ("Name the advantages of SVM (3)").
LIST_NOUNS = word_set("""advantages disadvantages benefits drawbacks limitations features characteristics
points concepts
differences types applications steps solutions techniques methods strategies assumptions challenges
components layers architectures variants examples scenarios considerations definitions issues
properties rules metrics losses ways reasons principles pros cons uses stages phases kinds
categories factors causes effects approaches tips best practices functions algorithms models terms
elements parts""")
GENERIC_WORDS = LIST_NOUNS | {"key", "main", "common", "other", "important", "use", "and", "&", "the", "major",
                              "typical", "general", "some", "additional", "related"}
# A generic heading that asks its own question about the topic above it.
ABOUT_PARENT = {
    "achieved through": "How is {parent} achieved?",
    "how it works": "How does {parent} work?",
    "definition": "What is {parent}?",
    "cause": "What causes {parent}?",
    "causes": "What causes {parent}?",
    "impact": "What is the impact of {parent}?",
    "comparison": "Compare {parent}",
    "solutions": "Name the solutions to {parent} ({n})",
    "basic concept": "Explain the basic concept of {parent}",
    "concept": "Explain the concept of {parent}",
    "overview": "Give an overview of {parent}",
    "workflow": "Explain the workflow of {parent}",
    "intuition": "Explain the intuition behind {parent}",
    "mechanism": "Explain the mechanism of {parent}",
}


@dataclass(frozen=True)
class Point:
    """One thing an answer should say: a sentence, item, formula, row or code block, with its lines."""

    text: str
    start_line: int
    end_line: int
    kind: str


@dataclass(frozen=True)
class Card:
    """A question from the notes; its expected answer is `points`, lines start_line..end_line of `source`."""

    id: str
    source: str
    question: str
    kind: str  # question | definition | list | formula | code
    heading: str  # the heading path, "A > B"
    start_line: int
    end_line: int
    points: tuple[Point, ...]

    @property
    def answer(self) -> str:
        """The expected answer as the notes word it, one point a line."""
        return "\n".join(p.text for p in self.points)

    @property
    def topic(self) -> str:
        """The top heading the card sits under (the note's name when it has none)."""
        return self.heading.split(" > ")[0] if self.heading else self.source


def card_id(source: str, question: str) -> str:
    """Stable across re-derivation: the note and the question's words, nothing else."""
    key = " ".join(re.findall(r"\w+", question.lower()))
    return hashlib.sha1(f"{source}\0{key}".encode()).hexdigest()[:16]


def derive_cards(view: NoteView) -> list[Card]:
    """Every card the note makes, in note order; a question asked twice in a note is kept once (the first)."""
    cards: dict[str, Card] = {}
    for card in sorted(candidates(view), key=lambda c: (c.start_line, KINDS.index(c.kind))):
        if card.id not in cards and well_formed(card):
            cards[card.id] = card
    return sorted(cards.values(), key=lambda c: c.start_line)


def candidates(view: NoteView) -> Iterator[Card]:
    for i, unit in enumerate(view.units):
        if unit.kind == "heading":
            yield from heading_cards(view, i)
        elif unit.kind in ("sentence", "item"):
            card = definition_card(view, i)
            if card:
                yield card
        elif unit.kind == "formula":
            card = formula_card(view, i)
            if card:
                yield card


# --- headings: a question with the lines under it, or a list to name ------------------------------------------


def heading_cards(view: NoteView, i: int) -> Iterator[Card]:
    title = heading_title(view.units[i].text)
    if not title or is_filler(title) or VAGUE.match(title):
        return
    body = section_body(view, i)
    if asks(title):
        if CHAT.match(title):  # "so only difference is ...?": a turn of a conversation, not a question to study
            return
        points = intro_points(view, body, title) or subheading_points(view, i, body)
        if points:
            kind = "code" if all(p.kind == "code" for p in points) else "question"
            yield make_card(view, i, ask_about(view, i, title), kind, points)
        return
    items = list_points(view, body)
    if items:
        question, kind = list_question(view, i, title, len(items))
        if question:
            yield make_card(view, i, question, kind, items)


def ask_about(view: NoteView, i: int, title: str) -> str:
    """A heading's question in sentence case; one that names nothing ("When to use which?") gets its topic."""
    title = title.rstrip("?:. ")
    question = sentence_case(term_case(title) if is_title_case(title) else title) + "?"
    if not set(content_words(title)) - VAGUE_WORDS:
        parent = parent_title(view, i)
        return f"{question[:-1]} ({parent})?" if parent else question
    return question


def list_question(view: NoteView, i: int, title: str, n: int) -> tuple[str, str]:
    """("Name the advantages of SVM (3)", "list") for a list heading; ("Explain overfitting (issues with RNN)",
    "question") for a topic heading with a list under it; ("", "") when the heading says too little."""
    name = term_case(title)
    words = re.findall(r"[\w&]+", title.lower())
    template = ABOUT_PARENT.get(" ".join(words))
    parent = parent_title(view, i)
    if template:
        return (template.format(parent=parent, n=n), "list" if "{n}" in template else "question") if parent else NONE
    if all(w in GENERIC_WORDS for w in words):  # "Key Points", "Advantages and Disadvantages"
        return (f"Name the {name} of {parent} ({n})", "list") if parent else NONE
    head = next((w for w in words if w in LIST_NOUNS), None)
    if head and words.index(head) <= 2:
        above = heading_title(view.paths[i][-2]).lower() if len(view.paths[i]) > 1 else ""
        if above.split()[-1:] and above.split()[-1] in LIST_NOUNS:  # "Imputation Techniques > Numerical Features"
            return f"Name the {term_case(above)} for {name} ({n})", "list"
        bare = not set(words) & {"of", "in", "to", "for", "between", "with", "on"}
        if bare and parent and not shares_word(title, parent):
            return f"Name the {name} of {parent} ({n})", "list"
        return f"Name the {name} ({n})", "list"
    participle = words[0].endswith("ed") and len(words) > 1 and words[1] in ("by", "to", "with", "in", "for")
    if words[0] in IMPERATIVE or words[0].endswith("ing") or participle or is_question_heading(view, i, parent):
        return NONE  # a step or a reason under a question: part of that question's answer, vague alone
    if len(words) > 1 and words[1] in ("of", "in", "for", "behind"):
        name = f"the {name}"
    if parent and not shares_word(title, parent):
        return f"Explain {name} ({parent})", "question"
    return (f"Explain {name}", "question") if len(words) > 1 else NONE


def is_question_heading(view: NoteView, i: int, parent: str) -> bool:
    """True if the heading above heading i asks a question (its sub-headings are parts of the answer)."""
    return len(view.paths[i]) > 1 and asks(heading_title(view.paths[i][-2]))


def shares_word(a: str, b: str) -> bool:
    return bool({w.rstrip("s") for w in content_words(a)} & {w.rstrip("s") for w in content_words(b)})


def heading_title(text: str) -> str:
    """A heading's words without numbering, emphasis, a notebook's `#` or a trailing colon."""
    title = re.sub(r"[*_`]+", "", text).strip().lstrip("#").strip()
    title = NUMBERING.sub("", title).strip().rstrip(":").strip()
    return re.sub(r"\s+", " ", title)


def asks(title: str) -> bool:
    """A heading that is a question a reader could answer (a long prose line typed after `#` is not one)."""
    words = len(title.split())
    return 2 <= words <= 25 and (title.endswith("?") or (bool(ASKS.match(title)) and words >= 3))


def section_body(view: NoteView, i: int) -> list[int]:
    """The units under heading i up to the next heading of its level or above."""
    path = view.paths[i] if i < len(view.paths) else ()
    body = []
    for j in range(i + 1, len(view.units)):
        if view.units[j].kind == "heading" and len(view.paths[j]) <= len(path):
            break
        body.append(j)
    return body


def answers_here(unit: Unit) -> bool:
    """A unit that can be part of an answer: no chat, no question to the reader, no bare label."""
    if unit.kind == "heading" or is_filler(unit.text):
        return False
    if unit.kind == "sentence" and unit.text.rstrip("*_ ").endswith("?"):
        return False
    return not (unit.kind == "row" and unit.header is None)  # a table's header row says nothing alone


def intro_points(view: NoteView, body: Sequence[int], question: str) -> list[Point]:
    """What stands under a question before its first sub-heading (or the definition of another term): the answer
    as the notes open it."""
    points: list[Point] = []
    for j in body:
        unit = view.units[j]
        if unit.kind == "heading":
            break
        defined = DEFINES.match(unit.text) if unit.kind == "sentence" else None
        if points and defined and not shares_word(defined.group("term"), question):
            break
        if points and unit.kind == "sentence" and not answers_here(unit):  # "Would you like …?" ends the turn
            break
        if answers_here(unit) and not (is_lead_in(unit) and len(unit.text.split()) <= 6):
            points.append(point(unit))
    return merge_nested(view, points)[:MAX_POINTS]


def subheading_points(view: NoteView, i: int, body: Sequence[int]) -> list[Point]:
    """A question answered by its sub-headings ("1. Reducing complexity", "2. ..."), each with its first line."""
    depth = len(view.paths[i]) + 1
    points = []
    for j in body:
        unit = view.units[j]
        if unit.kind != "heading" or len(view.paths[j]) != depth:
            continue
        title = heading_title(unit.text).rstrip(":")
        if not title or VAGUE.match(title):
            continue
        first = next((k for k in range(j + 1, min(j + 6, len(view.units))) if answers_here(view.units[k])), None)
        if first is not None and view.units[first].kind in ("sentence", "item") and view.paths[first] == view.paths[j]:
            nxt = view.units[first]
            points.append(Point(f"{title}: {nxt.text}", unit.start_line, nxt.end_line, "item"))
        else:
            points.append(Point(title, unit.start_line, unit.end_line, "item"))
    return points[:MAX_POINTS] if len(points) >= MIN_ITEMS else []


def list_points(view: NoteView, body: Sequence[int]) -> list[Point]:
    """The top-level items (or table rows) right under a heading, each with its nested items' lines."""
    units = [j for j in body if view.units[j].kind != "heading" or False]
    first_heading = next((n for n, j in enumerate(body) if view.units[j].kind == "heading"), len(body))
    units = [j for j in body[:first_heading] if answers_here(view.units[j])]
    if not units:
        return []
    kinds = {view.units[j].kind for j in units}
    if kinds <= {"item"}:
        top = min(view.units[j].depth for j in units)
        points = merge_nested(view, [point(view.units[j]) for j in units], top)
    elif kinds <= {"row"}:
        points = [point(view.units[j]) for j in units]
    else:
        return []
    return points if MIN_ITEMS <= len(points) <= MAX_ITEMS else []


def merge_nested(view: NoteView, points: list[Point], top: int | None = None) -> list[Point]:
    """Nested items folded into the item above them: one point per top-level item."""
    by_line = {u.start_line: u for u in view.units}
    if top is None:
        items = [by_line[p.start_line].depth for p in points if p.kind == "item" and p.start_line in by_line]
        top = min(items, default=0)
    merged: list[Point] = []
    for p in points:
        unit = by_line.get(p.start_line)
        nested = unit is not None and unit.kind == "item" and unit.depth > top
        if nested and merged and merged[-1].kind == "item":
            last = merged[-1]
            merged[-1] = Point(f"{last.text} {p.text}", last.start_line, p.end_line, "item")
        else:
            merged.append(p)
    return merged


def parent_title(view: NoteView, i: int) -> str:
    """The nearest heading above heading i at a higher level, as a topic name."""
    path = view.paths[i]
    for name in reversed(path[:-1]):
        title = heading_title(name).rstrip(":?. ")
        title = title.split(": ")[0] if ": " in title else title  # "Linear Regression: A Comprehensive Overview"
        words = re.findall(r"[\w&]+", title.lower())
        if title and not VAGUE.match(title) and not all(w in GENERIC_WORDS for w in words) and not asks(title) \
                and len(words) <= 10:
            return term_case(title)
    return ""


# --- definitions and formulas ---------------------------------------------------------------------------------


def definition_card(view: NoteView, i: int) -> Card | None:
    """"**Encapsulation** is ..." asked back as "What is encapsulation?", answered by its sentence (and the next)."""
    unit = view.units[i]
    text = re.sub(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+", "", unit.text) if unit.kind == "item" else unit.text
    found = DEFINES.match(text) or (PLAIN_REFERS.match(text) if unit.kind == "sentence" else None)
    if not found or text.rstrip("*_ ").endswith(":"):  # "X is defined as:" introduces a formula, its own card
        return None
    term = found.group("term").strip(" :")
    if len(term.split()) > 6 or not re.search(r"[A-Za-z]{2}", term):
        return None
    aside = (found.groupdict().get("aside") or "").strip()
    article = (found.groupdict().get("article") or "").lower()
    name = f"{article}{term_case(term)} {aside}".strip()
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
    if len(re.findall(r"\w+", " ".join(p.text for p in points))) < 8:
        return None
    return make_card(view, i, f"What {verb} {name}?", "definition", points)


def formula_card(view: NoteView, i: int) -> Card | None:
    """A display formula, asked as "Write the formula for ..." with its legend ("Where: ...") as further points."""
    unit = view.units[i]
    name = formula_name(view, i)
    if not name:
        return None
    points = [point(unit)]
    j = i + 1
    if j < len(view.units) and LEGEND.match(view.units[j].text):
        legend_lead = j
        j += 1
        while (j < len(view.units) and view.units[j].kind == "item" and view.units[j].lead in (legend_lead, None)
               and explains(view.units[j].text, unit.text)):
            points.append(point(view.units[j]))
            j += 1
            if len(points) > MAX_POINTS:
                break
    if name.lower() in FORMULA_VAGUE:  # "**Definition**:" names the topic above it
        name = topic_title(view, i, name)
        if not name:
            return None
    elif len(name.split()) <= 2:  # "penalty term", "prediction step": of what, the topic above says
        topic = topic_title(view, i, name)
        name = f"the {name} ({topic})" if topic else name
    return make_card(view, i, f"Write the formula for {name}", "formula", points[:MAX_POINTS])


def topic_title(view: NoteView, i: int, name: str) -> str:
    """The nearest heading above unit i that names a topic other than `name`, for context."""
    for title in reversed(view.paths[i]):
        title = heading_title(title).rstrip(":?. ")
        title = title.split(": ")[0] if ": " in title else title
        words = re.findall(r"[\w&]+", title.lower())
        if (title and not shares_word(title, name) and not VAGUE.match(title) and not asks(title) and "=" not in title
                and not set(words) & (FORMULA_VAGUE | LIST_NOUNS) and len(words) <= 8):
            return term_case(title)
    return ""


def explains(item: str, formula: str) -> bool:
    """A legend item says what a symbol of this formula is ("- \\( y_i \\) is the true label"); an item about
    something else ("- **Effect**: ...", symbols of other formulas) is not part of this formula's answer."""
    symbol = LEGEND_SYMBOL.match(item)
    if not symbol:
        return False
    def symbols(text: str) -> set[str]:  # letters and Greek letters, not LaTeX's own \frac, \text, \sum
        return {t.lstrip("\\") for t in re.findall(r"\\?[A-Za-z]+", text)} - LATEX_WORDS

    return bool(symbols(next(g for g in symbol.groups() if g)) & symbols(formula))


def formula_name(view: NoteView, i: int) -> str:
    """What a formula computes: the term its lead-in line names, or else the heading it sits under."""
    unit = view.units[i]
    lead = view.units[unit.lead] if unit.lead is not None else (view.units[i - 1] if i > 0 else None)
    if lead is not None and lead.kind != "heading" and lead.end_line >= unit.start_line - 2:
        named = FORMULA_OF.search(lead.text)
        if named:
            return re.sub(r"^the\s+", "", term_case(named.group("term").strip()), flags=re.I)
        clause = re.sub(r"[*_`]+", "", lead.text).rsplit(",", 1)[-1]
        subject = FORMULA_SUBJECT.match(re.sub(r"^[\W\d]+", "", clause))
        if subject and not re.match(r"(?:it|this|that|which|they|and|or|but|so|then|where)\b", subject.group("term"),
                                    re.I):
            return term_case(subject.group("term").strip())
        bold = NAMED_FORMULA.search(lead.text)
        term = (bold.group("term") or bold.group("named") or "") if bold else ""
        if term and len(term.split()) <= 6:
            return term_case(term.strip(" :"))
    title = heading_title(unit.context).rstrip(":?. ")
    words = re.findall(r"[\w&]+", title.lower())
    first = not any(u.kind == "formula" and view.paths[k] == view.paths[i] for k, u in enumerate(view.units[:i]))
    if (first and title and not VAGUE.match(title) and not asks(title) and len(words) <= 8
            and not (set(words) & (FORMULA_VAGUE | LIST_NOUNS))):
        return re.sub(r"^the\s+", "", term_case(title), flags=re.I)
    return ""


# --- shared -------------------------------------------------------------------------------------------------


def point(unit: Unit) -> Point:
    return Point(unit.text, unit.start_line, unit.end_line, unit.kind)


def make_card(view: NoteView, i: int, question: str, kind: str, points: Sequence[Point]) -> Card:
    question = re.sub(r"\s+", " ", question).strip()
    path = view.paths[i] if i < len(view.paths) else ()
    heading = " > ".join(heading_title(p) for p in path)
    return Card(card_id(view.source, question), view.source, question, kind, heading,
                min(p.start_line for p in points), max(p.end_line for p in points), tuple(points))


def well_formed(card: Card) -> bool:
    """A card worth asking: its answer says something, and says it about what the question asks."""
    words = re.findall(r"\w+", card.answer)
    if len(words) < 4 or not card.points:
        return False
    if card.kind in ("formula", "code", "list"):
        return True
    asked = {w.rstrip("s") for w in content_words(card.question)} - VAGUE_WORDS
    said = {w.rstrip("s") for w in content_words(card.answer)}
    return bool(asked & said)


def term_case(term: str) -> str:
    """A term as it reads mid-sentence: "Recurrent Neural Networks (RNNs)" -> "recurrent neural networks (RNNs)"."""
    def word(w: str) -> str:
        return w if re.search(r"[A-Z].*[A-Z]|\d", w) or w.isupper() else w.lower()

    def whole(w: str) -> str:
        parts = w.split("-")
        if any(p.isupper() or re.search(r"[a-z][A-Z]|\d", p) for p in parts):  # "U-Net", "k-NN", "GPT-4"
            return w
        return "-".join(word(p) for p in parts)

    return " ".join(whole(w) for w in term.split())


def is_title_case(text: str) -> bool:
    """"Why MSE is Used Instead": most longer words capitalised, as headings are written, not sentences."""
    words = [w for w in text.split() if len(w) > 3]
    return bool(words) and sum(w[0].isupper() for w in words) / len(words) > 0.6


def lower_first(text: str) -> str:
    words = text.split(" ", 1)
    if words and not re.search(r"[A-Z].*[A-Z]", words[0]):
        words[0] = words[0].lower()
    return " ".join(words)


def sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]
