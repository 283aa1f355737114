"""Chunks that carry their document's context, and questions that name a document."""

from __future__ import annotations

from pathlib import Path

from desktop_app.core.ingest.chunking import chunk_document, document_text
from desktop_app.core.ingest.document_context import describe_document, find_periods
from desktop_app.core.records import AddFinished, DocumentStatus, Element

FILLER = " ".join(f"Sentence {i} says nothing about who or when." for i in range(40))


def words(texts):
    return [len(t.split()) for t in texts]


def test_periods_are_found_in_the_ways_reports_write_them():
    text = ("FORM 10-Q. For the quarterly period ended June 28, 2025. Compared with the third "
            "quarter of fiscal 2024 and Q2 2025; signed 3 July 2025, filed 2025-08-01.")
    assert find_periods(text) == ["June 28, 2025", "third quarter of fiscal 2024", "Q2 2025"]
    assert find_periods("no dates here, only 42 and 2025 alone") == []


def test_a_document_is_titled_by_its_first_heading_and_named_by_its_file():
    elements = [Element("Quarterly report", "Title", 1),
                Element("Acme Corporation, for the quarter ended March 31, 2024.", "NarrativeText", 1),
                Element("Deep inside: revenue grew 5%.", "NarrativeText", 2)]
    context = describe_document("/docs/acme-2024-q1.pdf", elements)
    assert context.title == "Quarterly report (acme-2024-q1)"
    # the period it covers, as stated and as people name it (the calendar's quarter, since
    # the report does not say which fiscal quarter it is)
    assert context.periods == ("quarter ended March 31, 2024", "Q1 2024 (first quarter of 2024)")
    assert context.header("Results of operations") == (
        "Quarterly report (acme-2024-q1) · quarter ended March 31, 2024 · "
        "Q1 2024 (first quarter of 2024) · Results of operations")
    # without a statement of the period covered: the dates the opening names
    assert describe_document("/docs/memo.txt", [Element("Signed 3 July 2025 in Oslo.")]).periods == (
        "3 July 2025",)
    # without a heading, the file name is the title; a number alone says nothing
    assert describe_document("/docs/acme-2024-q1.html", elements[1:]).title == "acme-2024-q1"
    assert describe_document("/docs/12345.txt", elements).title == "Quarterly report"


def test_each_chunk_carries_the_heading_it_stands_under_but_its_text_is_the_original():
    elements = [Element("Risk factors", "Title"), Element(FILLER, "NarrativeText"),
                Element("Legal proceedings", "Title"), Element(FILLER, "NarrativeText")]
    chunks = chunk_document("r.txt", elements, words, max_tokens=60,
                            header=lambda heading: f"Report · {heading}")
    text = document_text(elements)
    assert all(text[c.start:c.end] == c.text for c in chunks)
    first_of_section = [c for c in chunks if c.text.startswith(("Risk factors", "Legal proceedings"))]
    assert {c.context for c in first_of_section} == {"Report · None"}  # the text says it already
    later = [c for c in chunks if c not in first_of_section]
    assert {c.context for c in later} == {"Report · Risk factors", "Report · Legal proceedings"}
    assert all(c.searchable_text == f"{c.context}\n\n{c.text}" for c in chunks)


def look_alike_reports(folder: Path) -> Path:
    """Three reports of two companies, written alike: only their openings say whose and when."""
    folder.mkdir()
    for company, quarter, growth in [("Acme", "March 31, 2024", 5), ("Acme", "June 30, 2024", 7),
                                     ("Globex", "June 30, 2024", 9)]:
        name = f"report-{company.lower()}-{quarter[:4].lower()}.txt"
        (folder / name).write_text(
            f"Quarterly report\n\n{company} Corporation. For the quarter ended {quarter}.\n\n"
            f"{FILLER}\n\nResults\n\nTotal net sales increased {growth}% compared with the "
            "prior-year quarter, driven by services.\n", encoding="utf-8")
    return folder


