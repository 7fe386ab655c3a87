// RawSse demo client: subscribes to /sse (default topic, or the topics chosen), renders events newest first,
// and publishes messages through POST /publish. With a token, the stream carries it as ?authorization= (EventSource
// cannot set headers) and publishing as Authorization: Bearer; "Private" publishes with private=on.
(function () {
  'use strict';

  var MAX_ITEMS = 200;
  var STATES = ['connecting', 'open', 'closed'];

  var stateEl = document.getElementById('state');
  var countEl = document.getElementById('count');
  var lastIdEl = document.getElementById('last-id');
  var topicsEl = document.getElementById('topics');
  var tokenEl = document.getElementById('token');
  var listEl = document.getElementById('events');
  var subscribeForm = document.getElementById('subscribe');
  var publishForm = document.getElementById('publish');
  var publishResult = document.getElementById('publish-result');

  var count = 0;
  var es = null;
  var types = ['tick', 'message'];

  function token() {
    return tokenEl.value.trim();
  }

  function streamUrl(topics) {
    // Relative to the page, so it also works behind a path prefix.
    var url = new URL('sse', location.href);
    topics.forEach(function (t) { url.searchParams.append('topic', t); });
    if (token()) url.searchParams.set('authorization', token());
    return url.toString();
  }

  function showState() {
    var name = es ? (STATES[es.readyState] || 'closed') : 'closed';
    if (stateEl.dataset.state !== name) stateEl.dataset.state = name;
    if (stateEl.textContent !== name) stateEl.textContent = name;
  }

  function prepend(li) {
    listEl.insertBefore(li, listEl.firstChild);
    while (listEl.children.length > MAX_ITEMS) listEl.removeChild(listEl.lastChild);
  }

  function span(cls, text) {
    var s = document.createElement('span');
    s.className = cls;
    s.textContent = text;
    return s;
  }

  // Every event type is rendered here; event data only ever goes through textContent.
  function addEvent(type, id, text) {
    var li = document.createElement('li');
    li.className = 'event event-' + type.replace(/[^a-z0-9_-]/gi, '_');
    if (id !== undefined && id !== null && id !== '') {
      li.dataset.id = String(id);
      lastIdEl.textContent = String(id);
    }
    li.appendChild(span('type', type));
    li.appendChild(span('id', '#' + (id === undefined || id === null || id === '' ? '?' : id)));
    li.appendChild(span('text', text));
    prepend(li);
    count += 1;
    countEl.textContent = String(count);
  }

  function addNotice(cls, text) {
    var li = document.createElement('li');
    li.className = cls;
    li.textContent = text;
    prepend(li);
  }

  // Every event is listed under the id it came with (the one a reconnect resumes from); ticks carry JSON
  // {id, time} and show the time, anything else its raw text.
  function describe(ev) {
    var raw = ev.data == null ? '' : String(ev.data);
    var obj = null;
    try { obj = JSON.parse(raw); } catch (e) { obj = null; }
    if (!obj || typeof obj !== 'object' || typeof obj.time !== 'string') return { id: ev.lastEventId, text: raw, time: null };
    return { id: ev.lastEventId || obj.id, text: obj.time, time: obj.time };
  }

  function listen(source, type) {
    source.addEventListener(type, function (ev) {
      var d = describe(ev);
      addEvent(type, d.id, d.text);
      // glance.js measures the delivery delay from the times events carry.
      if (d.time) window.dispatchEvent(new CustomEvent('demo:tick', { detail: { time: d.time } }));
    });
  }

  function addType(type) {
    if (!type || types.indexOf(type) >= 0) return;
    types.push(type);
    if (es) listen(es, type);
  }

  function connect(topics) {
    if (es) es.close();
    es = new EventSource(streamUrl(topics));
    types.forEach(function (t) { listen(es, t); });
    es.addEventListener('reset', function () {
      addNotice('reset', '— stream reset: some events were missed —');
    });
    es.addEventListener('open', showState);
    es.addEventListener('error', showState);
    showState();
  }

  function chosenTopics() {
    return topicsEl.value.split(',').map(function (t) { return t.trim(); }).filter(Boolean);
  }

  subscribeForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var topics = chosenTopics();
    addNotice('notice', '— subscribed to ' + (topics.length ? topics.join(', ') : 'the default topic') + (token() ? ' with a token' : '') + ' —');
    connect(topics);
  });

  publishForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var body = new URLSearchParams(new FormData(publishForm));
    var type = body.get('type');
    if (!type) body.delete('type');
    addType(type);
    publishResult.textContent = 'publishing…';
    var headers = token() ? { Authorization: 'Bearer ' + token() } : {};
    fetch(new URL('publish', location.href), { method: 'POST', body: body, headers: headers })
      .then(function (r) {
        return r.text().then(function (text) {
          publishResult.textContent = r.ok ? 'published as #' + text : r.status + ' ' + text;
        });
      })
      .catch(function (err) { publishResult.textContent = 'failed: ' + err; });
  });

  connect(chosenTopics());
  setInterval(showState, 250);
})();
