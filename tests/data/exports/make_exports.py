"""Write the realistic hospital exports used by the date, MRD and status tests.

Run from the repository root: ``python tests/data/exports/make_exports.py``. The files
are committed; tests check that this script still writes the same cells.

* ``treated.csv``: children given blinatumomab (one row per child), dates written
  dd/mm/yyyy, status text, MRD as the laboratory reports it (``neg``, ``<0.01``,
  ``1x10^-4``), cytogenetics in words, an ``MRD TP1 %`` column whose time point is
  not clear from its header.
* ``pool.xlsx``: the historical chemotherapy pool, made with openpyxl: Excel date
  cells, ISO text dates and Excel serial numbers, a date of birth instead of an
  age, karyotype in words.
* ``treated_bad.csv``: ``treated.csv`` with one broken date or impossible sequence
  in most rows (see ``BROKEN``).
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl

HERE = Path(__file__).resolve().parent

TREATED_HEADER = [
    "Study No.",
    "Sex (M/F)",
    "Age at dx (y)",
    "WBC at dx",
    "Risk group",
    "Cytogenetics",
    "CNS",
    "MRD d33",
    "MRD TP1 %",
    "Date of diagnosis",
    "Date of blinatumomab start",
    "Date of relapse",
    "Date of death",
    "Date of last follow-up",
    "Status",
]
# fmt: off
TREATED = [
    ["BL-01", "M", "4.2", "12.5", "IR", "ETV6::RUNX1", "CNS1", "neg", "0.8",
     "14/03/2019", "20/06/2019", "02/11/2020", "", "15/01/2022", "relapsed"],
    ["BL-02", "F", "7.9", "45", "HR", "normal karyotype", "CNS1", "<0.01", "1.5",
     "23/05/2019", "28/08/2019", "", "", "10/05/2024", "alive in CR1"],
    ["BL-03", "M", "12.1", "110", "HR", "KMT2A-r", "CNS2", "0.02", "12",
     "02/07/2019", "15/10/2019", "14/01/2021", "03/06/2021", "03/06/2021", "dead"],
    ["BL-04", "F", "3.5", "8.1", "IR", "high hyperdiploid", "CNS1", "1x10^-4", "0.3",
     "19/09/2019", "27/12/2019", "", "", "30/09/2024", "alive in CR1"],
    ["BL-05", "M", "15.2", "220", "HR", "normal karyotype", "CNS3", "0.15", "25",
     "08/11/2019", "21/02/2020", "", "05/04/2020", "05/04/2020", "deceased"],
    ["BL-06", "F", "5.8", "3.4", "IR", "TCF3-PBX1", "CNS1", "<0.01", "0.05",
     "17/01/2020", "30/04/2020", "", "", "11/12/2023", "alive in CR1"],
    ["BL-07", "M", "9.3", "67", "HR", "iAMP21", "CNS1", "0.05", "4.2",
     "25/03/2020", "02/07/2020", "19/08/2022", "", "03/02/2024", "relapsed"],
    ["BL-08", "F", "2.7", "15", "IR", "ETV6::RUNX1", "CNS1", "neg", "0.2",
     "13/06/2020", "16/09/2020", "", "", "28/02/2024", "alive in CR1"],
    ["BL-09", "M", "11.4", "32", "HR", "BCR-ABL1", "CNS1", "0.3", "8",
     "21/08/2020", "30/11/2020", "", "08/10/2024", "08/10/2024", "dead"],
    ["BL-10", "F", "6.1", "5.5", "IR", "high hyperdiploid", "CNS2", "< 0.01 %", "0.9",
     "30/10/2020", "12/02/2021", "", "", "17/04/2024", "alive in CR1"],
    ["BL-11", "M", "14.8", "88", "HR", "normal karyotype", "CNS1", "0.08", "3.3",
     "16/12/2020", "25/03/2021", "", "", "22/05/2024", "Alive in CR1"],
    ["BL-12", "F", "8.4", "21", "IR", "KMT2A-r", "CNS1", "1x10-4", "0.4",
     "27/02/2021", "07/06/2021", "", "", "14/06/2024", "alive in CR1"],
]
# fmt: on

#: ``{study number: {column: broken cell}}`` for treated_bad.csv, with what is wrong.
BROKEN: dict[str, dict[str, str]] = {
    "BL-01": {"Date of blinatumomab start": "20/12/2020"},  # after the relapse
    "BL-02": {"Date of death": "10/05/2024"},  # status says alive in CR1
    "BL-03": {"Date of relapse": "14/13/2021"},  # no such month either way
    "BL-05": {"Date of death": "05/04/2019", "Date of last follow-up": "05/04/2019"},
    "BL-06": {"Date of last follow-up": "11/12/23"},  # two-digit year
    "BL-07": {"Date of last follow-up": "03/02/2022"},  # before the relapse
    "BL-08": {"Date of death": "01/03/2024", "Status": "dead"},  # after last contact
    "BL-09": {"Date of death": ""},  # status dead, no date of death
    "BL-10": {"Date of relapse": "2022-13-01", "Status": "relapsed"},  # month 13
    "BL-12": {"Date of diagnosis": "31/02/2021"},  # no 31 February
}

POOL_HEADER = [
    "Pat. Nr.",
    "Sex",
    "Date of birth",
    "WBC (x10^9/L)",
    "Risk group",
    "Karyotype",
    "CNS status",
    "MRD EOI (%)",
    "Date of diagnosis",
    "Date of relapse",
    "Date of death",
    "Date of last follow-up",
    "Status",
]


def serial(day: dt.date) -> int:
    """Excel's 1900-system serial number of ``day``."""
    return (day - dt.date(1899, 12, 30)).days


def at(y: int, m: int, d: int) -> dt.datetime:
    return dt.datetime(y, m, d)


