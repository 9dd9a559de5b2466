"""Images people upload (photos for the photo template), owned by an organization."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from briefcast.models.base import Base, Timestamped, UUIDPk


class MediaUpload(UUIDPk, Timestamped, Base):
    __tablename__ = "media_uploads"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    media_key: Mapped[str] = mapped_column(String(200))  # content-addressed, in the media store
    content_type: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
