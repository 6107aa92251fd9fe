"""`zoo report`: a static, offline site of every model (cards, this machine's bench rows, charts, examples drawn
by the models themselves). One job per module: history (bench reports found), machine (the header), rows (what
the index shows), pins (weights sources and pins in words), pareto, coverage (export formats), charts (PNGs),
figures (which charts each page gets), examples (drawn outputs), html (pages), outdir (the guarded output
folder), site (the build), serve (a local HTTP server)."""

from zoo.report.site import SiteSummary, build_site

__all__ = ["SiteSummary", "build_site"]
