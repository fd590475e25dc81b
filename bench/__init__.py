"""`make bench`: the orchestrator against a raw-aiokafka ceiling and a naive Faust agent, on one broker, one
Redis and one preloaded ORDER::HD load. Run ``python -m bench --help``."""
