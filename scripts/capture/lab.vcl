vcl 4.1;
#
# VCL for the vlogdump capture lab (scripts/capture/lab.mjs).
# @ORIGIN_PORT@ and @DEAD_PORT@ are replaced by lab.mjs before varnishd loads the file.
# Every branch here exists to make one kind of transaction show up in the log; see the
# session plan (buildPlan) in scripts/capture/lab.mjs.

import std;

# The in-process node origin (scripts/capture/origin.mjs). The probe gives the raw log
# some vxid-0 Backend_health records.
backend origin {
    .host = "127.0.0.1";
    .port = "@ORIGIN_PORT@";
    .connect_timeout = 1s;
    .first_byte_timeout = 3s;      # /slow?ms=1200 stays under it
    .between_bytes_timeout = 2s;
    .probe = {
        .url = "/health";
        .interval = 5s;
        .timeout = 1s;
        .window = 5;
        .threshold = 3;
        .initial = 3;
    }
}

# Nothing listens on this port: connects are refused -> FetchError, 503.
backend dead {
    .host = "127.0.0.1";
    .port = "@DEAD_PORT@";
    .connect_timeout = 1s;
}

acl purgers {
    "127.0.0.1";
}

sub vcl_recv {
    # One route tag per request (ncsa column %{VCL_Log:route}x).
    std.log("route:" + regsub(req.url, "^/([^/?]*).*$", "\1"));
    if (req.restarts > 0) {
        std.log("restarted:" + req.restarts);
    }
    if (req.esi_level > 0) {
        std.log("esi_level:" + req.esi_level);
    }

    # Readiness check used by lab.mjs before the capture starts.
    if (req.url == "/_lab/ready") {
        return (synth(200, "ready"));
    }

    # Honour X-Real-IP: rewrites X-Forwarded-For (ReqUnset + ReqHeader pair).
    if (req.http.X-Real-IP) {
        set req.http.X-Forwarded-For = std.ip(req.http.X-Real-IP, client.ip, resolve = false);
        std.log("real_ip:" + req.http.X-Real-IP);
    }

    if (req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(405, "Not allowed"));
        }
        return (purge);
    }

    # Synthetic answers: a plain 403, and 750 which vcl_synth turns into a 301.
    if (req.url ~ "^/blocked") {
        return (synth(403, "Forbidden"));
    }
    if (req.url ~ "^/old/") {
        return (synth(750, regsub(req.url, "^/old/", "/static/")));
    }

    if (req.url ~ "^/pipe") {
        std.log("pipe:" + req.url);
        return (pipe);
    }

    if (req.method == "POST") {
        std.log("pass:post");
        return (pass);
    }
    if (req.url ~ "^/api/private") {
        std.log("pass:" + req.url);
        return (pass);
    }

    if (req.url ~ "^/dead/") {
        set req.backend_hint = dead;
    } else {
        set req.backend_hint = origin;
    }
    # Fall through to the builtin vcl_recv (hash, or pass/pipe for odd methods).
}

sub vcl_hit {
    if (obj.ttl < 0s) {
        # Grace: served stale while a background fetch refreshes it.
        std.log("stale:" + obj.ttl);
    }
}

sub vcl_miss {
    std.log("miss:" + req.url);
}

sub vcl_purge {
    return (synth(200, "Purged"));
}

sub vcl_backend_fetch {
    if (bereq.retries > 0) {
        set bereq.http.X-Retry = bereq.retries;
    }
}

sub vcl_backend_response {
    # /retry/<n> answers 503 the first time: fetch again once (Link bereq N retry).
    if (beresp.status == 503 && bereq.url ~ "^/retry/" && bereq.retries == 0) {
        std.log("retry:" + bereq.url);
        return (retry);
    }

    # Grace: short TTL so a request a second later is a stale hit + bgfetch.
    if (bereq.url ~ "^/grace/") {
        set beresp.ttl = 1s;
        set beresp.grace = 30s;
        set beresp.keep = 60s;
    }

    # Hit-for-pass for 30 s (the next request logs HitPass).
    if (bereq.url ~ "^/hfp/") {
        std.log("hfp:30s");
        return (pass(30s));
    }

    # ESI pages, and the fragment that includes another fragment (depth 2).
    if (bereq.url ~ "^/esi" || bereq.url ~ "^/frag/nested") {
        set beresp.do_esi = true;
    }

    if (beresp.status >= 500) {
        set beresp.uncacheable = true;
        set beresp.ttl = 5s;
    }
    # Fall through to the builtin: Cache-Control private/no-cache -> hit-for-miss.
}

sub vcl_backend_error {
    std.log("backend_error:" + bereq.url);
    set beresp.http.Content-Type = "text/plain; charset=utf-8";
    set beresp.body = "backend error " + beresp.status + " for " + bereq.url + {"
"};
    return (deliver);
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    set resp.http.X-Cache-Hits = obj.hits;
    unset resp.http.X-Url;

    # /restart/<n> is a 404 at the origin: restart once as /static/<n>.
    if (resp.status == 404 && req.url ~ "^/restart/" && req.restarts == 0) {
        set req.url = regsub(req.url, "^/restart/", "/static/");
        return (restart);
    }
}

sub vcl_synth {
    if (resp.status == 750) {
        set resp.http.Location = resp.reason;
        set resp.status = 301;
        set resp.reason = "Moved Permanently";
        return (deliver);
    }
}
