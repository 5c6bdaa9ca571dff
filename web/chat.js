/* chat.js: the customer chat page (/). Replies stream from POST
 * /v1/chat/stream as Server-Sent Events read through fetch (EventSource cannot
 * POST); once a person has the conversation, their messages arrive from
 * GET /v1/sessions/{id}/events. Text from the server or the customer reaches
 * the page only through textContent and createElement, never as markup. */
(function () {
  'use strict';

  var KEY_STORE = 'frontdesk.key';
  var SESSION_STORE = 'frontdesk.session';
  var VISITOR_STORE = 'frontdesk.visitor';
  var WITH_PERSON = { escalation: true, human: true };

  /* The page's own words in the visitor's language (English or French, from
   * the browser); what the assistant says comes from the server, in the
   * language of each message. */
  var LANG = (function () {
    var n = typeof navigator !== 'undefined' ? navigator : {};
    var l = (n.languages && n.languages[0]) || n.language || '';
    return /^fr\b/i.test(l) ? 'fr' : 'en';
  })();
  var WORDS = {
    en: {
      title: 'Customer service', message: 'Your message', placeholder: 'Type your question…',
      send: 'Send', restart: 'New conversation', save: 'Save transcript', you: 'You', assistant: 'Assistant', operator: 'Agent',
      conversation: 'Conversation', typing: 'The assistant is typing', sources: 'Sources',
      agent_typing: 'An agent is typing',
      failed: 'Something went wrong. Please try again.',
      slow_down: 'Too many messages: please wait a moment.',
      unavailable: 'The service is unavailable (%s). Please try again.',
      offline: 'Our team is offline now; your request is saved%s and they will get back to you.',
      waiting: 'Waiting for a person to join%s…', ticket: ' (ticket %s)',
      connected: 'You are connected to a person.',
      interrupted: 'The connection was interrupted. Please try again.',
      unreachable: 'Cannot reach the service. Check your connection and try again.',
      rate: 'How did we do?', rate_n: 'Rate %s out of 5', thanks: 'Thank you for your feedback.',
      attach: 'Attach an image', image_alt: 'An image you sent',
      image_too_big: 'This image is larger than %s MB: it was not sent.',
      image_type: 'Only PNG, JPEG, GIF or WebP images can be sent.'
    },
    fr: {
      title: 'Service client', message: 'Votre message', placeholder: 'Posez votre question…',
      send: 'Envoyer', restart: 'Nouvelle conversation', save: 'Enregistrer',
      you: 'Vous', assistant: 'Assistant', operator: 'Conseiller',
      conversation: 'Conversation', typing: "L'assistant écrit", sources: 'Sources',
      agent_typing: 'Un conseiller écrit',
      failed: "Une erreur s'est produite. Veuillez réessayer.",
      slow_down: 'Trop de messages : merci de patienter un instant.',
      unavailable: 'Le service est indisponible (%s). Veuillez réessayer.',
      offline: 'Notre équipe est absente pour le moment ; votre demande est enregistrée%s et ' +
        'elle vous répondra.',
      waiting: "En attente d'un conseiller%s…", ticket: ' (ticket %s)',
      connected: 'Vous êtes en relation avec un conseiller.',
      interrupted: 'La connexion a été interrompue. Veuillez réessayer.',
      unreachable: 'Le service est injoignable. Vérifiez votre connexion et réessayez.',
      rate: 'Comment avons-nous répondu à votre demande ?', rate_n: 'Noter %s sur 5',
      thanks: 'Merci pour votre avis.',
      attach: 'Joindre une image', image_alt: 'Une image que vous avez envoyée',
      image_too_big: "Cette image dépasse %s Mo : elle n'a pas été envoyée.",
      image_type: 'Seules les images PNG, JPEG, GIF ou WebP peuvent être envoyées.'
    }
  };
  function T(k, arg) {
    var w = WORDS[LANG][k] || WORDS.en[k] || k;
    return arg === undefined ? w : w.replace('%s', arg);
  }

  var list = document.getElementById('messages');
  var form = document.getElementById('composer');
  var input = document.getElementById('input');
  var sendBtn = document.getElementById('send');
  var statusEl = document.getElementById('status');
  var newBtn = document.getElementById('new');
  var saveBtn = document.getElementById('transcript');
  var attachBtn = document.getElementById('attach');
  var attachFile = document.getElementById('attach-file');
  localize();

  var key = takeKey();
  var sessionId = sessionStorage.getItem(SESSION_STORE);
  var events = null; /* the operator stream while a person has the session */
  var seen = new Set(); /* operator turns shown, by seq: reconnects replay */
  var lastOperatorSeq = 0; /* the newest operator turn shown: streams resume after it */

  /* A key in ?key= serves deployments outside widget mode. It moves to
   * sessionStorage and out of the address bar so it is not bookmarked,
   * shared in a screenshot or kept in history. */
  function takeKey() {
    var params = new URLSearchParams(location.search);
    var k = params.get('key');
    if (k) {
      sessionStorage.setItem(KEY_STORE, k);
      params.delete('key');
      var q = params.toString();
      history.replaceState(null, '', location.pathname + (q ? '?' + q : '') + location.hash);
    }
    return sessionStorage.getItem(KEY_STORE);
  }

  /* Without a key (widget mode) the conversation belongs to this visitor:
   * a random id the page keeps and sends with every request; the server
   * answers 404 to anyone else asking for the session. */
  function visitorToken() {
    var t = null;
    try { t = localStorage.getItem(VISITOR_STORE); } catch (e) { /* storage off */ }
    if (!t || !/^[A-Za-z0-9_-]{22,128}$/.test(t)) {
      var b = new Uint8Array(18);
      crypto.getRandomValues(b);
      t = btoa(String.fromCharCode.apply(null, b)).replace(/\+/g, '-').replace(/\//g, '_');
      try { localStorage.setItem(VISITOR_STORE, t); } catch (e) { /* kept for this page only */ }
    }
    return t;
  }
  var visitor = null;

  function headers(extra) {
    var h = Object.assign({}, extra);
    if (key) h.Authorization = 'Bearer ' + key;
    else h['X-Visitor-Token'] = visitor || (visitor = visitorToken());
    return h;
  }

  function setSession(id) {
    if (!id || id === sessionId) return;
    sessionId = id;
    sessionStorage.setItem(SESSION_STORE, id);
  }

  /* ---- the message list ------------------------------------------------ */

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  var WHO = { user: T('you'), assistant: T('assistant'), operator: T('operator') };

  /* The page's fixed words (index.html is English) in the visitor's language. */
  function localize() {
    if (LANG === 'en') return;
    if (document.documentElement) document.documentElement.lang = LANG;
    document.title = T('title');
    var h = document.querySelector && document.querySelector('.chat-head h1');
    if (h) h.textContent = T('title');
    var label = document.querySelector && document.querySelector('label[for="input"]');
    if (label) label.textContent = T('message');
    if (input) input.setAttribute('placeholder', T('placeholder'));
    if (sendBtn) sendBtn.textContent = T('send');
    if (newBtn) newBtn.textContent = T('restart');
    if (saveBtn) saveBtn.textContent = T('save');
    if (attachBtn) attachBtn.textContent = T('attach');
    if (list) list.setAttribute('aria-label', T('conversation'));
  }

  /* Appends a message; returns its text element (the bubble to fill). */
  /* who: the label instead of the role's (an agent's display name). */
  function addMessage(role, text, who) {
    var li = el('li', 'msg msg-' + role);
    li.appendChild(el('span', 'who', who || WHO[role] || role));
    var body = el('div', 'text', text);
    li.appendChild(body);
    list.appendChild(li);
    if (agentTyping) list.appendChild(agentTyping); /* the agent still types: stays last */
    li.scrollIntoView({ block: 'end' });
    return body;
  }

  /* "An agent is typing": the stream's typing event shows it for ttl_ms
   * (the console repeats it while the agent types); the agent's message,
   * or the conversation going back to the assistant, ends it at once. */
  var agentTyping = null;
  var agentTypingTimer = null;
  function onTyping(data) {
    var m = parseJson(data) || {};
    var ttl = typeof m.ttl_ms === 'number' && m.ttl_ms > 0 ? Math.min(m.ttl_ms, 30000) : 6000;
    if (!agentTyping) {
      agentTyping = el('li', 'msg msg-operator msg-agent-typing');
      agentTyping.appendChild(el('span', 'who', WHO.operator));
      var bubble = el('div', 'text');
      showTyping(bubble, T('agent_typing'));
      agentTyping.appendChild(bubble);
      agentTyping.setAttribute('role', 'status');
      list.appendChild(agentTyping);
      agentTyping.scrollIntoView({ block: 'end' });
    }
    clearTimeout(agentTypingTimer);
    agentTypingTimer = setTimeout(endTyping, ttl);
  }
  function endTyping() {
    clearTimeout(agentTypingTimer);
    agentTypingTimer = null;
    if (agentTyping) agentTyping.remove();
    agentTyping = null;
  }

  /* A reply that arrives while the tab is in the background shows in its
   * title ("(2) Harbour Pack"), until the customer comes back to it. */
  var unread = 0;
  var plainTitle = null;
  function noteUnread() {
    if (!document.hidden) return;
    if (plainTitle === null) plainTitle = document.title;
    unread++;
    document.title = '(' + unread + ') ' + plainTitle;
  }
  if (document.addEventListener)
    document.addEventListener('visibilitychange', function () {
      if (document.hidden || plainTitle === null) return;
      document.title = plainTitle;
      plainTitle = null;
      unread = 0;
    });

  function showTyping(bubble, label) {
    var t = el('span', 'typing');
    t.setAttribute('aria-label', label || T('typing'));
    for (var i = 0; i < 3; i++) t.appendChild(el('span', 'dot'));
    bubble.appendChild(t);
  }

  function setText(bubble, text) {
    bubble.textContent = text;
    bubble.parentNode.scrollIntoView({ block: 'end' });
  }

  /* Citations under the answer: title and section, a link to the page
   * when the company publishes its documents (answer.source_url). */
  function showCitations(bubble, citations) {
    var li = bubble.parentNode;
    var old = li.querySelector('.citations');
    if (old) old.remove();
    if (!Array.isArray(citations) || citations.length === 0) return;
    var ul = el('ul', 'citations');
    ul.setAttribute('aria-label', T('sources'));
    citations.forEach(function (c) {
      var title = (c && (c.title || c.document)) || 'source';
      /* Sections are paths that often start with the title: "Refunds > Time window". */
      var section = c && c.section ? String(c.section) : '';
      if (section.indexOf(title + ' > ') === 0) section = section.slice(title.length + 3);
      var text = section && section !== title ? title + ' — ' + section : title;
      var item = el('li');
      if (c && typeof c.url === 'string' && /^https?:\/\//.test(c.url)) {
        var a = el('a', null, text);
        a.href = c.url;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        item.appendChild(a);
      } else {
        item.textContent = text;
      }
      ul.appendChild(item);
    });
    li.appendChild(ul);
  }

  /* A message that failed (refused, rate-limited, no network) is not lost:
   * it goes back into the box to send again, unless something new is there. */
  var lastSent = '';
  function showError(bubble, message) {
    bubble.parentNode.classList.add('msg-error');
    setText(bubble, message || T('failed'));
    if (lastSent && input && !input.value) input.value = lastSent;
  }

  function setStatus(text) {
    statusEl.textContent = text || '';
  }

  /* ---- Server-Sent Events over fetch ------------------------------------ */

  /* A parser for the text/event-stream format (WHATWG HTML §9.2): fed
   * decoded text in any chunking, calls onEvent(name, data, lastId) per
   * event. A CR at the end of a chunk waits: it may be half of a CRLF. */
  function sseParser(onEvent) {
    var buf = '';
    var name = '';
    var data = [];
    var lastId = null;
    function line(s) {
      if (s === '') {
        if (data.length) onEvent(name || 'message', data.join('\n'), lastId);
        name = '';
        data = [];
        return;
      }
      if (s[0] === ':') return;
      var c = s.indexOf(':');
      var field = c < 0 ? s : s.slice(0, c);
      var value = c < 0 ? '' : s.slice(c + 1);
      if (value[0] === ' ') value = value.slice(1);
      if (field === 'event') name = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') lastId = value;
    }
    return function feed(text) {
      buf += text;
      for (;;) {
        var i = buf.search(/[\r\n]/);
        if (i < 0 || (buf[i] === '\r' && i === buf.length - 1)) return;
        var eol = buf[i] === '\r' && buf[i + 1] === '\n' ? 2 : 1;
        var s = buf.slice(0, i);
        buf = buf.slice(i + eol);
        line(s);
      }
    };
  }

  async function readSse(response, onEvent) {
    var reader = response.body.getReader();
    var dec = new TextDecoder();
    var feed = sseParser(onEvent);
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) break;
      feed(dec.decode(chunk.value, { stream: true }));
    }
    feed(dec.decode());
  }

  function parseJson(s) {
    try {
      return JSON.parse(s);
    } catch (e) {
      return null;
    }
  }

  /* The message of an {"error":{"code","message"}} response, or a fallback. */
  async function errorMessage(res) {
    var j = parseJson(await res.text().catch(function () { return ''; }));
    if (j && j.error && j.error.message) return j.error.message;
    if (res.status === 429) return T('slow_down');
    return T('unavailable', String(res.status));
  }

  /* ---- sending a message ------------------------------------------------- */

  function busy(on) {
    sendBtn.disabled = on;
    form.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  /* What the header says while nobody has joined: set by the reply that
   * opened the ticket, repeated by the stream's state events. */
  var waitingText = '';

  /* The finished reply: the full answer replaces what was streamed. */
  function finish(bubble, rep) {
    setText(bubble, rep.answer || '');
    noteUnread();
    showCitations(bubble, rep.citations);
    setSession(rep.session_id);
    if (WITH_PERSON[rep.route]) {
      /* Nobody has joined yet: say so, and say when the team is away (the
       * header used to claim a person out of hours). */
      var esc = rep.escalation || {};
      var t = esc.ticket ? T('ticket', esc.ticket) : '';
      waitingText = esc.online === false ? T('offline', t) : T('waiting', t);
      setStatus(waitingText);
      openEvents();
    }
    /* Whatever the bot says meanwhile, the line to the person stays open:
     * only the server's state event ("bot": resolved) closes it. */
  }

  async function send(text) {
    busy(true);
    lastSent = text;
    addMessage('user', text);
    var bubble = addMessage('assistant', '');
    showTyping(bubble);
    var body = { message: text };
    if (sessionId) body.session_id = sessionId;
    var init = {
      method: 'POST',
      headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
      body: JSON.stringify(body)
    };
    try {
      var res = await fetch('/v1/chat/stream', init);
      /* A server without streaming answers the same request in one piece. */
      if (res.status === 404 || res.status === 405) res = await fetch('/v1/chat', init);
      if (!res.ok) {
        showError(bubble, await errorMessage(res));
        return;
      }
      if ((res.headers.get('Content-Type') || '').indexOf('text/event-stream') < 0) {
        var rep = parseJson(await res.text());
        if (rep) finish(bubble, rep);
        else showError(bubble);
        return;
      }
      var streamed = '';
      var ended = false;
      await readSse(res, function (name, data) {
        var d = parseJson(data) || {};
        if (name === 'token') {
          streamed += typeof d.text === 'string' ? d.text : '';
          setText(bubble, streamed);
        } else if (name === 'reset') {
          streamed = '';
          setText(bubble, '');
          showTyping(bubble);
        } else if (name === 'citations') {
          showCitations(bubble, d.citations);
        } else if (name === 'done') {
          ended = true;
          finish(bubble, d);
        } else if (name === 'error') {
          ended = true;
          showError(bubble, d.error && d.error.message);
        }
      });
      if (!ended) showError(bubble, T('interrupted'));
    } catch (e) {
      showError(bubble, T('unreachable'));
    } finally {
      busy(false);
      input.focus();
    }
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text || sendBtn.disabled) return;
    input.value = '';
    send(text);
  });

  /* A new conversation: the next message opens a new session (the old one
   * stays on the server, kept or deleted by its retention). */
  if (newBtn)
    newBtn.addEventListener('click', function () {
      closeEvents();
      endTyping();
      sessionStorage.removeItem(SESSION_STORE);
      sessionId = null;
      seen = new Set();
      lastOperatorSeq = 0;
      waitingText = '';
      list.replaceChildren();
      setStatus('');
      greet();
      input.focus();
    });

  /* The conversation as a text file, made in the page from what it shows
   * (who, when saved, each message and its sources): nothing is sent. */
  if (saveBtn)
    saveBtn.addEventListener('click', function () {
      var lines = [document.title + ' — ' + new Date().toLocaleString()];
      list.querySelectorAll('.msg').forEach(function (li) {
        var who = li.querySelector('.who');
        var text = li.querySelector('.text');
        lines.push('');
        lines.push((who ? who.textContent : '') + ': ' + (text ? text.textContent : ''));
        li.querySelectorAll('.citations li').forEach(function (c) { lines.push('  - ' + c.textContent); });
      });
      var a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/plain' }));
      a.download = 'conversation-' + new Date().toISOString().slice(0, 10) + '.txt';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
    });

  /* Enter sends, Shift+Enter starts a new line. */
  input.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });

  /* ---- a person's replies -------------------------------------------------- */

  function onOperator(data) {
    var m = parseJson(data);
    if (!m || m.role !== 'operator' || typeof m.text !== 'string') return;
    endTyping();
    if (m.seq !== undefined) {
      if (seen.has(m.seq)) return;
      seen.add(m.seq);
      if (m.seq > lastOperatorSeq) lastOperatorSeq = m.seq;
    }
    /* the agent's display name when a signed-in agent wrote it */
    addMessage('operator', m.text, typeof m.agent === 'string' && m.agent ? m.agent : null);
    hadPerson = true;
    noteUnread();
  }

  /* ---- a rating once a person has handed the conversation back ------------ */

  var hadPerson = false; /* a person joined since the last rating was offered */
  function offerRating() {
    if (!hadPerson || !sessionId) return;
    hadPerson = false;
    var li = el('li', 'msg msg-rating');
    li.appendChild(el('span', 'who', T('assistant')));
    var box = el('div', 'text');
    box.appendChild(el('p', 'rate-q', T('rate')));
    var row = el('div', 'stars');
    row.setAttribute('role', 'group');
    row.setAttribute('aria-label', T('rate'));
    var sid = sessionId;
    for (var n = 1; n <= 5; n++) {
      (function (score) {
        var b = el('button', 'star', String(score));
        b.type = 'button';
        b.setAttribute('aria-label', T('rate_n', String(score)));
        b.addEventListener('click', async function () {
          row.querySelectorAll('button').forEach(function (x) { x.disabled = true; });
          try {
            var res = await fetch('/v1/sessions/' + encodeURIComponent(sid) + '/rating', {
              method: 'POST',
              headers: headers({ 'Content-Type': 'application/json' }),
              body: JSON.stringify({ score: score })
            });
            if (!res.ok) throw new Error(await errorMessage(res));
            box.replaceChildren(el('p', null, T('thanks')));
          } catch (e) {
            row.querySelectorAll('button').forEach(function (x) { x.disabled = false; });
          }
        });
        row.appendChild(b);
      })(n);
    }
    box.appendChild(row);
    li.appendChild(box);
    list.appendChild(li);
    li.scrollIntoView({ block: 'end' });
  }

  /* The session's state as the server tells it: waiting for a person,
   * with a person, or back with the assistant (the line closes). */
  function onState(data) {
    var m = parseJson(data);
    if (!m || typeof m.state !== 'string') return;
    if (m.state === 'human') {
      hadPerson = true;
      setStatus(T('connected'));
    }
    /* the stream's "waiting" repeats what the reply said (its ticket, the
     * team away): it may arrive after the reply and must not erase it */
    else if (m.state === 'waiting') setStatus(waitingText || T('waiting', ''));
    else if (m.state === 'bot' || m.state === 'deleted') {
      endTyping();
      closeEvents();
      waitingText = '';
      setStatus('');
      if (m.state === 'bot') offerRating();
    }
  }

  /* EventSource reconnects by itself but cannot send an Authorization
   * header: with a key, the same stream is read through fetch and
   * reconnected here, resuming with Last-Event-ID. */
  function fetchEvents(url) {
    var ctl = new AbortController();
    var stopped = false;
    var lastId = null;
    (async function loop() {
      while (!stopped) {
        try {
          var h = headers({ Accept: 'text/event-stream' });
          if (lastId) h['Last-Event-ID'] = lastId;
          var res = await fetch(url, { headers: h, signal: ctl.signal, cache: 'no-store' });
          /* As EventSource does: a refusal is final, a failure is retried. */
          if (res.status >= 400 && res.status < 500 && res.status !== 429) return;
          if (res.ok && res.body) {
            await readSse(res, function (name, d, id) {
              if (id) lastId = id;
              if (name === 'message') onOperator(d);
              else if (name === 'state') onState(d);
              else if (name === 'typing') onTyping(d);
            });
          }
        } catch (e) {
          if (stopped) return;
        }
        await new Promise(function (r) { setTimeout(r, 3000); });
      }
    })();
    return { close: function () { stopped = true; ctl.abort(); } };
  }

  /* Opened from the last operator message shown (?after=): whatever the
   * person said while the line was closed (a reload, a send) is replayed,
   * and the ones already shown are skipped by seq. */
  function openEvents() {
    if (!sessionId) return;
    personLine(true);
    if (events) return;
    var url = '/v1/sessions/' + encodeURIComponent(sessionId) + '/events?after=' + lastOperatorSeq;
    if (key) {
      events = fetchEvents(url);
      return;
    }
    var es = new EventSource(url + '&visitor_token=' + encodeURIComponent(visitor || (visitor = visitorToken())));
    es.addEventListener('message', function (ev) { onOperator(ev.data); });
    es.addEventListener('state', function (ev) { onState(ev.data); });
    es.addEventListener('typing', function (ev) { onTyping(ev.data); });
    events = es;
  }

  function closeEvents() {
    if (events) events.close();
    events = null;
    personLine(false);
  }

  /* ---- images to the person (POST /v1/sessions/{id}/attachments) ---------- */

  /* The server's cap (server.max_attachment_bytes) is checked there too;
   * this only spares the customer an upload that would be refused. */
  var IMAGE_MAX = 2 * 1024 * 1024;
  var IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

  /* Only while a person has or is about to have the conversation. */
  function personLine(on) {
    if (attachBtn) attachBtn.hidden = !on;
  }

  /* The image in the bubble, as a data: URL (the page's CSP allows those). */
  function showImage(bubble, blob) {
    var r = new FileReader();
    r.onload = function () {
      var img = el('img', 'attachment');
      img.src = r.result;
      img.alt = T('image_alt');
      bubble.replaceChildren(img);
    };
    r.readAsDataURL(blob);
  }

  async function fetchImage(bubble, url) {
    try {
      var res = await fetch(url, { headers: headers({}) });
      if (res.ok) showImage(bubble, await res.blob());
    } catch (e) { /* the "(image)" text stays */ }
  }

  function imageFailed(bubble, msg) {
    bubble.parentNode.classList.add('msg-error');
    setText(bubble, msg);
  }

  async function sendImage(f) {
    var bubble = addMessage('user', f.name || '');
    if (IMAGE_TYPES.indexOf(f.type) < 0) return imageFailed(bubble, T('image_type'));
    if (f.size > IMAGE_MAX) return imageFailed(bubble, T('image_too_big', String(IMAGE_MAX / 1048576)));
    try {
      var res = await fetch('/v1/sessions/' + encodeURIComponent(sessionId) + '/attachments', {
        method: 'POST', headers: headers({ 'Content-Type': f.type }), body: f
      });
      if (!res.ok) {
        var j = parseJson(await res.text());
        return imageFailed(bubble, j && j.error && j.error.message ? j.error.message : T('failed'));
      }
      showImage(bubble, f);
    } catch (e) {
      imageFailed(bubble, T('unreachable'));
    }
  }

  if (attachBtn && attachFile) {
    attachBtn.addEventListener('click', function () { attachFile.click(); });
    attachFile.addEventListener('change', function () {
      var f = attachFile.files && attachFile.files[0];
      attachFile.value = '';
      if (f && sessionId) sendImage(f);
    });
  }

  /* ---- a reload keeps the conversation ------------------------------------ */

  async function restore() {
    if (!sessionId) return;
    var res;
    try {
      res = await fetch('/v1/sessions/' + encodeURIComponent(sessionId), { headers: headers({}) });
    } catch (e) {
      return;
    }
    if (res.status === 404) {
      sessionStorage.removeItem(SESSION_STORE);
      sessionId = null;
      return;
    }
    if (!res.ok) return;
    var s = parseJson(await res.text());
    if (!s || !Array.isArray(s.turns)) return;
    s.turns.forEach(function (t) {
      if (t.role === 'operator') {
        seen.add(t.seq);
        if (t.seq > lastOperatorSeq) lastOperatorSeq = t.seq;
      }
      if (!WHO[t.role]) return;
      var agent = t.role === 'operator' && t.meta && typeof t.meta.agent === 'string' ? t.meta.agent : null;
      var bubble = addMessage(t.role, t.text, agent);
      /* an image the customer sent: fetched again as its owner */
      if (t.role === 'user' && t.meta && t.meta.attachment && t.meta.attachment.id) {
        fetchImage(bubble, '/v1/sessions/' + encodeURIComponent(sessionId) + '/attachments/' + t.meta.attachment.id);
      }
      /* the sources stay under their answer after a reload */
      if (t.meta && Array.isArray(t.meta.citations)) showCitations(bubble, t.meta.citations);
    });
    if (s.state === 'human' || s.state === 'waiting') {
      setStatus(s.state === 'human' ? T('connected') : T('waiting', ''));
      openEvents();
    }
  }

  /* ---- how the page presents itself (GET /widget.json) --------------------- */

  /* The company's name, colour and welcome from the server's widget.*
   * settings (else the KB's company name and the assistant's greeting). */
  var welcome = '';
  async function brand() {
    var w = null;
    try {
      var res = await fetch('/widget.json');
      if (res.ok) w = parseJson(await res.text());
    } catch (e) {
      return;
    }
    if (!w) return;
    if (typeof w.name === 'string' && w.name) {
      document.title = w.name;
      var h = document.querySelector && document.querySelector('.chat-head h1');
      if (h) h.textContent = w.name;
    }
    if (typeof w.color === 'string' && /^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$/.test(w.color) &&
        document.documentElement && document.documentElement.style) {
      document.documentElement.style.setProperty('--accent', w.color);
      document.documentElement.style.setProperty('--user', w.color);
    }
    if (w.welcome && typeof w.welcome[LANG] === 'string') welcome = w.welcome[LANG];
  }

  /* The welcome opens an empty conversation; it is the page's, not a turn. */
  function greet() {
    if (welcome && !list.firstChild) addMessage('assistant', welcome).parentNode.classList.add('msg-welcome');
  }

  Promise.all([restore(), brand()]).then(greet, greet);
  input.focus();
})();
