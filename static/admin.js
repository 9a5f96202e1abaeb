/* The inbox, live: /admin/live sends the inbox's events; the open transcript gets new
   messages appended, and the list (and anything a close changes) is fetched again.
   Everything from the server is put in with textContent or as parsed, server-escaped HTML. */
(function () {
  'use strict';
  var state = document.querySelector('[data-live-state]');
  if (!state || !window.WebSocket) return;
  var LABELS = { shopper: 'Shopper', agent: 'Assistant', human: 'Staff', system: 'System' };
  var tries = 0, refreshing = null, socket = null;

  function transcript() { return document.querySelector('ol.transcript'); }
  function openConversation() { var t = transcript(); return t && t.getAttribute('data-conversation'); }

  function localTimes(root) {
    [].forEach.call(root.querySelectorAll('time[datetime]'), function (el) {
      var at = new Date(el.getAttribute('datetime'));
      if (isNaN(at)) return;
      var today = at.toDateString() === new Date().toDateString();
      el.textContent = today
        ? at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
        : at.toLocaleString([], { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
      el.title = at.toLocaleString();
    });
  }

  function toBottom() { var t = transcript(); if (t) t.scrollTop = t.scrollHeight; }

  function append(event) {
    var list = transcript();
    if (!list) return;
    var item = document.createElement('li');
    var role = LABELS[event.role] ? event.role : 'system';
    item.className = 'msg msg-' + role + ' fresh';
    var who = document.createElement('span');
    who.className = 'msg-who';
    who.textContent = role === 'human' ? (event.author || LABELS.human) : LABELS[role];
    var text = document.createElement('p');
    text.className = 'msg-text';
    text.textContent = String(event.text || '');
    var at = document.createElement('time');
    at.setAttribute('datetime', event.at || new Date().toISOString());
    item.append(who, text, at);
    var near = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.append(item);
    localTimes(item);
    if (near) toBottom();
  }

  /* Fetch this page again and swap in its [data-live-region] parts. */
  function refresh() {
    if (refreshing) return refreshing;
    refreshing = fetch(location.href, { credentials: 'same-origin', cache: 'no-store' })
      .then(function (response) {
        return response.ok && !response.redirected ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, 'text/html');
        [].forEach.call(document.querySelectorAll('[data-live-region]'), function (old) {
          var name = old.getAttribute('data-live-region');
          var next = fresh.querySelector('[data-live-region="' + name + '"]');
          if (!next || (name === 'actions' && typing(old))) return;
          old.replaceWith(document.adoptNode(next));
          localTimes(next);
        });
        toBottom();
      })
      .catch(function () {})
      .then(function () { refreshing = null; });
    return refreshing;
  }

  function typing(region) {
    var box = region.querySelector('textarea');
    return box && box.value.trim() && document.body.contains(box) &&
      !document.querySelector('.status-closed');
  }

  function receive(event) {
    if (event.kind === 'resync') return refresh();
    var here = openConversation();
    if (!here) {
      refresh().then(function () { highlight(event.conversation); });
      // The ticket number follows a hand-over within moments, from the outbox.
      if (event.kind === 'handoff') setTimeout(refresh, 2500);
    } else if (event.conversation === here) {
      if (event.kind === 'message') append(event);
      else refresh();
    }
  }

  function highlight(id) {
    var item = id && document.querySelector('.item[data-conversation="' + CSS.escape(id) + '"]');
    if (item) item.classList.add('fresh');
  }

  function setState(name, text) {
    state.setAttribute('data-live-state', name);
    state.textContent = text;
  }

  function connect() {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    socket = new WebSocket(scheme + location.host + '/admin/live');
    socket.onopen = function () {
      if (tries > 0) refresh(); // catch up on what happened while the socket was down
      tries = 0;
      setState('live', 'Live');
    };
    socket.onmessage = function (message) {
      try { receive(JSON.parse(message.data)); } catch (e) { /* not ours */ }
    };
    socket.onclose = function () {
      setState('offline', 'Reconnecting…');
      tries += 1;
      setTimeout(connect, Math.min(15000, 500 * Math.pow(2, tries)));
    };
  }

  // Ctrl/Cmd+Enter sends the reply.
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && e.target.matches('.reply textarea')) {
      e.preventDefault();
      e.target.form.requestSubmit();
    }
  });

  // The list's waiting times age; fetch it again now and then.
  var every = document.querySelector('[data-refresh]');
  if (every) setInterval(refresh, 1000 * Number(every.getAttribute('data-refresh')));

  localTimes(document);
  toBottom();
  connect();
})();
