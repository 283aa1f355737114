"""Write questions.jsonl: questions that name a company and a period, each with its filing.

The filings are public SEC reports (10-K annual, 10-Q quarterly) of ten companies, several
periods each; README.md says where to get them. Every question names its filing's company and
period the ways people do ("Q3 fiscal 2025 10-Q", "quarter ended June 28, 2025", "2024 annual
report") and asks about a topic every filing has, so the topic alone never picks the filing.
Topics of the first half make the tuning split, the others the test split: a setting chosen on
`tune` is scored once on `test`.

    python benchmarks/lookalike/make_questions.py > benchmarks/lookalike/questions.jsonl
"""

from __future__ import annotations

import itertools
import json

# file name -> (company as people write it, other name, period phrases)
FILINGS = {
    "Apple.10-Q.html": ("Apple", "Apple Inc.", ["10-Q for the quarter ended June 29, 2024",
                                                "Q3 fiscal 2024 10-Q", "third quarter of fiscal 2024"]),
    "aapl-20250329.htm": ("Apple", "Apple Inc.", ["10-Q for the quarter ended March 29, 2025",
                                                  "Q2 fiscal 2025 10-Q", "second quarter of fiscal 2025"]),
    "aapl-10-q-2025-08-01.html": ("Apple", "Apple Inc.", ["10-Q for the quarter ended June 28, 2025",
                                                          "Q3 fiscal 2025 10-Q", "third quarter of fiscal 2025"]),
    "aapl-10-k-2024-11-01.html": ("Apple", "Apple Inc.", ["10-K for the fiscal year ended September 28, 2024",
                                                          "fiscal 2024 annual report", "FY2024 10-K"]),
    "Nvidia.10-K.html": ("NVIDIA", "Nvidia", ["10-K for the fiscal year ended January 29, 2023",
                                              "fiscal 2023 annual report", "FY2023 10-K"]),
    "nvda-10-k-2025-02-26.html": ("NVIDIA", "Nvidia", ["10-K for the fiscal year ended January 26, 2025",
                                                       "fiscal 2025 annual report", "FY2025 10-K"]),
    "nvda-10-q-2025-08-27.html": ("NVIDIA", "Nvidia", ["10-Q for the quarter ended July 27, 2025",
                                                       "Q2 fiscal 2026 10-Q", "second quarter of fiscal 2026"]),
    "Oracle.10-Q.html": ("Oracle", "Oracle Corporation", ["10-Q for the quarter ended August 31, 2024",
                                                          "Q1 fiscal 2025 10-Q", "first quarter of fiscal 2025"]),
    "pg-10-k-2025-08-04.html": ("Procter & Gamble", "P&G", ["10-K for the fiscal year ended June 30, 2025",
                                                            "fiscal 2025 annual report", "FY2025 10-K"]),
    "pg-10-q-2025-04-24.html": ("Procter & Gamble", "P&G", ["10-Q for the quarter ended March 31, 2025",
                                                            "Q3 fiscal 2025 10-Q", "third quarter of fiscal 2025"]),
}
# Companies whose fiscal year is the calendar year: a 2024 10-K and a Q2 2025 10-Q each.
# ticker -> (company, other name, year end, quarter end, 10-K file, 10-Q file)
CALENDAR = {
    "ba": ("Boeing", "The Boeing Company", "December 31, 2024", "June 30, 2025",
           "ba-10-k-2025-02-03.html", "ba-10-q-2025-07-29.html"),
    "ibm": ("IBM", "International Business Machines", "December 31, 2024", "June 30, 2025",
            "ibm-10-k-2025-02-25.html", "ibm-10-q-2025-07-24.html"),
    "jnj": ("Johnson & Johnson", "J&J", "December 29, 2024", "June 29, 2025",
            "jnj-10-k-2025-02-13.html", "jnj-10-q-2025-07-24.html"),
    "ko": ("Coca-Cola", "The Coca-Cola Company", "December 31, 2024", "June 27, 2025",
           "ko-10-k-2025-02-20.html", "ko-10-q-2025-07-24.html"),
    "nflx": ("Netflix", "Netflix, Inc.", "December 31, 2024", "June 30, 2025",
             "nflx-10-k-2025-01-27.html", "nflx-10-q-2025-07-18.html"),
    "tsla": ("Tesla", "Tesla, Inc.", "December 31, 2024", "June 30, 2025",
             "tsla-10-k-2025-01-30.html", "tsla-10-q-2025-07-24.html"),
    "unp": ("Union Pacific", "Union Pacific Corporation", "December 31, 2024", "June 30, 2025",
            "unp-10-k-2025-02-07.html", "unp-10-q-2025-07-24.html"),
}
for name, other, year_end, quarter_end, annual, quarterly in CALENDAR.values():
    FILINGS[annual] = (name, other, [f"10-K for the year ended {year_end}", "2024 annual report",
                                     "FY2024 10-K"])
    FILINGS[quarterly] = (name, other, [f"10-Q for the quarter ended {quarter_end}",
                                        "Q2 2025 10-Q", "second quarter of 2025"])

TOPICS = [  # first half: tuning split; second half: test split
    "total revenue", "research and development expenses", "the effective tax rate",
    "cash and cash equivalents", "share repurchases", "legal proceedings", "long-term debt",
    "stock-based compensation", "foreign currency exchange risk", "diluted earnings per share",
    "net income", "operating income", "liquidity and capital resources", "risk factors",
    "segment results", "commitments and contingencies", "fair value of investments",
    "cash flows from operating activities", "recent accounting pronouncements",
    "disclosure controls and procedures",
]
TEMPLATES = [
    "What did {company}'s {period} say about {topic}?",
    "{company} {period}: {topic}",
    "In the {period} of {company}, what was reported on {topic}?",
    "How did {topic} develop for {company} according to its {period}?",
]


def main() -> None:
    rotation = itertools.cycle(range(12))
    for document, (company, other, periods) in sorted(FILINGS.items()):
        group = company
        for number, topic in enumerate(TOPICS):
            turn = next(rotation)
            question = TEMPLATES[turn % 4].format(
                company=company if turn % 3 else other, period=periods[turn % 3], topic=topic)
            split = "tune" if number < len(TOPICS) // 2 else "test"
            row = {"id": f"{document}#{number}", "question": question, "document": document,
                   "group": group, "split": split}
            print(json.dumps(row))


if __name__ == "__main__":
    main()
