"""How cards word things: headings read as questions and topics, terms in mid-sentence case (pure)."""

from __future__ import annotations

import re

from rag.answer.note import NoteView
from rag.answer.question import content_words
from rag.ingest.chunk import note_title


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A heading that asks: ends with "?", or opens with a question word or an exercise verb.
ASKS = re.compile(r"^(?:how|what|why|when|which|where|who|is|are|can|does|do|should|explain|describe|define|"
                  r"compare|write|implement|list|name|differentiate)\b", re.I)
# A page's furniture, not its subject: tables of contents, reading lists, licences.
NAVIGATION = (r"(?:table of )?contents|references?|see also|footnotes|notes and references|references and footnotes|"
              r"(?:further|additional|recommended) reading|(?:\w+ )?links|(?:\w+ )?resources|bibliography|sources|"
              r"citations|acknowledge?ments|credits|licen[cs]e|copyright|navigation|changelog|related(?: \w+)?|"
              r"read more|external links")
# Headings nobody can be asked about: a card under them would be vague.
VAGUE = re.compile(r"^(?:summary|in summary|conclusion|conclusions|overview|introduction|notes?|additional notes|"
                   r"example|examples|output|explanation|code|code example|example usage|usage|result|results|"
                   r"final thoughts|recap|tl;?dr|note|answer|solution|details|more|misc|other|why|how|what|"
                   r"example (?:in|with|of|without)\b.*|explanation of .*|.*\bexample\b.*|.*\boutput\b.*|"
                   r"step \d+.*|setup|getting started|exercises?|discussions?|(?:\w+ ){0,2}questions|"
                   + NAVIGATION + ")$", re.I)
CHAT = re.compile(r"^(?:so|but|and|then|ok|okay|yes|no|also|actually|wait|hmm|right)\b", re.I)
NONE = ("", "")
# Words a title uses for the document itself: "VIP Cheatsheet: Logic-based models" is about logic-based models.
DOCUMENT_WORDS = word_set("""vip cheatsheet cheat sheet study guide notes lecture chapter handout tutorial primer
reference card summary""")
# "a comparison between LoRA and QLoRA", "the differences between RNN and LSTM", "LSTM vs Transformer"
COMPARED = re.compile(r"\b(?:comparison|comparing|differences?|distinction)\s+(?:between|of)\s+"
                      r"([A-Z][^,:;]{0,50}?)\s+(?:and|with|vs\.?|versus)\s+([A-Z][^,:;]{0,50}?)\s*(?:[:,;.]|$)")
GENERIC_NAME = re.compile(r"^(?:readme|index|notes?|untitled|main|cheat ?sheet)$", re.I)  # file names that say nothing
MONTHS = word_set("""january february march april may june july august september october november december jan feb
mar apr jun jul aug sep sept oct nov dec""")
DATE = re.compile(r"\b\d{1,2},? \d{4}\b|\b\d{4}-\d{2}-\d{2}\b")
IMPERATIVE = word_set("""analyze analyse augment use apply check choose handle avoid consider try collect monitor tune
evaluate define identify select perform ensure add remove train test compute calculate plot
implement run start keep make let get set build create""")
SUBTITLE_WORDS = word_set("""a an the in depth in-depth detailed comprehensive complete quick brief short overview
comparison introduction guide explanation summary deep dive primer tutorial""")
ADVICE = word_set("always never don do be")  # "Always be positive": a rule to follow, not a topic
VAGUE_WORDS = frozenset({"use", "one", "which", "choose", "work", "works", "matter", "matters", "mean", "better"})
FORMULA_VAGUE = frozenset({"overview", "formulation", "intuition", "derivation", "equations", "equation", "formula",
                           "formulas", "mathematical", "example", "interpretation", "explanation", "step", "steps",
                           "optimization", "problem", "solution", "conditions", "case", "definition", "calculation",
                           "computation", "evaluation"})
NUMBERING = re.compile(r"^\s*(?:\d{1,3}(?:\.\d{1,3})*|[A-Za-z]|[IVX]+)[.)]?\s+(?=\S)"
                       r"|^\s*(?:step|part)\s+\d+\s*[:.)-]\s*", re.I)
# Nouns a reader is asked to name the members of ("Name the advantages of SVM (3)").
LIST_NOUNS = word_set("""advantages disadvantages benefits drawbacks limitations features characteristics
points concepts
differences types applications steps solutions techniques methods strategies assumptions challenges
components layers architectures variants examples scenarios considerations definitions issues
properties rules metrics losses ways reasons principles pros cons uses stages phases kinds
categories factors causes effects approaches tips best practices functions algorithms models terms
elements parts ingredients directions instructions requirements prerequisites materials""")
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


