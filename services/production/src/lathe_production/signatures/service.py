"""Applying a signature to a record: verified against auth's keys, bound to the record, the caller,
the meaning and the reason, and stored once (its token id is unique). See lathe_common.signatures."""

from __future__ import annotations

import uuid

from lathe_common.auth import Principal
from lathe_common.db import time_ordered_id
from lathe_common.errors import Conflict, InvalidInput
from lathe_common.signatures import SignatureVerifier
from lathe_contracts.production import ElectronicSignature
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_production.signatures.models import Signature
from lathe_production.signatures.schemas import SignedRequest


def signature_required(record: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, code="signature_required", record=record)


class Signatures:
    def __init__(self, session: AsyncSession, verifier: SignatureVerifier) -> None:
        self.session = session
        self.verifier = verifier

    async def apply(self, request: SignedRequest, *, record: str, principal: Principal) -> Signature:
        """The signature of ``request`` for ``record``, stored; refused if it is missing, not auth's,
        expired, for another record, meaning, reason or signer, or already used."""
        if request.password is not None:
            raise signature_required(
                record,
                "Production never takes passwords: sign at POST /api/v1/auth/signatures with your password, "
                f"record {record!r}, this meaning and reason, and send the token it answers as `signature`.",
            )
        if request.signature is None:
            raise signature_required(
                record, f"This needs your electronic signature of {record!r}: get it at POST /api/v1/auth/signatures."
            )
        verified = await self.verifier.verify_for(
            request.signature,
            record=record,
            signer_id=principal.user_id,
            meaning=request.meaning,
            reason=request.reason,
        )
        # ON CONFLICT DO NOTHING on the token's id: of two requests racing with one token, the second
        # waits for the first to commit and then finds it taken (or, if the first rolled back, takes it).
        stored = await self.session.execute(
            insert(Signature)
            .values(
                id=time_ordered_id(),
                token_id=verified.token_id,
                record=verified.record,
                meaning=verified.meaning.value,
                reason=verified.reason,
                signer_id=uuid.UUID(verified.signer_id),
                signer_username=verified.username,
                signer_name=verified.full_name,
                authenticated_at=verified.authenticated_at,
                content_sha256=verified.content_sha256(),
                token=request.signature,
            )
            .on_conflict_do_nothing(index_elements=[Signature.token_id])
            .returning(Signature)
        )
        signature = stored.scalar_one_or_none()
        if signature is None:
            raise Conflict("This signature was used already: sign again for this record.", code="signature_used")
        return signature


def signature_facts(signature: Signature) -> ElectronicSignature:
    """A stored signature as events carry it (never the token)."""
    return ElectronicSignature(
        id=signature.id,
        signer_id=signature.signer_id,
        signer=signature.signer_username,
        signer_name=signature.signer_name,
        meaning=signature.meaning,
        reason=signature.reason,
        record=signature.record,
        signed_at=signature.signed_at,
        authenticated_at=signature.authenticated_at,
        content_sha256=signature.content_sha256,
    )
