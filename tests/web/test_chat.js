/* test_chat.js: web/chat.js against a fake server speaking the SSE contract
 * of POST /v1/chat/stream (token, reset, citations, done, error), chunked
 * at awkward places; operator messages; restore after a reload; ?key=.
 * Run: node test_chat.js <path to web/chat.js> */
'use strict';
const assert = require('assert');
const http = require('http');
const { page, load, dump, until } = require('./dom');

const CHAT_JS = require('path').resolve(process.argv[2]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ev = (name, data) => 'event: ' + name + '\ndata: ' + JSON.stringify(data) + '\n\n';
const DONE = {
  answer: 'Final <img src=x onerror=alert(1)>', answered: true, session_id: 's1', intent: 'defects',
  confidence: 0.9, route: 'escalation',
  citations: [{ document: 'a.md', title: 'Returns', section: 'Returns > Defects' }],
  escalation: { tier: 'human', ticket: 'HD-000007', reason: 'asked' },
  grounded: true, degraded: false, cached: false, request_id: 'r1',
};

/* What the fake server streams next, as chunks. */
let script = [];
const log = [];
const server = http.createServer(async (req, res) => {
  let body = '';
  for await (const c of req) body += c;
  log.push({ method: req.method, url: req.url, headers: req.headers, body });
  if (req.method === 'POST' && req.url === '/v1/chat/stream') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    for (const c of script) {
      res.write(c);
      await sleep(10);
    }
    res.end();
  } else if (req.url === '/v1/sessions/s1') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({
      session_id: 's1', state: 'human',
      turns: [{ seq: 1, role: 'user', text: 'hi' }, { seq: 2, role: 'assistant', text: 'hello' },
        { seq: 3, role: 'operator', text: 'Ana <here>' }],
    }));
  } else {
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":{"code":"not_found","message":"no such endpoint"}}');
  }
});

async function send(p, text) {
  const n = log.length;
  p.ids.input.value = text;
  p.ids.composer.dispatch('submit');
  await until('the request', () => log.length > n);
  await until('the reply', () => !p.ids.send.disabled);
  const post = log.slice(n).find((r) => r.method === 'POST');
  return { body: JSON.parse(post.body), headers: post.headers };
}

