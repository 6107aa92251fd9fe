"""`zoo report`: a static, offline site of every model (cards, this machine's bench rows, charts, examples drawn
by the models themselves). One job per module: history (bench reports found), machine (the header), rows (what
the index shows), pareto, charts, examples, html (pages), outdir (the guarded output folder), figures (which charts each page gets), site (the build),
serve (a local HTTP server)."""

from zoo.report.site import SiteSummary, build_site

__all__ = ["SiteSummary", "build_site"]
