"""Every supported format yields its real text through the real parser."""

from __future__ import annotations

import os
import shutil

import pytest

from desktop_app.core.errors import DocumentError
from desktop_app.core.ingest.parsing import create_parser, pdf
from tests.conftest import DATA

pytestmark = pytest.mark.integration

KNOWN_TEXT = {
    "word-processor-history.pdf": ("Christopher Latham Sholes", 1),
    "sample-presentation.pptx": ("This is the first content slide", 2),
    "word_sample.docx": ("To get started with swimming", None),
    "example-10k-1p.html": ("Galaxy Gaming, Inc.", None),
    "stanley-cups.xlsx": ("Blues | STL | 1", None),
    "family-day.eml": ("face painting, a petting zoo", None),
    "fake.odt": ("Lorem ipsum dolor sit amet.", None),
    "fake-doc.rtf": ("My First Heading", None),
    "winter-sports.epub": ("Winter Sports in Switzerland", None),
    "example-docs-readme.md": ("The sample docs directory contains the following files", None),
    "war-and-peace-1p.txt": ("Anna Pavlovna", None),
    "stanley-cups.csv": ("Blues | STL | 1", None),
}


@pytest.fixture(scope="module")
def parser():
    parser = create_parser()
    parser.warm_up()
    return parser


@pytest.mark.parametrize("name", sorted(KNOWN_TEXT))
def test_format_yields_its_text(parser, name):
    phrase, page = KNOWN_TEXT[name]
    elements = parser.parse(DATA / name).elements
    matching = [e for e in elements if phrase in e.text]
    assert matching, f"{phrase!r} not found in {name}"
    if page is not None:
        assert matching[0].page == page


def test_pdf_pages_and_spreadsheet_sheets_are_kept(parser):
    pdf_doc = parser.parse(DATA / "word-processor-history.pdf")
    assert pdf_doc.pages == 5 and {e.page for e in pdf_doc.elements} == {1, 2, 3, 4, 5}
    sheets = {e.section for e in parser.parse(DATA / "stanley-cups.xlsx").elements}
    assert sheets == {"Stanley Cups", "Stanley Cups Since 67"}


def test_password_protected_pdf_says_so(parser):
    with pytest.raises(DocumentError, match="password-protected PDF"):
        parser.parse(DATA / "password.pdf")


def test_scanned_pdf_without_ocr_says_so(parser, monkeypatch):
    monkeypatch.setattr(pdf, "ocr_available", lambda: False)
    with pytest.raises(DocumentError, match="no text layer and OCR unavailable"):
        parser.parse(DATA / "scanned.pdf")


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")
def test_scanned_pdf_is_read_by_ocr(parser, monkeypatch):
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    text = " ".join(e.text for e in parser.parse(DATA / "scanned.pdf").elements)
    assert "Docling bundles PDF document conversion" in text
    # Tesseract's one-thread limit stays in its own process: in ours it would hold llama.cpp,
    # loaded later, to one thread and answers to half speed.
    assert "OMP_THREAD_LIMIT" not in os.environ


