/* console.js: the operator console (/console). Lists open and claimed
 * handoffs every 5 s, shows a conversation, and claims, replies to and
 * resolves it through /v1/handoffs. Customer text is shown only through
 * textContent and createElement, never as markup. */
(function () {
  'use strict';

  var KEY_STORE = 'frontdesk.operator_key';
  var REFRESH_MS = 5000;

  function $(id) {
    return document.getElementById(id);
  }
  var loginForm = $('login');
  var keyInput = $('key');
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
  var whoEl = $('who');

  var key = sessionStorage.getItem(KEY_STORE);
  var handoffs = []; /* the last list, open then claimed */
  var current = null; /* the selected handoff */
  var shownTurns = ''; /* what the turn list shows, to redraw only on change */
  var timer = null;
  var refreshing = false;
  var listFailed = false; /* the error shown is the list's: the next refresh may clear it */
  var generation = 0; /* bumped by each action: a list fetched before one is stale */
  var again = false; /* a refresh was asked for while one was running */

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

  /* ---- signing in and out --------------------------------------------------- */

  function signedIn(on) {
    loginForm.hidden = on;
    desk.hidden = !on;
    logoutBtn.hidden = !on;
    clearInterval(timer);
    timer = null;
    if (on) {
      refresh();
      timer = setInterval(refresh, REFRESH_MS);
    } else {
      select(null);
      listEl.replaceChildren();
      keyInput.focus();
    }
  }

  function signOut(msg) {
    sessionStorage.removeItem(KEY_STORE);
    key = null;
    whoEl.textContent = '';
    signedIn(false);
    showError(msg);
  }

  /* The key is checked at sign-in (GET /v1/me): a chat-only key used to be
   * accepted here and then fail every 5 s. */
  async function checkKey(k) {
    key = k;
    var me = await api('GET', '/v1/me');
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

  loginForm.addEventListener('submit', async function (ev) {
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
    if (e.status === 401) signOut('The key was refused: ' + e.message);
    else showError(e.message);
  }

  /* ---- the list of handoffs --------------------------------------------------- */

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
      handoffs = lists[0].handoffs.concat(lists[1].handoffs);
      renderList();
      updatedEl.textContent = 'updated ' + new Date().toLocaleTimeString();
      if (current) {
        var h = handoffs.find(function (x) { return x.id === current.id; });
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

  function renderList() {
    listEl.replaceChildren();
    emptyEl.hidden = handoffs.length > 0;
    handoffs.forEach(function (h) {
      var li = el('li');
      var b = el('button', 'handoff' + (current && current.id === h.id ? ' selected' : ''));
      b.type = 'button';
      var top = el('span', 'line');
      top.appendChild(el('strong', null, h.ticket));
      top.appendChild(el('span', 'badge tier-' + h.tier, h.tier));
      top.appendChild(el('span', 'badge status-' + h.status, h.status));
      if (h.operator) top.appendChild(el('span', 'status', h.operator));
      b.appendChild(top);
      b.appendChild(el('span', 'summary', h.summary || h.reason));
      b.appendChild(el('span', 'status', h.reason + ' · ' + when(h.created_at)));
      b.addEventListener('click', function () {
        select(h);
      });
      li.appendChild(b);
      listEl.appendChild(li);
    });
  }

  /* ---- one conversation ------------------------------------------------------- */

  function select(h) {
    current = h;
    shownTurns = '';
    turnsEl.replaceChildren();
    detail.hidden = !h;
    if (!h) return;
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
    resolveBtn.disabled = h.status === 'resolved';
    replyBtn.disabled = h.status !== 'claimed';
    replyText.disabled = h.status !== 'claimed';
    replyText.placeholder =
      h.status === 'claimed' ? 'Reply to the customer…' : 'Claim the conversation to reply.';
  }

  var WHO = { user: 'Customer', assistant: 'Assistant', operator: 'Agent' };

  async function loadTurns() {
    var h = current;
    var s = await api('GET', '/v1/sessions/' + encodeURIComponent(h.session_id));
    if (current !== h && (!current || current.id !== h.id)) return; /* selection moved on */
    var turns = Array.isArray(s && s.turns) ? s.turns : [];
    var sig = turns.length + ':' + (turns.length ? turns[turns.length - 1].seq : '');
    if (sig === shownTurns) return;
    shownTurns = sig;
    turnsEl.replaceChildren();
    turns.forEach(function (t) {
      var li = el('li', 'msg msg-' + t.role);
      li.appendChild(el('span', 'who', (WHO[t.role] || t.role) + ' · ' + when(t.at)));
      li.appendChild(el('div', 'text', t.text));
      turnsEl.appendChild(li);
    });
    if (turnsEl.lastChild) turnsEl.lastChild.scrollIntoView({ block: 'end' });
  }

  /* ---- actions ------------------------------------------------------------------ */

  async function act(action, body) {
    if (!current) return;
    var buttons = [claimBtn, resolveBtn, replyBtn];
    buttons.forEach(function (b) { b.disabled = true; });
    generation++;
    try {
      current = await api('POST', '/v1/handoffs/' + current.id + '/' + action, body);
      showError('');
      if (action === 'messages') replyText.value = '';
      renderDetail();
      await refresh(); /* the list, and the conversation with the reply */
    } catch (e) {
      failed(e);
      if (current) renderDetail();
    }
  }

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
  /* Enter sends, Shift+Enter starts a new line, as in every chat tool */
  replyText.addEventListener('keydown', function (ev) {
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