# fmt: off
# Date cells are datetime (Excel date cells); relapse dates are ISO text; death dates are
# Excel serial numbers; two last follow-up dates are ISO text.
POOL: list[list[Any]] = [
    ["H-101", "M", at(2011, 5, 3), 7.2, "IR", "hyperdiploid", "CNS1", 0.05,
     at(2015, 2, 11), None, None, at(2021, 3, 9), "alive in CR1"],
    ["H-102", "F", at(2009, 8, 21), 54.0, "HR", "normal karyotype", "CNS1", 0.4,
     at(2015, 4, 27), "2016-09-14", serial(dt.date(2017, 3, 2)), at(2017, 3, 2), "dead"],
    ["H-103", "M", at(2012, 1, 30), 3.9, "IR", "t(12;21)", "CNS1", "<0.01",
     at(2015, 7, 8), None, None, at(2022, 1, 18), "Alive in CCR"],
    ["H-104", "F", at(2004, 11, 2), 140.0, "HR", "MLL-AF4", "CNS2", 1.2,
     at(2015, 10, 19), "2016-06-01", None, at(2020, 11, 30), "relapsed"],
    ["H-105", "M", at(2013, 3, 14), 11.0, "IR", "normal karyotype", "CNS1", 0.02,
     at(2016, 1, 5), None, None, "2023-02-14", "alive in CR1"],
    ["H-106", "F", at(2001, 6, 9), 26.5, "HR", "BCR-ABL1", "CNS1", 0.3,
     at(2016, 3, 22), None, serial(dt.date(2016, 8, 30)), at(2016, 8, 30), "deceased"],
    ["H-107", "M", at(2010, 12, 24), 9.8, "IR", "hyperdiploid", "CNS1", "<0.01",
     at(2016, 6, 13), None, None, at(2023, 5, 2), "alive in CR1"],
    ["H-108", "F", at(2012, 9, 5), 33.0, "IR", "t(12;21)", "CNS3", 0.08,
     at(2016, 9, 29), "2019-02-11", serial(dt.date(2019, 10, 7)), at(2019, 10, 7), "dead"],
    ["H-109", "M", at(2007, 4, 17), 72.0, "HR", "normal karyotype", "CNS1", 0.6,
     at(2016, 12, 1), None, None, at(2022, 8, 23), "alive in CR1"],
    ["H-110", "F", at(2014, 2, 28), 4.4, "IR", "hyperdiploid", "CNS1", 0.01,
     at(2017, 2, 16), None, None, at(2024, 3, 5), "alive in CR1"],
    ["H-111", "M", at(2003, 7, 11), 180.0, "HR", "MLL-AF4", "CNS2", 2.5,
     at(2017, 5, 24), "2018-01-30", serial(dt.date(2018, 12, 12)), at(2018, 12, 12), "dead"],
    ["H-112", "F", at(2011, 10, 20), 6.3, "IR", "normal karyotype", "CNS1", "<0.01",
     at(2017, 8, 7), None, None, "2023-09-21", "alive in CR1"],
    ["H-113", "M", at(2010, 3, 3), 15.0, "IR", "t(12;21)", "CNS1", 0.03,
     at(2017, 11, 14), None, None, at(2023, 6, 30), "alive in CR1"],
    ["H-114", "F", at(2005, 1, 26), 95.0, "HR", "iAMP21", "CNS1", 0.25,
     at(2018, 1, 9), "2019-07-22", None, at(2023, 1, 17), "relapsed"],
    ["H-115", "M", at(2013, 8, 8), 2.9, "IR", "hyperdiploid", "CNS1", "<0.01",
     at(2018, 4, 2), None, None, at(2024, 2, 8), "alive in CR1"],
    ["H-116", "F", at(2008, 5, 19), 48.0, "HR", "normal karyotype", "CNS1", 0.15,
     at(2018, 6, 25), None, serial(dt.date(2024, 4, 3)), at(2024, 4, 3), "dead"],
    ["H-117", "M", at(2012, 12, 12), 8.7, "IR", "t(12;21)", "CNS2", 0.04,
     at(2018, 9, 17), None, None, at(2023, 11, 28), "alive in CR1"],
    ["H-118", "F", at(2006, 9, 30), 61.0, "HR", "BCR-ABL1", "CNS1", 0.9,
     at(2018, 12, 3), "2020-03-16", None, at(2023, 10, 10), "relapsed"],
    ["H-119", "M", at(2014, 6, 1), 5.1, "IR", "hyperdiploid", "CNS1", 0.02,
     at(2019, 3, 11), None, None, at(2023, 12, 31), "alive in CR1"],
    ["H-120", "F", at(2009, 2, 14), 22.0, "HR", "normal karyotype", "CNS1", 0.12,
     at(2019, 5, 27), None, None, at(2024, 1, 15), "alive in CR1"],
]
# fmt: on


def treated_rows(broken: bool) -> list[list[str]]:
    rows = []
    for row in TREATED:
        cells = list(row)
        if broken:
            for column, cell in BROKEN.get(row[0], {}).items():
                cells[TREATED_HEADER.index(column)] = cell
        rows.append(cells)
    return rows


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_pool(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Historical pool"
    ws.append(POOL_HEADER)
    for row in POOL:
        ws.append(row)
    for cells in ws.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "DD.MM.YYYY"
    stamp = dt.datetime(2024, 7, 1)
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.save(path)


def main() -> None:
    write_csv(HERE / "treated.csv", TREATED_HEADER, treated_rows(broken=False))
    write_csv(HERE / "treated_bad.csv", TREATED_HEADER, treated_rows(broken=True))
    write_pool(HERE / "pool.xlsx")


if __name__ == "__main__":
    main()
