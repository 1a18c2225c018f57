"""What a question asks: a follow-up's topic, its parts, its intent, a language, a comparison's sides (pure)."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.retrieve.intents import intents
from rag.retrieve.lexical import STOPWORDS

INTERJECTION = re.compile(r"^\s*(?:(?:ok(?:ay)?|nice|cool|great|thanks|thank you|right|hmm+|got it)\b\W*)+", re.I)
FOLLOW_UP_START = re.compile(r"^(?:(?:ok(?:ay)?|nice|cool|great|thanks|right|hmm+)\W+)*"
                             r"(?:and|but|also|so|then|or|what about|how about|what of|same for|what if)\b", re.I)
PRONOUN = re.compile(r"\b(?:it|its|it's|they|them|their|this|that|these|those|former|latter|both|each|one|ones|"
                     r"instead|there)\b", re.I)
CLAUSE_BREAK = re.compile(r"\band\b|[,;?]")
# Words that say what is wanted, not what about: a question made only of these names no subject of its own.
GENERIC = frozenset({
    "code", "example", "examples", "snippet", "show", "formula", "equation", "explain", "work", "works", "working",
    "mean", "means", "meaning", "use", "used", "uses", "using", "usage", "difference", "differences", "different",
    "differ", "compare", "comparison", "pros", "cons", "advantages", "disadvantages", "downsides", "upsides",
    "benefits", "limitations", "drawbacks", "steps", "step", "syntax", "implementation", "implement", "details",
    "detail", "again", "table", "list", "why", "bad", "good", "need", "needed", "happen", "happens", "way", "ways",
    "else", "one", "ones", "instead", "better", "worse", "faster", "slower", "matter", "matters", "important",
    "case", "cases", "kind", "kinds", "type", "types", "thing", "things",
})
CODE_WORDS = re.compile(r"\b(?:code|example|snippet|implement\w*|sample|script|program|syntax)\b", re.I)
IDENTIFIER = re.compile(r"\b[a-z]\w*_\w+|\b\w+\(\)|\b[a-z]+[A-Z]\w*")  # dropout_layer, fit(), getItem
CODE_THINGS = re.compile(r"\b(?:function|class|method|command|query|one-?liner|regex)\b", re.I)
SHOW = re.compile(r"\b(?:show|write|give)\b", re.I)
SHOW_HOW = re.compile(r"\b(?:show|write|how (?:do|to|can|would|should))\b", re.I)
COMPARATIVE = re.compile(r"\b(?:which|when|better|prefer|pick|choose|more|less|differ\w*|compare\w*)\b", re.I)
SIDE_SPLIT = re.compile(r"\s+(?:vs\.?|versus|compared (?:to|with)|over|or)\s+|\s*\bvs\.?\s+", re.I)
BETWEEN = re.compile(r"\bbetween\s+(.+?)\s+and\s+(.+)", re.I)


def resolve_followup(question: str, history: Sequence[tuple[str, str]], limit: int = 2000,
                     always: bool = False) -> str:
    """The question with the previous question's topic prepended when it only makes sense as a follow-up (with
    `always`, whenever there is a previous question)."""
    earlier = [content for role, content in history if role == "user" and content.strip()]
    if not earlier:
        return question
    if not always and not refers_back(question, earlier[-1]):
        return question
    # The previous question may itself be a follow-up: resolve it against what came before it.
    previous = resolve_followup(earlier[-1], [("user", c) for c in earlier[:-1]], limit)
    room = max(0, limit - len(question) - 1)
    return f"{previous[-room:] if room else ''} {question}".strip()


def names_subject(question: str) -> bool:
    """True if the question names what it is about, not only what it wants ("show me the code" does not)."""
    return any(w not in GENERIC for w in content_words(question))


def refers_back(question: str, previous: str) -> bool:
    """True if a question only makes sense with the one before it: it starts as a follow-up ("and its
    downsides?"), names no subject of its own ("show me the code"), or points back ("does it…", "those")
    without repeating anything the previous question named."""
    if FOLLOW_UP_START.match(question) or len(question.split()) <= 3:
        return True
    if not names_subject(question):
        return True
    subject = [w for w in content_words(question) if w not in GENERIC]
    earlier = {w.rstrip("s") for w in content_words(previous) if w not in GENERIC}
    pointer = PRONOUN.search(question)
    if pointer is None or earlier & {w.rstrip("s") for w in subject}:
        return False
    # "what is X and why does it help?": the pronoun points to the question's own first clause
    before = CLAUSE_BREAK.split(question[: pointer.start()])
    return not (len(before) > 1 and any(w not in GENERIC for w in content_words(before[0])))


def wants_code(question: str) -> bool:
    """True if the question asks for code or an example."""
    shown = SHOW_HOW.search(question) is not None
    named = language(question) is not None or IDENTIFIER.search(question) is not None
    thing = CODE_THINGS.search(question) is not None and SHOW.search(question) is not None  # "show me the X function"
    return CODE_WORDS.search(question) is not None or (shown and named) or thing


def comparison_sides(question: str) -> list[str]:
    """The things a comparison question weighs against each other ("A vs B", "between A and B")."""
    between = BETWEEN.search(question)
    parts = list(between.groups()) if between else SIDE_SPLIT.split(question)
    if len(parts) < 2 or (not between and not re.search(r"\bvs\.?|versus\b", question, re.I)
                          and not COMPARATIVE.search(question)):
        return []
    sides = []
    for n, part in enumerate(parts):
        words = [w for w in re.findall(r"[\w+#-]+", part.lower()) if w not in STOPWORDS and len(w) > 1]
        if words:  # the word nearest the separator names the side: "LSTMs" in "... LSTMs vs transformers ..."
            sides.append(words[-1] if n == 0 else words[0])
    return sides if len(sides) >= 2 else []


def mentions(text: str, side: str) -> bool:
    """True if a text names a side of a comparison (a plural side matches its singular too)."""
    stem = side[:-1] if side.endswith("s") and len(side) > 3 else side
    return re.search(rf"(?<![\w-]){re.escape(stem)}", text.lower()) is not None


TABLE_WORDS = re.compile(r"\btab(?:le|ular)?\b|side[- ]by[- ]side", re.I)
LANGUAGES = {"python": r"\bpython\b|\bpy\b", "c++": r"c\+\+|\bcpp\b", "java": r"\bjava\b(?!script)",
             "javascript": r"\bjavascript\b|\bjs\b"}
NEGATED = re.compile(r"\b(?:not|no|without|instead of|rather than|other than)\s+(?:the\s+|in\s+|a\s+)?[\w+#]+"
                     r"(?:\s+(?:abc|stuff|one|way|version|code))*", re.I)
ASKS = re.compile(r"^(?:(?:and|or|also|but|so)\s+)?(?:what|whats|when|where|why|how|which|who|can|could|do|does|did|is|"
                  r"are|should|would|will|show|give|explain|list|compare|in what)\b", re.I)
SIDE_END = re.compile(r"\s+-\s+|,|:|\?|\s+(?:on|for|in|when|which|whats?)\s+", re.I)  # where side B's name ends
SIDE_START = re.compile(r"\b(?:of|for|between|about|use|using)\s+", re.I)  # where side A's name starts
SIDE_WORDS = 3  # a side of a comparison is named by at most this many words next to "vs"
PART_SPLIT = re.compile(r"\?+\s+|\s+\+\s+|\s*;\s*|,?\s+and\s+(?=(?:what|when|where|why|how|which|can|could|do|does|"
                        r"is|are|should|show|give|explain|in what)\b)", re.I)
ASPECTS = re.compile(r"(?:[-:–]|\bon|\bin terms of)\s+((?:[\w /-]+,\s*)+[\w /-]+?,?\s+(?:and|&)\s+[\w /-]+)", re.I)


# "find command: files bigger than 20MB, and files changed in the last hour": two things asked after a colon
COLON_PAIR = re.compile(r":\s+([^,:;?]+?),\s+and\s+([^,:;?]+)", re.I)
ASPECT_PAIR = re.compile(r"(?:\s[-:–]|\bon|\bin terms of)\s+([\w /-]+?\s+(?:and|&)\s+[\w /-]+)", re.I)  # "- X and Y"
TABLE_FILLER = re.compile(r"^(?:(?:a |in a )?table(?: of| with| w/)?|side by side|compare)\s*", re.I)


REFERENCE_WORDS = re.compile(r"\b(?:resources?|references?|links?|reading|read|books?|papers?|courses?|tutorials?|"
                             r"guides?|websites?|sites?|sources?|urls?|docs|documentation|tools?|librar\w*)\b", re.I)
QUESTION_WORDS = re.compile(r"\b(?:questions?|exercises?|quiz\w*|ask\w*|interview)\b", re.I)


def wants_references(question: str) -> bool:
    """True if the question asks for the notes' pointers elsewhere (resources, links, papers, tools)."""
    return REFERENCE_WORDS.search(question) is not None


def wants_questions(question: str) -> bool:
    """True if the question asks for questions (exercises, what to ask, interview questions)."""
    return QUESTION_WORDS.search(question) is not None


LIST_WORDS = re.compile(r"\b(?:list|types|kinds|ways|steps|rules|tactics|methods|techniques|strategies|categories|"
                        r"stages|phases|levels|components|parts|elements|principles|options|approaches)\b", re.I)


def listed_subject(question: str) -> list[str]:
    """The words naming what a question asks to list ("list the defense tactics" -> defense, tactics); none
    when it asks for no list."""
    if not LIST_WORDS.search(question):
        return []
    return [w for w in content_words(question) if w != "list"]


FORMULA_WORDS = re.compile(r"\b(?:formulas?|formulae|equations?|expression for|how (?:is|are) \w+(?: \w+)? "
                           r"(?:computed|calculated|defined|updated)|update rule)\b", re.I)


def wants_formula(question: str) -> bool:
    """True if the question asks for a formula or how a quantity is computed."""
    return FORMULA_WORDS.search(question) is not None


RESULT_WORDS = re.compile(r"\b(?:errors?|output|outputs|prints?|printed|returns?|returned|results?)\b", re.I)


def wants_result(question: str) -> bool:
    """True if the question asks what code gives (its output, error or return value)."""
    return RESULT_WORDS.search(question) is not None


def wants_table(question: str) -> bool:
    """True if the question asks for a table or a side-by-side comparison."""
    return TABLE_WORDS.search(question) is not None


def language(text: str) -> str | None:
    """The programming language a text names, if exactly one ("not the python stuff" names none)."""
    text = without_negated(text)
    named = [name for name, pattern in LANGUAGES.items() if re.search(pattern, text, re.I)]
    return named[0] if len(named) == 1 else None


def without_negated(text: str) -> str:
    """The text without what it rules out ("not the python abc stuff")."""
    return NEGATED.sub(" ", text)


def question_parts(question: str) -> list[str]:
    """The parts of a multi-part question, each readable alone: its clauses ("what is X and when would I use
    it?"), the aspects it lists ("A vs B on speed, memory and accuracy"), the sides it compares; one part
    for a simple question. Later parts carry the first one's subject ("X when would I use it")."""
    question = INTERJECTION.sub("", question) or question  # "nice - and how do I run it?" asks one thing
    pieces: list[tuple[str, bool]] = []  # each clause, and whether it is asked on its own
    start, added = 0, False
    for cut in [*PART_SPLIT.finditer(question), None]:
        end = cut.start() if cut else len(question)
        text = question[start:end]
        own = added or text.rstrip().endswith("?") or (cut is not None and "?" in cut.group(0))
        pieces.append((text.strip(" ?.,"), own))
        added, start = cut is not None and "+" in cut.group(0), cut.end() if cut else end
    pieces = [(text, own) for text, own in pieces if len(text.split()) >= 2]
    if not pieces:
        return [question]
    # a later clause is a part if it asks: a question word, its own "?" ("... false negatives? false positives?")
    # or a "+" before it ("ways to evaluate an LLM + the weakness of each"); "the early layers stop learning"
    # only says why the question is asked
    clauses = [pieces[0][0], *(text for text, own in pieces[1:] if own or ASKS.match(text))]
    subject = " ".join(content_words(clauses[0]))
    parts = [clauses[0], *(f"{subject} {c}" for c in clauses[1:])]
    pair = COLON_PAIR.search(question)
    if pair and all(len(content_words(side)) >= 2 for side in pair.groups()):
        about = " ".join(content_words(question[: pair.start()]))
        parts += [f"{about} {side.strip()}" for side in pair.groups()]
    aspects = ASPECTS.search(question)
    if aspects:
        about = " ".join(content_words(question[: aspects.start()]))
        items = re.split(r",\s*|\s+(?:and|&)\s+", aspects.group(1))
        parts += [f"{about} {a.split(' - ')[0].strip()}" for a in items if content_words(a)]
    parts += comparison_parts(question)
    return list(dict.fromkeys(p for p in parts if p)) or [question]


def comparison_parts(question: str) -> list[str]:
    """Each side of "A vs B ..." with what is asked of it: "A strengths limitations", "B strengths limitations";
    of "A vs B vs C order" each of the three with "order"."""
    segments = SIDE_SPLIT.split(question)
    if len(segments) > 2 and re.search(r"\bvs\.?|\bversus\b", question, re.I):
        middle = [content_words(segment) for segment in segments[1:-1]]
        width = max(1, min(SIDE_WORDS, max(len(words) for words in middle)))  # a side is named in so many words
        last = content_words(SIDE_END.split(segments[-1], maxsplit=1)[0])
        first = content_words(SIDE_START.split(segments[0])[-1])[-width:]
        sides, shared = [first, *middle, last[:width]], last[width:]
        return [" ".join([*side, *shared]) for side in sides if side]
    compared = compared_sides(question)
    if compared is None:
        return []
    side_a, side_b, asked = compared
    return [" ".join([*side_a, *asked]), " ".join([*side_b, *asked])]


def compared_sides(question: str) -> tuple[list[str], list[str], list[str]] | None:
    """The words naming each side of "A vs B ..." and the words of what is asked of both; None if not one."""
    segments = SIDE_SPLIT.split(question, maxsplit=1)
    if len(segments) != 2 or not re.search(r"\bvs\.?|\bversus\b|\bcompared (?:to|with)\b", question, re.I):
        return None
    *asked_before, named = SIDE_START.split(segments[0])  # "pros and cons of | A"
    before = content_words(" ".join(asked_before))
    side_a = content_words(named)[-SIDE_WORDS:]
    side_b_text, *rest_text = SIDE_END.split(segments[1], maxsplit=1)
    rest = rest_text[0] if rest_text else ""
    side_b = content_words(side_b_text)[:SIDE_WORDS]
    if not side_a or not side_b:
        return None
    side_a, side_b = shared_words(side_a, side_b)
    return side_a, side_b, [*before, *content_words(rest)]  # "pros n cons of A vs B": A's pros and cons


def shared_words(side_a: list[str], side_b: list[str]) -> tuple[list[str], list[str]]:
    """Sides that name one word apart share the other side's words: "borrowed immutably vs mutably" is
    "borrowed mutably", "l2 vs l1 regularisation" is "l2 regularisation"; "hard link vs symlink" shares none."""
    if len(side_b) == 1 < len(side_a) and parallel(side_a[-1], side_b[0]):
        return side_a, [*side_a[:-1], *side_b]
    if len(side_a) == 1 < len(side_b) and parallel(side_a[0], side_b[0]):
        return [*side_a, *side_b[1:]], side_b
    return side_a, side_b


CONTRAST_PREFIXES = {"", "im", "in", "un", "non", "dis", "ir", "il", "de", "pre", "post", "over", "under", "sub",
                     "super", "inter", "intra", "multi", "single", "semi"}


def parallel(a: str, b: str) -> bool:
    """True if two words are variants of one another: the same word under contrasting prefixes (immutably /
    mutably, pre-order / post-order) or numbers (l1 / l2); "link" and "symlink" are not."""
    a, b = a.replace("-", ""), b.replace("-", "")
    if a == b:
        return False
    stem = os.path.commonprefix([a[::-1], b[::-1]])[::-1]
    if len(stem) >= 4 and {a[: -len(stem)], b[: -len(stem)]} <= CONTRAST_PREFIXES:
        return True
    numbered = re.fullmatch(r"([a-z]+)\d+", a)
    return numbered is not None and re.fullmatch(rf"{numbered.group(1)}\d+", b) is not None


def table_aspects(question: str) -> list[str]:
    """What a table question wants compared, one row each: the aspects it lists ("model size, training speed and
    performance"), else what it asks of each side ("pros", "cons"); none when it names none."""
    listed = ASPECTS.search(question) or ASPECT_PAIR.search(question)
    if listed:
        items = [TABLE_FILLER.sub("", a.split(" - ")[0]).strip()
                 for a in re.split(r",\s*(?:(?:and|&)\s+)?|\s+(?:and|&)\s+", listed.group(1))]
        return [a for a in items if a]
    asked = intents(question) & {"pros", "cons", "use", "assume"}
    return [name for name in ("pros", "cons", "use", "assume") if name in asked]


def content_words(text: str) -> list[str]:
    """The words of a text that say what it is about (no stopwords, no one-letter words)."""
    return [w for w in re.findall(r"[\w+#-]+", text.lower()) if w not in STOPWORDS and len(w) > 1]


@dataclass(frozen=True)
class Asked:
    """A question read once: what it asks and in what form; every stage of an answer reads this."""

    text: str  # the question as asked (misspellings corrected)
    query: str  # ... resolved with a follow-up's topic: what is searched
    parts: tuple[str, ...]  # its clauses, listed aspects and compared sides, each readable alone
    intents: frozenset[str]  # fix, pros, cons, use, assume, define
    language: str | None  # the programming language it names
    code: bool  # it asks for code
    table: bool  # ... for a table or a side-by-side comparison
    formula: bool  # ... for a formula
    references: bool  # ... for the notes' pointers elsewhere (links, papers)
    questions: bool  # ... for questions (exercises)
    listing: tuple[str, ...]  # the words of what it asks to list, if it asks for a list
    own_subject: bool  # it names its subject ("show me the code" does not)
    aspects: tuple[str, ...]  # what a table question wants compared, a row each
    compared: tuple[list[str], list[str], list[str]] | None  # "A vs B ...": A's words, B's words, what is asked
    result: bool = False  # ... for what code gives (an output, an error)
    said: str = ""  # a follow-up's previous answer, normalised (said_before): not worth saying again
    literals: tuple[str, ...] = ()  # what it writes as the notes would: numbers, names from code

    def already_said(self, text: str) -> bool:
        """True if a follow-up's previous answer quoted this text already."""
        text = plain_words(text)
        return len(text) >= SAID_MIN and text in self.said


SAID_MIN = 30  # characters: a shorter line may well be said twice


def plain_words(text: str) -> str:
    """Text without citation markers, emphasis or code marks, lower case, single spaces: to compare quotes."""
    return " ".join(re.sub(r"\[\d+\]|[*_`]", " ", text).lower().split())


def said_before(history: Sequence[tuple[str, str]], query: str, question: str) -> str:
    """What the conversation's last answer said, when the question follows up on it (else nothing)."""
    if query == question:
        return ""
    answers = [content for role, content in history if role == "assistant"]
    return plain_words(answers[-1]) if answers else ""


# What a question writes as the notes would: 1.5, set_open_params, _start, fit()
LITERAL = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])|(?<![\w.])_?[A-Za-z]\w*_\w*|(?<!\w)_[A-Za-z]\w*|\b\w+\(\)")


def literal_tokens(question: str) -> list[str]:
    """What a question writes as the notes would (numbers, identifiers): a unit that writes them too is the one
    it asks about ("petal length 5, width 1.5": `predict_proba([[5, 1.5]])`)."""
    return list(dict.fromkeys(LITERAL.findall(question)))


def literal_in(token: str, text: str) -> bool:
    """True if a text writes a literal as it is (not inside a longer name or number)."""
    return re.search(rf"(?<![\w.]){re.escape(token)}(?![\w])", text) is not None


def read_question(question: str, query: str | None = None, said: str = "") -> Asked:
    """Read a question (and the query it is searched with, if a follow-up's topic was added) once."""
    query = query or question
    return Asked(
        text=question, query=query, parts=tuple(question_parts(question)), intents=frozenset(intents(question)),
        language=language(question), code=wants_code(question), table=wants_table(question),
        formula=wants_formula(question), references=wants_references(question), questions=wants_questions(question),
        listing=tuple(listed_subject(question)), own_subject=names_subject(question),
        aspects=tuple(table_aspects(question)), compared=compared_sides(question) or compared_sides(query),
        result=wants_result(question), said=said, literals=tuple(literal_tokens(question)),
    )
