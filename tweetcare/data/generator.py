"""Seeded synthetic customer-care threads in Kaggle's twcs.csv format, with ground-truth labels.

The real file cannot ship with the project (licence, 2.8M rows), so tests, the demo and the
default pipeline run on this stand-in. Threads mimic twcs: a customer tweet mentioning @Brand,
the brand's reply opening with @<customer id>, follow-ups both ways, some tweets unanswered,
ids linked in both directions and rows listed thread by thread, newest reply first.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import string
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from tweetcare.core.schemas import LABEL_COLUMNS, LABEL_FLAG_COLUMN, TWCS_COLUMNS
from tweetcare.data import phrases as ph
from tweetcare.data.ambiguity import Ambiguity
from tweetcare.data.brands import BRANDS, SECTOR_CATEGORIES, Brand

# Slots whose values labels.csv records as entities.
ENTITY_LABELS: dict[str, str] = {
    "city": "LOCATION",
    "station": "LOCATION",
    "airport": "LOCATION",
    "person": "PERSON",
    "order": "ORDER_ID",
    "flight": "FLIGHT",
    "amount": "AMOUNT",
    "phone": "PHONE",
    "email": "EMAIL",
}
_CONTACT_SHARE = 0.06  # first tweets that overshare a phone number or an email
_CONTACT_FOLLOWUP_SHARE = 0.05
_MIXED_SHARE = 0.25  # negative or positive first tweets that go on to ask a neutral question
_NAMED_SHARE = 0.35  # first brand replies that greet the customer by name (half that later)
_SECOND_BODY_SHARE = 0.3  # brand replies that go on with a second sentence about the issue
_THANK_AGENT_SHARE = 0.15  # friendly follow-ups to a team that signs by name that name the agent
_BRAND_LINK_FIRST = 0.6  # times the brand's link_share: first replies that end with a link
_CHATTER = "chatter"  # the flag of a tweet with nothing to act on (schemas.TICKET_FLAGS)
FIRST_CUSTOMER_ID = 115712  # where twcs's anonymised customer ids start
START = datetime(2017, 10, 9, tzinfo=UTC)
SPAN_SECONDS = 7 * 24 * 3600 * 6  # six weeks, into late November
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LINK_CHARS = string.ascii_letters + string.digits
_PROGRESS_EVERY = 5000  # rows between progress callbacks
_NO_TICKET = frozenset({"praise", "other"})

Part = tuple[str, str | None]  # (text, entity label or None for plain text)


class _Dice:
    """Uniform draws from a seeded numpy Generator, pre-drawn in blocks for speed."""

    def __init__(self, seed: int, block: int = 1 << 16) -> None:
        self._rng = np.random.default_rng(seed)
        self._block = block
        self._it: Iterator[float] = iter(())

    def u(self) -> float:
        try:
            return next(self._it)
        except StopIteration:
            self._it = iter(self._rng.random(self._block).tolist())
            return next(self._it)

    def pick(self, seq: Sequence[str]) -> str:
        return seq[int(self.u() * len(seq))]

    def chance(self, p: float) -> bool:
        return self.u() < p

    def below(self, n: int) -> int:
        return int(self.u() * n)

    def weighted(self, weights: dict[str, float]) -> str:
        keys, cum = _cumulative(tuple(weights.items()))
        return keys[bisect.bisect_right(cum, self.u() * cum[-1])]


@cache
def _cumulative(items: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float]]:
    return tuple(k for k, _ in items), list(itertools.accumulate(w for _, w in items))


@cache
def _parse(template: str) -> tuple[tuple[str, str | None], ...]:
    """Split a template into literal text and slot names once."""
    return tuple((lit, name) for lit, name, _, _ in string.Formatter().parse(template))


@dataclass
class _Thread:
    brand: Brand
    customer: str
    category: str
    sentiment: str
    # a TICKET_FLAGS value for threads opened by spam, chatter or another language; "" otherwise
    flag: str = ""
    template: str | None = None  # the flagged opening tweet's template


@dataclass
class _Rows:
    tweet_id: list[int] = field(default_factory=list)
    author_id: list[str] = field(default_factory=list)
    inbound: list[bool] = field(default_factory=list)
    seconds: list[int] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    response: list[str | None] = field(default_factory=list)
    parent: list[int | None] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    sentiment: list[str] = field(default_factory=list)
    needs_ticket: list[bool] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    flag: list[str] = field(default_factory=list)


class _Writer:
    """Turns templates into tweet text, noise included, keeping entity spans exact."""

    def __init__(self, dice: _Dice) -> None:
        self.d = dice

    def link(self) -> str:
        return "https://t.co/" + "".join(self.d.pick(_LINK_CHARS) for _ in range(10))

    def digits(self, k: int) -> str:
        return "".join(str(self.d.below(10)) for _ in range(k))

    def slot(self, name: str, brand: Brand) -> str:
        d = self.d
        value: Callable[[], str] = {
            "city": lambda: d.pick(ph.CITIES),
            "station": lambda: d.pick(ph.STATIONS),
            "airport": lambda: d.pick(ph.AIRPORTS),
            "person": lambda: d.pick(ph.PERSON_NAMES),
            "order": self.order_id,
            "flight": lambda: (
                d.pick(ph.FLIGHT_PREFIXES) + d.pick(("", "", " ")) + str(100 + d.below(9800))
            ),
            "amount": self.amount,
            "product": lambda: d.pick(brand.products),
            "n": lambda: str(2 + d.below(30)),
            "time": lambda: d.pick(ph.TIMES),
            "link": self.link,
            "phone": self.phone,
            "email": self.email,
        }[name]
        return value()

    def order_id(self) -> str:
        style = self.d.below(4)
        if style == 0:
            return f"{self.digits(3)}-{self.digits(7)}-{self.digits(7)}"
        if style == 1:
            return "#" + self.digits(7)
        if style == 2:
            return "W" + self.digits(9)
        return self.d.pick(("CAS-", "REF", "")) + self.digits(8)

    def phone(self) -> str:
        d = self.d
        area, mid, last = str(201 + d.below(788)), self.digits(3), self.digits(4)
        style = d.below(5)
        if style == 0:
            return f"({area}) {mid}-{last}"
        if style == 1:
            return f"{area}-{mid}-{last}"
        if style == 2:
            return f"+1 {area} {mid} {last}"
        if style == 3:
            return f"07{self.digits(3)} {self.digits(6)}"
        return f"+44 7{self.digits(3)} {self.digits(6)}"

    def email(self) -> str:
        d = self.d
        name = d.pick(ph.PERSON_NAMES).lower()
        tail = d.pick(("", ".", "_")) + d.pick(ph.PERSON_NAMES).lower() if d.chance(0.5) else ""
        number = str(d.below(100)) if d.chance(0.5) else ""
        return f"{name}{tail}{number}@{d.pick(ph.EMAIL_DOMAINS)}"

    def amount(self) -> str:
        cur = self.d.pick(ph.CURRENCIES)
        style = self.d.below(4)
        if style == 0:
            return f"{cur}{5 + self.d.below(95)}.{self.digits(2)}"
        if style == 1:
            return f"{cur}1,{self.digits(3)}"
        return f"{cur}{5 + self.d.below(400)}"

    def fill(self, template: str, brand: Brand) -> list[Part]:
        parts: list[Part] = []
        for lit, name in _parse(template):
            if lit:
                parts.append((lit, None))
            if name is not None:
                parts.append((self.slot(name, brand), ENTITY_LABELS.get(name)))
        return parts

    def customer_noise(self, parts: list[Part], sentiment: str) -> list[Part]:
        """Real tweets: case games, typos, slang, emojis, hashtags, links, line breaks."""
        d = self.d
        style = d.u()
        out: list[Part] = []
        for text, label in parts:
            if label is None:
                if style < 0.06:
                    text = text.upper()
                elif style < 0.3:
                    text = text.lower()
                if d.chance(0.12):
                    text = self.slang(text)
                if d.chance(0.12):
                    text = self.typo(text)
                if d.chance(0.04):
                    text = text.replace(". ", ".\n", 1)
            out.append((text, label))
        if style >= 0.3 and out and out[0][1] is None and d.chance(0.6):
            out[0] = (out[0][0][:1].upper() + out[0][0][1:], None)
        tail = ""
        if d.chance(0.08):
            tail += " " + d.pick(ph.CHATTER)
        if d.chance(0.1):
            tail += " " + d.pick(ph.EMOJIS) * (1 + d.below(3))
        if d.chance(0.07):
            tail += " " + d.pick(ph.HASHTAGS)
        if d.chance(0.1):
            # a photo or a quoted tweet; both now and then
            tail += " " + self.link() + (" " + self.link() if d.chance(0.12) else "")
        if tail:
            out.append((tail, None))
        return out

    def typo(self, text: str) -> str:
        if len(text) < 4:
            return text
        i = 1 + self.d.below(len(text) - 2)
        if not text[i].isalpha():
            return text
        kind = self.d.below(3)
        if kind == 0:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        if kind == 1:
            return text[:i] + text[i + 1 :]
        return text[:i] + text[i] + text[i:]

    def slang(self, text: str) -> str:
        for word, short in (
            ("you", "u"),
            ("your", "ur"),
            ("please", "pls"),
            ("thanks", "thx"),
            ("because", "bc"),
            ("are", "r"),
            ("really", "rly"),
        ):
            text = text.replace(f" {word} ", f" {short} ")
        return text


def _inside(parts: list[Part], handle: str, u: float) -> list[Part]:
    """``handle`` put between two words of the first plain part that has a few (``u`` picks the
    gap), or at the front when none has."""
    for i, (text, label) in enumerate(parts):
        gaps = [k for k, ch in enumerate(text) if ch == " " and 0 < k < len(text) - 1]
        if label is None and len(gaps) >= 2:
            k = gaps[int(u * len(gaps))]
            inside = (text[:k] + " " + handle + text[k:], None)
            return [*parts[:i], inside, *parts[i + 1 :]]
    return [(handle + " ", None), *parts]


def _escape(parts: list[Part]) -> list[Part]:
    """twcs stores text HTML-escaped (``&amp;``); entity values never contain & < >."""
    return [
        (t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), lab)
        if lab is None
        else (t, lab)
        for t, lab in parts
    ]


def _assemble(parts: list[Part]) -> tuple[str, str]:
    pos = 0
    pieces: list[str] = []
    spans: list[dict[str, object]] = []
    for text, label in _escape(parts):
        if label is not None:
            spans.append({"start": pos, "end": pos + len(text), "label": label, "text": text})
        pieces.append(text)
        pos += len(text)
    return "".join(pieces), json.dumps(spans, ensure_ascii=False)


class _ThreadMaker:
    """Builds conversation threads one by one, appending rows in twcs order."""

    def __init__(self, seed: int, ambiguity: float = 1.0) -> None:
        self.d = _Dice(seed)
        self.w = _Writer(self.d)
        self.mix = Ambiguity(self.d, self.w, ambiguity)
        self.rows = _Rows()
        self.next_customer = FIRST_CUSTOMER_ID
        self.customers: list[str] = []

    # --- texts ---------------------------------------------------------------------------
    def mention(self, brand: Brand) -> str:
        return "@" + brand.handle if self.d.chance(0.96) else "@" + str(self.extra_id())

    def extra_id(self) -> int:
        return FIRST_CUSTOMER_ID + self.d.below(max(self.next_customer - FIRST_CUSTOMER_ID, 1) + 50)

    def opening_template(self, t: _Thread) -> str:
        d = self.d
        if t.template is not None:
            return t.template
        contact = ph.CUSTOMER_CONTACT.get(t.category, {}).get(t.sentiment)
        if contact and d.chance(_CONTACT_SHARE):
            return d.pick(contact)
        return d.pick(ph.CUSTOMER[t.category][t.sentiment])

    def first_tweet(self, t: _Thread) -> list[Part]:
        d = self.d
        body = self.w.fill(self.opening_template(t), t.brand)
        if not t.flag and t.sentiment != "neutral" and d.chance(_MIXED_SHARE):
            # real customers vent or thank, then ask: the question does not change the mood
            neutral = ph.CUSTOMER[t.category].get("neutral")
            if neutral:
                body += [(d.pick((". ", " ", "! ", "... ")), None)]
                body += self.w.fill(d.pick(neutral), t.brand)
        if not t.flag:
            body = [(d.pick(ph.CUSTOMER_PREFIXES), None), *body]
            body.append((d.pick(ph.CUSTOMER_SUFFIXES[t.sentiment]), None))
        if t.flag in ("", "chatter"):  # spam and other languages keep their own spelling
            body = self.w.customer_noise(body, t.sentiment)
        handle = self.mention(t.brand)
        if d.chance(0.06):
            handle += " @" + str(self.extra_id())
        if d.chance(0.03):
            handle += " @" + d.pick(BRANDS).handle
        # where the handle goes: real customers open with it, or name the brand mid-sentence
        # ("stuck at JFK because @Brand cancelled"), rarely at the end
        where = d.u()
        if where < 0.62:
            return [(handle + " ", None), *body]
        if where < 0.72:
            return [(d.pick(("Yo ", "hey ", "Dear ", "Hi ", ".", "")) + handle + " ", None), *body]
        if where < 0.75:
            return [*body, (d.pick((" ", " ", "?", " cc ")) + handle, None)]
        return _inside(body, handle, d.u())

    def customer_followup(self, t: _Thread, sentiment: str) -> list[Part]:
        d = self.d
        if d.chance(_CONTACT_FOLLOWUP_SHARE):
            template = d.pick(ph.CONTACT_FOLLOWUPS)
        elif d.chance(0.35):
            template = d.pick(
                ph.CUSTOMER[t.category].get(sentiment, ph.CUSTOMER[t.category][t.sentiment])
            )
        else:
            template = d.pick(ph.CUSTOMER_FOLLOWUPS[sentiment])
        body = self.w.customer_noise(self.w.fill(template, t.brand), sentiment)
        if "{n}" in t.brand.signature and sentiment != "negative" and d.chance(_THANK_AGENT_SHARE):
            # the reply was signed with a first name, and customers answer the person: thanks
            # only where the tweet is thankful, so the greeting does not blur the sentiment
            greeting = ("Thanks ", "Thank you ", "Cheers ") if sentiment == "positive" else ("Hi ",)
            name = [
                (d.pick(greeting), None),
                (d.pick(t.brand.agents), "PERSON"),
                (d.pick(("! ", ", ")), None),
            ]
            body = [*name, *body]
        return [("@" + t.brand.handle + " ", None), *body]

    def brand_reply(self, t: _Thread, sentiment: str, first: bool) -> list[Part]:
        d, b = self.d, t.brand
        parts: list[Part] = [(self.mix.address(t.customer) + " ", None)]
        own = self.mix.brand_body(b, t.template if t.flag == "not_english" else None)
        if own is not None:
            parts += own
        elif first:
            if d.chance(_NAMED_SHARE):
                parts += self.w.fill(d.pick(ph.BRAND_GREETINGS), b)
            opener = d.pick(b.openers) if d.chance(0.35) else d.pick(ph.BRAND_OPENERS[sentiment])
            parts += [(opener + " ", None)]
            bodies = ph.BRAND_BODIES[t.category]
            body = d.pick(bodies)
            parts += self.w.fill(body, b)
            if d.chance(_SECOND_BODY_SHARE):
                second = d.pick([other for other in bodies if other != body])
                parts += [(" ", None), *self.w.fill(second, b)]
            closer = b.handoff if d.chance(0.35) else d.pick(ph.BRAND_CLOSERS)
            if closer:
                parts.append((" " + closer, None))
        else:
            if d.chance(_NAMED_SHARE / 2):
                parts += self.w.fill(d.pick(ph.BRAND_GREETINGS), b)
            parts += self.w.fill(d.pick(ph.BRAND_FOLLOWUPS[sentiment]), b)
            if d.chance(_SECOND_BODY_SHARE):
                parts += [(" ", None), *self.w.fill(d.pick(ph.BRAND_BODIES[t.category]), b)]
        # real brand replies carry a link a quarter of the time, rarely two
        has_link = any("https://" in text for text, _ in parts)
        if not has_link and d.chance(b.link_share * (_BRAND_LINK_FIRST if first else 0.25)):
            parts.append((" " + self.w.link(), None))
        if d.chance(0.05):
            parts.append((d.pick((" 1/2", " 2/2")), None))
        if b.signature and self.mix.signed():
            agent = d.pick(b.agents)
            initials = agent[0] + "".join(
                d.pick(string.ascii_uppercase) for _ in range(d.below(2) + 1)
            )
            parts.append((b.signature.format(a=initials, n=agent), None))
        return parts

    # --- threads -------------------------------------------------------------------------
    def new_thread(self) -> _Thread:
        d = self.d
        brand = BRANDS[d.below(len(BRANDS))]
        flag = d.weighted(ph.FLAG_WEIGHTS)
        template = None
        if flag == "not_english":
            category, sentiment, template = ph.NON_ENGLISH[d.below(len(ph.NON_ENGLISH))]
        elif flag == "spam":
            category, sentiment, template = "other", "neutral", d.pick(ph.SPAM)
        elif flag == _CHATTER:
            category, sentiment = "other", d.weighted(ph.SENTIMENT_WEIGHTS["other"])
            template = d.pick(ph.CHATTER_TWEETS[sentiment])
        else:
            category = d.weighted(SECTOR_CATEGORIES[brand.sector])
            sentiment = d.weighted(ph.SENTIMENT_WEIGHTS[category])
        if self.customers and d.chance(0.08):
            customer = self.customers[d.below(len(self.customers))]
        else:
            customer = str(self.next_customer)
            self.next_customer += 1
            self.customers.append(customer)
        return _Thread(brand, customer, category, sentiment, flag, template)

    def add_thread(self, room: int) -> int:
        """Append one thread of at most ``room`` tweets; returns how many were written."""
        d, t = self.d, self.new_thread()
        depth = 1 if d.chance(0.12) else 2 + min(int(-math.log(1.0 - d.u()) * 1.3), 6)
        if t.flag:  # nobody argues with spam: at most one brand answer
            depth = 1 if t.flag == "spam" or d.chance(0.5) else 2
        depth = min(depth, room)
        # main chain alternates customer, brand, customer...; times go forward
        now = int(START.timestamp()) + d.below(SPAN_SECONDS)
        chain: list[tuple[bool, int, list[Part], str, str]] = []
        sentiment = t.sentiment
        for k in range(depth):
            inbound = k % 2 == 0
            flag = t.flag if k == 0 else ""
            if k > 0:
                now += 30 + int(-math.log(1.0 - d.u()) * (900 if inbound else 1500))
            if k == 0:
                parts = self.mix.customer(self.first_tweet(t), t.brand, False, self.extra_id)
            elif inbound:
                last = k + 2 >= depth
                sentiment = (
                    "positive"
                    if last and d.chance(0.35)
                    else d.pick((t.sentiment, t.sentiment, "neutral"))
                )
                parts = self.customer_followup(t, sentiment)
                promo = self.mix.shared_promo(t.brand)
                if promo is None:
                    parts = self.mix.customer(parts, t.brand, True, self.extra_id)
                else:
                    parts, sentiment, flag = promo, "neutral", _CHATTER
            else:
                parts = self.brand_reply(t, sentiment, first=k == 1)
                parts = self.mix.brand_text(parts, chain[-1][2])
            chain.append((inbound, now, parts, sentiment, flag))
        # an extra customer reply to the first brand answer (twcs lists several response ids)
        extra = None
        if depth >= 2 and len(chain) < room and d.chance(0.1):
            s = d.pick(("neutral", t.sentiment))
            extra = (True, chain[1][1] + 60 + d.below(1800), self.customer_followup(t, s), s, "")
        # twcs order: the newest tweet of the chain first, walking back to the first one
        ordered = [*reversed(chain)] + ([extra] if extra else [])
        positions = [*range(depth - 1, -1, -1)] + ([-1] if extra else [])
        base = len(self.rows.tweet_id) + 1
        ids = {pos: base + i for i, pos in enumerate(positions)}
        children: dict[int, list[int]] = {k: [] for k in range(depth)}
        for k in range(1, depth):
            children[k - 1].append(ids[k])
        if extra:
            children[1].append(ids[-1])
        for pos, (inbound, secs, parts, sent, flag) in zip(positions, ordered, strict=True):
            parent = None if pos == 0 else ids[1] if pos == -1 else ids[pos - 1]
            kids = children.get(pos, [])
            text, spans = _assemble(parts)
            r = self.rows
            r.tweet_id.append(ids[pos])
            r.author_id.append(t.customer if inbound else t.brand.handle)
            r.inbound.append(inbound)
            r.seconds.append(secs)
            r.text.append(text)
            r.response.append(",".join(map(str, kids)) or None)
            r.parent.append(parent)
            # a flagged follow-up (marketing copy passed on) is about nothing the thread is about
            r.category.append("other" if flag and pos != 0 else t.category)
            r.sentiment.append(sent if inbound else t.sentiment)
            r.needs_ticket.append(
                pos == 0
                and not t.flag
                and t.category not in _NO_TICKET
                and t.sentiment != "positive"
            )
            r.entities.append(spans)
            r.flag.append(flag)
        return len(ordered)


def format_created_at(seconds: Sequence[int]) -> list[str]:
    """Epoch seconds → twcs dates (``Tue Oct 31 22:10:47 +0000 2017``), locale-independent."""
    out = []
    for s in seconds:
        t = datetime.fromtimestamp(s, UTC)
        out.append(
            f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:02d} "
            f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000 {t.year}"
        )
    return out


def generate(
    rows: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    *,
    ambiguity: float = 1.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``rows`` synthetic tweets and their labels; the same seed gives the same data.

    ``progress`` (optional) is called with the number of rows written since the last call.
    ``ambiguity`` scales how often tweets blur who wrote them (``tweetcare.data.ambiguity``);
    0 gives cleanly separable data.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    maker = _ThreadMaker(seed, ambiguity)
    done = reported = 0
    while done < rows:
        done += maker.add_thread(rows - done)
        if progress is not None and (done - reported >= _PROGRESS_EVERY or done == rows):
            progress(done - reported)
            reported = done
    r = maker.rows
    tweets = pd.DataFrame(
        {
            "tweet_id": np.asarray(r.tweet_id, dtype=np.int64),
            "author_id": r.author_id,
            "inbound": np.asarray(r.inbound, dtype=bool),
            "created_at": format_created_at(r.seconds),
            "text": r.text,
            "response_tweet_id": r.response,
            "in_response_to_tweet_id": pd.array(r.parent, dtype="Int64"),
        },
        columns=list(TWCS_COLUMNS),
    )
    labels = pd.DataFrame(
        {
            "tweet_id": tweets["tweet_id"].to_numpy(),
            "category": r.category,
            "sentiment": r.sentiment,
            "needs_ticket": np.asarray(r.needs_ticket, dtype=bool),
            "entities": r.entities,
            LABEL_FLAG_COLUMN: r.flag,
        },
        columns=[*LABEL_COLUMNS, LABEL_FLAG_COLUMN],
    )
    return tweets, labels


def write_dataset(
    out_dir: Path, rows: int, seed: int, progress: Callable[[int], None] | None = None
) -> tuple[Path, Path]:
    """Write ``out_dir/twcs.csv`` and ``out_dir/labels.csv``; returns both paths."""
    tweets, labels = generate(rows, seed, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    twcs_path, labels_path = out_dir / "twcs.csv", out_dir / "labels.csv"
    tweets.to_csv(twcs_path, index=False)
    labels.to_csv(labels_path, index=False)
    return twcs_path, labels_path
