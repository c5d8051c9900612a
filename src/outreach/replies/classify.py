"""What a reply means, without a model: rules over the reply's words, in seven languages.

``classify(text)`` reads a reply as data (it is matched, never run or followed) and answers
with its intent, a confidence, and what a draft needs: the return date of an out-of-office
notice, the person a referral names, the question asked. The rules are patterns per
intent over the text folded to lower-case ASCII; when several intents match, the one that
asks the most of us wins (a request to stop beats everything, an out-of-office notice
beats what its body says, a referral beats "not me", "not now" beats "no", "no" beats
"yes", a yes beats a question).

The labelled replies in ``tests/replies/data`` measure it: ``bench/classifier_accuracy.py``
prints the accuracy and confusion matrix on the set the rules were written from and on a
held-out set written apart from them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from outreach.models import ReplyIntent

CLASSIFIER = "rules-v1"

# Strongest first: when several match, the first in this order wins.
PRECEDENCE = [
    ReplyIntent.UNSUBSCRIBE,
    ReplyIntent.OUT_OF_OFFICE,
    ReplyIntent.REFERRAL,
    ReplyIntent.WRONG_PERSON,
    ReplyIntent.LATER,
    ReplyIntent.NOT_INTERESTED,
    ReplyIntent.INTERESTED,
    ReplyIntent.QUESTION,
]

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december"
    "|janvier|fevrier|mars|avril|juin|juillet|septembre|octobre|novembre|decembre"
    "|januar|februar|marz|oktober|dezember|enero|febrero|marzo|abril|mayo|junio|julio"
    "|agosto|septiembre|octubre|noviembre|diciembre|janeiro|fevereiro|marco|maio|junho"
    "|julho|setembro|outubro|novembro|dezembro|gennaio|febbraio|aprile|maggio|giugno"
    "|luglio|settembre|ottobre|dicembre|januari|februari|maart|mei|juni|juli|augustus"
)

PATTERNS: dict[ReplyIntent, list[str]] = {
    ReplyIntent.UNSUBSCRIBE: [
        r"\bstop (messag|contact|writ|send|spamm|email|texting|bother)",
        r"\bremove me\b",
        r"\bunsubscribe\b",
        r"\b(do not|don'?t|dont|never) (contact|message|email|write to|dm|text) me",
        r"\bno more (messages|emails|spam)\b",
        r"\bspam\b",
        r"\breport (you|this|your)",
        r"^\W*stop\W*$",
        r"\bleave me alone\b",
        r"\b(take|get) me off\b",
        r"\bopt(ing)? out\b",
        r"\bne (plus )?me (contactez|contacter|ecrivez|ecrire) plus\b",
        r"\bne plus me (contacter|solliciter|ecrire)\b",
        r"\bdesinscri",
        r"\bnicht mehr (kontaktieren|schreiben|anschreiben|kontakt)",
        r"\b(kontaktieren|schreiben) sie mich (bitte )?nicht mehr\b",
        r"\b(horen|hoeren) sie auf\b",
        r"\bno me (escribas|escriba|contactes|contacte|envies|envie|mandes) mas\b",
        r"\bdeja de (escribir|enviar|mandar)",
        r"\bpare de me (mandar|enviar|contatar)",
        r"\bnao me (contate|contacte|mande|envie) mais\b",
        r"\bnon (contattarmi|scrivermi) piu\b",
        r"\bsmetti(la)? di (scrivermi|contattarmi)",
        r"\bniet meer (contacteren|benaderen|mailen|berichten)",
        r"\bstop met (berichten|mailen)",
    ],
    ReplyIntent.OUT_OF_OFFICE: [
        r"\bout of (the )?office\b",
        r"\booo\b",
        r"\bauto(matic)?[ -]?(reply|response)\b",
        r"\bon (vacation|holiday|holidays|leave|parental leave|maternity leave|paternity leave"
        r"|sick leave|pto|annual leave)\b",
        r"\b(currently )?away (from|until|till|on)\b",
        r"\b(i am|i'm|im) (currently )?(away|travell?ing)\b",
        r"\blimited access to (my )?(email|e-mail|messages)\b",
        r"\b(back|returning|return) (on|in the office|to the office)\b",
        r"\bwill be back\b",
        r"\babsente? (du bureau )?jusqu",
        r"\ben (conge|vacances)\b",
        r"\bde retour le\b",
        r"\bnicht im (buro|buero)\b",
        r"\b(abwesend|im urlaub|in elternzeit)\b",
        r"\bde vacaciones\b",
        r"\bfuera de la oficina\b",
        r"\bausente hasta\b",
        r"\bfora do escritorio\b",
        r"\bde ferias\b",
        r"\bin ferie\b",
        r"\bfuori (sede|ufficio)\b",
        r"\bafwezig\b",
        r"\bop vakantie\b",
        r"\bniet op kantoor\b",
    ],
    ReplyIntent.REFERRAL: [
        r"\b(talk|speak|chat) (to|with) (my |our )?(colleague |boss |manager )?[a-z]+ [a-z]+",
        r"\breach out to (my |our )?[a-z]",
        r"\b(please )?contact (my |our )?(colleague )?(?!me\b|us\b|the front desk)[a-z]+ [a-z]+",
        r"\b(better |you should |you could |please )?ask (my |our )?(colleague )?"
        r"(?!me\b|us\b|again\b|yourself\b)[a-z]+ [a-z]+",
        r"\bforward(ed|ing)? (this|it|your message) to\b",
        r"\bright (person|contact) (would be|is)\b",
        r"\bget in touch with\b",
        r"\bcc'?(ed|ing)?\b",
        r"\badressez[- ]vous (plutot )?a\b",
        r"\bvoyez (plutot )?avec\b",
        r"\bcontactez (plutot )?[a-z]+ [a-z]+",
        r"\bwenden sie sich (bitte )?an\b",
        r"\bsprechen sie (mit|bitte mit)\b",
        r"\b(mejor )?habla(r)? con\b",
        r"\bcontacta (a|con)\b",
        r"\bfale com\b",
        r"\bprocure (o|a)\b",
        r"\bparla(re)? con\b",
        r"\bneem contact op met\b",
    ],
    ReplyIntent.WRONG_PERSON: [
        r"\bnot the (right|correct|best) (person|contact|one)\b",
        r"\bwrong (person|guy|contact|company|number)\b",
        r"\b(i )?left (that|the|this) (company|firm|job)\b",
        r"\b(don'?t|dont|do not|no longer) work (there|at|for|with)\b",
        r"\bnot (my|in my) (area|department|remit|role|call)\b",
        r"\bnot (the one|in charge|responsible|involved)\b",
        r"\bconfused (me )?with someone\b",
        r"\b(someone|somebody) else\b",
        r"\bn'?est pas moi qui\b",
        r"\bpas (la bonne|le bon) (personne|interlocuteur)\b",
        r"\bne (m'en occupe|suis plus)\b",
        r"\bnicht (zustandig|zustaendig|der richtige|die richtige)\b",
        r"\bnicht mehr bei\b",
        r"\bno soy (la persona|el indicado|la indicada)\b",
        r"\bya no trabajo\b",
        r"\bnao sou a pessoa\b",
        r"\bnao trabalho mais\b",
        r"\bnon sono (la persona|il referente)\b",
        r"\bnon lavoro piu\b",
        r"\bniet de (juiste|goede) persoon\b",
        r"\bwerk (daar|er) niet meer\b",
    ],
    ReplyIntent.LATER: [
        r"\bnot (right )?now\b",
        r"\bnot at the moment\b",
        r"\bnot (the right|a good) (moment|time)\b",
        r"\b(bad|poor) timing\b",
        r"\btiming (isn'?t|is not)\b",
        r"\bmaybe (later|next|in)\b",
        r"\blater (this|in the|next) (year|quarter|month)\b",
        r"\bnext (quarter|year|month)\b",
        r"\b(in|after) (a few|a couple of|two|three|four|six|\d+) (weeks|months)\b",
        r"\bafter the (summer|holidays|holiday|new year|launch|quarter)\b",
        r"\b(reach out|ping me|follow up|get back to me|try (me )?again|reconnect|circle back"
        r"|check back|contact me|come back|ask me again)\b.*\b(in|after|next|later|then)\b",
        r"\bbudget freeze\b",
        r"\b(swamped|slammed|too busy)\b",
        r"\bbusy with\b",
        r"\bq[1-4]\b.*\b(again|then|later|reach|revisit)\b",
        r"\bpas (maintenant|pour le moment|le bon moment)\b",
        r"\bplus tard\b",
        r"\b(recontactez|relancez)[- ]moi\b",
        r"\bdans (quelques|deux|trois|six) mois\b",
        r"\bim moment (leider )?nicht\b",
        r"\b(spater|spaeter)\b",
        r"\bnachstes (jahr|quartal)\b",
        r"\bahora no\b",
        r"\bmas adelante\b",
        r"\bel (mes|ano|trimestre) que viene\b",
        r"\bagora nao\b",
        r"\bmais tarde\b",
        r"\bproximo (trimestre|mes|ano)\b",
        r"\bnon (ora|adesso|in questo momento)\b",
        r"\bpiu avanti\b",
        r"\bnu (even )?niet\b",
        r"\blater dit jaar\b",
    ],
    ReplyIntent.NOT_INTERESTED: [
        r"\bnot interest",
        r"\bno,? thanks?\b",
        r"\bno thank you\b",
        r"\bnot a (good )?fit\b",
        r"\bnot for us\b",
        r"\bwe'?re (all )?good\b",
        r"\b(we|i)'?ll pass\b",
        r"\bpass on this\b",
        r"\balready (have|use|using|work with|got)\b",
        r"\bhappy with (our|what|the)\b",
        r"\bin[- ]house\b",
        r"\bno need\b",
        r"\bnot looking\b",
        r"\bno interest\b",
        r"\bnah\b",
        r"(^|[.!] )no[.!]*$",
        r"\bexactly what (my|i|we)\b.*\b(missing|needed)\b",
        r"\bjust what i needed\b",
        r"\bpas interess",
        r"\bne (nous |m'?)interesse pas\b",
        r"\bpas besoin\b",
        r"\bnon merci\b",
        r"\bkein (interesse|bedarf)\b",
        r"\bnicht interessiert\b",
        r"\bno (nos|me) interesa\b",
        r"\bno,? gracias\b",
        r"\bnao (temos|tenho) interesse\b",
        r"\bnao,? obrigad",
        r"\bnon (ci|mi) interessa\b",
        r"\bno,? grazie\b",
        r"\bgeen interesse\b",
        r"\bniet geinteresseerd\b",
        r"\bnee,? bedankt\b",
    ],
    ReplyIntent.INTERESTED: [
        r"\binte?re?sted\b",
        r"\binteresting\b",
        r"\bsounds (good|great|interesting|useful)\b",
        r"\blet'?s (talk|chat|do it|connect|meet|schedule|set|book|hop|jump)\b",
        r"\bhappy to (chat|talk|learn|hop|jump|meet|discuss)\b",
        r"\bopen to (a )?(quick )?(chat|call|conversation|meeting)\b",
        r"\b(book|schedule|set up|arrange) (a |some |something|time)",
        r"\bsend (me |over )?(a |the |your |some )?(calendar|invite|link|deck|one[- ]pager|info"
        r"|details|more)\b",
        r"\bdemo\b",
        r"^\W*(yes|yeah|yep|sure|ok|okay|absolutely|definitely)\b",
        r"\bwould love\b",
        r"\bworks for me\b",
        r"\bwhen are you (free|available)\b",
        r"\bcould be useful\b",
        r"\bcall me\b",
        r"\bavec plaisir\b",
        r"\b(ca|cela) m'?interesse\b",
        r"\bon peut (s'?appeler|en parler|echanger)\b",
        r"\benvoyez[- ]moi\b",
        r"\bgerne\b",
        r"\bklingt (spannend|gut|interessant)\b",
        r"\btermin\b",
        r"\bme interesa\b",
        r"\bclaro\b",
        r"\bagendemos\b",
        r"\bpodemos (hablar|marcar|conversar)\b",
        r"\btenho interesse\b",
        r"\bmi interessa\b",
        r"\bpossiamo sentirci\b",
        r"\bgraag\b",
        r"^\W*(ja|oui|si|sim)\b",
    ],
    ReplyIntent.QUESTION: [
        r"\?",
        r"\bhow (much|many|does|do|is)\b",
        r"\b(pricing|price|cost|costs)\b",
        r"^\W*(does|do|is|are|can|could|what|who|which|where|why|how) ",
        r"\bcan you (share|send|explain|tell)\b",
        r"\bwhat exactly\b",
        r"\b(quel|quelle|combien|comment)\b",
        r"\b(was kostet|wie viel|wieviel|funktioniert)\b",
        r"\b(cuanto|cuesta|como funciona)\b",
        r"\b(quanto|custa|preco|prezzo)\b",
        r"\b(hoeveel|kost het)\b",
    ],
}

# A pitch back at us: whatever it asks, it is not an answer to ours.
PITCH = [
    r"\bwe (also |actually )?(sell|offer|provide|run) ",
    r"\b(want|like) to partner\b",
    r"\bpartnership\b",
    r"\bour (deck|services|agency|offer)\b",
]

_COMPILED = {
    intent: [re.compile(pattern) for pattern in patterns] for intent, patterns in PATTERNS.items()
}
_PITCH = [re.compile(pattern) for pattern in PITCH]
_LOW = {ReplyIntent.INTERESTED, ReplyIntent.QUESTION}  # what a pitch back outweighs

# What follows these is the return date of an out-of-office notice.
_UNTIL = re.compile(
    r"\b(until|till|til|through|back on|back|returning on|returning|return on|jusqu'?au"
    r"|jusqu'?a|de retour le|bis zum|bis|hasta el|hasta|ate|fino al|fino a|tot)\b\s*"
)
_DATE_NEAR = re.compile(
    rf"(\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[./]\d{{1,2}}(?:[./]\d{{2,4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th|er|\.)?\s+(?:de\s+)?(?:{_MONTHS})(?:\s+\d{{4}})?"
    rf"|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)"
)
# A person named: two or three capitalised words (the original text, not the folded one).
_NAME = re.compile(
    r"\b([A-ZÀ-Ý][a-zà-ÿ'\u2019-]+(?:\s+(?:de|da|van|von|der|del|O')?\s*[A-ZÀ-Ý][a-zà-ÿ'\u2019-]+){1,2})"
)
_NOT_NAMES = {"Please", "Not", "The", "You", "Hi", "Hello", "Thanks", "Better", "Mejor"}


@dataclass(frozen=True)
class Classification:
    intent: ReplyIntent
    confidence: float
    classifier: str = CLASSIFIER
    return_date: date | None = None  # out of office: back on this day
    referral: str | None = None  # the person a referral names
    question: str | None = None  # the question asked, as written
    matched: tuple[str, ...] = ()  # every intent whose rules matched, strongest first

    def as_dict(self) -> dict[str, object]:
        return {
            "intent": self.intent.value,
            "confidence": self.confidence,
            "classifier": self.classifier,
            "return_date": self.return_date.isoformat() if self.return_date else None,
            "referral": self.referral,
            "question": self.question,
            "matched": list(self.matched),
        }


def fold(text: str) -> str:
    """Lower-case ASCII with one space between words: what the patterns read."""
    text = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("\u2018", "'"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def classify(text: str, *, today: date | None = None) -> Classification:
    """The intent of one reply (``today``: from when an out-of-office date is read)."""
    folded = fold(text)
    hits = {
        intent: sum(1 for pattern in _COMPILED[intent] if pattern.search(folded))
        for intent in PRECEDENCE
    }
    matched = [intent for intent in PRECEDENCE if hits[intent]]
    if not matched:
        return Classification(ReplyIntent.OTHER, 0.5 if folded else 0.3)
    intent = matched[0]
    if intent in _LOW and any(pattern.search(folded) for pattern in _PITCH):
        return Classification(ReplyIntent.OTHER, 0.55, matched=("pitch", *map(str, matched)))
    others = len(matched) - 1
    if intent is ReplyIntent.QUESTION and hits[intent] == 1 and "?" in folded:
        confidence = 0.6  # only its question mark says so
    else:
        confidence = 0.65 + 0.1 * min(hits[intent], 3) - 0.07 * others
    return Classification(
        intent,
        round(min(0.95, max(0.35, confidence)), 2),
        return_date=_return_date(folded, today) if intent is ReplyIntent.OUT_OF_OFFICE else None,
        referral=_person(text) if intent is ReplyIntent.REFERRAL else None,
        question=_question(text) if ReplyIntent.QUESTION in matched else None,
        matched=tuple(i.value for i in matched),
    )


def _return_date(folded: str, today: date | None) -> date | None:
    """The date an out-of-office notice says it ends, if it says one."""
    import dateparser

    found = _UNTIL.search(folded)
    window = folded[found.end() : found.end() + 40] if found else folded
    when = _DATE_NEAR.search(window)
    if when is None:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", when.group(1)):
        try:
            return date.fromisoformat(when.group(1))
        except ValueError:
            return None
    base = datetime.combine(today or date.today(), datetime.min.time())
    parsed = dateparser.parse(
        when.group(1),
        languages=["en", "fr", "de", "es", "pt", "it", "nl"],
        settings={"PREFER_DATES_FROM": "future", "RELATIVE_BASE": base, "DATE_ORDER": "DMY"},
    )
    return parsed.date() if parsed else None


_AFTER_CUE = re.compile(
    r"\b(?:ask|talk to|speak to|speak with|contact|reach out to|forwarded (?:this|it) to)\s+"
    r"(?!me\b|us\b|my\b|our\b|the\b|him\b|her\b)([a-z]+ [a-z]+)"
)


def _person(text: str) -> str | None:
    """The person a referral names: capitalised words, else the two after its cue."""
    for match in _NAME.finditer(text):
        words = match.group(1).split()
        while words and words[0] in _NOT_NAMES:
            words = words[1:]
        if len(words) >= 2:
            return " ".join(words)
    found = _AFTER_CUE.search(fold(text))
    return found.group(1).title() if found else None


def _question(text: str) -> str | None:
    for sentence in re.split(r"(?<=[.!?])\s+", text.strip()):
        if sentence.endswith("?"):
            return sentence
    return None
