"""The `fhir` source: FHIR R4 `Appointment` search with patients and practitioners included.

One search per sync reads the whole window:

    GET {base_url}/Appointment?date=ge{start}&date=lt{end}
        &_include=Appointment:patient&_include=Appointment:practitioner&_count=100

and follows the searchset Bundle's `next` links (absolute URLs, kept on base_url's scheme,
host and port so the bearer token never travels to another server). `patient` and
`practitioner` are both standard R4 Appointment search parameters (SearchParameter
Appointment-patient / Appointment-practitioner), so both `_include`s are valid; `actor`
would also drag in Locations and Devices we have no use for.

How an Appointment becomes a canonical appointment (DESIGN.md, "Canonical appointment"):

- status: booked, arrived, checked-in -> scheduled; fulfilled -> completed; cancelled,
  entered-in-error -> canceled; noshow -> no_show. proposed, pending and waitlist are not
  sessions yet (DESIGN.md): without a start they are passed over with no problem
  reported; with one they read as canceled (no link messages, and an explicit status is
  better than a silent vanish, which counts against the mass-vanish guard).
- a Patient participant whose `required` is information-only is the subject of the
  appointment (e.g. two doctors discussing them), not a client: no messages; an
  Appointment whose only patients are such is a clinicians' meeting and is not listed.
- therapist: the first Practitioner participant that has not declined (else the first
  one at all; id = Practitioner id, the key of `[therapists."ID"]`). Name from the
  included Practitioner, else the config's `name`, else the reference's display, else the
  id. An Appointment without a Practitioner participant (e.g. one that names only a
  PractitionerRole) is reported and skipped.
- participants: each Patient participant that has not declined, resolved from the
  included Patients: name from the HumanName (official, then usual, ...), first name from
  the `usual` name when there is one (what the client goes by), else the chosen name's
  first given name; mobile from telecom (see `pick_mobile`); email likewise; timezone from
  the core `timezone` (or older `tz-code`) extension, else None; language from
  `communication` (see `patient_language`).
- link: the R5 `virtualService` cross-version extension (address as url, string or
  ContactPoint; also the R5 element itself, for servers that already emit it); else None
  when the therapist has a configured `link` (the core uses it: a therapist's own room is
  more specific than the practice's), else `fallback_link`, else None.
- format: always telehealth. FHIR has no standard in-person/virtual flag on R4
  Appointment; a session without a link waits and shows in `attention`.

Failures: any page that errors, times out, is not a Bundle or is an OperationOutcome (or
carries an error outcome entry) fails the whole read (exit 3, nothing changed). One
unusable Appointment is reported and skipped. A Bundle `total` above what was read, with
no next link, is an incomplete listing: exit 3, nothing changed (DESIGN.md).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx

from linkcli.config import Config, TherapistConfig
from linkcli.core.language import normalize_tag
from linkcli.core.model import Appointment, Participant, RecordError, Therapist, parse_instant
from linkcli.errors import SourceError
from linkcli.sources.base import Listing, Window
from linkcli.sources.http import HttpSource, secret

NAME = "fhir"
DEFAULT_TOKEN_ENV = "FHIR_TOKEN"
PAGE_SIZE = 100
# A loop guard, not a limit anyone should meet: 1 000 pages of 100 is 100 000 sessions.
MAX_PAGES = 1000

VIRTUAL_SERVICE_URL = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService"
)
# `timezone` is the current core extension; `tz-code` is its R4-era name.
TIMEZONE_URLS = (
    "http://hl7.org/fhir/StructureDefinition/timezone",
    "http://hl7.org/fhir/StructureDefinition/tz-code",
)

STATUS_MAP = {
    "proposed": "canceled",
    "pending": "canceled",
    "booked": "scheduled",
    "arrived": "scheduled",
    "checked-in": "scheduled",
    "fulfilled": "completed",
    "cancelled": "canceled",
    "entered-in-error": "canceled",
    "noshow": "no_show",
    "waitlist": "canceled",
}
# Requests that are not sessions yet (DESIGN.md, "Source configuration"): no messages
# and no problem reported, even without a start. With a start they read as canceled, so
# a session that goes back to one of these has its pending sends withdrawn explicitly.
NOT_YET = frozenset({"proposed", "pending", "waitlist"})

# HumanName.use in order of preference for the name shown to people.
_NAME_USES = ("official", "usual", None, "temp", "nickname", "anonymous", "maiden", "old")
# Sub-extension urls of the virtualService extension that carry the join address.
_ADDRESS_KEYS = ("address", "address[x]", "addressUrl", "addressString", "addressContactPoint")
_ADDRESS_VALUES = ("valueUrl", "valueUri", "valueString")
_FAR = 1 << 30  # the sort rank of a ContactPoint without `rank`: after every ranked one


class FhirSource(HttpSource):
    """Reads Appointments from a FHIR R4 server with a bearer token."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        token_env: str = DEFAULT_TOKEN_ENV,
        fallback_link: str | None = None,
        therapists: Mapping[str, TherapistConfig] | None = None,
        timeout: float = 20.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: datetime,
    ) -> None:
        super().__init__(
            NAME,
            base_url,
            # FHIR's own media type; servers that only know JSON accept it too.
            headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
            timeout=timeout,
            client=client,
            sleep=sleep,
            now=now,
        )
        self.token_env = token_env
        self.fallback_link = fallback_link
        self.therapists = dict(therapists or {})

    def fetch(self, window: Window) -> Listing:
        """Every Appointment starting in the window, read page by page, then mapped."""
        matches: dict[str, dict[str, Any]] = {}  # by id: a repeat across pages replaces
        nameless: list[dict[str, Any]] = []
        included: dict[tuple[str, str], dict[str, Any]] = {}
        total: int | None = None
        for number, bundle in enumerate(self._pages(window)):
            if number == 0 and isinstance(bundle.get("total"), int):
                total = bundle["total"]
            for resource, mode in _entries(bundle, self.name):
                kind = resource.get("resourceType")
                if kind == "Appointment" and mode in ("match", None):
                    rid = resource.get("id")
                    if isinstance(rid, str) and rid.strip():
                        matches[rid.strip()] = resource
                    else:
                        nameless.append(resource)
                elif isinstance(kind, str) and isinstance(resource.get("id"), str):
                    included[(kind, resource["id"])] = resource

        listing = Listing()
        now = self.read_at
        for resource in [*matches.values(), *nameless]:
            if _text(resource.get("status")) in NOT_YET and not resource.get("start"):
                # A request with no time yet (R4 allows it): nothing to remind, nothing
                # wrong. One that was listed before vanishes and its sends are withdrawn.
                continue
            if _patients_only_informed(resource):
                # Clinicians meeting about a patient (the spec's appointment-example2doctors):
                # no client attends, so it is not a session to remind anyone of.
                continue
            try:
                appointment = appointment_from_fhir(
                    resource, included, self.therapists, self.fallback_link, now
                )
            except RecordError as exc:
                listing.skip(f"{self.name}: Appointment skipped: {exc}", exc.record_id)
                continue
            # The server filters by date already; this keeps a server that ignores the
            # filter from putting sessions outside the window into the diff.
            if appointment.start in window:
                listing.appointments.append(appointment)

        read = len(matches) + len(nameless)
        if total is not None and read < total:
            # The server says there is more but gave no way to it (or paging over a
            # schedule that changed mid-read dropped a record): the listing is not
            # complete, and a record missing from it must not look like a cancellation.
            raise SourceError(
                f"{self.name}: the server announced {total} appointments but only {read} "
                "could be read (no next page); the listing is incomplete; nothing was "
                "changed (will retry next sync)"
            )
        return listing

    def _pages(self, window: Window) -> Iterator[dict[str, Any]]:
        """The searchset Bundles of one search, first page to last."""
        params = {
            "date": [f"ge{_instant(window.start)}", f"lt{_instant(window.end)}"],
            "_include": ["Appointment:patient", "Appointment:practitioner"],
            "_count": str(PAGE_SIZE),
        }
        body = self.get_json("Appointment", params=params)
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            bundle = self._bundle(body)
            yield bundle
            next_url = self._next_url(bundle)
            if next_url is None:
                return
            if next_url in seen:
                raise SourceError(
                    f"{self.name}: the server's next link repeats a page; nothing was changed"
                )
            seen.add(next_url)
            body = self.get_json(next_url)
        raise SourceError(f"{self.name}: more than {MAX_PAGES} pages; nothing was changed")

    def _bundle(self, body: Any) -> dict[str, Any]:
        """The body as a Bundle, or a SourceError saying what came instead."""
        kind = body.get("resourceType") if isinstance(body, dict) else None
        if kind == "OperationOutcome":
            detail = outcome_text(body) or "no details"
            raise SourceError(
                f"{self.name}: the server answered with an OperationOutcome "
                f"({detail}); nothing was changed"
            )
        if kind != "Bundle":
            found = f"a {kind}" if isinstance(kind, str) else "something else"
            raise SourceError(
                f"{self.name}: expected a searchset Bundle, found {found}; nothing was changed"
            )
        return body

    def _next_url(self, bundle: dict[str, Any]) -> str | None:
        """The absolute `next` link, refused unless it stays on base_url's server."""
        links = bundle.get("link")
        if not isinstance(links, list):
            return None
        for link in links:
            if not isinstance(link, dict) or link.get("relation") != "next":
                continue
            url = link.get("url")
            if not isinstance(url, str) or not url.strip():
                return None
            # Links should be absolute; a relative one is read against the base.
            url = urljoin(self.base_url + "/", url.strip())
            if _origin(url) != _origin(self.base_url):
                # The Authorization header goes with every page: never to another server.
                raise SourceError(
                    f"{self.name}: the server's next link points to {_shown_origin(url)}, "
                    f"not {_shown_origin(self.base_url)}; refused so the token stays with "
                    "the configured server; nothing was changed"
                )
            return url
        return None

    def record(self, resource: Mapping[str, Any], if_none_exist: str) -> str | None:
        """POST one Communication to `[base]/Communication` as a conditional create
        (`If-None-Exist`), so a repeat after a crash finds the record instead of making a
        second one; the id the server gave it (None when it did not say). SourceError,
        saying what happened, when the server did not take it."""
        url = self.url("Communication")
        headers = {
            **self.headers,
            "Content-Type": "application/fhir+json",
            "If-None-Exist": if_none_exist,
        }
        self.requests += 1
        try:
            response = self.client.post(url, content=json.dumps(resource), headers=headers)
        except httpx.TimeoutException:
            raise SourceError(f"{self.name}: timed out writing to {_shown_origin(url)}") from None
        except httpx.HTTPError as exc:
            raise SourceError(
                f"{self.name}: cannot reach {_shown_origin(url)} ({type(exc).__name__})"
            ) from None
        if response.status_code >= 400:
            try:
                detail = outcome_text(response.json())
            except ValueError:
                detail = None
            token = (
                f" (the token is read from ${self.token_env})"
                if response.status_code in (401, 403)
                else ""
            )
            reason = f" ({detail})" if detail else ""
            raise SourceError(
                f"{self.name}: HTTP {response.status_code} writing a Communication{reason}{token}"
            )
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("id"), str):
            return str(body["id"])
        location = response.headers.get("Location", "")
        parts = location.split("/_history")[0].rstrip("/").split("/")
        return parts[-1] if len(parts) >= 2 and parts[-2] == "Communication" else None

    def _http_error(self, response: httpx.Response) -> str:
        """HttpSource's wording, plus the token variable or the server's own reason."""
        message = super()._http_error(response)
        status = response.status_code
        if status in (401, 403):
            return f"{message} (the token is read from ${self.token_env})"
        if status == 429:
            return message
        try:
            detail = outcome_text(response.json())
        except ValueError:
            detail = None
        if not detail:
            return message
        where = response.request.url.path
        return f"{self.name}: HTTP {status} from {where} ({detail}); nothing was changed"


