"""The audit: what is wrong with a deployed site, as findings with stable fingerprints.

Pure like every stage: it reads a release folder (and earlier releases for page history) and
returns findings; the ``audit`` job kind stores them and tracks them over time.
"""
