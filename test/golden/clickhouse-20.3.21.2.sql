-- The table for vlogdump --clickhouse, for ClickHouse 20.3.21.2.
-- This server has no DateTime64 or Map: the start is a DateTime plus start_us, headers are Nested arrays
-- (req_headers.value[indexOf(req_headers.name, 'User-Agent')]). A server of 22.3 or later gets a DateTime64(6)
-- start_time and header Maps computed from the same columns, so the same rows go into both.
-- Times are seconds as Decimal64(9): the digits of the log, exactly (18.16 parses floats to within a bit, not
-- exactly); an old server takes no Decimal in quantile(): quantile(0.99)(toFloat64(total)) works on all.
-- Partitions by day; sorted by hour, then host, then time: a time range reads only its days and hours.
CREATE TABLE IF NOT EXISTS `varnish_requests`
(
    start          DateTime('UTC'),                              -- start of the request, whole seconds (1970-01-01 when unknown)
    start_us       UInt32,                                       -- and its microseconds
    host           String,                                       -- the cache host (--host-label)
    instance       String,                                       -- varnishd's -n name, '' for the default
    vxid           UInt64,
    side           Enum8('client' = 1, 'backend' = 2),           -- backend: a backend transaction whose request was not seen
    reason         Nullable(String),                             -- rxreq, esi, restart, fetch, pass, pipe, bgfetch, retry
    client         Nullable(String),                             -- client IP
    method         Nullable(String),
    url            Nullable(String),                             -- as received, with the query string
    protocol       Nullable(String),
    req_host       Nullable(String),                             -- the Host header
    status         Nullable(UInt16),                             -- as sent
    handling       Nullable(String),                             -- hit miss pass pipe synth hitmiss hitpass
    grace          Nullable(UInt8),                              -- a stale object was served
    streaming      Nullable(UInt8),                              -- a hit on an object still being fetched
    restarts       UInt16,
    total          Nullable(Decimal64(9)),                       -- seconds, exactly as logged
    ttfb           Nullable(Decimal64(9)),                       -- seconds to the first byte
    backend_name   Nullable(String),
    backend_status Nullable(UInt16),                             -- as received
    backend_error  Nullable(String),                             -- the first FetchError
    backend_total  Nullable(Decimal64(9)),                       -- seconds, exactly as logged
    backend_ttfb   Nullable(Decimal64(9)),                       -- seconds, exactly as logged
    bytes_rx       Nullable(UInt64),                             -- from the client, headers and body
    bytes_tx       Nullable(UInt64),                             -- to the client, headers and body
    body_tx        Nullable(UInt64),                             -- body bytes to the client
    esi            UInt16,                                       -- ESI children
    vcl_log        Array(String),                                -- VCL_Log records
    incomplete     Nullable(String),                             -- why the record was printed early
    req_headers    Nested(name String, value String),            -- as received, in order
    resp_headers   Nested(name String, value String),            -- as sent, in order
    batch          UInt64                                        -- vlogdump's batch token: no batch is inserted twice
)
ENGINE = MergeTree()
PARTITION BY toYYYYMMDD(start)
ORDER BY (toStartOfHour(start), host, start)
TTL start + INTERVAL 30 DAY
SETTINGS index_granularity = 8192;

-- A cluster (named in remote_servers of the servers' config, here `fleet`): the table above on every shard
-- (run it with ON CLUSTER fleet after the table name), and a Distributed table over them. Cache hosts insert
-- into the Distributed table (--ch-table default.varnish_requests_all); its sharding key is the batch token, so each batch
-- goes whole to one shard (vlogdump inserts with insert_distributed_sync=1: the batch is on the shard when the
-- insert returns, and can be counted there before a retry). Queries go to the Distributed table too.
-- CREATE TABLE IF NOT EXISTS `default`.`varnish_requests_all` ON CLUSTER fleet AS `default`.`varnish_requests`
--     ENGINE = Distributed(fleet, default, varnish_requests, batch);
