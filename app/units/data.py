"""The 13 kecamatan and their kelurahan (Kepmendagri 300.2.2-2138/2025 codes)."""

from typing import NamedTuple


class Kecamatan(NamedTuple):
    code: str
    name: str
    slug: str
    kelurahan: tuple[str, ...]


KECAMATAN: tuple[Kecamatan, ...] = (
    Kecamatan(
        "36.71.01",
        "Tangerang",
        "tangerang",
        (
            "Sukarasa",
            "Sukaasih",
            "Tanah Tinggi",
            "Buaran Indah",
            "Cikokol",
            "Kelapa Indah",
            "Sukasari",
            "Babakan",
        ),
    ),
    Kecamatan(
        "36.71.02",
        "Jatiuwung",
        "jatiuwung",
        ("Keroncong", "Jatake", "Pasir Jaya", "Gandasari", "Manis Jaya", "Alam Jaya"),
    ),
    Kecamatan(
        "36.71.03",
        "Batuceper",
        "batuceper",
        (
            "Batuceper",
            "Batu Jaya",
            "Poris Gaga",
            "Poris Gaga Baru",
            "Kebon Besar",
            "Batu Sari",
            "Poris Jaya",
        ),
    ),
    Kecamatan(
        "36.71.04", "Benda", "benda", ("Belendung", "Jurumudi", "Benda", "Pajang", "Jurumudi Baru")
    ),
    Kecamatan(
        "36.71.05",
        "Cipondoh",
        "cipondoh",
        (
            "Cipondoh",
            "Cipondoh Makmur",
            "Cipondoh Indah",
            "Gondrong",
            "Kenanga",
            "Petir",
            "Ketapang",
            "Poris Plawad",
            "Poris Plawad Utara",
            "Poris Plawad Indah",
        ),
    ),
    Kecamatan(
        "36.71.06",
        "Ciledug",
        "ciledug",
        (
            "Paninggilan",
            "Sudimara Barat",
            "Sudimara Timur",
            "Tajur",
            "Parung Serab",
            "Sudimara Jaya",
            "Sudimara Selatan",
            "Paninggilan Utara",
        ),
    ),
    Kecamatan(
        "36.71.07",
        "Karawaci",
        "karawaci",
        (
            "Karawaci",
            "Bojong Jaya",
            "Karawaci Baru",
            "Nusa Jaya",
            "Cimone",
            "Cimone Jaya",
            "Pabuaran",
            "Sumur Pacing",
            "Bugel",
            "Marga Sari",
            "Pabuaran Tumpeng",
            "Nambo Jaya",
            "Gerendeng",
            "Sukajadi",
            "Pasar Baru",
            "Koang Jaya",
        ),
    ),
    Kecamatan(
        "36.71.08",
        "Periuk",
        "periuk",
        ("Periuk", "Gembor", "Gebang Raya", "Sangiang Jaya", "Periuk Jaya"),
    ),
    Kecamatan(
        "36.71.09",
        "Cibodas",
        "cibodas",
        (
            "Cibodas",
            "Cibodas Sari",
            "Cibodas Baru",
            "Panunggangan Barat",
            "Uwung Jaya",
            "Jatiuwung",
        ),
    ),
    Kecamatan(
        "36.71.10",
        "Neglasari",
        "neglasari",
        (
            "Neglasari",
            "Karang Sari",
            "Selapajang Jaya",
            "Kedaung Wetan",
            "Mekar Sari",
            "Karang Anyar",
            "Kedaung Baru",
        ),
    ),
    Kecamatan(
        "36.71.11",
        "Pinang",
        "pinang",
        (
            "Pinang",
            "Sudimara Pinang",
            "Neroktog",
            "Kunciran",
            "Kunciran Indah",
            "Kunciran Jaya",
            "Cipete",
            "Pakojan",
            "Panunggangan",
            "Panunggangan Utara",
            "Panunggangan Timur",
        ),
    ),
    Kecamatan(
        "36.71.12",
        "Karang Tengah",
        "karangtengah",
        (
            "Karang Tengah",
            "Karang Mulya",
            "Pondok Bahar",
            "Pondok Pucung",
            "Karang Timur",
            "Padurenan",
            "Parung Jaya",
        ),
    ),
    Kecamatan(
        "36.71.13",
        "Larangan",
        "larangan",
        (
            "Larangan Utara",
            "Larangan Selatan",
            "Cipadu",
            "Kreo",
            "Larangan Indah",
            "Gaga",
            "Cipadu Jaya",
            "Kreo Selatan",
        ),
    ),
)


def kelurahan_code(kecamatan: Kecamatan, name: str) -> str | None:
    """`36.71.KK.10NN` for a kelurahan of the kecamatan, matched case-insensitively."""
    wanted = name.strip().casefold()
    for index, kel in enumerate(kecamatan.kelurahan, start=1):
        if kel.casefold() == wanted:
            return f"{kecamatan.code}.{1000 + index}"
    return None
