"""The demo letter with sample signatures, for `flask demo` and `flask
quickstart` (the commands are in `commands/`)."""
from __future__ import annotations

import json
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from sqlalchemy import func, insert, select

from .extensions import db
from .models import Letter, Signature, utcnow
from .states import Kind, ParagraphStatus, SignatureStatus, Source

DEMO_SLUG = "demo"
DEMO_FILE = Path(__file__).resolve().parent / "demo" / "letter.md"
# The first signatories a newcomer sees: people and organisations from
# Flanders and beyond, in several scripts (the PDF shapes each of them).
DEMO_SIGNATORIES_FILE = Path(__file__).resolve().parent / "demo" / "signatories.json"
BATCH = 5000

FIRST_NAMES = [
    "An", "Bart", "Chloë", "Dirk", "Els", "Fatima", "Geert", "Hanne", "Ilse", "Jan", "Karim",
    "Lotte", "Mehmet", "Nina", "Olivier", "Pieter", "Rania", "Sofie", "Thomas", "Ursula",
    "Vincent", "Wouter", "Yasmina", "Zeynep", "Ayşe", "Łukasz", "Jens", "Marie", "Noor", "Youssef",
]
LAST_NAMES = [
    "Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
    "Wouters", "De Smet", "Van den Broeck", "Van Damme", "Dubois", "El Amrani", "Yılmaz",
    "Özdemir", "Nowak", "Vermeulen", "Desmet", "Verhoeven", "De Backer", "Hermans",
    "Aerts", "Lambrechts", "Bogaert", "Van Acker", "Coppens", "Ben Ali", "Kowalski", "Smets",
]
PLACES = ["Gent", "Antwerpen", "Brussel", "Leuven", "Brugge", "Mechelen", "Hasselt", "Kortrijk", "Aalst", "Genk"]
FUNCTIONS = ["", "", "", "leerkracht", "bibliothecaris", "huisarts", "student", "gepensioneerd", "ouder", ""]
ORGANISATIONS = [
    ("Leesclub De Bladwijzer", "voorzitter"), ("Buurtcomité Brugse Poort", "secretaris"),
    ("Basisschool De Regenboog", "directeur"), ("Seniorenvereniging Okra Sint-Pieters", "voorzitter"),
    ("Taalcafé Gent", "coördinator"),
]
PARAGRAPHS = [
    "Als kind ging ik elke woensdagmiddag naar de bibliotheek om de hoek. Daar leerde ik lezen "
    "voor mijn plezier, niet omdat het moest. Mijn kinderen verdienen dezelfde kans.",
    "Ik ben leerkracht in het vierde leerjaar. Elke maand wandelen we met de klas naar de "
    "wijkbibliotheek. Voor sommige leerlingen is dat de enige plek waar ze boeken kunnen lenen. "
    "Een bus naar het centrum is voor een klas van vijfentwintig kinderen geen alternatief.",
    "Na mijn pensioen ben ik vrijwilliger geworden bij het voorleesuurtje. Wat ik daar zie, is "
    "wat een stad samenhoudt: ouders die elkaar leren kennen, kinderen die vol verwondering "
    "luisteren, nieuwkomers die hun eerste woorden Nederlands lezen.",
    "Zonder de computers van de bibliotheek had ik mijn sollicitatie nooit kunnen versturen.",
    "Ik woon hier al veertig jaar. De bibliotheek is het laatste openbare gebouw in onze wijk "
    "waar je binnen kan zonder afspraak en zonder iets te kopen. Sluit haar niet.",
]


def ensure_demo_letter() -> Letter:
    from .letters import create_letter, get_letter, open_letter, parse_letter_source

    letter = get_letter(DEMO_SLUG)
    if letter is None:
        source = parse_letter_source(DEMO_FILE.read_text(encoding="utf-8"))
        source.deadline = date.today() + timedelta(days=60)
        letter = create_letter(DEMO_SLUG, source, by="demo")
        open_letter(letter, by="demo")
    return letter


