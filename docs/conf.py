"""Sphinx configuration of skgraph's documentation (``make docs``)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The checkout, not only an installed copy: the docs describe this tree.
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
# The examples and figures are small problems, run one after another: threads
# in BLAS only add overhead there, and busy-waiting ones can slow a build on a
# loaded machine several times over. Set before NumPy loads; a value set in
# the environment wins.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import skgraph  # noqa: E402

project = "skgraph"
author = "the skgraph developers"
copyright = "the skgraph developers, BSD-3-Clause"  # noqa: A001
version = release = skgraph.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "matplotlib.sphinxext.plot_directive",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]
root_doc = "index"
default_role = "literal"
nitpicky = False

# -- HTML ------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skgraph {release}"
html_static_path = ["_static"]
html_css_files = ["skgraph.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "getting_started": []}
html_show_sourcelink = False

# -- API reference: autosummary + numpydoc ----------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- gallery: every examples/plot_*.py runs at build time ----------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    # Run the plot_*.py scripts; demo.py is a terminal tour (`make demo`),
    # not a gallery page, and output/ holds what the examples write.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"^(demo|__init__)\.py$",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "remove_config_comments": True,
    "download_all_examples": False,
    "write_computation_times": False,
    "show_signature": False,
    "min_reported_time": 1,
    "doc_module": ("skgraph",),
    "backreferences_dir": "api/generated/backreferences",
    "run_stale_examples": True,
}

# -- links to gallery examples that other work may not have landed yet -----------------
# ``|example_<name>|`` is a link to examples/plot_<name>.py's gallery page when the
# script exists, and its file name otherwise: a page can mention an example
# before it lands without breaking the warnings-as-errors build, and the link
# appears by itself once it does.
_LINKED_EXAMPLES = ("logistic_solvers", "mlp_activations", "logistic_l1_path")


def _example_link(name):
    script = f"plot_{name}.py"
    if (ROOT / "examples" / script).exists():
        return f":ref:`sphx_glr_auto_examples_{script}`"
    return f"``examples/{script}``"


rst_epilog = "\n".join(
    f".. |example_{name}| replace:: {_example_link(name)}" for name in _LINKED_EXAMPLES
)

# -- figures drawn at build time (the `.. plot::` directive) --------------------------
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_working_directory = str(ROOT)
plot_pre_code = "import numpy as np\nimport matplotlib.pyplot as plt\n"
plot_rcparams = {"savefig.bbox": "tight"}
plot_apply_rcparams = True


# -- skip scikit-learn's metadata-routing plumbing in the API pages ------------------
_ROUTING = re.compile(r"^(set_\w+_request|get_metadata_routing)$")


def _skip_routing(app, what, name, obj, skip, options):
    """The ``set_*_request`` methods scikit-learn adds to every estimator
    document scikit-learn's routing, not skgraph; its own docs cover them."""
    if _ROUTING.match(name):
        return True
    return None


# -- docstrings in scikit-learn's dialect -------------------------------------------
# ``:term:`fit``` links to scikit-learn's glossary and, in the methods the
# estimators inherit from scikit-learn (``score``, ``get_params``), ``:ref:``
# links to scikit-learn's user guide: an offline build reaches neither (no
# intersphinx download), so show their text as emphasis. A fitted attribute
# inside a shape, ``(n_features_in_,)``, would read as a link target to
# reStructuredText: show it as code, as scikit-learn's own pages do.
_TERM = re.compile(r":term:`([^`<]+?)\s*(?:<[^>]*>)?`")
_REF = re.compile(r":ref:`([^`<]+?)\s*(?:<[^>]*>)?`")
_SHAPE_NAME = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?=[,)\s])")


def _sklearn_dialect(app, what, name, obj, options, lines):
    inherited = not getattr(obj, "__module__", "skgraph").startswith("skgraph")
    for i, line in enumerate(lines):
        line = _TERM.sub(r"*\1*", line)
        if inherited:
            line = _REF.sub(r"*\1*", line)
        if "shape (" in line:
            line = _SHAPE_NAME.sub(r"``\1``", line)
        lines[i] = line


def setup(app):
    app.connect("autodoc-skip-member", _skip_routing)
    app.connect("autodoc-process-docstring", _sklearn_dialect)