async function main() {
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = 'http://127.0.0.1:' + server.address().port;

  /* ---- a streamed answer, then escalation ---- */
  let p = page(base);
  load(CHAT_JS);
  script = [
    'event: token\r\ndata: {"text":"Hel"}\r', '\n\r\nevent: tok', 'en\ndata: {"text":"lo <b>"}\n\n',
    ': keep-alive\n\n', ev('reset', {}), ev('token', { text: 'Again' }),
    ev('citations', { citations: DONE.citations }), ev('done', DONE),
  ];
  p.ids.input.value = 'my boxes are broken';
  p.ids.composer.dispatch('submit');
  await until('streamed text', () => /Hello <b>|Again/.test(dump(p.ids.messages).join()));
  assert.strictEqual(p.ids.send.disabled, true, 'send is disabled while a reply streams');
  await until('the reply', () => !p.ids.send.disabled);
  let d = dump(p.ids.messages);
  assert.deepStrictEqual(d, [
    'msg msg-user: You | my boxes are broken',
    'msg msg-assistant: Assistant | Final <img src=x onerror=alert(1)> | Returns — Defects',
  ]);
  assert.deepStrictEqual(JSON.parse(log[0].body), { message: 'my boxes are broken' });
  assert.strictEqual(log[0].headers.authorization, undefined, 'no key, no Authorization');
  const visitor = log[0].headers['x-visitor-token'];
  assert.match(visitor || '', /^[A-Za-z0-9_-]{22,128}$/, 'no key: a visitor token owns the session');
  assert.strictEqual(p.store.get('frontdesk.session'), 's1');
  /* nobody has joined yet: the header does not claim a person */
  assert.match(p.ids.status.textContent, /^Waiting for a person to join \(ticket HD-000007\)/);
  assert.deepStrictEqual(p.opened.map((e) => e.url), ['/v1/sessions/s1/events?after=0&visitor_token=' + visitor]);

  /* ---- the agent typing: one bubble however often told, gone with the message ---- */
  p.opened[0].emit('typing', JSON.stringify({ typing: true, ttl_ms: 6000 }));
  p.opened[0].emit('typing', JSON.stringify({ typing: true, ttl_ms: 6000 }));
  d = dump(p.ids.messages);
  assert.strictEqual(d.length, 3);
  assert.strictEqual(d[2], 'msg msg-operator msg-agent-typing: Agent | ');
  assert.strictEqual(p.ids.messages.children[2].children[1].children[0].getAttribute('aria-label'),
    'An agent is typing');

  /* ---- the operator's messages, once each ---- */
  const msg = JSON.stringify({ role: 'operator', text: 'Hi, Ana <script>', seq: 7 });
  p.opened[0].emit('message', msg);
  p.opened[0].emit('message', msg);
  d = dump(p.ids.messages);
  assert.strictEqual(d.length, 3);
  assert.strictEqual(d[2], 'msg msg-operator: Agent | Hi, Ana <script>');

  /* ---- the next message carries the session; an error event is shown ---- */
  script = [ev('token', { text: 'partial' }), ev('error', { error: { code: 'upstream', message: 'The assistant is unavailable.' } })];
  assert.deepStrictEqual((await send(p, 'more')).body, { message: 'more', session_id: 's1' });
  d = dump(p.ids.messages);
  assert.strictEqual(d[4], 'msg msg-assistant msg-error: Assistant | The assistant is unavailable.');

  /* ---- a stream cut before done says so ---- */
  script = [ev('token', { text: 'half an ans' })];
  await send(p, 'again');
  assert.match(dump(p.ids.messages)[6], /msg-error: Assistant \| The connection was interrupted/);

  /* ---- sources link to the company's pages (answer.source_url), and only http(s) ---- */
  script = [ev('done', Object.assign({}, DONE, {
    route: 'knowledge', escalation: null, answer: 'See our returns page.',
    citations: [
      { document: 'kb/returns.md', title: 'Returns', section: 'Returns > Window', url: 'https://shop.example/help/returns' },
      { document: 'kb/evil.md', title: 'Evil', section: '', url: 'javascript:alert(1)' },
      { document: 'products.csv#A', title: 'Box', section: '' }],
  }))];
  await send(p, 'can i send it back');
  {
    const last = p.ids.messages.children[p.ids.messages.children.length - 1];
    const items = last.querySelector('.citations').children;
    assert.strictEqual(items.length, 3);
    const a = items[0].children[0];
    assert.ok(a && a.tagName === 'A', 'a source with a url is a link');
    assert.strictEqual(a.href, 'https://shop.example/help/returns');
    assert.strictEqual(a.target, '_blank');
    assert.strictEqual(a.rel, 'noopener noreferrer');
    assert.strictEqual(a.textContent, 'Returns — Window');
    assert.strictEqual(items[1].children.length, 0, 'a javascript: url is not a link');
    assert.strictEqual(items[1].textContent, 'Evil');
    assert.strictEqual(items[2].children.length, 0, 'no url, no link');
  }

  /* ---- the customer writes while waiting: the bot answers, the line stays open ---- */
  script = [ev('done', Object.assign({}, DONE, { route: 'knowledge', escalation: null, answer: 'ok' }))];
  await send(p, 'thanks');
  assert.notStrictEqual(p.opened[0].closed, true, 'a bot answer does not close the line to the person');
  p.opened[0].emit('message', JSON.stringify({ role: 'operator', text: 'Still here, one moment', seq: 12 }));
  assert.strictEqual(dump(p.ids.messages).slice(-1)[0], 'msg msg-operator: Agent | Still here, one moment');
  /* ---- typing that is never followed by a message ends by itself ---- */
  p.opened[0].emit('typing', JSON.stringify({ typing: true, ttl_ms: 50 }));
  assert.match(dump(p.ids.messages).slice(-1)[0], /msg-agent-typing/);
  await new Promise((r) => setTimeout(r, 120));
  assert.ok(!dump(p.ids.messages).some((m) => /msg-agent-typing/.test(m)), 'the typing ends after ttl_ms');
  /* ---- the server's state events: claimed, then resolved (the line closes) ---- */
  p.opened[0].emit('state', JSON.stringify({ state: 'human' }));
  assert.strictEqual(p.ids.status.textContent, 'You are connected to a person.');
  p.opened[0].emit('state', JSON.stringify({ state: 'bot' }));
  assert.strictEqual(p.opened[0].closed, true);
  assert.strictEqual(p.ids.status.textContent, '');

  /* ---- a reload restores the conversation and reopens the stream ---- */
  p = page(base);
  p.store.set('frontdesk.session', 's1');
  load(CHAT_JS);
  await until('restored turns', () => p.ids.messages.children.length === 3);
  assert.deepStrictEqual(dump(p.ids.messages), [
    'msg msg-user: You | hi', 'msg msg-assistant: Assistant | hello', 'msg msg-operator: Agent | Ana <here>',
  ]);
  assert.strictEqual(p.opened.length, 1);
  assert.match(p.opened[0].url, /\/v1\/sessions\/s1\/events\?after=3&visitor_token=/, 'resumes after the last operator turn shown');
  p.opened[0].emit('message', JSON.stringify({ role: 'operator', text: 'Ana <here>', seq: 3 }));
  assert.strictEqual(p.ids.messages.children.length, 3, 'a replayed turn is not shown twice');

  /* ---- ?key=: a Bearer header; the operator stream goes through fetch ---- */
  p = page(base, '?key=fdk_test');
  load(CHAT_JS);
  assert.strictEqual(location.search, '', 'the key leaves the address bar');
  script = [ev('done', DONE)];
  assert.strictEqual((await send(p, 'a person please')).headers.authorization, 'Bearer fdk_test');
  await until('the events request', () => log.some((r) => r.url === '/v1/sessions/s1/events?after=0'));
  const evreq = log.find((r) => r.url === '/v1/sessions/s1/events?after=0');
  assert.strictEqual(evreq.headers.authorization, 'Bearer fdk_test');
  assert.strictEqual(evreq.headers['x-visitor-token'], undefined, 'a key owns the session, not a visitor token');
  assert.strictEqual(p.opened.length, 0, 'EventSource cannot send the key');

  console.log('chat.js: all passed');
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
