"""Kecamatan of Kota Tangerang."""

from sqlmodel import Field, SQLModel


class UnitBase(SQLModel):
    code: str = Field(max_length=8, description="Kemendagri code, e.g. 36.71.06")
    name: str = Field(max_length=64)
    slug: str = Field(max_length=32, description="Lowercase, no spaces, e.g. karangtengah")


class Unit(UnitBase, table=True):
    __tablename__ = "units"

    id: int = Field(primary_key=True)
    code: str = Field(max_length=8, unique=True)
    slug: str = Field(max_length=32, unique=True)


class UnitPublic(UnitBase):
    id: int
