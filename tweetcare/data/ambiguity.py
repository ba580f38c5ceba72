"""The ambiguity real customer-care tweets carry, so inbound/outbound is not a solved problem.

Without it every generated customer tweet opens with @Brand, every brand reply is a full
apology-body-closer with a signature, and any inbound model scores 1.0. Real twcs is messier:
customers tag other users and write like agents when they help each other, quote or retweet what
a brand told them, pass on its marketing copy and make more typos; agents ask bare questions, send
one-word replies and promos, skip the signature and answer in the customer's language (and on
live X, name the customer by a screen name). Each habit below happens to a seeded share
of tweets (``RATES``, all scaled by one ``ambiguity`` factor; 0 leaves the data as it was and
draws no dice). Labels stay truthful: whoever wrote a tweet keeps its ``inbound`` value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from tweetcare.data import phrases as ph
from tweetcare.data.brands import SIGNATURE_STYLES, Brand

Part = tuple[str, str | None]  # (text, entity label or None), as in the generator

# Share of tweets each habit touches at ambiguity 1.0. Calibrated with benchmarks/realism.py on
# the first 1,000 real twcs rows, where 14% of customer tweets open with a user id, 19% never
# name the brand, 4% quote someone and 62% of brand replies are signed: the customer-side habits
# sit near those shares (more blur there costs the train-generated/test-real score), the
# brand-side ones are pushed until a held-out generated split is about as hard as real tweets.
# Marketing copy on both sides and more one-liners brought the baseline's generated-minus-real F1
# gap from +0.026 to +0.013 (seeds 0-2) and its train-generated/test-real F1 from 0.915 to 0.920.
# The two sides' promo counts are kept near each other: when one side posts most of them, the
# model just learns that side and the data gets easier again. A few replies name the customer by a
# screen name: `clean_text` masks any non-numeric handle as <brand>, so without them a brand reply
# to a live X user ("@dave99 Sorry about that, please DM us") read as a customer tweet (the
# baseline's P(inbound) 0.22-0.30 -> 0.05-0.11 at 3%; more costs the realism score: 0.908 at 10%).
# Scored on real tweets (the baseline trained on generated data only), agent-voiced customers,
# bare questions and customers opening with a user id were overdone: at 8%, 30% and 16% the
# generated customers said what real agents say ("we love", "sorry to", "hope you") and 42% of
# brand replies held a "?" (11-21% of real ones). At 4%, 15% and 13%, with richer brand replies
# in the generator, accuracy on the real twcs sample rose from 0.903 to 0.926 and on real airline
# threads from 0.949 to 0.978 (30,000 rows, seeds 0-3 and 42); realism.py's gap stayed +0.013.
RATES: dict[str, float] = {
    # customer tweets
    "other_user": 0.13,  # opens with @<another user>: a friend, another customer
    "helper": 0.04,  # a follow-up that answers another user in an agent's voice
    "ack": 0.3,  # a follow-up that is one line of SHARED_SHORT
    "quote": 0.08,  # a follow-up quoting what the brand said
    "retweet": 0.015,  # a follow-up retweeting the brand
    "sloppy": 0.1,  # two more typos
    "share": 0.08,  # a follow-up that passes on one of the brand's PROMOS (labelled chatter)
    # brand replies
    "question": 0.15,  # the reply is a bare question
    "short": 0.5,  # the reply is a word or two of chat (SHARED_SHORT)
    "unsigned": 0.25,  # a signing team leaves the signature off
    "native": 0.7,  # answer a customer who wrote in another language in that language
    "echo": 0.25,  # the reply quotes the customer first
    "brand_typo": 0.04,
    "promo": 0.25,  # the reply is one of the brand's PROMOS
    "screen_name": 0.03,  # the reply addresses the customer by a screen name, as live X shows it
}

# Customers answering someone else, the way agents do ("customers who sound like agents").
HELPER: tuple[str, ...] = (
    "Hi there, have you tried restarting it? Worked for me",
    "Did you try clearing the cache? That fixed mine",
    "Just DM them your order number, they sorted mine in a day",
    "You need to reach out to them by DM, they're quick",
    "Same here. Did you get a reply?",
    "Is this happening on wifi or data for you?",
    "Go for it!",
    "Sorry to hear that! Hope they sort it out for you",
    "We had the same issue last week, they refunded us in the end",
    "Thanks for sharing, that helps!",
    "Let us know if they fix it!",
    "Please keep me posted",
    "No sir! You can still order it online",
    "Which version are you on? Mine updated fine",
    "Hello, you can change it under Settings > Account",
    "Have you checked your spam folder? Mine was there",
    "Try the app instead, the website is down for everyone",
    "Call them, the chat never answers",
    "Did they ever get back to you?",
    "What have you seen?",
    "{person} might know the answer to this one",
    "Happy to help, just ask at the desk",
)
# Of the customer tweets that tag another user, the share where that id stands in for the
# brand's handle (twcs anonymised some brands' handles, and replies to a friend drop the brand).
ANONYMISED_SHARE = 0.6
# Sign-offs some of those helpers add, as small shops and community volunteers do.
HELPER_SIGN_SHARE = 0.25

# How customers frame a quote of the brand's words; {q} is the quoted sentence.
QUOTE_FRAMES: tuple[str, ...] = (
    '"{q}" that\'s what you said {n} days ago',
    'you said "{q}" and nothing happened',
    '"{q}" yeah right',
    'lol "{q}"',
    '"{q}" 🙄',
    'Quoting your team: "{q}" Still waiting.',
    '"{q}" is all I get every time',
    'I was told "{q}" last week',
    "{q} ← your words. so?",
)

# The brand lines customers quote back or imitate: apologies, promises and questions. The brand's
# thanks for praise ("We love to hear it!") stays the brand's: quoted as often as an apology, it
# taught the model that "we love" and "thanks for choosing" are a customer's words.
QUOTED_MOODS: tuple[str, ...] = ("negative", "neutral")

# How agents quote the customer's tweet back at the start of a reply; {q} is that tweet.
ECHO_FRAMES: tuple[str, ...] = ('"{q}" ', "> {q}\n", '"{q}" - ', '"{q}"\n')

# Bare questions agents ask, often with no greeting and no signature.
BRAND_QUESTIONS: tuple[str, ...] = (
    "What have you tried so far since this began?",
    "Just to confirm, is this happening on every device?",
    "Which version of the app are you on?",
    "Did you get our DM?",
    "Can you DM us your email address?",
    "Is this still happening?",
    "Are you still having trouble?",
    "What happens when you try?",
    "Have you tried restarting it?",
    "Are you on wifi or data?",
    "Which {product} is it?",
    "When did you place the order?",
    "Did this start after the update?",
    "What's the order number?",
    "Could you tell us a bit more?",
    "Is it working now?",
    "Any luck?",
    "How can we help?",
    "Can you send us a screenshot?",
    "Where are you travelling from?",
    "When it dropped, did the router's lights do anything different?",
    "Is that the {product}?",
    "Have you checked your spam folder?",
    "What have you tried so far?",
    "Are you referring to the app or the website?",
    "Did you pay by card or PayPal?",
    "Which email address is on the account?",
    "Still no luck?",
)

# Marketing copy: brands reply with it, and customers pass it on word for word (twcs has both
# sides posting "Be ready for your next iPhone..."), so neither side owns it.
PROMOS: tuple[str, ...] = (
    "Be ready for your next {product}. Join the upgrade program for free! {link}",
    "Don't miss out: {amount} off the {product} this weekend only {link}",
    "Flights to {city} from {amount} each way. Book by Friday! {link}",
    "New in the app: track your order in real time. Update now {link}",
    "Say hello to the new {product} 👋 {link}",
    "Happy Halloween! 🎃 Show us your costume for a chance to win {amount} {link}",
    "Our winter sale starts today. Up to 50% off {link}",
    "Free delivery on orders over {amount} until Sunday {link}",
    "It's back! The {product} you love, now in three colours {link}",
    "Double points on every order this week. Official rules: {link}",
    "Coming soon to {city} 🙌 {link}",
    "Get the payday party started: {amount} off everything {link}",
    "Worth the wait: the {product} is here. Pre-order today {link}",
    "Trick or treat? 🍬 {amount} off your next ride with code BOO {link}",
    "Stream the new season now, only on the app {link}",
    "Planned maintenance tonight from {time}; some services may be slow.",
    "Due to an incident near {station} all lines are closed. Check before you travel {link}",
    "We're hiring in {city}! Join the team {link}",
)

# One-line exchanges both sides write word for word: acknowledgements, nudges, small talk.
SHARED_SHORT: tuple[str, ...] = (
    "Thanks!",
    "thank you 😊",
    "Will do!",
    "Done!",
    "Got it.",
    "Yes!",
    "Yep",
    "Ok",
    "Sounds good!",
    "Not yet",
    "Oh no!",
    "No worries!",
    "Just replied!",
    "Sent!",
    "DM sent",
    "Great!",
    "Perfect, thanks!",
    "Appreciate it!",
    "You too!",
    "Have a great day!",
    "Any update?",
    "Any luck?",
    "Is it working now?",
    "Let me check.",
    "Same here!",
    "Love it!",
    "Haha 😂",
    "omg same 😂",
    "Fair enough.",
    "Makes sense.",
    "Glad to hear it!",
    "Which one?",
    "What do you mean?",
    "Did you get the DM?",
    "Just sent a DM",
    "Check your DMs",
    "Yes please",
    "No thanks.",
    "Exactly!",
    "So true!",
    "Nice one!",
    "Fingers crossed!",
    "Happy Halloween! 🎃",
    "Will check and get back to you.",
    "Ok, thanks for letting me know.",
    "Delish! Well played.",
)

# Replies for customers who wrote in another language, by language.
NATIVE_REPLIES: dict[str, tuple[str, ...]] = {
    "es": (
        "Lamentamos el inconveniente. ¿Nos envías un mensaje directo con tu número de pedido?",
        "Hola, sentimos lo ocurrido. Escríbenos por mensaje directo y lo revisamos.",
        "¡Hola! ¿Desde cuándo te ocurre? Cuéntanos por DM.",
        "Gracias por escribirnos. ¿Nos das más detalles por mensaje privado?",
    ),
    "fr": (
        "Bonjour, nous sommes désolés. Pouvez-vous nous écrire en message privé ?",
        "Désolés pour ce désagrément. Envoyez-nous votre numéro de commande en DM.",
        "Merci pour votre message ! Depuis quand rencontrez-vous ce problème ?",
    ),
    "de": (
        "Das tut uns leid! Schreib uns bitte eine DM mit deiner Bestellnummer.",
        "Hallo, danke für deine Nachricht. Seit wann tritt das Problem auf?",
        "Entschuldige die Unannehmlichkeiten. Wir melden uns per DM.",
    ),
    "pt": (
        "Olá, lamentamos o ocorrido. Pode nos enviar uma DM com o número do pedido?",
        "Sentimos muito! Desde quando isso acontece? Fale com a gente por DM.",
    ),
    "it": (
        "Ciao, ci dispiace molto. Puoi scriverci in DM con i dettagli?",
        "Grazie per averci scritto! Ci mandi un messaggio privato?",
    ),
    "nl": (
        "Hoi, vervelend om te horen! Stuur je ons een DM met je gegevens?",
        "Sorry voor het ongemak. Kun je ons een privébericht sturen?",
    ),
}
# Common words that tell the languages above apart in a short tweet.
_MARKERS: dict[str, frozenset[str]] = {
    "es": frozenset(
        [
            "el",
            "la",
            "mi",
            "me",
            "que",
            "qué",
            "no",
            "ha",
            "de",
            "desde",
            "una",
            "nadie",
            "está",
            "dónde",
            "todavía",
            "este",
            "llevo",
            "ayer",
        ]
    ),
    "fr": frozenset(
        [
            "ma",
            "mon",
            "est",
            "pas",
            "ce",
            "c'est",
            "je",
            "n'est",
            "toujours",
            "merci",
            "bonjour",
            "nous",
            "personne",
            "encore",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "ist",
            "ich",
            "meine",
            "wie",
            "kann",
            "seit",
            "dem",
            "keine",
            "nichts",
            "schon",
            "danke",
        ]
    ),
    "pt": frozenset(
        ["meu", "minha", "não", "ainda", "alguém", "pode", "o", "desde", "ajudar", "chegou", "que"]
    ),
    "it": frozenset(
        [
            "ho",
            "il",
            "nessuno",
            "mi",
            "ha",
            "tre",
            "volte",
            "adoro",
            "nuovo",
            "bellissimo",
            "vergogna",
        ]
    ),
    "nl": frozenset(["ik", "kan", "niet", "meer", "mijn", "op", "help", "alstublieft"]),
}


def language_of(text: str) -> str | None:
    """The NATIVE_REPLIES language ``text`` is most likely in, or None when no marker matches."""
    words = {w.strip(",.?!¿¡:;").lower() for w in text.split()}
    hits = {lang: len(words & markers) for lang, markers in _MARKERS.items()}
    best = max(hits, key=lambda lang: hits[lang])
    return best if hits[best] else None


def _replace_handle(parts: list[Part], handle: str, mention: str) -> list[Part]:
    """The first ``handle`` in plain text becomes ``mention`` (an anonymised id, a friend)."""
    for i, (text, label) in enumerate(parts):
        if label is None and handle in text:
            return [*parts[:i], (text.replace(handle, mention, 1), None), *parts[i + 1 :]]
    return [(mention + " ", None), *parts]


class Dice(Protocol):
    def u(self) -> float: ...
    def pick(self, seq: Sequence[str]) -> str: ...
    def below(self, n: int) -> int: ...


class Writer(Protocol):
    def fill(self, template: str, brand: Brand) -> list[Part]: ...
    def typo(self, text: str) -> str: ...


class Ambiguity:
    """Applies the habits above to tweets the generator has written, drawing from its dice."""

    def __init__(self, dice: Dice, writer: Writer, scale: float = 1.0) -> None:
        if scale < 0:
            raise ValueError(f"ambiguity must be at least 0, got {scale}")
        self.d, self.w = dice, writer
        self.rates = {habit: min(rate * scale, 1.0) for habit, rate in RATES.items()}

    def happens(self, habit: str) -> bool:
        """A seeded draw; a habit at rate 0 draws nothing, so ambiguity 0 changes no data."""
        rate = self.rates[habit]
        return rate > 0 and self.d.u() < rate

    # --- customers -----------------------------------------------------------------------
    def customer(
        self,
        parts: list[Part],
        brand: Brand,
        followup: bool,
        other_user: Callable[[], int],
    ) -> list[Part]:
        """A customer tweet, maybe quoting the brand, helping someone or tagging another user."""
        d = self.d
        if followup and self.happens("helper"):
            return [("@" + str(other_user()) + " ", None), *self._helper(brand)]
        if followup and self.happens("ack"):
            parts = [parts[0], (d.pick(SHARED_SHORT), None)]
        elif followup and self.happens("retweet"):
            return [(f"RT @{brand.handle}: ", None), *self._brand_sentence(brand)]
        elif followup and self.happens("quote"):
            frame = d.pick(QUOTE_FRAMES).replace("{n}", str(2 + d.below(12)))
            before, _, after = frame.partition("{q}")
            quoted = [(before, None), *self._brand_sentence(brand), (after, None)]
            parts = [parts[0], *quoted] if parts and parts[0][0].startswith("@") else quoted
        if self.happens("sloppy"):
            parts = self._typos(parts, 2)
        if self.happens("other_user"):
            mention = "@" + str(other_user())
            if d.u() < ANONYMISED_SHARE:
                return _replace_handle(parts, "@" + brand.handle, mention)
            return [(mention + " ", None), *parts]
        return parts

    def shared_promo(self, brand: Brand) -> list[Part] | None:
        """A follow-up passing on the brand's marketing copy word for word, or None. It asks for
        nothing, so the generator labels it neutral chatter: the text is ambiguous, not the label."""
        return self._promo(brand) if self.happens("share") else None

    def _promo(self, brand: Brand) -> list[Part]:
        return self.w.fill(self.d.pick(PROMOS), brand)

    def _helper(self, brand: Brand) -> list[Part]:
        """Another user's advice: a customer's tip, an agent's question or, from a support
        account twcs does not track, a whole agent-style answer."""
        d = self.d
        kind = d.below(3)
        if kind == 0:
            body = self.w.fill(d.pick(HELPER), brand)
        elif kind == 1:
            body = self.w.fill(d.pick(BRAND_QUESTIONS), brand)
        else:
            opener = d.pick(ph.BRAND_OPENERS[d.pick(QUOTED_MOODS)])
            bodies = ph.BRAND_BODIES[d.pick(tuple(ph.BRAND_BODIES))]
            body = [(opener + " ", None), *self.w.fill(d.pick(bodies), brand)]
        return [*body, *self._helper_sign()]

    def _helper_sign(self) -> list[Part]:
        if self.d.u() >= HELPER_SIGN_SHARE:
            return []
        name = self.d.pick(ph.PERSON_NAMES)
        initials = name[0] + self.d.pick("ABCDEFGHJKLMNPRSTW")
        style = self.d.pick(SIGNATURE_STYLES)
        return [(style.format(a=initials, n=name), None)]

    def _brand_sentence(self, brand: Brand) -> list[Part]:
        d = self.d
        source = d.below(3)
        if source == 0:
            template = d.pick(ph.BRAND_OPENERS[d.pick(QUOTED_MOODS)])
        elif source == 1:
            template = d.pick([c for c in ph.BRAND_CLOSERS if c] or ["Please DM us."])
        else:
            template = d.pick(ph.BRAND_FOLLOWUPS[d.pick(QUOTED_MOODS)])
        return self.w.fill(template, brand)

    def _typos(self, parts: list[Part], times: int) -> list[Part]:
        plain = [
            i
            for i, (text, label) in enumerate(parts)
            if label is None and len(text) > 8 and "@" not in text
        ]
        if not plain:
            return parts
        i = max(plain, key=lambda k: len(parts[k][0]))
        text = parts[i][0]
        for _ in range(times):
            text = self.w.typo(text)
        return [*parts[:i], (text, None), *parts[i + 1 :]]

    # --- brands --------------------------------------------------------------------------
    def brand_body(self, brand: Brand, customer_text: str | None) -> list[Part] | None:
        """A whole reply body to use instead of the usual one, or None to write the usual one.

        ``customer_text`` is the opening tweet when it was written in another language.
        """
        d = self.d
        if customer_text is not None and self.happens("native"):
            lang = language_of(customer_text)
            if lang is not None:
                return [(d.pick(NATIVE_REPLIES[lang]), None)]
        if self.happens("promo"):
            return self._promo(brand)
        if self.happens("question"):
            return self.w.fill(d.pick(BRAND_QUESTIONS), brand)
        if self.happens("short"):
            return [(d.pick(SHARED_SHORT), None)]
        return None

    def brand_text(self, parts: list[Part], customer: list[Part]) -> list[Part]:
        """Agents make typos too, and some quote the customer's words back before answering."""
        if self.happens("echo"):
            said = [(text, label) for text, label in customer if "@" not in text]
            if said:
                before, _, after = self.d.pick(ECHO_FRAMES).partition("{q}")
                parts = [parts[0], (before, None), *said, (after, None), *parts[1:]]
        return self._typos(parts, 1) if self.happens("brand_typo") else parts

    def address(self, customer: str) -> str:
        """How a reply names its customer: twcs's anonymised id, or a screen name such as
        `@maria_k87` (live X traffic; anonymised data never shows one)."""
        if not self.happens("screen_name"):
            return "@" + customer
        d = self.d
        name = d.pick(ph.PERSON_NAMES).lower()
        return "@" + name + d.pick(("", "_")) + str(d.below(100)) * (d.below(2) == 0)

    def signed(self) -> bool:
        return not self.happens("unsigned")