def build(
    config: Config,
    env: Mapping[str, str],
    now: datetime,
    *,
    client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FhirSource:
    """The fhir source for this config, the token from the env; `client` and `sleep`
    are the run context's seams (a shared or local client, a recorded pause)."""
    # `[source]` was checked by the config reader against sources/settings.py: every
    # problem there is reported with its line, all at once, before this runs.
    settings = config.source.settings
    base_url: str = settings["base_url"]
    token_env: str = settings.get("token_env", DEFAULT_TOKEN_ENV)
    fallback: str | None = settings.get("fallback_link")
    timeout: float = settings.get("timeout", 20.0)
    token = secret(env, settings, "token_env", DEFAULT_TOKEN_ENV)
    return FhirSource(
        base_url.strip(),
        token,
        token_env=token_env,
        fallback_link=fallback,
        therapists=config.therapists,
        timeout=float(timeout),
        client=client,
        sleep=sleep,
        now=now,
    )


# --- mapping one Appointment -------------------------------------------------------------


def appointment_from_fhir(
    resource: Mapping[str, Any],
    included: Mapping[tuple[str, str], Mapping[str, Any]],
    therapists: Mapping[str, TherapistConfig],
    fallback_link: str | None,
    now: datetime,
) -> Appointment:
    """One FHIR Appointment as a canonical appointment; RecordError when unusable."""
    rid = _text(resource.get("id"))
    if not rid:
        raise RecordError(None, "an Appointment has no id")
    raw_status = _text(resource.get("status"))
    status = STATUS_MAP.get(raw_status or "")
    if status is None:
        raise RecordError(rid, f"status {raw_status!r} is not an R4 Appointment status")
    start = parse_instant(resource.get("start"), "start", rid)
    end = parse_instant(resource["end"], "end", rid) if resource.get("end") else None
    if end is not None and end < start:
        raise RecordError(rid, "end is before start")
    meta = resource.get("meta")
    updated_raw = meta.get("lastUpdated") if isinstance(meta, dict) else None
    updated = parse_instant(updated_raw, "meta.lastUpdated", rid) if updated_raw else None

    practitioner: tuple[str, Mapping[str, Any]] | None = None
    declined_practitioner: tuple[str, Mapping[str, Any]] | None = None
    participants: dict[str, Participant] = {}
    raw_participants = resource.get("participant")
    for part in raw_participants if isinstance(raw_participants, list) else []:
        if not isinstance(part, dict) or not isinstance(part.get("actor"), dict):
            continue
        actor = part["actor"]
        key = _reference(actor.get("reference"))
        if key is None:
            continue
        target = _resolve(key, resource, included)
        declined = part.get("status") == "declined"
        if key[0] == "Practitioner":
            if not declined and practitioner is None:
                practitioner = (key[1], target or actor)
            elif declined and declined_practitioner is None:
                declined_practitioner = (key[1], target or actor)
        elif (
            key[0] == "Patient"
            and not declined
            # information-only: the patient is the subject (two doctors discussing
            # them), not someone who attends; they get no messages.
            and part.get("required") != "information-only"
            and key[1] not in participants
        ):
            participants[key[1]] = _participant(key[1], target, actor, now)
    chosen = practitioner or declined_practitioner
    if chosen is None:
        raise RecordError(rid, "no Practitioner participant (the therapist)")
    configured = therapists.get(chosen[0])
    if configured is not None and configured.link:
        fallback_link = None  # the core falls back to the therapist's own link instead
    return Appointment(
        id=rid,
        status=status,
        start=start,
        end=end,
        format="telehealth",
        telehealth_url=virtual_service_link(resource) or fallback_link,
        therapist=_therapist(chosen[0], chosen[1], therapists),
        participants=tuple(participants.values()),
        updated_at=updated,
    )


def _therapist(
    pid: str, resource: Mapping[str, Any], therapists: Mapping[str, TherapistConfig]
) -> Therapist:
    configured = therapists.get(pid)
    full, _ = human_name(resource.get("name"))
    name = (
        full or (configured.name if configured else None) or _text(resource.get("display")) or pid
    )
    return Therapist(
        id=pid, name=name, display_name=configured.display_name if configured else None
    )


def _participant(
    pid: str, patient: Mapping[str, Any] | None, actor: Mapping[str, Any], now: datetime
) -> Participant:
    """A Patient participant; one the server did not include keeps only its display."""
    if patient is None:
        name = _text(actor.get("display")) or ""
        return Participant(id=pid, name=name)
    full, first = human_name(patient.get("name"))
    telecom = patient.get("telecom")
    return Participant(
        id=pid,
        name=full or _text(actor.get("display")) or "",
        first_name=first,
        email=pick_email(telecom, now),
        mobile=pick_mobile(telecom, now),
        timezone=patient_timezone(patient),
        language=patient_language(patient),
    )


def patient_language(patient: Mapping[str, Any]) -> str | None:
    """The BCP 47 tag of `Patient.communication`: the `preferred` one, else the first.

    The tag is a coding of `language` (system urn:ietf:bcp:47, or any coding whose code is
    a tag); an entry with none is skipped. None when nothing usable is there.
    """
    entries = [c for c in _list(patient.get("communication")) if isinstance(c, dict)]
    entries.sort(key=lambda c: c.get("preferred") is not True)  # stable: preferred first
    for entry in entries:
        concept = entry.get("language")
        codings = concept.get("coding") if isinstance(concept, dict) else None
        codings = [c for c in _list(codings) if isinstance(c, dict)]
        codings.sort(key=lambda c: c.get("system") != "urn:ietf:bcp:47")
        for coding in codings:
            tag = normalize_tag(coding.get("code"))
            if tag:
                return tag
    return None


def human_name(names: Any) -> tuple[str | None, str | None]:
    """(full name, first name) from a HumanName list.

    The full name comes from the preferred use (official, usual, unset, ...); the first
    name from a `usual` name when one exists (what the person goes by), else from the
    chosen name's first given name.
    """
    if not isinstance(names, list):
        return None, None
    usable = [n for n in names if isinstance(n, dict)]
    if not usable:
        return None, None

    def rank(name: Mapping[str, Any]) -> int:
        use = name.get("use")
        return _NAME_USES.index(use) if use in _NAME_USES else len(_NAME_USES)

    chosen = min(usable, key=rank)  # min keeps document order among equals
    given = _strings(chosen.get("given"))
    family = _text(chosen.get("family"))
    full = _text(chosen.get("text")) or " ".join([*given, *([family] if family else [])])
    usual = next((n for n in usable if n.get("use") == "usual" and _strings(n.get("given"))), None)
    first = _strings(usual.get("given"))[0] if usual else (given[0] if given else None)
    return full or None, first


def pick_mobile(telecom: Any, now: datetime) -> str | None:
    """The number to text: sms, or phone with use=mobile; else a phone with no use.

    Entries with use=old, or a period that has ended or not begun, are skipped. Among the
    rest, lower `rank` wins (an unranked entry comes after ranked ones), then document
    order. Home and work phones are never texted: they are likely landlines.
    """
    best: tuple[int, int, int, str] | None = None
    for index, point in enumerate(_current_points(telecom, now)):
        system, use = point.get("system"), point.get("use")
        if system == "sms" or (system == "phone" and use == "mobile"):
            tier = 0
        elif system == "phone" and use is None:
            tier = 1
        else:
            continue
        candidate = (tier, _rank(point), index, point["value"].strip())
        if best is None or candidate < best:
            best = candidate
    return best[3] if best else None


def pick_email(telecom: Any, now: datetime) -> str | None:
    """The current email address with the best rank, else the first current one."""
    best: tuple[int, int, str] | None = None
    for index, point in enumerate(_current_points(telecom, now)):
        if point.get("system") != "email":
            continue
        candidate = (_rank(point), index, point["value"].strip())
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else None


def patient_timezone(patient: Mapping[str, Any]) -> str | None:
    """The IANA zone of the core timezone extension, when present and known."""
    for ext in _list(patient.get("extension")):
        if isinstance(ext, dict) and ext.get("url") in TIMEZONE_URLS:
            code = _text(ext.get("valueCode"))
            if code:
                try:
                    ZoneInfo(code)
                except (ZoneInfoNotFoundError, ValueError):
                    return None
                return code
    return None


def virtual_service_link(resource: Mapping[str, Any]) -> str | None:
    """The join link from the R5 virtualService extension (or R5's own element).

    The extension (http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.
    virtualService) is complex: sub-extensions channelType, address (url, string or
    ContactPoint), additionalInfo, maxParticipants, sessionKey. An https address wins over
    any other URL-looking one; a dial-in number or session key is never a link.
    """
    found: list[Any] = []
    for ext in _list(resource.get("extension")):
        if isinstance(ext, dict) and ext.get("url") == VIRTUAL_SERVICE_URL:
            _collect_addresses(ext, found, top=True)
    for detail in _list(resource.get("virtualService")):  # R5 VirtualServiceDetail
        if isinstance(detail, dict):
            found += [detail.get("addressUrl"), detail.get("addressString")]
            point = detail.get("addressContactPoint")
            if isinstance(point, dict):
                found.append(point.get("value"))
    links = [v.strip() for v in found if isinstance(v, str) and "://" in v]
    return next((v for v in links if v.lower().startswith("https://")), None) or (
        links[0] if links else None
    )


def _collect_addresses(ext: Mapping[str, Any], found: list[Any], top: bool = False) -> None:
    # A top-level value (the simple form of early snapshots) or an address sub-extension's
    # value, possibly nested one level further (address -> addressUrl).
    if top or ext.get("url") in _ADDRESS_KEYS:
        found.extend(ext.get(key) for key in _ADDRESS_VALUES if ext.get(key))
        point = ext.get("valueContactPoint")
        if isinstance(point, dict) and point.get("value"):
            found.append(point["value"])
    for sub in _list(ext.get("extension")):
        if isinstance(sub, dict) and sub.get("url") in _ADDRESS_KEYS:
            _collect_addresses(sub, found)


def outcome_text(body: Any) -> str | None:
    """A short one-line reason from an OperationOutcome (its first issue)."""
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return None
    for issue in _list(body.get("issue")):
        if not isinstance(issue, dict):
            continue
        details = issue.get("details")
        text = (
            _text(issue.get("diagnostics"))
            or (_text(details.get("text")) if isinstance(details, dict) else None)
            or _text(issue.get("code"))
        )
        if text:
            severity = _text(issue.get("severity")) or "error"
            line = " ".join(f"{severity}: {text}".split())
            return line if len(line) <= 160 else line[:157] + "..."
    return None


# --- helpers ----------------------------------------------------------------------------


def _entries(bundle: Mapping[str, Any], name: str) -> Iterator[tuple[dict[str, Any], str | None]]:
    """(resource, search.mode) of each entry; an error outcome entry fails the read."""
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise SourceError(f"{name}: Bundle.entry is not a list; nothing was changed")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            continue
        resource = entry["resource"]
        search = entry.get("search")
        mode = search.get("mode") if isinstance(search, dict) else None
        if resource.get("resourceType") == "OperationOutcome":
            issues = [i for i in _list(resource.get("issue")) if isinstance(i, dict)]
            if any(i.get("severity") in ("fatal", "error") for i in issues):
                raise SourceError(
                    f"{name}: the search reported "
                    f"{outcome_text(resource) or 'an error'}; nothing was changed"
                )
            continue  # warnings and information (e.g. an ignored parameter)
        yield resource, mode


def _patients_only_informed(resource: Mapping[str, Any]) -> bool:
    """Whether every Patient participant is `information-only` (and there is one)."""
    patients = [
        part
        for part in _list(resource.get("participant"))
        if isinstance(part, dict)
        and isinstance(part.get("actor"), dict)
        and (_reference(part["actor"].get("reference")) or ("",))[0] == "Patient"
    ]
    return bool(patients) and all(p.get("required") == "information-only" for p in patients)


def _reference(value: Any) -> tuple[str, str] | None:
    """("Patient", "123") from "Patient/123", an absolute URL, a _history form or "#id"."""
    ref = _text(value)
    if not ref:
        return None
    if ref.startswith("#"):
        return ("#", ref[1:])
    parts = ref.split("?")[0].rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) < 2:
        return None
    return parts[-2], parts[-1]