def top_up_signatures(letter: Letter, wanted: int) -> int:
    """Bring the demo letter to `wanted` sample signatures; inserted in bulk,
    so a million takes a minute, not an hour. Returns how many were added."""
    from .collation import name_sort_key

    existing = db.session.scalar(
        select(func.count()).select_from(Signature).where(
            Signature.letter_id == letter.id, Signature.email_key.like("demo-%@example.org")
        )
    )
    missing = max(0, wanted - existing)
    start = existing
    now = utcnow()
    for batch_start in range(start, start + missing, BATCH):
        rows = [
            _sample_row(letter, number, now, name_sort_key)
            for number in range(batch_start, min(start + missing, batch_start + BATCH))
        ]
        db.session.execute(insert(Signature), rows)
    if missing:
        _recount(letter)
    return missing


@cache
def demo_signatories() -> list[dict]:
    return json.loads(DEMO_SIGNATORIES_FILE.read_text(encoding="utf-8"))


def _sample_person(number: int) -> dict:
    """Who signs as number `number`: one of the written-out signatories,
    then generated combinations (for `demo --signatures 1000000`)."""
    written = demo_signatories()
    if number < len(written):
        return {"kind": Kind.PERSON, "organisation": "", "function": "", "first_signatory": False, **written[number]}
    # Step through the last names faster than the first names, so that
    # neighbours in the list differ in both.
    person = {
        "first_name": FIRST_NAMES[number % len(FIRST_NAMES)],
        "last_name": LAST_NAMES[(number * 7 + number // len(FIRST_NAMES)) % len(LAST_NAMES)],
        "kind": Kind.PERSON, "organisation": "", "function": FUNCTIONS[number % len(FUNCTIONS)],
        "place": PLACES[number % len(PLACES)], "first_signatory": False,
    }
    if number % 40 == 7:
        name, role = ORGANISATIONS[(number // 40) % len(ORGANISATIONS)]
        person.update(kind=Kind.ORGANISATION, organisation=f"{name} ({number})", function=role)
    return person


def _sample_row(letter: Letter, number: int, now, name_sort_key) -> dict:
    person = _sample_person(number)
    first, last, kind = person["first_name"], person["last_name"], person["kind"]
    organisation, function = person["organisation"], person["function"]
    paragraph = PARAGRAPHS[number % len(PARAGRAPHS)] if number % 6 == 0 else ""
    email_key = f"demo-{number}@example.org"
    return {
        "letter_id": letter.id,
        "letter_version": 1,
        "first_name": first,
        "last_name": last,
        "kind": kind,
        "organisation": organisation,
        "organisation_key": organisation.casefold(),
        "function": function,
        "address": "",
        "email": email_key,
        "email_key": email_key,
        "place": person["place"],
        "paragraph": paragraph,
        "paragraph_status": (
            (ParagraphStatus.APPROVED if number % 12 == 0 else ParagraphStatus.PENDING)
            if paragraph else ParagraphStatus.NONE
        ),
        "consent_name": number % 5 != 3,
        "consent_paragraph": bool(paragraph),
        "consent_notify": number % 2 == 0,
        "language": "nl",
        "source": Source.ONLINE,
        "status": SignatureStatus.CONFIRMED,
        "first_signatory": person["first_signatory"],
        "sort_key": name_sort_key(
            kind=kind, last_name=last, first_name=first, organisation=organisation, locale=letter.locale
        ),
        "created_at": now - timedelta(minutes=number % (60 * 24 * 20)),
        "confirmed_at": now,
        "updated_at": now,
    }


def _recount(letter: Letter) -> None:
    """Set the kept counts from the rows: once, after a bulk insert."""
    counted = select(func.count()).select_from(Signature).where(
        Signature.letter_id == letter.id, Signature.status == SignatureStatus.CONFIRMED
    )
    letter.signature_count = db.session.scalar(counted)
    letter.organisation_count = db.session.scalar(counted.where(Signature.kind == Kind.ORGANISATION))
    letter.data_revision += 1
