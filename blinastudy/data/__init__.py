"""The data layer: a cohort from a file to a checked table.

:mod:`~blinastudy.data.schema` is the data dictionary as code;
:mod:`~blinastudy.data.cohort` reads files into a ``FileTable``
(:mod:`~blinastudy.data.table`: the frame beside the file row of each row);
:mod:`~blinastudy.data.mapping` translates a hospital export (names, units, codes,
dates) to the canonical table, with :mod:`~blinastudy.data.dates` and
:mod:`~blinastudy.data.mrd_text` for dates and MRD as laboratories write it;
:mod:`~blinastudy.data.eligibility` defines the historical pool;
:mod:`~blinastudy.data.demo` builds the synthetic demo cohort. Imports only ``core``."""