def _resolve(
    key: tuple[str, str],
    resource: Mapping[str, Any],
    included: Mapping[tuple[str, str], Mapping[str, Any]],
) -> Mapping[str, Any] | None:
    if key[0] == "#":  # a contained resource
        for item in _list(resource.get("contained")):
            if isinstance(item, dict) and item.get("id") == key[1]:
                return item
        return None
    return included.get(key)


def _current_points(telecom: Any, now: datetime) -> Iterator[Mapping[str, Any]]:
    """ContactPoints with a value that are in use now (not use=old, period current)."""
    for point in _list(telecom):
        if not isinstance(point, dict) or not _text(point.get("value")):
            continue
        if point.get("use") == "old":
            continue
        period = point.get("period")
        if isinstance(period, dict) and (
            _before(period.get("end"), now) or _after(period.get("start"), now)
        ):
            continue
        yield point


def _before(value: Any, now: datetime) -> bool:
    """True when a FHIR dateTime (possibly partial: 2024, 2024-05, 2024-05-01) has passed."""
    moment = _moment(value)
    if isinstance(moment, datetime):
        return moment < now
    return moment is not None and moment < (now.year, now.month, now.day)[: len(moment)]


def _after(value: Any, now: datetime) -> bool:
    """True when a FHIR dateTime (possibly partial) is still to come."""
    moment = _moment(value)
    if isinstance(moment, datetime):
        return moment > now
    return moment is not None and moment > (now.year, now.month, now.day)[: len(moment)]


def _moment(value: Any) -> datetime | tuple[int, ...] | None:
    """An aware datetime, or (year[, month[, day]]) for a partial date; None if unreadable."""
    text = _text(value)
    if not text:
        return None
    if "T" in text:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    try:
        pieces = tuple(int(p) for p in text.split("-"))
        if len(pieces) == 3:
            date(*pieces)
    except (ValueError, TypeError):
        return None
    return pieces if 1 <= len(pieces) <= 3 else None


def _rank(point: Mapping[str, Any]) -> int:
    rank = point.get("rank")
    return rank if isinstance(rank, int) and not isinstance(rank, bool) and rank > 0 else _FAR


def _instant(value: datetime) -> str:
    # UTC with Z: a "+hh:mm" offset would need escaping in a query string.
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def _shown_origin(url: str) -> str:
    # The host alone when only the host differs; scheme and port when they matter.
    scheme, host, port = _origin(url)
    default = {"https": 443, "http": 80}.get(scheme)
    return host if scheme == "https" and port == default else f"{scheme}://{host}:{port}"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    return [v.strip() for v in _list(value) if isinstance(v, str) and v.strip()]


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None
