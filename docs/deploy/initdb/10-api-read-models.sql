-- Run once by the postgres image on an empty data directory (docker-entrypoint-initdb.d).
-- The HTTP API process (`tickets run`) keeps its own read models here, fed from the event store
-- by its embedded feed, apart from the ones the Kafka consumer group writes (see docs/deploy.md).
CREATE DATABASE tickets_api OWNER tickets;
