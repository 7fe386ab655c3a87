// RawSse demo client: subscribes to /sse and renders events, newest first.
(function () {
  'use strict';

  var MAX_ITEMS = 200;
  var STATES = ['connecting', 'open', 'closed'];

  var stateEl = document.getElementById('state');
  var countEl = document.getElementById('count');
  var lastIdEl = document.getElementById('last-id');
  var listEl = document.getElementById('events');

  var count = 0;

  // Build the URL relative to the page so it also works behind a path prefix.
  var es = new EventSource(new URL('sse', location.href).toString());

  function showState() {
    var name = STATES[es.readyState] || 'closed';
    if (stateEl.dataset.state !== name) stateEl.dataset.state = name;
    if (stateEl.textContent !== name) stateEl.textContent = name;
  }

  // Insert an <li> at the top and trim the oldest ones beyond MAX_ITEMS.
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

  // Generic renderer: every event type goes through here.
  function addEvent(type, id, text) {
    var li = document.createElement('li');
    li.className = 'event event-' + type;
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

  // Parse event data defensively; returns {id, text}.
  function describe(ev) {
    var raw = ev.data == null ? '' : String(ev.data);
    var obj = null;
    try { obj = JSON.parse(raw); } catch (e) { obj = null; }
    if (!obj || typeof obj !== 'object') return { id: ev.lastEventId, text: raw };
    var id = (obj.id !== undefined && obj.id !== null) ? obj.id : ev.lastEventId;
    var text = (typeof obj.time === 'string') ? obj.time : raw;
    return { id: id, text: text };
  }

  // Register a named event type that is rendered via addEvent.
  function listen(type) {
    es.addEventListener(type, function (ev) {
      var d = describe(ev);
      addEvent(type, d.id, d.text);
    });
  }

  listen('tick');
  listen('message'); // unnamed events
  // To support more named events later: listen('other');

  es.addEventListener('reset', function () {
    addNotice('reset', '— stream reset: some events were missed —');
  });

  es.addEventListener('open', showState);
  es.addEventListener('error', showState);
  setInterval(showState, 250);
  showState();
})();