def heading_title(text: str) -> str:
    """A heading's words without numbering, emphasis, a notebook's `#` or a trailing colon."""
    title = re.sub(r"[*_`]+", "", text).strip().lstrip("#").strip()
    title = re.sub(r"\s*(?:\[edit\]|#|¶|\(\d+\))$", "", title)  # "[edit]" links, anchors, counts ("(37)")
    title = re.sub(r"^[^\x00-\u1fff\w]+\s*", "", title)  # emoji and glyphs before the words ("📝 Notebooks")
    title = NUMBERING.sub("", title).strip().rstrip(":!\u200b").strip()
    title = re.sub(r"^\[(.+)\]$", r"\1", title)  # "[**Training**]": a book's highlight, not a link
    return re.sub(r"\s+", " ", title)


def asks(title: str) -> bool:
    """A heading that is a question a reader could answer (a long prose line typed after `#` is not one)."""
    words = len(title.split())
    return 2 <= words <= 25 and (title.endswith("?") or (bool(ASKS.match(title)) and words >= 3))


def names_topic(title: str) -> bool:
    """A heading that names something to study: words, not a date, a glyph ("h", "XTx") or page furniture."""
    words = [w for w in re.findall(r"[^\W\d_]{3,}", title) if w.lower() not in MONTHS]
    if not words or VAGUE.match(title) or DATE.search(title):
        return False
    return len(words) > 1 or len(words[0]) > 3 or words[0].isupper()


def shares_word(a: str, b: str) -> bool:
    return bool({w.rstrip("s") for w in content_words(a)} & {w.rstrip("s") for w in content_words(b)})


def parent_title(view: NoteView, i: int) -> str:
    """The nearest heading above heading i at a higher level, as a topic name."""
    path = view.paths[i]
    for name in reversed(path[:-1]):
        title = heading_title(name).rstrip(":?. ")
        head, _, tail = title.partition(": ")  # "Linear Regression: A Comprehensive Overview"
        title = tail if tail and set(re.findall(r"\w+", head.lower())) <= DOCUMENT_WORDS else head  # "Cheatsheet: X"
        words = re.findall(r"[\w&]+", title.lower())
        if title and not VAGUE.match(title) and not all(w in GENERIC_WORDS for w in words) and not asks(title) \
                and len(words) <= 10:
            return title.lower() if title.isupper() and len(title) > 5 else term_case(title)  # "MULTICLASSING"
    led = lead_in_topic(view, i)
    if led:
        return led
    name = note_title(view.source)
    if not any(line.startswith("# ") for line in view.lines) and not GENERIC_NAME.match(name):
        return term_case(name)  # a note untitled inside is titled by its file name, as Obsidian shows it
    return ""


def lead_in_topic(view: NoteView, i: int) -> str:
    """What a run of sibling headings is about when no heading above says: the prose that introduces the run
    ("Here's a comparison between **LoRA (…)** and **QLoRA (…)**:" -> "LoRA vs QLoRA"; "Long Short-Term Memory (LSTM)
    networks … come with their own set of challenges:" -> "LSTM")."""
    depth = len(view.paths[i]) if i < len(view.paths) else 0
    k = i - 1
    while k >= 0 and len(view.paths[k]) >= depth and view.paths[k][:depth - 1] == view.paths[i][:depth - 1]:
        k -= 1  # back over the siblings' sections to what stands before the first of them
    if k < 0 or view.units[k].kind != "sentence" or not view.units[k].text.rstrip("*_ ").endswith(":"):
        return ""
    text = " ".join(u.text for u in view.units[: k + 1] if u.kind == "sentence" and u.block == view.units[k].block)
    pair = COMPARED.search(re.sub(r"[*_]+", "", text))
    if pair:
        return f"{short_name(pair.group(1))} vs {short_name(pair.group(2))}"
    bold = list(dict.fromkeys(short_name(b) for b in re.findall(r"\*\*([^*]{2,60})\*\*", text)))
    if len(bold) == 1:
        return bold[0]
    named = re.search(r"\b[A-Z][\w-]*(?: [\w-]+){0,5} \(([A-Z][A-Za-z0-9-]{1,10})\)", text)
    return named.group(1) if named else ""


