/* dom.js: just enough of a browser for web/chat.js and web/console.js to
 * run under node (no browser in CI): elements that hold text and children,
 * sessionStorage, location, an EventSource that records what it opens, and
 * fetch on a base URL. Setting innerHTML throws: the pages must never. */
'use strict';

class El {
  constructor(tag, id) {
    this.tagName = tag.toUpperCase();
    this.id = id || '';
    this.children = [];
    this.text = '';
    this.className = '';
    this.parentNode = null;
    this.attrs = {};
    this.listeners = {};
    this.hidden = false;
    this.disabled = false;
    this.value = '';
  }
  get classList() {
    const names = () => this.className.split(' ').filter(Boolean);
    return {
      add: (c) => { if (!names().includes(c)) this.className = names().concat(c).join(' '); },
      remove: (c) => { this.className = names().filter((x) => x !== c).join(' '); },
      contains: (c) => names().includes(c),
    };
  }
  set textContent(t) {
    this.replaceChildren();
    this.text = String(t);
  }
  get textContent() {
    return this.text + this.children.map((c) => c.textContent).join('');
  }
  set innerHTML(v) {
    throw new Error('innerHTML assigned: ' + v);
  }
  appendChild(c) {
    c.remove();
    c.parentNode = this;
    this.children.push(c);
    return c;
  }
  remove() {
    if (!this.parentNode) return;
    this.parentNode.children = this.parentNode.children.filter((x) => x !== this);
    this.parentNode = null;
  }
  replaceChildren() {
    this.children.forEach((c) => { c.parentNode = null; });
    this.children = [];
    this.text = '';
  }
  get lastChild() {
    return this.children[this.children.length - 1] || null;
  }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return this.attrs[k]; }
  scrollIntoView() {}
  focus() {}
  /* ".class" only */
  querySelector(sel) {
    for (const ch of this.children) {
      if (ch.classList.contains(sel.slice(1))) return ch;
      const r = ch.querySelector(sel);
      if (r) return r;
    }
    return null;
  }
  addEventListener(type, f) { (this.listeners[type] = this.listeners[type] || []).push(f); }
  dispatch(type, extra) {
    (this.listeners[type] || []).forEach((f) => f(Object.assign({ type, preventDefault() {} }, extra)));
  }
  requestSubmit() { this.dispatch('submit'); }
  click() { this.dispatch('click'); }
}

/* A fresh page at base ("http://127.0.0.1:PORT"), search "?key=...". */
function page(base, search) {
  const ids = {};
  const store = new Map();
  global.document = {
    getElementById: (id) => ids[id] || (ids[id] = new El('div', id)),
    createElement: (tag) => new El(tag),
  };
  global.sessionStorage = {
    getItem: (k) => (store.has(k) ? store.get(k) : null),
    setItem: (k, v) => store.set(k, String(v)),
    removeItem: (k) => store.delete(k),
  };
  global.location = { search: search || '', pathname: '/', hash: '' };
  global.history = { replaceState() { global.location.search = ''; } };
  if (!global.nodeFetch) global.nodeFetch = global.fetch;
  const requests = [];
  global.fetch = (url, init) => {
    /* The page's presentation (GET /widget.json) is not part of what these
     * tests check (tests/integration/browser.sh does): none here. */
    if (url === '/widget.json') return Promise.resolve(new Response('', { status: 404 }));
    requests.push({ url, init: init || {} });
    return global.nodeFetch(url.startsWith('/') ? base + url : url, init);
  };
  const opened = [];
  global.EventSource = class {
    constructor(url) { opened.push(this); this.url = url; this.l = {}; }
    addEventListener(t, f) { this.l[t] = f; }
    emit(t, data) { this.l[t]({ data }); }
    close() { this.closed = true; }
  };
  return { ids, store, requests, opened };
}

/* Runs a page script afresh (node caches modules). */
function load(file) {
  delete require.cache[require.resolve(file)];
  require(file);
}

/* "class: text | text" per list item, to compare with expectations. */
function dump(list) {
  return list.children.map((li) => li.className + ': ' + li.children.map((c) => c.textContent).join(' | '));
}

/* Polls cond until true or timeout_ms (ASan builds are slow). */
async function until(what, cond, timeoutMs) {
  const end = Date.now() + (timeoutMs || 10000);
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

module.exports = { page, load, dump, until };
