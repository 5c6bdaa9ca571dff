/* console.js: the operator console (/console). The queue of open and
 * claimed handoffs arrives live from GET /v1/handoffs/events (Server-Sent
 * Events read through fetch, which can send the key; a reconnect sends
 * Last-Event-ID); the 5 s poll of the list is only the fallback while the
 * stream is down. Each handoff shows its unread messages and how long the
 * customer has waited; a new one notifies (Notification when allowed, the
 * tab's title otherwise). A conversation shows its turns and the agents'
 * internal notes; the agent claims, replies (canned replies by click or
 * "/shortcut"), notes and resolves through /v1/handoffs, and the customer
 * sees "typing" while they write. Customer text is shown only through
 * textContent and createElement, never as markup. */
(function () {
  'use strict';

  var KEY_STORE = 'frontdesk.operator_key';
  var SEEN_STORE = 'frontdesk.console.seen';
  var REFRESH_MS = 5000; /* the fallback poll, while the live stream is down */
  var RETRY_MS = [1000, 3000, 5000, 10000, 30000]; /* reconnecting the stream */
  var TYPING_EVERY_MS = 3000; /* at most one "typing" a conversation per 3 s */
  var TITLE = 'Operator console';

  function $(id) {
    return document.getElementById(id);
  }
  var signinBox = $('signin');
  var loginForm = $('login');
  var nameInput = $('agent-name');
  var passwordInput = $('agent-password');
  var keyForm = $('key-login');
  var keyInput = $('key');
  var ratingsBtn = $('show-ratings');
  var ratingsBox = $('ratings');
  var assignForm = $('assign');
  var assignTo = $('assign-to');
  var assignBtn = $('assign-go');
  var desk = $('desk');
  var logoutBtn = $('logout');
  var errorEl = $('error');
  var listEl = $('handoffs');
  var emptyEl = $('empty');
  var updatedEl = $('updated');
  var detail = $('detail');
  var turnsEl = $('turns');
  var claimBtn = $('claim');
  var resolveBtn = $('resolve');
  var replyForm = $('reply');
  var replyText = $('reply-text');
  var replyBtn = $('reply-send');
  var noteForm = $('note-form');
  var noteText = $('note-text');
  var noteBtn = $('note-add');
  var cannedEl = $('canned');
  var suggestEl = $('canned-suggest');
  var searchForm = $('search');
  var searchQ = $('search-q');
  var resultsBox = $('results-box');
  var resultsEl = $('results');
  var noResults = $('no-results');
  var notifyBtn = $('notify');
  var whoEl = $('who');

  /* An agent's session token (fda_…, from signing in) or an API key: both
   * go as the Bearer credential; /v1/me says which it is. */
  var key = sessionStorage.getItem(KEY_STORE);
  var me = null; /* /v1/me: the agent signed in, or the key */
  var agents = []; /* the colleagues a conversation can be assigned to */
  var handoffs = new Map(); /* open and claimed, by id */
  var current = null; /* the selected handoff */
  var shownTurns = ''; /* what the timeline shows, to redraw only on change */
  var timer = null; /* the fallback poll */
  var refreshing = false;
  var listFailed = false; /* the error shown is the list's: the next refresh may clear it */
  var generation = 0; /* bumped by each action: a list fetched before one is stale */
  var again = false; /* a refresh was asked for while one was running */
  var live = null; /* the queue stream: {close} */
  var streaming = false; /* the stream delivered its first sync and is up */
  var clockSkew = 0; /* server time - our time, seconds (sync events) */
  var notified = new Set(); /* handoffs already announced */
  var newCount = 0; /* announced in the title since the page was last looked at */
  var canned = [];
  var lastTyping = 0;
  var listed = false; /* a first list was shown: what comes after it is new */

  /* ---- helpers -------------------------------------------------------------- */

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function showError(msg) {
    errorEl.textContent = msg || '';
    errorEl.hidden = !msg;
  }

  function when(secs) {
    if (!secs) return '';
    return new Date(secs * 1000).toLocaleString();
  }

  /* "4 s", "2 min 05 s", "1 h 03 min" */
  function since(secs) {
    var s = Math.max(0, Math.floor(Date.now() / 1000 + clockSkew - secs));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min ' + String(s % 60).padStart(2, '0') + ' s';
    return Math.floor(s / 3600) + ' h ' + String(Math.floor(s / 60) % 60).padStart(2, '0') + ' min';
  }

  function store() {
    try {
      return typeof localStorage !== 'undefined' ? localStorage : null;
    } catch (e) {
      return null; /* storage off: unread counts last this page only */
    }
  }

  /* How many customer messages of each handoff the agent has seen. */
  var seen = (function () {
    var s = store();
    try {
      return (s && JSON.parse(s.getItem(SEEN_STORE) || '{}')) || {};
    } catch (e) {
      return {};
    }
  })();
  function saveSeen() {
    /* the newest 500 conversations are plenty to remember */
    var ids = Object.keys(seen).map(Number).sort(function (a, b) { return b - a; });
    ids.slice(500).forEach(function (id) { delete seen[id]; });
    var s = store();
    if (s) try { s.setItem(SEEN_STORE, JSON.stringify(seen)); } catch (e) { /* full: kept in memory */ }
  }
  function unread(h) {
    var n = (h.customer_messages || 0) - (seen[h.id] || 0);
    return n > 0 ? n : 0;
  }
  function markSeen(h) {
    if (!h || !h.customer_messages || seen[h.id] === h.customer_messages) return;
    seen[h.id] = h.customer_messages;
    saveSeen();
  }

  /* Calls the API with the operator's key; resolves to the JSON body,
   * rejects with an Error carrying the server's message and the status. */
  async function api(method, path, body) {
    var init = { method: method, headers: { Authorization: 'Bearer ' + key }, cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    var res = await fetch(path, init);
    var text = await res.text();
    var j = null;
    try {
      j = text ? JSON.parse(text) : null;
    } catch (e) {
      j = null;
    }
    if (!res.ok) {
      var msg = j && j.error && j.error.message ? j.error.message : 'HTTP ' + res.status;
      var err = new Error(msg);
      err.status = res.status;
      throw err;
    }
    return j;
  }

  /* Server-Sent Events from a fetch response: calls on(name, data, id) per event. */
  async function readSse(res, on) {
    var reader = res.body.getReader();
    var dec = new TextDecoder();
    var buf = '';
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) return;
      buf += dec.decode(chunk.value, { stream: true }).replace(/\r\n?/g, '\n');
      var cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        var block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        var name = 'message', data = [], id = null;
        block.split('\n').forEach(function (line) {
          if (line.indexOf('event: ') === 0) name = line.slice(7);
          else if (line.indexOf('data: ') === 0) data.push(line.slice(6));
          else if (line.indexOf('id: ') === 0) id = line.slice(4);
        });
        if (data.length || id) on(name, data.join('\n'), id);
      }
    }
  }

  /* ---- signing in and out --------------------------------------------------- */

  function signedIn(on) {
    signinBox.hidden = on;
    desk.hidden = !on;
    logoutBtn.hidden = !on;
    ratingsBtn.hidden = !on;
    if (!on) showRatings(false);
    stopPolling();
    if (live) live.close();
    live = null;
    streaming = false;
    if (on) {
      refresh(); /* the list at once; the stream keeps it current */
      openQueue();
      loadCanned();
      loadAgents();
      offerNotifications();
    } else {
      select(null);
      handoffs = new Map();
      listed = false;
      listEl.replaceChildren();
      nameInput.focus();
    }
  }

  /* An agent's sign-out ends the session on the server too (a copied
   * token is refused from then on); a key is only forgotten here. */
  function signOut(msg) {
    if (key && me && me.agent) {
      fetch('/v1/agents/logout', { method: 'POST', headers: { Authorization: 'Bearer ' + key } })
        .catch(function () {});
    }
    sessionStorage.removeItem(KEY_STORE);
    key = null;
    me = null;
    whoEl.textContent = '';
    signedIn(false);
    showError(msg);
  }

  /* The key is checked at sign-in (GET /v1/me): a chat-only key used to be
   * accepted here and then fail every 5 s. */
  async function checkKey(k) {
    key = k;
    me = await api('GET', '/v1/me');
    if (me && me.agent) {
      whoEl.textContent = 'Signed in as ' + me.agent.display_name +
        (me.agent.display_name !== me.agent.name ? ' (' + me.agent.name + ')' : '');
      return me;
    }
    var scopes = me && me.key ? me.key.scopes : [];
    if (scopes.indexOf('operator') < 0 && scopes.indexOf('admin') < 0) {
      var e = new Error('this key (' + (scopes.join(', ') || 'no scope') +
                        ') cannot use the console: it needs the operator scope');
      e.status = 403;
      throw e;
    }
    whoEl.textContent = 'Signed in as ' + (me.key.name || me.key.prefix) + ' (' + scopes.join(', ') + ')';
    return me;
  }

  /* Name and password: POST /v1/agents/login gives a session token. */
  loginForm.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var name = nameInput.value.trim();
    if (!name || !passwordInput.value) return;
    var token = null;
    try {
      var res = await fetch('/v1/agents/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        cache: 'no-store',
        body: JSON.stringify({ name: name, password: passwordInput.value })
      });
      var j = await res.json().catch(function () { return null; });
      if (!res.ok) {
        var msg = j && j.error ? j.error.message : 'HTTP ' + res.status;
        if (res.status === 401) msg = 'Wrong name or password.';
        else if (res.status === 429) msg = 'Too many attempts: wait a minute and try again.';
        throw new Error(msg);
      }
      token = j.token;
      await checkKey(token);
    } catch (e) {
      key = null;
      showError(e.message);
      if (passwordInput.select) passwordInput.select();
      return;
    }
    sessionStorage.setItem(KEY_STORE, token);
    passwordInput.value = '';
    showError('');
    signedIn(true);
  });

  /* An API key instead (integrations, or a server without agents yet). */
  keyForm.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var k = keyInput.value.trim();
    if (!k) return;
    try {
      await checkKey(k);
    } catch (e) {
      key = null;
      showError(e.status === 401 ? 'The key was refused: ' + e.message : e.message);
      return;
    }
    sessionStorage.setItem(KEY_STORE, k);
    keyInput.value = '';
    showError('');
    signedIn(true);
  });

  logoutBtn.addEventListener('click', function () {
    signOut('');
  });

  /* A refused key ends the session; other errors stay shown until the next
   * action (or, for the list's own errors, until the list loads again). */
  function failed(e) {
    listFailed = false;
    if (e.status === 401) {
      signOut(me && me.agent ? 'Your session has ended: sign in again.' : 'The key was refused: ' + e.message);
    }
    else showError(e.message);
  }

  /* ---- the live queue ---------------------------------------------------------- */

  /* Reads the stream, reconnecting with Last-Event-ID; while it is down the
   * list is polled. The first sync of each connection ends its snapshot:
   * what the snapshot did not name has gone meanwhile. */
  function openQueue() {
    var ctl = typeof AbortController !== 'undefined' ? new AbortController() : null;
    var stopped = false;
    var lastId = null;
    var attempt = 0;
    (async function loop() {
      while (!stopped && key) {
        var snapshot = new Set();
        var synced = false;
        try {
          var h = { Authorization: 'Bearer ' + key, Accept: 'text/event-stream' };
          if (lastId) h['Last-Event-ID'] = lastId;
          var res = await fetch('/v1/handoffs/events', { headers: h, signal: ctl && ctl.signal, cache: 'no-store' });
          if (res.status === 401) {
            signOut('The key was refused: sign in again');
            return;
          }
          if (res.status >= 400 && res.status < 500 && res.status !== 429) {
            goLive(false); /* refused for good: the poll says why */
            return;
          }
          if (res.ok && res.body) {
            await readSse(res, function (name, data, id) {
              if (stopped) return;
              var d = null;
              try { d = data ? JSON.parse(data) : null; } catch (e) { d = null; }
              if (name === 'sync') {
                if (id) lastId = id;
                if (d && typeof d.at === 'number') clockSkew = d.at - Date.now() / 1000;
                if (!synced) {
                  synced = true;
                  listed = true;
                  attempt = 0;
                  handoffs.forEach(function (x, hid) { if (!snapshot.has(hid)) handoffs.delete(hid); });
                  goLive(true);
                }
                renderList();
                return;
              }
              if (!d || typeof d.id !== 'number') return;
              if (!synced) snapshot.add(d.id);
              onChange(name, d, synced);
            });
          }
        } catch (e) {
          if (stopped) return;
        }
        if (stopped) return;
        goLive(false);
        var wait = RETRY_MS[Math.min(attempt++, RETRY_MS.length - 1)];
        await new Promise(function (r) { setTimeout(r, wait); });
      }
    })();
    live = { close: function () { stopped = true; if (ctl) ctl.abort(); } };
  }

  /* The stream is up (the poll stops) or down (the poll takes over). */
  function goLive(on) {
    streaming = on;
    if (on) {
      stopPolling();
      updatedEl.textContent = 'live';
      if (listFailed) showError('');
      listFailed = false;
    } else if (!timer && key) {
      updatedEl.textContent = 'live updates interrupted: checking every 5 s';
      timer = setInterval(refresh, REFRESH_MS);
    }
  }

  function stopPolling() {
    clearInterval(timer);
    timer = null;
  }

  /* One event of the stream: the handoff's new state (and what changed). */
  function onChange(kind, h, synced) {
    var known = handoffs.has(h.id);
    if (kind === 'removed' || h.status === 'resolved') handoffs.delete(h.id);
    else handoffs.set(h.id, h);
    if (kind === 'opened' && !known && !notified.has(h.id)) announce(h);
    var mine = current && current.id === h.id && kind !== 'removed';
    if (mine) {
      current = h;
      if (!document.hidden) markSeen(h); /* on screen: read */
    }
    if (!synced) return; /* the snapshot renders at its sync */
    renderList();
    if (mine) {
      renderDetail();
      if (kind !== 'handoff') loadTurns().catch(failed);
    }
  }

  /* ---- a new conversation: a desktop notification, or the tab's title ------------ */

  function canNotify() {
    return typeof Notification !== 'undefined' && Notification.permission === 'granted';
  }

  function offerNotifications() {
    notifyBtn.hidden = !(typeof Notification !== 'undefined' && Notification.permission === 'default');
  }

  notifyBtn.addEventListener('click', function () {
    if (typeof Notification === 'undefined') return;
    Promise.resolve(Notification.requestPermission()).then(offerNotifications, offerNotifications);
  });

  function beep() {
    try {
      var Ctx = typeof window !== 'undefined' && (window.AudioContext || window.webkitAudioContext);
      if (!Ctx) return;
      var ctx = new Ctx();
      var o = ctx.createOscillator();
      var g = ctx.createGain();
      g.gain.value = 0.05;
      o.frequency.value = 880;
      o.connect(g);
      g.connect(ctx.destination);
      o.start();
      o.stop(ctx.currentTime + 0.15);
      o.onended = function () { ctx.close(); };
    } catch (e) { /* no sound: the notification or title says it */ }
  }

  function announce(h) {
    notified.add(h.id);
    var text = 'New conversation ' + h.ticket;
    if (canNotify()) {
      try {
        var n = new Notification(text, { body: h.summary || h.reason || '', tag: 'handoff-' + h.id });
        n.onclick = function () {
          if (typeof window !== 'undefined' && window.focus) window.focus();
          var x = handoffs.get(h.id);
          if (x) select(x);
        };
      } catch (e) { /* a page without notifications: the title below */ }
    }
    beep();
    /* The title too, while the agent looks elsewhere: it is what the tab strip shows. */
    if (!canNotify() || document.hidden) {
      newCount++;
      document.title = '(' + newCount + ') ' + text + ' — ' + TITLE;
    }
  }

  function looked() {
    if (document.hidden || newCount === 0) return;
    newCount = 0;
    document.title = TITLE;
  }
  if (document.addEventListener) {
    document.addEventListener('visibilitychange', looked);
    if (typeof window !== 'undefined' && window.addEventListener) window.addEventListener('focus', looked);
  }

  /* ---- the list of handoffs (the fallback poll) ---------------------------------- */

  async function refresh() {
    if (!key) return;
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    var gen = generation;
    try {
      var lists = await Promise.all([
        api('GET', '/v1/handoffs?status=open'),
        api('GET', '/v1/handoffs?status=claimed')
      ]);
      if (gen !== generation) return; /* an action ran meanwhile: refresh again */
      var next = new Map();
      var first = !listed;
      listed = true;
      lists[0].handoffs.concat(lists[1].handoffs).forEach(function (h) {
        /* the poll may see a new one before the stream is back */
        if (!first && h.status === 'open' && !handoffs.has(h.id) && !notified.has(h.id)) announce(h);
        /* the list has no counts: keep the stream's last ones */
        var old = handoffs.get(h.id);
        if (old) {
          ['customer_messages', 'unanswered', 'waiting_since', 'notes'].forEach(function (k) {
            if (h[k] === undefined) h[k] = old[k];
          });
        }
        next.set(h.id, h);
      });
      handoffs = next;
      renderList();
      /* while the stream is down, the label keeps saying so */
      var at = new Date().toLocaleTimeString();
      if (!streaming)
        updatedEl.textContent = timer ? 'live updates interrupted: checking every 5 s (last ' + at + ')' : 'updated ' + at;
      if (current) {
        var h = handoffs.get(current.id);
        if (h) current = h;
        renderDetail();
        await loadTurns();
      }
      if (listFailed) showError('');
      listFailed = false;
    } catch (e) {
      failed(e);
      listFailed = e.status !== 401;
    } finally {
      refreshing = false;
      if (again || gen !== generation) {
        again = false;
        refresh();
      }
    }
  }

  function sorted() {
    /* open first, then the longest wait, then the newest */
    return Array.from(handoffs.values()).sort(function (a, b) {
      if (a.status !== b.status) return a.status === 'open' ? -1 : 1;
      var wa = a.waiting_since || Infinity, wb = b.waiting_since || Infinity;
      if (wa !== wb) return wa - wb;
      return b.id - a.id;
    });
  }

  function item(h, withSnippet) {
    var li = el('li');
    var b = el('button', 'handoff' + (current && current.id === h.id ? ' selected' : ''));
    b.type = 'button';
    b.setAttribute('data-id', String(h.id));
    var top = el('span', 'line');
    top.appendChild(el('strong', null, h.ticket));
    top.appendChild(el('span', 'badge tier-' + h.tier, h.tier));
    top.appendChild(el('span', 'badge status-' + h.status, h.status));
    var n = withSnippet ? 0 : unread(h);
    if (n) {
      var u = el('span', 'badge unread', String(n));
      u.setAttribute('aria-label', n + ' unread');
      top.appendChild(u);
    }
    if (h.operator) top.appendChild(el('span', 'status', h.operator));
    b.appendChild(top);
    b.appendChild(el('span', 'summary', withSnippet && h.snippet ? h.snippet : h.summary || h.reason));
    var foot = el('span', 'status', h.reason + ' · ' + when(h.created_at));
    b.appendChild(foot);
    if (!withSnippet && h.waiting_since) {
      var w = el('span', 'wait', 'waiting ' + since(h.waiting_since));
      w.setAttribute('data-since', String(h.waiting_since));
      b.appendChild(w);
    }
    b.addEventListener('click', function () {
      select(withSnippet ? h : handoffs.get(h.id) || h);
    });
    li.appendChild(b);
    return li;
  }

  function renderList() {
    listEl.replaceChildren();
    emptyEl.hidden = handoffs.size > 0;
    sorted().forEach(function (h) {
      listEl.appendChild(item(h, false));
    });
  }

  /* The wait timers tick between events. */
  setInterval(function () {
    if (desk.hidden || !listEl.querySelectorAll) return;
    listEl.querySelectorAll('.wait').forEach(function (w) {
      w.textContent = 'waiting ' + since(Number(w.getAttribute('data-since')));
    });
  }, 1000);

  /* ---- search -------------------------------------------------------------------- */

  searchForm.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var q = searchQ.value.trim();
    if (!q) return;
    try {
      var r = await api('GET', '/v1/handoffs?limit=20&q=' + encodeURIComponent(q));
      resultsEl.replaceChildren();
      (r.handoffs || []).forEach(function (h) { resultsEl.appendChild(item(h, true)); });
      noResults.hidden = resultsEl.children.length > 0;
      resultsBox.hidden = false;
      showError('');
    } catch (e) {
      failed(e);
    }
  });

  $('search-clear').addEventListener('click', function () {
    resultsBox.hidden = true;
    resultsEl.replaceChildren();
    searchQ.value = '';
  });

  /* ---- one conversation ------------------------------------------------------- */

  function select(h) {
    if (h) showRatings(false);
    current = h;
    shownTurns = '';
    turnsEl.replaceChildren();
    detail.hidden = !h;
    if (!h) return;
    markSeen(h);
    renderList();
    renderDetail();
    loadTurns().catch(failed);
  }

  function renderDetail() {
    var h = current;
    $('detail-title').textContent = h.ticket + ' — ' + h.status;
    var meta = $('detail-meta');
    meta.replaceChildren();
    [
      ['Session', h.session_id],
      ['Tier', h.tier],
      ['Reason', h.reason],
      ['Summary', h.summary],
      ['Operator', h.operator || '—'],
      ['Opened', when(h.created_at)]
    ].forEach(function (kv) {
      meta.appendChild(el('dt', null, kv[0]));
      meta.appendChild(el('dd', null, kv[1]));
    });
    claimBtn.disabled = h.status !== 'open';
    renderAssign(h);
    resolveBtn.disabled = h.status === 'resolved';
    replyBtn.disabled = h.status !== 'claimed';
    replyText.disabled = h.status !== 'claimed';
    replyText.placeholder =
      h.status === 'claimed' ? 'Reply to the customer… (/ and a shortcut: a canned reply)' : 'Claim the conversation to reply.';
    if (!document.hidden) markSeen(h);
  }

  var WHO = { user: 'Customer', assistant: 'Assistant', operator: 'Agent' };

  /* The turns and the agents' notes, one timeline by time; a note is drawn
   * apart (msg-note) and never sent anywhere. */
  async function loadTurns() {
    var h = current;
    var got = await Promise.all([
      api('GET', '/v1/sessions/' + encodeURIComponent(h.session_id)),
      api('GET', '/v1/handoffs/' + h.id + '/notes')
    ]);
    if (current !== h && (!current || current.id !== h.id)) return; /* selection moved on */
    var turns = Array.isArray(got[0] && got[0].turns) ? got[0].turns : [];
    var notes = Array.isArray(got[1] && got[1].notes) ? got[1].notes : [];
    var sig = turns.length + ':' + (turns.length ? turns[turns.length - 1].seq : '') + ':' +
      notes.length + ':' + (notes.length ? notes[notes.length - 1].id : '');
    if (sig === shownTurns) return;
    shownTurns = sig;
    var items = turns.map(function (t) { return { at: t.at, turn: t }; })
      .concat(notes.map(function (n) { return { at: n.created_at, note: n }; }));
    /* stable: a note and a turn of the same second keep the turn first */
    items.sort(function (a, b) { return (a.at || 0) - (b.at || 0); });
    turnsEl.replaceChildren();
    items.forEach(function (x) {
      var li;
      if (x.turn) {
        li = el('li', 'msg msg-' + x.turn.role);
        var who = WHO[x.turn.role] || x.turn.role;
        if (x.turn.meta && typeof x.turn.meta.agent === 'string') who += ' · ' + x.turn.meta.agent;
        li.appendChild(el('span', 'who', who + ' · ' + when(x.turn.at)));
        var text = el('div', 'text', x.turn.text);
        li.appendChild(text);
        var att = x.turn.meta && x.turn.meta.attachment;
        if (x.turn.role === 'user' && att && att.id) showAttachment(text, h.session_id, att);
      } else {
        li = el('li', 'msg msg-note');
        li.appendChild(el('span', 'who', 'Internal note · ' + x.note.author + ' · ' + when(x.note.created_at)));
        li.appendChild(el('div', 'text', x.note.text));
      }
      turnsEl.appendChild(li);
    });
    if (turnsEl.lastChild) turnsEl.lastChild.scrollIntoView({ block: 'end' });
  }

  /* An image the customer sent: fetched with the agent's credential (an
   * <img src> could not send it) and shown as a data: URL, which the
   * page's CSP allows; kept by id so a redraw does not fetch it again. */
  var images = new Map();
  async function showAttachment(textEl, sid, att) {
    var url = images.get(att.id);
    if (!url) {
      var res = await fetch('/v1/sessions/' + encodeURIComponent(sid) + '/attachments/' + att.id,
        { headers: { Authorization: 'Bearer ' + key }, cache: 'no-store' }).catch(function () { return null; });
      if (!res || !res.ok) return; /* the "(image)" text stays */
      var blob = await res.blob();
      url = await new Promise(function (resolve) {
        var r = new FileReader();
        r.onload = function () { resolve(r.result); };
        r.onerror = function () { resolve(null); };
        r.readAsDataURL(blob);
      });
      if (!url) return;
      if (images.size > 50) images.clear();
      images.set(att.id, url);
    }
    var img = el('img', 'attachment');
    img.src = url;
    img.alt = 'Image sent by the customer (' + att.type + ', ' + Math.ceil(att.bytes / 1024) + ' KB)';
    textEl.replaceChildren(img);
  }

  /* ---- actions ------------------------------------------------------------------ */

  async function act(action, body) {
    if (!current) return;
    var buttons = [claimBtn, resolveBtn, replyBtn, assignBtn];
    buttons.forEach(function (b) { b.disabled = true; });
    generation++;
    try {
      var h = await api('POST', '/v1/handoffs/' + current.id + '/' + action, body);
      /* the action's answer has no counts: the stream's come after it */
      var old = handoffs.get(h.id) || current;
      ['customer_messages', 'unanswered', 'waiting_since', 'notes'].forEach(function (k) {
        if (h[k] === undefined && old) h[k] = old[k];
      });
      current = h;
      showError('');
      if (action === 'messages') {
        replyText.value = '';
        lastTyping = 0;
      }
      renderDetail();
      if (streaming) {
        if (h.status === 'resolved') handoffs.delete(h.id);
        else handoffs.set(h.id, h);
        renderList();
        await loadTurns();
      } else {
        await refresh(); /* the list, and the conversation with the reply */
      }
    } catch (e) {
      failed(e);
      if (current) renderDetail();
    }
  }

  /* ---- ratings: what customers thought (GET /v1/ratings) ------------------------ */

  function showRatings(on) {
    ratingsBox.hidden = !on;
    ratingsBtn.setAttribute('aria-expanded', on ? 'true' : 'false');
    detail.hidden = on || !current;
  }

  function stars(n) {
    return '\u2605'.repeat(n) + '\u2606'.repeat(5 - n);
  }

  async function loadRatings() {
    var r = await api('GET', '/v1/ratings?limit=100');
    var summary = $('ratings-summary');
    summary.textContent = r.count
      ? r.average.toFixed(1) + ' / 5 on average, over ' + r.count + (r.count === 1 ? ' rating' : ' ratings')
      : 'No ratings yet.';
    var per = $('ratings-agents');
    per.replaceChildren();
    (r.by_agent || []).forEach(function (a) {
      per.appendChild(el('li', null, (a.agent ? a.agent_display_name : 'No agent') + ': ' +
        a.average.toFixed(1) + ' (' + a.count + ')'));
    });
    var rows = $('ratings-rows');
    rows.replaceChildren();
    (r.ratings || []).forEach(function (x) {
      var tr = el('tr');
      tr.appendChild(el('td', null, when(x.at)));
      var score = el('td');
      var drawn = el('span', null, stars(x.score));
      drawn.setAttribute('aria-hidden', 'true');
      score.appendChild(drawn);
      score.appendChild(el('span', 'visually-hidden', x.score + ' out of 5'));
      tr.appendChild(score);
      tr.appendChild(el('td', 'comment', x.comment || '—'));
      tr.appendChild(el('td', null, x.ticket || '—'));
      tr.appendChild(el('td', null, x.agent ? x.agent_display_name : '—'));
      rows.appendChild(tr);
    });
  }

  ratingsBtn.addEventListener('click', function () {
    if (!ratingsBox.hidden) {
      showRatings(false);
      return;
    }
    showRatings(true);
    loadRatings().catch(failed);
  });

  /* ---- assigning to another agent ---------------------------------------------- */

  async function loadAgents() {
    try {
      var r = await api('GET', '/v1/agents');
      agents = (r.agents || []).filter(function (a) { return !a.disabled; });
    } catch (e) {
      agents = []; /* an older server, or no right to list: no assignment */
    }
    if (current) renderAssign(current);
  }

  /* Open or claimed conversations go to any enabled agent but the one who
   * has it; the form stays hidden when there is nobody to give it to. */
  function renderAssign(h) {
    var others = agents.filter(function (a) { return a.name !== h.operator; });
    assignForm.hidden = h.status === 'resolved' || others.length === 0;
    var was = assignTo.value;
    assignTo.replaceChildren();
    others.forEach(function (a) {
      var o = el('option', null, a.display_name + (a.display_name !== a.name ? ' (' + a.name + ')' : ''));
      o.value = a.name;
      if (me && me.agent && a.name === me.agent.name) o.textContent += ' — me';
      assignTo.appendChild(o);
    });
    if (was && others.some(function (a) { return a.name === was; })) assignTo.value = was;
    assignBtn.disabled = h.status === 'resolved';
  }

  assignForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (assignTo.value) act('assign', { agent: assignTo.value });
  });

  claimBtn.addEventListener('click', function () {
    act('claim');
  });
  resolveBtn.addEventListener('click', function () {
    act('resolve');
  });
  replyForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = replyText.value.trim();
    if (text) act('messages', { message: text });
  });

  noteForm.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var text = noteText.value.trim();
    if (!text || !current) return;
    noteBtn.disabled = true;
    try {
      await api('POST', '/v1/handoffs/' + current.id + '/notes', { text: text });
      noteText.value = '';
      showError('');
      await loadTurns();
    } catch (e) {
      failed(e);
    } finally {
      noteBtn.disabled = false;
    }
  });

  /* The customer sees "typing" while the agent writes: one POST per 3 s at
   * most, only on a claimed conversation, failures ignored (it is a hint). */
  replyText.addEventListener('input', function () {
    suggest();
    if (!current || current.status !== 'claimed' || !replyText.value.trim()) return;
    var now = Date.now();
    if (now - lastTyping < TYPING_EVERY_MS) return;
    lastTyping = now;
    api('POST', '/v1/handoffs/' + current.id + '/typing').catch(function () {});
  });

  /* ---- canned replies: a click, or "/" and the shortcut ------------------------- */

  async function loadCanned() {
    try {
      var r = await api('GET', '/v1/canned-replies');
      canned = Array.isArray(r && r.replies) ? r.replies : [];
    } catch (e) {
      canned = []; /* the console works without them */
    }
    cannedEl.replaceChildren();
    canned.forEach(function (c) {
      var b = el('button', 'secondary canned-reply', '/' + c.shortcut + ' ' + c.title);
      b.type = 'button';
      b.title = c.text;
      b.addEventListener('click', function () { insertCanned(c, null); });
      cannedEl.appendChild(b);
    });
  }

  /* The "/word" just before the caret, if any: {start, word}. */
  function slashWord() {
    var v = replyText.value;
    var end = typeof replyText.selectionStart === 'number' ? replyText.selectionStart : v.length;
    var m = /(^|\s)\/([a-z0-9_-]*)$/.exec(v.slice(0, end));
    return m ? { start: end - m[2].length - 1, end: end, word: m[2] } : null;
  }

  function matches(word) {
    return canned.filter(function (c) { return c.shortcut.indexOf(word) === 0; });
  }

  /* Puts the reply's text in the box: in place of the "/word" typed, else
   * at the caret. */
  function insertCanned(c, at) {
    if (replyText.disabled) return;
    var v = replyText.value;
    var s = at || {
      start: typeof replyText.selectionStart === 'number' ? replyText.selectionStart : v.length,
      end: typeof replyText.selectionEnd === 'number' ? replyText.selectionEnd : v.length
    };
    replyText.value = v.slice(0, s.start) + c.text + v.slice(s.end);
    var caret = s.start + c.text.length;
    if (replyText.setSelectionRange) replyText.setSelectionRange(caret, caret);
    suggestEl.hidden = true;
    suggestEl.replaceChildren();
    replyText.focus();
    replyText.dispatch ? replyText.dispatch('input') : replyText.dispatchEvent(new Event('input'));
  }

  function suggest() {
    var w = slashWord();
    var found = w ? matches(w.word) : [];
    suggestEl.replaceChildren();
    suggestEl.hidden = found.length === 0;
    found.forEach(function (c) {
      var li = el('li');
      var b = el('button', 'secondary', '/' + c.shortcut + ' — ' + c.title);
      b.type = 'button';
      b.addEventListener('click', function () { insertCanned(c, slashWord()); });
      li.appendChild(b);
      suggestEl.appendChild(li);
    });
  }

  /* Enter sends, Shift+Enter starts a new line, as in every chat tool; on
   * a "/shortcut" Enter or Tab puts the canned reply in instead. */
  replyText.addEventListener('keydown', function (ev) {
    if ((ev.key === 'Enter' || ev.key === 'Tab') && !ev.shiftKey && !ev.isComposing) {
      var w = slashWord();
      var found = w ? matches(w.word) : [];
      var exact = found.filter(function (c) { return c.shortcut === w.word; });
      var pick = exact.length ? exact[0] : found.length === 1 ? found[0] : null;
      if (pick) {
        ev.preventDefault();
        insertCanned(pick, w);
        return;
      }
    }
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      replyForm.requestSubmit();
    }
  });

  if (key) {
    checkKey(key).then(function () { signedIn(true); }, function (e) {
      signOut(e.status === 401 ? 'The key was refused: ' + e.message : e.message);
    });
  } else {
    signedIn(false);
  }
})();
