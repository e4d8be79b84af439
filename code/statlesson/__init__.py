"""Helper package of the "Systematics and Statistics" lesson (tt̄ cross-section measurement).

Modules:
    samples    sample definitions, cross sections, luminosity (one source of truth)
    toydata    deterministic generator of the bundled toy ntuples
    selection  reading ntuples, event selection, regions 4j1b (H_T) and 4j2b (m_bjj)
    variations how each systematic is applied (weights, JES/JER shifts, b-tag weights, ...)
    inference  small pyhf models, fits and likelihood scans for the statistics episode
    plotting   mplhep style, CMS-style labels, presentation mode for live teaching
    setupcheck versions of the stack and an inventory of the bundled files
"""

__version__ = "0.1.0"
