#!/bin/sh
# Runs the hostile corpus against a res2net CLI: ./run_corpus.sh /path/to/res2net [--only REGEX] [--keep] ...
# (everything is in run_corpus.py; Debian's python3 because make_corpus.py needs torch, numpy and PIL)
exec /usr/bin/python3 "$(dirname "$0")/run_corpus.py" "$@"
