/* ShopDesk chat panel (chat.js), loaded by widget.js on first use. Speaks protocol v1.
   Every text from a shopper, the agent or a person is set with textContent: never as HTML. */
(function (w, d) {
  var api = w.shopdesk;
  if (!api || api.chat) return;
  var root = api.root, data = api.data, bubble = api.bubble, get = api.get, set = api.set;

  var T = {
    da: {
      title: 'Kundeservice', close: 'Luk chat', messages: 'Samtale', input: 'Din besked',
      placeholder: 'Skriv en besked…', send: 'Send',
      hello: 'Hej! Hvordan kan vi hjælpe? Spørg om din ordre, størrelser, levering eller returnering.',
      connecting: 'Forbinder…', online: 'Forbundet', reconnecting: 'Forbindelsen blev afbrudt. Forbinder igen…',
      offline: 'Du er offline. Beskeder sendes, når du er online igen.',
      you: 'Dig', agent: 'Assistent', staff: 'Medarbejder', typing: 'Skriver…',
      handoff: 'En medarbejder overtager samtalen og svarer dig her eller på e-mail.',
      closed: 'Samtalen er afsluttet.', restart: 'Start en ny samtale',
      rate: 'Bedøm samtalen', stars: ' af 5 stjerner', thanks: 'Tak for din bedømmelse!',
      failed: 'Ikke sendt',
      errors: {
        rate_limited: 'Du skriver lidt hurtigt. Vi sender din besked igen om et øjeblik.',
        too_large: 'Beskeden er for lang. Prøv at skrive den kortere (højst 2000 tegn).',
        bad_signature: 'Vi kunne ikke bekræfte dit login, så du chatter som gæst.',
        not_allowed: 'Chatten er ikke tilgængelig på denne side.',
        internal: 'Der gik noget galt hos os. Prøv igen om lidt.'
      }
    },
    en: {
      title: 'Customer service', close: 'Close chat', messages: 'Conversation', input: 'Your message',
      placeholder: 'Write a message…', send: 'Send',
      hello: 'Hi! How can we help? Ask about your order, sizes, delivery or returns.',
      connecting: 'Connecting…', online: 'Connected', reconnecting: 'Connection lost. Reconnecting…',
      offline: 'You are offline. Messages will be sent when you are back online.',
      you: 'You', agent: 'Assistant', staff: 'Staff', typing: 'Typing…',
      handoff: 'A member of our team is taking over and will reply here or by email.',
      closed: 'This conversation has ended.', restart: 'Start a new conversation',
      rate: 'Rate this chat', stars: ' of 5 stars', thanks: 'Thank you for your rating!',
      failed: 'Not sent',
      errors: {
        rate_limited: 'You are writing a little fast. We will send your message again in a moment.',
        too_large: 'That message is too long. Please make it shorter (2,000 characters at most).',
        bad_signature: 'We could not confirm your login, so you are chatting as a guest.',
        not_allowed: 'Chat is not available on this page.',
        internal: 'Something went wrong on our side. Please try again shortly.'
      }
    }
  }[api.ui];
  var MAX = 2000;

  function el(tag, cls, text) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function attr(e, map) {
    for (var k in map) e.setAttribute(k, map[k]);
    return e;
  }

  // Links the agent writes ([label](url), bare URLs) and **bold** become elements;
  // only http(s) URLs become links, everything else stays text.
  var RICH = /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s()]+)\)|(https?:\/\/[^\s<>"']+)|\*\*([^*\n]{1,200})\*\*/g;
  function fill(node, text, rich) {
    node.textContent = '';
    if (!rich) return void (node.textContent = text);
    var last = 0, m;
    RICH.lastIndex = 0;
    while ((m = RICH.exec(text))) {
      var url = m[2] || m[3], end = RICH.lastIndex;
      if (m[3]) {
        var tail = url.match(/[.,;:!?)\]}'"]+$/);
        if (tail) { url = url.slice(0, -tail[0].length); end -= tail[0].length; }
      }
      node.append(text.slice(last, m.index));
      if (m[4]) node.append(el('strong', 0, m[4]));
      else {
        var a = el('a', 0, m[1] || url);
        a.href = url;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        node.append(a);
      }
      last = RICH.lastIndex = end;
    }
    node.append(text.slice(last));
  }

  var style = el('style');
  style.textContent = /*css*/`
    .p { position: fixed; bottom: 90px; right: 20px; z-index: 2147483000; width: 380px;
      height: min(620px, calc(100vh - 110px)); display: flex; flex-direction: column; overflow: hidden;
      background: #fff; color: #1c1c1e; border-radius: 16px; box-shadow: 0 14px 44px rgba(0,0,0,.24);
      font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
      text-align: left; }
    :host([data-position=left]) .p { right: auto; left: 20px; }
    .p[hidden] { display: none; }
    .p *, .p *::before { box-sizing: border-box; }
    .h { display: flex; align-items: center; gap: 8px; padding: 14px 10px 14px 18px; background: var(--sd); color: #fff; }
    .h div { flex: 1; min-width: 0; }
    .t { margin: 0; font-size: 17px; font-weight: 650; line-height: 1.2; }
    .st { display: block; font-size: 12.5px; opacity: .92; margin-top: 2px; }
    .st::before { content: ''; display: inline-block; width: 8px; height: 8px; margin-right: 6px;
      border-radius: 50%; background: #c9d1d0; }
    .st[data-state=online]::before { background: #5fe08a; }
    .st[data-state=reconnecting]::before, .st[data-state=offline]::before { background: #ffbf47; }
    .x { flex: none; width: 38px; height: 38px; border: 0; border-radius: 10px; background: none;
      color: inherit; font-size: 26px; line-height: 1; cursor: pointer; }
    .x:hover { background: rgba(255,255,255,.16); }
    .l { flex: 1; overflow-y: auto; padding: 16px 14px 8px; display: flex; flex-direction: column; gap: 8px;
      background: #f5f4f0; overscroll-behavior: contain; }
    .l:focus-visible { outline: 2px solid var(--sd); outline-offset: -2px; }
    .m { max-width: 86%; padding: 9px 13px; border-radius: 16px; white-space: pre-wrap; overflow-wrap: anywhere; }
    .shopper { align-self: flex-end; background: var(--sd); color: #fff; border-bottom-right-radius: 5px; }
    .agent, .human { align-self: flex-start; background: #fff; border: 1px solid #e3e1da; border-bottom-left-radius: 5px; }
    .human { border-color: var(--sd); }
    .au { display: block; font-size: 12px; font-weight: 650; color: var(--sd); }
    .system { align-self: center; max-width: 92%; padding: 4px 8px; font-size: 13px; color: #56544e; text-align: center; }
    .system.e { color: #a3271b; }
    .system button { display: block; margin: 6px auto 0; }
    .pending { opacity: .6; }
    .failed { opacity: 1; background: #fbe9e7; color: #7a1d12; }
    .failed::after { content: attr(data-failed); display: block; font-size: 11.5px; }
    .m a { color: inherit; text-decoration: underline; text-underline-offset: 2px; }
    .agent a, .human a { color: var(--sd); font-weight: 550; }
    .stream::after { content: '▍'; opacity: .5; }
    .s { padding: 2px 16px 6px; font-size: 13px; color: #56544e; background: #f5f4f0; font-style: italic; }
    .s[hidden], .q[hidden], .r[hidden] { display: none; }
    .q { display: flex; flex-wrap: wrap; gap: 6px; padding: 2px 14px 10px; background: #f5f4f0; justify-content: flex-end; }
    .q button, .system button { padding: 6px 12px; border: 1px solid var(--sd); border-radius: 16px;
      background: #fff; color: var(--sd); font: inherit; font-size: 14px; cursor: pointer; }
    .q button:hover, .system button:hover { background: var(--sd); color: #fff; }
    .r { display: flex; align-items: center; flex-wrap: wrap; gap: 2px 10px; margin: 0; padding: 6px 16px;
      border: 0; border-top: 1px solid #ecebe6; font-size: 13px; color: #56544e; }
    .r legend { float: left; padding: 0; margin-right: 8px; }
    .k { display: inline-flex; }
    .k label { position: relative; padding: 0 2px; font-size: 21px; line-height: 1; color: #c9c6bd; cursor: pointer; }
    .k:hover label, .k label.on { color: #e8a317; }
    .k label:hover ~ label { color: #c9c6bd; }
    .k label:focus-within { outline: 2px solid var(--sd); border-radius: 4px; }
    .f { display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px; border-top: 1px solid #ecebe6; background: #fff; }
    .f textarea { flex: 1; min-height: 42px; max-height: 130px; padding: 10px 12px; resize: none;
      border: 1px solid #c9c6bd; border-radius: 12px; font: inherit; color: inherit; background: #fff; outline: 0; }
    .f textarea:focus { border-color: var(--sd); box-shadow: 0 0 0 2px rgba(31,95,91,.2); }
    .sb { height: 42px; padding: 0 16px; border: 0; border-radius: 12px; background: var(--sd); color: #fff;
      font: inherit; font-weight: 650; cursor: pointer; }
    button:focus-visible { outline: 2px solid var(--sd); outline-offset: 2px; }
    .x:focus-visible { outline-color: #fff; }
    .sr { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0);
      white-space: nowrap; border: 0; padding: 0; }
    @media (max-width: 480px) {
      .p { inset: 0; width: auto; height: auto; border-radius: 0; }
      .f textarea { font-size: 16px; }
    }
    @media (prefers-reduced-motion: reduce) { .stream::after { content: none; } }
  `;

  var title = data.title || T.title;
  var panel = attr(el('div', 'p'), { role: 'dialog', 'aria-label': title, id: 'sd-panel' });
  panel.hidden = true;
  var head = el('div', 'h'), heading = el('div');
  var state = attr(el('span', 'st'), { role: 'status' });
  var closeBtn = attr(el('button', 'x', '×'), { type: 'button', 'aria-label': T.close });
  heading.append(el('h2', 't', title), state);
  head.append(heading, closeBtn);
  var log = attr(el('div', 'l'), { role: 'log', 'aria-live': 'polite', 'aria-label': T.messages, tabindex: '0' });
  var status = attr(el('div', 's'), { 'aria-live': 'polite' });
  status.hidden = true;
  var quick = el('div', 'q');
  quick.hidden = true;

  var rating = el('fieldset', 'r'), legend = el('legend', 0, T.rate), stars = el('span', 'k'), thanks = el('span');
  rating.hidden = true;
  for (var i = 1; i <= 5; i++) (function (score) {
    var label = el('label'), input = attr(el('input', 'sr'), { type: 'radio', name: 'sd-rating', value: score });
    label.append(input, el('span', 'sr', score + T.stars), attr(el('span', 0, '★'), { 'aria-hidden': 'true' }));
    input.addEventListener('change', function () {
      send({ type: 'rating', score: score });
      [].forEach.call(stars.children, function (l, j) { l.classList.toggle('on', j < score); });
      thanks.textContent = T.thanks;
    });
    stars.append(label);
  })(i);
  rating.append(legend, stars, attr(thanks, { role: 'status' }));

  var form = el('form', 'f');
  var input = attr(el('textarea'), { rows: '1', maxlength: MAX, 'aria-label': T.input, placeholder: T.placeholder });
  var sendBtn = attr(el('button', 'sb', T.send), { type: 'submit' });
  form.append(input, sendBtn);
  panel.append(head, log, status, quick, rating, form);
  root.append(style, panel);
  log.append(el('div', 'm agent hi', data.greeting || T.hello));
  bubble.setAttribute('aria-controls', 'sd-panel');

  // ---- conversation state -------------------------------------------------------
  var ws = null, ready = false, tries = 0, retryTimer, pingTimer, statusTimer, lastHeard = 0;
  var replies = {}, mode = 'bot', stopped = false, known = {};

  function pending() {
    try { return JSON.parse(get('pending')) || []; } catch (e) { return []; }
  }
  function savePending(list) { set('pending', list.length ? JSON.stringify(list) : null); }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function add(role, text, author, at, id) {
    var m = el('div', 'm ' + role), body = el('span');
    var who = role == 'shopper' ? T.you : role == 'human' ? author || T.staff : role == 'agent' ? T.agent : '';
    if (role == 'human') m.append(el('span', 'au', who));
    else if (who) m.append(el('span', 'sr', who + ': '));
    fill(body, text, role != 'shopper');
    m.append(body);
    if (at) m.title = new Date(at).toLocaleString(api.ui == 'da' ? 'da-DK' : 'en-GB');
    if (id) m.setAttribute('data-id', id);
    log.append(m);
    scroll();
    if (panel.hidden && role != 'shopper') {
      bubble.classList.add('u');
      api.label(false, true);
    }
    return m;
  }

  function notice(text, error, button) {
    var m = add('system', text);
    if (error) m.classList.add('e');
    if (button) m.append(button);
    return m;
  }

  function showStatus(text) {
    clearTimeout(statusTimer);
    status.textContent = text || T.typing;
    status.hidden = false;
    scroll();
    // A reply that never comes must not leave "Typing…" on screen for ever.
    statusTimer = setTimeout(hideStatus, 45000);
  }
  function hideStatus() { clearTimeout(statusTimer); status.hidden = true; }

  function showQuick(list) {
    quick.textContent = '';
    (list || []).forEach(function (text) {
      var b = attr(el('button', 0, text), { type: 'button' });
      b.addEventListener('click', function () { submit(text); input.focus(); });
      quick.append(b);
    });
    quick.hidden = !quick.children.length;
  }

  function answered() { rating.hidden = false; }

  function stream(id) {
    if (!replies[id]) {
      hideStatus();
      var m = add('agent', '');
      m.classList.add('stream');
      replies[id] = { m: m, body: m.lastChild, text: '' };
    }
    return replies[id];
  }
  function endStreams() {
    for (var id in replies) replies[id].m.classList.remove('stream');
    replies = {};
  }

  function setState(name) {
    state.setAttribute('data-state', name);
    state.textContent = T[name];
  }

  // ---- transport --------------------------------------------------------------------
  function send(frame) {
    if (ws && ws.readyState == 1 && (ready || frame.type == 'hello')) {
      ws.send(JSON.stringify(frame));
      return true;
    }
  }

  function hello() {
    var meta = d.querySelector('meta[name="shopdesk:product"]');
    send({
      type: 'hello', v: 1, session: get('session'), locale: api.lang,
      page: {
        url: location.href.slice(0, 1000), title: d.title.slice(0, 200),
        product: data.product || (meta && meta.content) || null
      },
      // A login counts only when the shop signed it; without a signature the chat is anonymous.
      customer: data.customerEmail && data.customerSignature ? {
        email: data.customerEmail, name: data.customerName || null, signature: data.customerSignature
      } : null
    });
  }

  function connect() {
    clearTimeout(retryTimer);
    if (ws || stopped) return;
    setState(tries ? 'reconnecting' : 'connecting');
    try {
      ws = new WebSocket(api.base.replace(/^http/, 'ws') + 'ws');
    } catch (e) {
      ws = null;
      return retry();
    }
    var sock = ws;
    sock.onopen = hello;
    sock.onmessage = function (e) {
      lastHeard = Date.now();
      var frame;
      try { frame = JSON.parse(e.data); } catch (x) { return; }
      if (frame && typeof frame == 'object') receive(frame);
    };
    sock.onclose = function () { if (ws == sock) drop(); };
  }

  function drop() {
    var sock = ws;
    ws = null;
    ready = false;
    clearInterval(pingTimer);
    hideStatus();
    endStreams();
    if (sock) {
      sock.onclose = sock.onmessage = null;
      try { sock.close(); } catch (e) { /* already gone */ }
    }
    retry();
  }

  // Exponential backoff with jitter, so a restarted server is not hit by every shop at once.
  function retry() {
    if (stopped) return;
    setState(navigator.onLine === false ? 'offline' : 'reconnecting');
    var delay = Math.min(20000, 600 * Math.pow(2, tries++));
    retryTimer = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
  }

  function now() {
    tries = 0;
    if (!ws) connect();
  }
  w.addEventListener('online', now);
  w.addEventListener('offline', function () { if (!ready) setState('offline'); });
  d.addEventListener('visibilitychange', function () { if (!d.hidden && !ws) now(); });

  function ping() {
    // No frame for a minute (two pings unanswered): the connection is dead, not idle.
    if (Date.now() - lastHeard > 60000) return drop();
    send({ type: 'ping' });
  }

  function flush() {
    pending().forEach(function (p) { send({ type: 'message', id: p.id, text: p.text }); });
  }

  function welcome(f) {
    ready = true;
    tries = 0;
    set('session', f.session);
    mode = f.status;
    setState('online');
    clearInterval(pingTimer);
    pingTimer = setInterval(ping, 25000);
    // Redraw from the server's history; keep the redraw out of the screen reader's way.
    log.setAttribute('aria-live', 'off');
    log.textContent = '';
    replies = {};
    add('agent', data.greeting || T.hello).classList.add('hi');
    var answers = false;
    known = {};
    (f.history || []).forEach(function (h) {
      known[h.id] = 1;
      add(h.role, h.text, 0, h.at);
      if (h.role == 'agent' || h.role == 'human') answers = true;
    });
    if (answers) answered();
    if (mode == 'handoff') notice(T.handoff);
    pending().forEach(function (p) {
      if (!known[p.id]) add('shopper', p.text, 0, 0, p.id).classList.add('pending');
    });
    if (mode == 'closed') closedNotice();
    setTimeout(function () { log.setAttribute('aria-live', 'polite'); }, 50);
    bubble.classList.remove('u');
    api.label(!panel.hidden);
    flush();
  }

  function closedNotice() {
    var b = attr(el('button', 0, T.restart), { type: 'button' });
    b.addEventListener('click', function () {
      set('session', null);
      savePending([]);
      rating.hidden = true;
      showQuick([]);
      drop();
      clearTimeout(retryTimer);
      tries = 0;
      connect();
      input.focus();
    });
    notice(T.closed, false, b);
  }

  function mark(id, cls, on) {
    [].forEach.call(log.querySelectorAll('[data-id]'), function (m) {
      if (m.getAttribute('data-id') == id) m.classList.toggle(cls, on);
    });
  }

  function receive(f) {
    var r;
    switch (f.type) {
      case 'welcome':
        return welcome(f);
      case 'ack':
        savePending(pending().filter(function (p) { return p.id != f.id; }));
        mark(f.id, 'pending', false);
        // A message the server already had is not answered again: no "Typing…" for it.
        if (mode == 'bot' && !known[f.id]) showStatus();
        return;
      case 'status':
        return showStatus(String(f.text || ''));
      case 'reply_start':
        return void stream(f.reply);
      case 'reply_delta':
        r = stream(f.reply);
        r.text += f.text || '';
        fill(r.body, r.text, true);
        return scroll();
      case 'reply_end':
        r = stream(f.reply);
        fill(r.body, String(f.text || r.text), true);
        r.m.classList.remove('stream');
        delete replies[f.reply];
        hideStatus();
        showQuick(f.quick_replies);
        scroll();
        return answered();
      case 'handoff':
        endStreams();
        hideStatus();
        showQuick([]);
        // The ticket number may follow in a second handoff frame: its text is shown once.
        if (mode != 'handoff') {
          if (f.text) add('agent', String(f.text));
          notice(T.handoff);
        }
        mode = 'handoff';
        return answered();
      case 'human_message':
        hideStatus();
        add('human', String(f.text || ''), f.author);
        return answered();
      case 'error':
        return failure(f.code);
    }
  }

  function failure(code) {
    hideStatus();
    if (code == 'bad_frame') return;
    if (code == 'too_large') {
      // The server stored nothing: the newest unacknowledged message will never be acked.
      var list = pending(), lost = list.pop();
      savePending(list);
      if (lost) {
        mark(lost.id, 'pending', false);
        mark(lost.id, 'failed', true);
      }
    }
    if (code == 'rate_limited') setTimeout(flush, 4000 + Math.random() * 2000);
    if (code == 'not_allowed') stopped = true;
    notice(T.errors[code] || T.errors.internal, true);
  }

  // ---- shopper actions --------------------------------------------------------------
  function submit(text) {
    text = text.trim();
    if (!text) return;
    if (text.length > MAX) return notice(T.errors.too_large, true);
    var id = 'm' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    var list = pending();
    list.push({ id: id, text: text });
    savePending(list);
    add('shopper', text, 0, 0, id).classList.add('pending');
    showQuick([]);
    if (!send({ type: 'message', id: id, text: text })) now();
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    submit(input.value);
    input.value = '';
    grow();
  });
  function grow() {
    input.style.height = 'auto';
    input.style.height = Math.min(input.scrollHeight + 2, 130) + 'px';
  }
  input.addEventListener('input', grow);
  input.addEventListener('keydown', function (e) {
    if (e.key == 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit ? form.requestSubmit() : sendBtn.click();
    }
  });
  panel.addEventListener('keydown', function (e) {
    if (e.key == 'Escape') { e.stopPropagation(); toggle(false); }
  });
  closeBtn.addEventListener('click', function () { toggle(false); });

  function toggle(open, quiet) {
    if (open == null) open = panel.hidden;
    panel.hidden = !open;
    set('open', open ? '1' : null);
    bubble.setAttribute('aria-expanded', String(open));
    if (open) bubble.classList.remove('u');
    api.label(open);
    if (open) {
      if (!ws) connect();
      scroll();
      if (!quiet) input.focus();
    } else if (!quiet) {
      bubble.focus();
    }
  }

  api.chat = { toggle: toggle, send: submit };
})(window, document);
