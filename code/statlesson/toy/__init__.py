"""The toy generator of the lesson's data: the analysis never imports this subpackage.

    events    parton-level tt̄, tW and W+jets events
    detector  the toy detector and the calibration it publishes as a correctionlib file
    data      the deterministic generator: ntuples, corrections.json, truth.json
              (``python -m statlesson.toy.data --out data``, or ``make data``)

It writes the files the analysis reads (``data/``); a test checks that no analysis module and
no episode imports it.
"""
