"""Code shared by the tests and the benchmarks (importable as ``support``).

``pyproject.toml`` puts ``tests/`` on pytest's ``pythonpath``; the benchmarks that use
it run with ``PYTHONPATH=tests`` (see docs/benchmarks.md). Nothing here edits
``sys.path`` or loads code by file path.

- :mod:`support.app_db`: the ``app_engine`` fixture (the database the pages use);
- :mod:`support.monitor_sim`: seeded raters with their own book of what to count;
- :mod:`support.ui_tools`: AppTest helpers for the console and dashboard pages;
- :mod:`support.rater_bot`: app server, demo study and the Playwright rater bot;
- :mod:`support.load`: load-test worker processes and the exactly-once checks.

The rater flow itself (enrol -> consent -> start -> submit) is
:class:`study.driver.RaterDriver`, shared with ``study.simulate``.
"""
