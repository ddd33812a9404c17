"""The delivery record linkcli writes back to a FHIR EHR: one R4 `Communication` per
message sent (DESIGN.md, "Delivery record back to the EHR (FHIR)").

It says that a message went, to whom, about which appointment, when and by which medium,
and nothing of what it said: no payload, no link (the record is kept in the chart, and
the link is the key to the session).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

# HL7 v3 ParticipationMode: how the communication was carried.
MEDIUM_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
MEDIUM = {
    "sms": ("SMSWRIT", "SMS message"),
    "email": ("EMAILWRIT", "email"),
}
# The identifier of each record is the send's key: a conditional create on it
# (If-None-Exist) makes a repeated POST after a crash find the record instead of adding a
# second one.
IDENTIFIER_SYSTEM = "urn:linkcli:send"


def communication(
    send_key: str,
    appointment_id: str,
    patient_id: str,
    channel: str,
    sent: datetime,
) -> dict[str, Any]:
    """The R4 Communication recording one sent message (JSON-ready)."""
    code, display = MEDIUM[channel]
    patient = {"reference": f"Patient/{patient_id}"}
    return {
        "resourceType": "Communication",
        "identifier": [{"system": IDENTIFIER_SYSTEM, "value": send_key}],
        "status": "completed",
        "subject": patient,
        "about": [{"reference": f"Appointment/{appointment_id}"}],
        "sent": sent.isoformat().replace("+00:00", "Z"),
        "medium": [{"coding": [{"system": MEDIUM_SYSTEM, "code": code, "display": display}]}],
        "recipient": [patient],
    }


def if_none_exist(send_key: str) -> str:
    """The `If-None-Exist` search that finds this send's record when it already exists."""
    return f"identifier={quote(IDENTIFIER_SYSTEM + '|' + send_key, safe=':|')}"
