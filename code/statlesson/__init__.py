"""Helper package of the "Systematics and Statistics" lesson (tt̄ cross-section measurement).

Modules, in pipeline order (each has one job):

Describing the analysis
    catalogue    every sample and every systematic, described once
    ntuple       the ntuple format (trees, branches, working point) and where the files are

Making the toy data (a subpackage the analysis never imports)
    toy          events, detector and the deterministic generator: ntuples, corrections.json,
                 truth.json (statlesson.toy.events, .detector, .data)

The analysis
    fileio       reading and writing files safely (atomic writes, clear errors)
    corrections  detector corrections read with correctionlib
    selection    reading ntuples, event selection, regions and their observables
    variations   how each systematic is applied (weights, jet shifts, alternative samples)
    histograms   template histograms: naming, filling, symmetrization, the ROOT file
    diagnostics  looking at templates: normalization vs shape, shape tests, MC statistics
    pruning      which templates the fit needs, judged against the data's precision
    scaleout     the same filling with Dask, chunk by chunk
    daskrun      running the Dask filling: its task graph and its local cluster

The statistical model and its interpretation
    counting     hand-built counting models in pyhf: fits, scans, intervals (episode 1)
    modelspec    the cabinetry configuration and the pyhf workspace built from it
    validation   finding mistakes in the configuration and the workspace
    fitting      impacts, uncertainty groups and refits beside cabinetry's calls
    toys         pseudo-experiments: sampling the model and fitting hundreds of toys at once
    limits       likelihood scans and CLs upper limits beside pyhf's calls

Figures and set-up
    plotting     the look of the figures: style, presentation mode, labels, layouts
    histplots    drawing data: templates, variations with ratios, stacks, results
    interactive  figures with a slider that work on the static site, without a kernel
    setupcheck   versions of the stack and an inventory of the bundled files
    messages     where the log messages of cabinetry, pyhf and the package go in a notebook
"""

__version__ = "0.1.0"
