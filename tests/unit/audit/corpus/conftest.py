"""Never collect the corpus, even when pytest is pointed at this directory."""

collect_ignore_glob = ["*.py"]
