"""The contestants: ``limit`` (raw aiokafka, fixed I/O per event), ``naive`` (a first-try Faust agent) and
``orchestrator`` (the real worker). Each runs as its own process; :mod:`bench.contestants.specs` says how."""
