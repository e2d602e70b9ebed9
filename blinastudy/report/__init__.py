"""The report layer: what an analysis result looks like to a reader.

:mod:`~blinastudy.report.charts` draws (Altair), :mod:`~blinastudy.report.figures` gives
each figure its title and context, :mod:`~blinastudy.report.methods` and
:mod:`~blinastudy.report.teaching` write the texts, :mod:`~blinastudy.report.html`,
:mod:`~blinastudy.report.slides` and :mod:`~blinastudy.report.bundle` build the HTML/PDF
report, the slide deck and the export bundle, :mod:`~blinastudy.report.codegen` the
script that reruns an analysis, :mod:`~blinastudy.report.stamp` the provenance line and
:mod:`~blinastudy.report.export` the spreadsheet-safe tables. Imports every layer below;
nothing below imports it."""
