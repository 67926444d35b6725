"""Naskah dinas: the SOP's output documents as printable, frozen, verifiable PDFs."""
