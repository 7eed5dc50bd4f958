"""Views that only read a study: plot data (``data.py``) and static matplotlib plots
(``plots.py``, also ``hn.plots``)."""