def short_name(term: str) -> str:
    """"LoRA (Low-Rank Adaptation)" -> "LoRA": the shorter of a name and its abbreviation."""
    term = term.strip(" .,:")
    found = re.fullmatch(r"(.+?)\s*\((.+)\)", term)
    return min(found.groups(), key=len).strip() if found else term


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


def explain(view: NoteView, i: int, title: str) -> str:
    """"Explain overfitting (issues with RNN)" for a topic heading; "" for a step or a reason under a question,
    and for a one-word heading with no topic above it (too little to ask about)."""
    head, _, tail = title.partition(": ")
    if tail and set(re.findall(r"\w+", tail.lower())) <= SUBTITLE_WORDS:  # "SVM: An In-Depth Overview"
        title = head
    name = term_case(title)
    words = re.findall(r"[\w&]+", title.lower())
    parent = parent_title(view, i)
    participle = words[0].endswith("ed") and len(words) > 1 and words[1] in ("by", "to", "with", "in", "for")
    under_question = len(view.paths[i]) > 1 and asks(heading_title(view.paths[i][-2]))
    if words[0] in IMPERATIVE | ADVICE | {"to"} or words[0].endswith("ing") or participle or under_question:
        return ""  # a step or a reason under a question: part of that question's answer, vague alone
    if len(words) > 1 and words[1] in ("of", "in", "for", "behind"):
        name = f"the {name}"
    if parent and not shares_word(title, parent):
        return f"Explain {name} ({parent})"
    return f"Explain {name}" if len(words) > 1 else ""


# An auxiliary a question puts before its subject: "Why MSE is preferred?" -> "Why is MSE preferred?"
AUXILIARY = word_set("is are was were can could should will would does do did has have may might must")
# Verbs a heading writes after its subject ("How Dropout Works"): asked with "does" ("How does dropout work?").
DOES = word_set("""work help matter differ happen affect relate behave learn handle improve reduce prevent solve scale
fit converge change impact operate function interact generalize cause compare contribute lead perform evolve""")
IMPERATIVE_ASK = re.compile(r"^(?:explain|describe|define|compare|write|implement|list|name|differentiate)\b", re.I)
ASKED_ABOUT = re.compile(r"^(how|why|when|where)\s+(.+?)\??$", re.I)


def grammatical(question: str) -> str:
    """A question a heading words as a statement, in question order: "How dropout works?" -> "How does dropout
    work?", "How the ROC curve is plotted?" -> "How is the ROC curve plotted?"; others as they are."""
    if re.search(r"[?.!;]\s", question):  # two sentences: the notes' own wording, left alone
        return question
    if IMPERATIVE_ASK.match(question):  # "Explain how flap detection works?": a task, not a question
        return question.rstrip("?")
    found = ASKED_ABOUT.match(question)
    if not found:
        return question
    wh, rest = found.group(1), found.group(2).split()
    first = rest[0].lower()
    if first in AUXILIARY | {"to", "many", "much", "not", "about", "come", "so"} or (first in DOES and len(rest) > 1):
        return question  # already a question ("How does …", "How to …", "Why use …")
    for n, word in enumerate(rest[1:7], 1):
        low = word.lower().strip(",")
        if low in AUXILIARY:  # "Why MSE is preferred" -> "Why is MSE preferred"
            return f"{wh} {low} {' '.join(rest[:n])} {' '.join(rest[n + 1:])}".rstrip() + "?"
        base = low[:-1] if low.endswith("s") else low
        if base in DOES:
            aux = "does" if low.endswith("s") else "do"
            return f"{wh} {aux} {' '.join(rest[:n])} {base} {' '.join(rest[n + 1:])}".rstrip() + "?"
        if not re.fullmatch(r"[\w'’-]+|\(.*|.*\)|`.*`?", word) or low in ("and", "or", "but", "if", "that", "which"):
            break  # a clause, not a subject
    return question


def name_case(view: NoteView, term: str) -> str:
    """A term as the note writes it mid-sentence: a name keeps its capitals ("New Zealand", "Nash equilibrium",
    "Monte Carlo"), a common noun is lowered ("Recurrent Neural Networks" -> "recurrent neural networks")."""
    lowered = term_case(term)
    if lowered == term or " " in term and term.split()[-1].islower() and not term.split()[0][1:].islower():
        return lowered
    prose = "\n".join(u.text for u in view.units if u.kind in ("sentence", "item"))  # headings are title case
    found = re.findall(rf"(?<=[a-z,] ){re.escape(term)}\b", prose, re.I)  # not a sentence's first word
    return term if found and all(f == term for f in found) else lowered
