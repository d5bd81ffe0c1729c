"""Plain, slow definitions that curate's fast code is tested equal to.

They lived beside the code they check until issue 13; nothing outside tests/ (and no
run) needs them, so they are not shipped in the package.
"""
