"""Every table of the service, imported so that metadata (and Alembic) sees them all."""

from app.auth.models import RefreshToken, RevokedToken
from app.units.models import Unit
from app.users.models import User

__all__ = ["RefreshToken", "RevokedToken", "Unit", "User"]
