/* ShopDesk loader (widget.js): draws the chat bubble and loads chat.js on first use.
   Everything lives in a shadow root so the shop's CSS and ours never meet. */
(function (w, d) {
  var script = d.currentScript;
  if (!script || w.shopdesk) return;
  var data = script.dataset;
  var base = script.src.replace(/[^\/]*([?#].*)?$/, '');
  var query = (script.src.match(/\?[^#]*/) || [''])[0];

  function get(key) {
    try { return localStorage.getItem('shopdesk:' + key); } catch (e) { return null; }
  }
  function set(key, value) {
    try {
      if (value == null) localStorage.removeItem('shopdesk:' + key);
      else localStorage.setItem('shopdesk:' + key, value);
    } catch (e) { /* private mode: the chat still works, it just forgets */ }
  }

  var want = (data.locale || d.documentElement.lang || '').slice(0, 2).toLowerCase();
  var lang = want == 'da' || want == 'en' ? want : null;
  var ui = lang || (/^da/i.test(navigator.language) ? 'da' : 'en');
  var words = ui == 'da' ? ['Åbn chat', 'Luk chat', 'ny besked'] : ['Open chat', 'Close chat', 'new message'];

  var host = d.createElement('shopdesk-chat');
  host.style.cssText = 'all:initial';
  if (/left/.test(data.position || '')) host.setAttribute('data-position', 'left');
  if (data.color) host.style.setProperty('--sd', data.color);
  var root = host.attachShadow({ mode: 'open' });
  var style = d.createElement('style');
  style.textContent = /*css*/`
    :host { --sd: #1f5f5b; }
    .b { position: fixed; bottom: 20px; right: 20px; z-index: 2147483000; width: 58px; height: 58px;
      border: 0; border-radius: 50%; padding: 0; background: var(--sd); color: #fff; cursor: pointer;
      display: flex; align-items: center; justify-content: center;
      box-shadow: 0 6px 20px rgba(0,0,0,.25); transition: transform .15s; }
    :host([data-position=left]) .b { right: auto; left: 20px; }
    .b:hover { transform: scale(1.06); }
    .b:focus-visible { outline: 3px solid #fff; box-shadow: 0 0 0 6px var(--sd); }
    .b svg { width: 28px; height: 28px; fill: currentColor; }
    .b .c, .b[aria-expanded=true] .o { display: none; }
    .b[aria-expanded=true] .c { display: block; }
    .b.u::after { content: ''; position: absolute; top: 3px; right: 3px; width: 12px; height: 12px;
      border-radius: 50%; background: #e0452b; border: 2px solid #fff; }
    .b.w { cursor: progress; opacity: .8; }
    @media (max-width: 480px) { .b[aria-expanded=true] { display: none; } }
    @media (prefers-reduced-motion: reduce) { .b { transition: none; } }
  `;
  var bubble = d.createElement('button');
  bubble.className = 'b';
  bubble.type = 'button';
  bubble.setAttribute('aria-expanded', 'false');
  bubble.setAttribute('aria-haspopup', 'dialog');
  var svg = 'http://www.w3.org/2000/svg';
  [['o', 'M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z'],
   ['c', 'M6.4 8.6 12 14.2l5.6-5.6 1.4 1.4-7 7-7-7z']].forEach(function (icon) {
    var s = d.createElementNS(svg, 'svg'), p = d.createElementNS(svg, 'path');
    s.setAttribute('viewBox', '0 0 24 24');
    s.setAttribute('aria-hidden', 'true');
    s.setAttribute('class', icon[0]);
    p.setAttribute('d', icon[1]);
    s.appendChild(p);
    bubble.appendChild(s);
  });

  var api = w.shopdesk = {
    base: base, data: data, lang: lang, ui: ui, root: root, bubble: bubble, host: host,
    get: get, set: set, label: label
  };

  function label(open, unread) {
    bubble.setAttribute('aria-label', words[open ? 1 : 0] + (unread ? ' (' + words[2] + ')' : ''));
  }

  var loading;
  function load(then) {
    if (api.chat) return then();
    if (loading) return;
    loading = true;
    bubble.classList.add('w');
    var s = d.createElement('script');
    s.src = base + 'chat.js' + query;
    s.async = true;
    s.onload = function () { loading = false; bubble.classList.remove('w'); if (api.chat) then(); };
    s.onerror = function () { loading = false; bubble.classList.remove('w'); s.remove(); };
    d.head.appendChild(s);
  }

  bubble.addEventListener('click', function () {
    load(function () { api.chat.toggle(); });
  });

  label(false);
  root.appendChild(style);
  root.appendChild(bubble);
  function mount() {
    d.body.appendChild(host);
    // A conversation from an earlier page comes back as it was left.
    if (get('session') && get('open') == '1') load(function () { api.chat.toggle(true, true); });
  }
  if (d.body) mount(); else d.addEventListener('DOMContentLoaded', mount);
})(window, document);