def test_a_question_naming_company_and_period_finds_that_report(fake_library, tmp_path):
    folder = look_alike_reports(tmp_path / "reports")
    workspace = fake_library.create("Filings")
    finished = list(workspace.add([folder]))[-1]
    assert isinstance(finished, AddFinished) and finished.count(DocumentStatus.INDEXED) == 3
    asked = {"How did total net sales change for Acme in the quarter ended June 30, 2024?":
             "report-acme-june.txt",
             "Acme, quarter ended March 31, 2024: how did total net sales change?":
             "report-acme-marc.txt",
             "Globex total net sales in the June 30, 2024 quarter?": "report-globex-june.txt"}
    for question, expected in asked.items():
        found = workspace.search(question, top_k=3)
        assert Path(found[0].chunk.document).name == expected, question
        # the passage that answers, deep in the report, is found and shown as the report has it
        sales = next(p.chunk for p in found if "Total net sales increased" in p.chunk.text)
        assert Path(sales.document).name == expected, question
        assert "Corporation" not in sales.text and "2024" in sales.context
        assert sales.text in Path(sales.document).read_text(encoding="utf-8")


def test_a_workspace_indexed_before_context_headers_is_searchable_after_the_upgrade(
        tmp_path, monkeypatch):
    """Opening an older database adds the new columns and builds both keyword indexes from
    the chunks it has; its documents are indexed again (with headers) by the next add."""
    from desktop_app.core.search.keywords import FtsKeywordIndex
    from desktop_app.core.storage import database

    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(database, "_MIGRATIONS", database._MIGRATIONS[:2])
        old = database.Database(path)
        old.conn.execute("INSERT INTO documents(path, sha256, status, chunks, signature, updated_at)"
                         " VALUES ('/d/acme-q1.txt', 'x', 'indexed', 1, 'old', 0)")
        old.conn.execute("INSERT INTO chunks(id, document, ordinal, text, start, end)"
                         " VALUES ('c1', '/d/acme-q1.txt', 0, 'Acme Corporation sells anvils.', 0, 30)")
        old.conn.execute("INSERT INTO chunks_fts(rowid, text) SELECT rowid, text FROM chunks")
        old.close()
    upgraded = database.Database(path)
    keywords = FtsKeywordIndex(upgraded)
    assert keywords.search("anvils", 5)[0][0] == "c1"
    assert keywords.search_documents("acme", 5)[0][0] == "/d/acme-q1.txt"
    upgraded.close()


def test_the_period_a_report_is_about_is_the_one_it_names_most():
    from desktop_app.core.ingest.document_context import main_periods

    quarterly = ("Net sales in the third quarter of 2025 rose. Q3 2025 margins held. Compared "
                 "with the third quarter of 2024, services grew. In Q3 2025 we bought back shares.")
    assert main_periods(quarterly) == ["Q3 2025 (third quarter of 2025)"]
    annual = " ".join(["In fiscal year 2026 revenue grew."] * 4
                      + ["The second quarter of fiscal 2026 was strong."] * 3)
    assert main_periods(annual) == ["fiscal year 2026 (FY2026)",
                                    "Q2 fiscal 2026 (second quarter of fiscal 2026)"]
    assert main_periods("Compared with the first quarter of 2024 and fiscal 2023.") == []


def test_a_report_is_placed_by_the_period_it_covers_not_those_it_compares_with():
    from desktop_app.core.ingest.document_context import describe_document

    cover = Element("ANNUAL REPORT for the fiscal year ended September 28, 2024")
    body = Element(" ".join(["Sales rose in the fourth quarter of 2024."] * 4
                            + ["Compared with fiscal 2019, fiscal 2019 and fiscal 2019."]))
    assert describe_document("/d/10-k.html", [cover, body]).periods == (
        "year ended September 28, 2024", "fiscal year 2024 (FY2024)")
    quarterly = Element("For the quarterly period ended June 28, 2025")
    named = Element(" ".join(["Results of the third quarter of fiscal 2025."] * 3))
    assert describe_document("/d/10-q.html", [quarterly, named]).periods == (
        "quarter ended June 28, 2025", "Q3 fiscal 2025 (third quarter of fiscal 2025)")
