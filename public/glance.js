// "Server at a glance": polls /metrics (Prometheus text, same origin) once a second and draws three sparklines of
// the last 60 s: open streams, events published per second (from the counter's delta), and delivery delay. The
// delay is measured here, from the ticks this page receives (now minus the tick's "time"; one machine's clock, so
// good enough for a demo); if the server exports rawsse_delivery_delay_seconds, its p50 is shown beside it.
// Current values are also data-value attributes, so a test reads them without parsing text.
(function () {
  'use strict';

  var POLL_MS = 1000;
  var SAMPLES = 60;
  var SVG_W = 240; // the sparklines' viewBox, stretched to the figure's width
  var SVG_H = 48;
  var DELAY_METRIC = 'rawsse_delivery_delay_seconds';

  var statusEl = document.getElementById('glance-status');
  var series = {
    subscribers: makeSeries('subscribers'),
    events: makeSeries('events'),
    delay: makeSeries('delay')
  };

  var previous = null; // { at, published, deliveries, buckets } from the last successful poll
  var delays = [];     // ms, from the ticks received since the last sample

  function makeSeries(name) {
    var root = document.getElementById('glance-' + name);
    return {
      root: root,
      value: root.querySelector('.value'),
      extra: root.querySelector('.extra'),
      line: root.querySelector('.line'),
      area: root.querySelector('.area'),
      max: root.querySelector('.max'),
      since: root.querySelector('.since'),
      points: []
    };
  }

  // Ticks carry {"time": ISO}; app.js passes each one on as a 'demo:tick' event.
  window.addEventListener('demo:tick', function (e) {
    var sent = Date.parse(e.detail.time);
    if (!isNaN(sent)) delays.push(Math.max(0, Date.now() - sent));
  });

  // Prometheus text format 0.0.4: "name{labels} value"; comments start with '#'. Samples of one name are summed.
  function parse(text) {
    var values = {};
    var buckets = {};
    text.split('\n').forEach(function (line) {
      if (!line || line.charAt(0) === '#') return;
      var m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
      if (!m) return;
      var v = Number(m[3]);
      if (isNaN(v)) return;
      values[m[1]] = (values[m[1]] || 0) + v;
      if (m[1] === DELAY_METRIC + '_bucket' && m[2]) {
        var le = /le="([^"]*)"/.exec(m[2]);
        if (le) buckets[le[1]] = (buckets[le[1]] || 0) + v;
      }
    });
    return { values: values, buckets: buckets };
  }

  // histogram_quantile(0.5) over the observations between two polls (or since start): linear within the bucket.
  function median(now, before) {
    var bounds = Object.keys(now).filter(function (le) { return le !== '+Inf'; })
      .map(function (le) { return { le: le, upper: Number(le) }; })
      .sort(function (a, b) { return a.upper - b.upper; });
    function count(le) { return (now[le] || 0) - (before && before[le] || 0); }
    var total = count('+Inf');
    if (!(total > 0) || bounds.length === 0) return null;
    var rank = total / 2;
    var lower = 0;
    var below = 0;
    for (var i = 0; i < bounds.length; i++) {
      var c = count(bounds[i].le);
      if (c >= rank) return lower + (bounds[i].upper - lower) * (c > below ? (rank - below) / (c - below) : 0);
      lower = bounds[i].upper;
      below = c;
    }
    return lower;
  }

  function format(v, digits) {
    return v === null ? '–' : v.toFixed(v < 10 && digits > 0 ? digits : 0);
  }

  function push(s, v, text, extra) {
    s.points.push(v);
    if (s.points.length > SAMPLES) s.points.shift();
    s.value.textContent = text;
    s.value.dataset.value = v === null ? '' : String(v);
    if (s.extra && extra !== undefined) s.extra.textContent = extra;
    draw(s);
  }

  // The newest sample at the right edge; a gap (null) breaks the line. The y axis starts at 0.
  function draw(s) {
    var max = 0;
    s.points.forEach(function (v) { if (v !== null && v > max) max = v; });
    var top = niceCeiling(max);
    // Until the window is full the line spans what there is, and the axis says how far back it reaches.
    var step = SVG_W / Math.max(1, s.points.length - 1);
    var line = '';
    var area = '';
    var run = [];
    function flush() {
      if (run.length === 0) return;
      var d = run.map(function (p, i) { return (i ? 'L' : 'M') + p[0].toFixed(1) + ' ' + p[1].toFixed(1); }).join(' ');
      line += d + ' ';
      area += d + ' L' + run[run.length - 1][0].toFixed(1) + ' ' + SVG_H + ' L' + run[0][0].toFixed(1) + ' ' + SVG_H + ' Z ';
      run = [];
    }
    s.points.forEach(function (v, i) {
      if (v === null) { flush(); return; }
      run.push([i * step, SVG_H - 1 - (v / top) * (SVG_H - 4)]);
    });
    flush();
    s.line.setAttribute('d', line.trim());
    s.area.setAttribute('d', area.trim());
    s.max.textContent = s.max.dataset.unit ? top + ' ' + s.max.dataset.unit : String(top);
    s.since.textContent = Math.round((s.points.length - 1) * POLL_MS / 1000) + ' s ago';
  }

  function niceCeiling(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var n = [1, 2, 5, 10].find(function (k) { return k * p >= v; });
    return n * p;
  }

  function sample(text) {
    var now = performance.now();
    var m = parse(text);
    var published = m.values.rawsse_events_published_total;
    var deliveries = m.values.rawsse_deliveries_total;
    var subscribers = m.values.rawsse_subscribers;

    push(series.subscribers, subscribers === undefined ? null : subscribers, format(subscribers === undefined ? null : subscribers, 0));

    var rate = null;
    var deliveryRate = null;
    if (previous && now > previous.at) {
      var seconds = (now - previous.at) / 1000;
      // A counter that went down belongs to a restarted server: no rate for that interval.
      if (published >= previous.published) rate = (published - previous.published) / seconds;
      if (deliveries >= previous.deliveries) deliveryRate = (deliveries - previous.deliveries) / seconds;
    }
    push(series.events, rate, format(rate, 1), deliveryRate === null ? '' : 'deliveries/s: ' + format(deliveryRate, 1));

    var delay = delays.length ? delays.reduce(function (a, b) { return a + b; }, 0) / delays.length : null;
    delays = [];
    var hasServerDelay = Object.keys(m.buckets).length > 0;
    var p50 = hasServerDelay ? median(m.buckets, previous && previous.buckets) : null;
    if (p50 !== null) series.delay.root.dataset.serverP50 = String(p50 * 1000);
    push(series.delay, delay, format(delay, 1), hasServerDelay ? 'server p50: ' + format(p50 === null ? null : p50 * 1000, 1) + ' ms' : '');

    previous = { at: now, published: published, deliveries: deliveries, buckets: m.buckets };
  }

  function showStatus(text, ok) {
    statusEl.textContent = text;
    statusEl.dataset.ok = ok ? 'true' : 'false';
  }

  function poll() {
    fetch(new URL('metrics', location.href), { cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
        return r.text();
      })
      .then(function (text) {
        sample(text);
        showStatus('from /metrics every second · up to the last 60 s', true);
      })
      .catch(function (err) {
        previous = null;
        showStatus('/metrics unavailable: ' + err.message, false);
      })
      .then(function () { setTimeout(poll, POLL_MS); });
  }

  poll();
})();
