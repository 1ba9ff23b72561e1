#!/usr/bin/env bash
# Build the reweightkit book offline into book/_build/html (warnings are errors).
#   bash book/build.sh
# Needs the book extra (pip install -e ".[book]") and, the first time only, the npm registry for MathJax 3
# (book/fetch_mathjax.py checks the tarball's sha512 and unpacks it into book/_static/mathjax).
set -euo pipefail
cd "$(dirname "$0")"
PY="${PYTHON:-python}"
"$PY" fetch_mathjax.py
# the chapters: the notebooks with their stored outputs, at their repository path (the launch buttons open it)
rm -rf notebooks api _generated
mkdir -p notebooks
cp ../notebooks/*.ipynb notebooks/
# the API pages (from the public names) and the measured tables (from benchmarks/results)
"$PY" api_pages.py
"$PY" tables.py
start=$(date +%s)
"$PY" -m sphinx -b html -W --keep-going -q -j 1 . _build/html
echo "book: $(find _build/html -name '*.html' | wc -l) HTML pages in $(( $(date +%s) - start )) s -> book/_build/html/index.html"
