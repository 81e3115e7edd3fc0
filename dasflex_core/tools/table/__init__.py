"""The table family: das2/das3 streams as tables for Parquet, NetCDF-4, VOTable, JSON and CSV.

:mod:`.model` maps each das2 packet type or das3 dataset onto one
:class:`~.model.Table` (a time column, scalar columns, and vectors and
spectra as fixed-width columns with their coordinate :class:`~.model.Axis`)
and each run of records onto a :class:`~.model.Batch`; :mod:`.stream` feeds
the events of a stream through that model into a :class:`~.stream.TableWriter`.
The writers (:mod:`.parquet`, :mod:`.netcdf`, :mod:`.votable`, :mod:`.jsonout`,
:mod:`.csvplain`) only turn tables and batches into bytes, so every format
shares one mapping.  The programs ``das2_parquet``, ``das2_netcdf``,
``das2_votable``, ``das2_json`` and ``das2_plaincsv`` are thin wrappers
(``dasflex_core/tools/das2_*.py``).
"""