def test_ocr_failure_fails_the_file_with_tesseracts_reason(parser, monkeypatch, tmp_path):
    failing = tmp_path / "tesseract"
    failing.write_text("#!/bin/sh\necho 'Error: cannot read the image' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setattr(pdf, "_tesseract", lambda: str(failing))
    monkeypatch.setattr(pdf, "ocr_available", lambda: True)
    with pytest.raises(DocumentError, match="OCR failed on page 1: Error: cannot read the image"):
        parser.parse(DATA / "scanned.pdf")


def test_truncated_pdf_is_reported_corrupted(parser, tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes((DATA / "word-processor-history.pdf").read_bytes()[:2000])
    with pytest.raises(DocumentError, match="corrupted"):
        parser.parse(broken)


def test_garbage_docx_is_reported_corrupted(parser, tmp_path):
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"this is not a zip archive at all")
    with pytest.raises(DocumentError, match="corrupted"):
        parser.parse(broken)


def _docx_with_body(tmp_path, name: str, body: bytes):
    """word_sample.docx with its document.xml replaced by `body`."""
    import zipfile

    target = tmp_path / name
    with zipfile.ZipFile(DATA / "word_sample.docx") as source, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            data = body if item.filename == "word/document.xml" else source.read(item)
            out.writestr(item.filename, data)
    return target


def test_an_office_file_that_unpacks_to_too_much_text_fails_before_parsing(parser, tmp_path):
    paragraph = b"<w:p><w:r><w:t>All work and no play makes Jack a dull boy.</w:t></w:r></w:p>"
    huge = _docx_with_body(tmp_path, "huge.docx", paragraph * 900_000)  # 70 MB of markup
    assert huge.stat().st_size < 2_000_000
    with pytest.raises(DocumentError, match=r"too large to read: its text unpacks to 69 MB \(the limit is 64 MB\)"):
        parser.parse(huge)
    bomb = _docx_with_body(tmp_path, "bomb.docx", b"<w:p/>" * 4_000_000)  # 24 MB from ~25 kB
    with pytest.raises(DocumentError, match="word/document.xml inside it unpacks to 24 MB .* zip bomb"):
        parser.parse(bomb)


def test_a_web_page_is_read_in_the_encoding_it_declares(parser, tmp_path):
    page = tmp_path / "polish.html"
    page.write_bytes('<html><head><meta charset="iso-8859-2"></head><body>'
                     '<p>Zażółć gęślą jaźń. Łódź i Kraków.</p></body></html>'.encode("iso-8859-2"))
    texts = [e.text for e in parser.parse(page).elements]
    assert texts == ["Zażółć gęślą jaźń. Łódź i Kraków."]


def test_a_web_page_opening_like_xml_is_still_read_as_a_page(parser, tmp_path):
    page = tmp_path / "report.html"
    page.write_text('<?xml version="1.0" encoding="utf-8"?>\n<html><head><style>p {color: red}'
                    '</style></head><body><h1>Report</h1><p>The budget is 200 laptops.</p>'
                    '</body></html>', encoding="utf-8")
    elements = parser.parse(page).elements
    assert [e.text for e in elements] == ["Report", "The budget is 200 laptops."]


def test_a_large_text_file_in_a_legacy_encoding_is_read_in_parts(parser, tmp_path):
    big = tmp_path / "export.txt"
    line = "Invoice 1042 for the quarterly maintenance of the Zephyr vacuum fleet.\n\n"
    big.write_bytes((line * 60_000 + "Rechnung für Müller, 20 € – „bezahlt“.").encode("cp1252"))
    parts = list(parser.parts(big))
    assert len(parts) > 3 and parts[-1].bytes_read == big.stat().st_size
    assert parts[-1].elements[-1].text == "Rechnung für Müller, 20 € – „bezahlt“."


def test_the_isolated_reader_gives_the_same_elements_and_errors(parser):
    from desktop_app.core.ingest.parsing import create_isolated_parser

    isolated = create_isolated_parser()
    try:
        for name in ("word-processor-history.pdf", "word_sample.docx", "example-10k-1p.html"):
            assert isolated.parse(DATA / name) == parser.parse(DATA / name), name
        with pytest.raises(DocumentError, match="password-protected PDF"):
            isolated.parse(DATA / "password.pdf")
    finally:
        isolated.close()  # type: ignore[attr-defined]


def _page_image(path, text: str) -> None:
    """A photo-like scan of a page: black text drawn on white, as a PNG."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (1400, 300), "white")
    font = ImageFont.load_default(size=48)
    ImageDraw.Draw(image).text((40, 110), text, fill="black", font=font)
    image.save(path)


def test_an_image_without_ocr_is_refused_with_what_to_install(parser, monkeypatch, tmp_path):
    from desktop_app.core.ingest.parsing import base

    monkeypatch.setattr(base, "ocr_available", lambda: False)
    monkeypatch.setattr(pdf, "ocr_available", lambda: False)
    scan = tmp_path / "receipt.png"
    _page_image(scan, "Total due 42 euros")
    assert not parser.supports(scan)  # a folder add lists it as ignored, with the reason
    assert "sudo apt install tesseract-ocr" in base.unsupported_reason(scan)
    with pytest.raises(DocumentError, match="an image: its text is read when Tesseract"):
        parser.parse(scan)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")
def test_an_image_is_read_by_ocr(parser, tmp_path):
    scan = tmp_path / "receipt.png"
    _page_image(scan, "Total due 42 euros")
    assert parser.supports(scan)
    document = parser.parse(scan)
    assert "Total due 42 euros" in " ".join(e.text for e in document.elements)
    assert document.pages == 1
