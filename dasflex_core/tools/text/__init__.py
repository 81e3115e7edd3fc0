"""The text family: das2_ascii (:mod:`.das2`), das3_text (:mod:`.das3`) and
das3_csv (:mod:`.csv`, with the column mappings :mod:`.csv_columns` for das2
packets and :mod:`.csv_das3` for das3 datasets)."""
