// test.mjs: frontdesk's OpenAI-compatible facade (POST /v1/chat/completions)
// driven by the official `openai` npm client, as a customer's code would:
// a plain call, a streamed one (same text, chunk by chunk, then [DONE]),
// and the errors the client must recognise (401 -> AuthenticationError,
// 400 -> BadRequestError).
//
//   node test.mjs URL KEY [--plain]
//
// URL is the server root (http://127.0.0.1:PORT), KEY a frontdesk chat key.
// --plain checks only what any OpenAI-compatible server does (used against
// tests/support/fake_llm to check this file): no "frontdesk" extension, no
// answer from the example knowledge base, no key check.
// Exits 1 on any failure, naming each one.
import OpenAI, { APIError, AuthenticationError, BadRequestError } from 'openai';

const [url, key, ...flags] = process.argv.slice(2);
if (!url || !key) {
  console.error('usage: node test.mjs URL KEY [--plain]');
  process.exit(2);
}
const plain = flags.includes('--plain');
const base = url.replace(/\/+$/, '') + '/v1';
const MODEL = 'frontdesk-e2e';
const QUESTION = 'How long do I have to report defective boxes?';
// The answer is to the LAST user message: the earlier turn is about
// something else, so an answer to it would fail the knowledge check.
const MESSAGES = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Do you deliver to Sentosa?' },
  { role: 'assistant', content: 'Yes, we deliver to Sentosa.' },
  { role: 'user', content: QUESTION },
];
// examples/packaging-supplier/docs/refunds-defective-goods.md: "Report
// defects within 7 days of delivery".
const FACT = /\b(7|seven) days\b/i;

let failures = 0;
function check(desc, cond, detail) {
  if (cond) {
    console.log(`ok   - ${desc}`);
  } else {
    failures++;
    console.log(`FAIL - ${desc}${detail === undefined ? '' : `: ${detail}`}`);
  }
  return cond;
}
const show = (v) => {
  const s = JSON.stringify(v);
  if (s === undefined)
    return String(v);
  return s.length > 400 ? s.slice(0, 400) + '...' : s;
};
function describe(e) {
  if (e instanceof APIError)
    return `${e.constructor.name} status=${e.status} body=${show(e.error)}`;
  return String(e && e.stack ? e.stack : e);
}
// A 404 means the facade is not in this build: say so, not just "404".
function fatal(what, e) {
  if (e instanceof APIError && e.status === 404)
    console.log(`FAIL - ${what}: POST ${base}/chat/completions answered 404: ` +
      'this server has no OpenAI-compatible facade (a build from before it landed?)');
  else
    console.log(`FAIL - ${what}: ${describe(e)}`);
  console.log(`${failures + 1} failure(s)`);
  process.exit(1);
}

const client = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 30000 });

// ---- one answer, not streamed -------------------------------------------------
let whole;
try {
  whole = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, user: 'e2e' });
} catch (e) {
  fatal('non-streamed call', e);
}
const choice = whole.choices && whole.choices[0];
const content = choice && choice.message ? choice.message.content : undefined;
check('object is chat.completion', whole.object === 'chat.completion', show(whole.object));
check('id is chatcmpl-...', typeof whole.id === 'string' && whole.id.startsWith('chatcmpl-'), show(whole.id));
check('created is a unix time', Number.isInteger(whole.created) && whole.created > 1.6e9, show(whole.created));
check('model is echoed', whole.model === MODEL, show(whole.model));
check('one choice, index 0', whole.choices.length === 1 && choice.index === 0, show(whole.choices));
check('the message is the assistant\'s', choice && choice.message && choice.message.role === 'assistant');
check('content is a non-empty string', typeof content === 'string' && content.trim().length > 0, show(content));
check('finish_reason is stop', choice && choice.finish_reason === 'stop', show(choice && choice.finish_reason));
const u = whole.usage || {};
check('usage counts tokens',
  [u.prompt_tokens, u.completion_tokens, u.total_tokens].every(Number.isInteger) &&
    u.total_tokens === u.prompt_tokens + u.completion_tokens, show(whole.usage));
if (!plain) {
  check('the answer gives the knowledge base fact (7 days)', FACT.test(content || ''), show(content));
  const fd = whole.frontdesk;
  check('the frontdesk extension is there', fd !== null && typeof fd === 'object', show(fd));
  if (fd && typeof fd === 'object') {
    check('frontdesk.answered', fd.answered === true, show(fd.answered));
    check('frontdesk.citations are listed', Array.isArray(fd.citations) && fd.citations.length > 0, show(fd.citations));
    check('frontdesk.session_id', typeof fd.session_id === 'string' && fd.session_id.length > 0, show(fd.session_id));
    check('frontdesk.route is knowledge', fd.route === 'knowledge', show(fd.route));
    // X-Session-Id continues that session.
    try {
      const next = await client.chat.completions.create(
        { model: MODEL, messages: [{ role: 'user', content: 'and on Saturday?' }] },
        { headers: { 'X-Session-Id': fd.session_id } });
      check('X-Session-Id continues the session',
        next.frontdesk && next.frontdesk.session_id === fd.session_id, show(next.frontdesk && next.frontdesk.session_id));
    } catch (e) {
      check('X-Session-Id continues the session', false, describe(e));
    }
  }
  // A client that keeps the history itself (no X-Session-Id): the same
  // session, found from how the conversation opened, turn after turn.
  try {
    const q1 = { role: 'user', content: 'How much is delivery to Sentosa?' };
    const t1 = await client.chat.completions.create({ model: MODEL, messages: [q1] });
    const a1 = { role: 'assistant', content: t1.choices[0].message.content };
    const q2 = { role: 'user', content: 'and on saturday?' };
    const t2 = await client.chat.completions.create({ model: MODEL, messages: [q1, a1, q2] });
    const a2 = { role: 'assistant', content: t2.choices[0].message.content };
    const q3 = { role: 'user', content: 'ok thanks' };
    const t3 = await client.chat.completions.create({ model: MODEL, messages: [q1, a1, q2, a2, q3] });
    const ids = [t1, t2, t3].map((t) => t.frontdesk && t.frontdesk.session_id);
    check('history sent as messages keeps one session over three turns',
      ids[0] && ids[0] === ids[1] && ids[1] === ids[2], show(ids));
    const other = await client.chat.completions.create({ model: MODEL,
      messages: [q1, { role: 'assistant', content: 'something frontdesk never said' }, q2] });
    check('a history frontdesk did not write starts a new session',
      other.frontdesk && other.frontdesk.session_id !== ids[0], show(other.frontdesk && other.frontdesk.session_id));
  } catch (e) {
    check('history sent as messages keeps one session over three turns', false, describe(e));
  }

  // models.list(): clients list models before they chat.
  try {
    const models = [];
    for await (const m of client.models.list()) models.push(m);
    check('models.list() names the frontdesk model',
      models.length === 1 && models[0].id === 'frontdesk' && models[0].object === 'model', show(models));
  } catch (e) {
    check('models.list() names the frontdesk model', false, describe(e));
  }
} else {
  console.log('skip - frontdesk extension and knowledge checks (--plain)');
}

// ---- the same question, streamed ---------------------------------------------------
try {
  const stream = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, stream: true });
  let text = '', n = 0, nContent = 0, role = null, finish = null, lastFinish;
  const objects = new Set(), ids = new Set(), models = new Set();
  for await (const chunk of stream) {
    n++;
    objects.add(chunk.object);
    ids.add(chunk.id);
    if (chunk.model !== undefined)
      models.add(chunk.model);
    const c = chunk.choices && chunk.choices[0];
    if (!c)
      continue; // a usage-only chunk
    if (c.delta && c.delta.role)
      role = c.delta.role;
    if (c.delta && typeof c.delta.content === 'string' && c.delta.content.length > 0) {
      text += c.delta.content;
      nContent++;
    }
    if (c.finish_reason)
      finish = c.finish_reason;
    lastFinish = c.finish_reason;
  }
  check('stream: every chunk is chat.completion.chunk',
    objects.size === 1 && objects.has('chat.completion.chunk'), show([...objects]));
  check('stream: one chatcmpl- id for all chunks',
    ids.size === 1 && String([...ids][0]).startsWith('chatcmpl-'), show([...ids]));
  check('stream: model is echoed', models.size === 1 && models.has(MODEL), show([...models]));
  check('stream: the role is assistant', role === 'assistant', show(role));
  check(`stream: at least one content chunk (${nContent} of ${n})`, nContent >= 1);
  check('stream: the last choice chunk has finish_reason stop',
    finish === 'stop' && lastFinish === 'stop', show({ finish, lastFinish }));
  check('stream: the deltas add up to the non-streamed content', text === content,
    show({ streamed: text, whole: content }));
} catch (e) {
  fatal('streamed call', e);
}

// The client forgives a stream without its terminator; the contract does not.
try {
  const res = await fetch(`${base}/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: MODEL, messages: MESSAGES, stream: true }),
  });
  const body = await res.text();
  check('raw stream: 200 text/event-stream',
    res.status === 200 && (res.headers.get('content-type') || '').startsWith('text/event-stream'),
    `${res.status} ${res.headers.get('content-type')}`);
  const events = body.split(/\r?\n\r?\n/).filter((e) => e.trim() !== '');
  const data = events.map((e) => e.split(/\r?\n/).filter((l) => l.startsWith('data:'))
    .map((l) => l.slice(5).replace(/^ /, '')).join('\n'));
  check('raw stream: every event is a data: line', data.every((d) => d.length > 0), show(events.slice(0, 3)));
  check('raw stream: ends with data: [DONE]', data.length > 1 && data[data.length - 1] === '[DONE]',
    show(data.slice(-2)));
  check('raw stream: every other event is JSON',
    data.slice(0, -1).every((d) => { try { return typeof JSON.parse(d) === 'object'; } catch { return false; } }),
    show(data.slice(0, 2)));
} catch (e) {
  check('raw stream', false, describe(e));
}

// ---- errors the client must recognise -----------------------------------------------
async function expectError(desc, cls, status, call) {
  try {
    const r = await call();
    check(desc, false, `no error; got ${show(r)}`);
  } catch (e) {
    check(desc, e instanceof cls && e.status === status, describe(e));
    if (e instanceof APIError)
      check(`${desc}: OpenAI-style {"error":{"message","type","code"}}`,
        e.error && typeof e.error.message === 'string' && e.error.message.length > 0 &&
          typeof e.error.type === 'string' && 'code' in e.error, show(e.error));
  }
}
if (!plain) {
  const bad = new OpenAI({ baseURL: base, apiKey: 'fdk_not_a_real_key', maxRetries: 0, timeout: 30000 });
  await expectError('a bad key: AuthenticationError (401)', AuthenticationError, 401,
    () => bad.chat.completions.create({ model: MODEL, messages: MESSAGES }));
  await expectError('no messages array: BadRequestError (400)', BadRequestError, 400,
    () => client.chat.completions.create({ model: MODEL }));
  await expectError('no user message: BadRequestError (400)', BadRequestError, 400,
    () => client.chat.completions.create({ model: MODEL, messages: [{ role: 'system', content: 'hi' }] }));
  // What the facade cannot do is refused, not silently ignored.
  await expectError('n: 2 is refused: BadRequestError (400)', BadRequestError, 400,
    () => client.chat.completions.create({ model: MODEL, messages: MESSAGES, n: 2 }));
  await expectError('tools are refused: BadRequestError (400)', BadRequestError, 400,
    () => client.chat.completions.create({ model: MODEL, messages: MESSAGES,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }] }));
  try {
    const one = await client.chat.completions.create({ model: MODEL, messages: MESSAGES, n: 1, tools: [] });
    check('n: 1 and an empty tools list are fine', one.choices.length === 1, show(one.choices));
  } catch (e) {
    check('n: 1 and an empty tools list are fine', false, describe(e));
  }
} else {
  console.log('skip - key and request validation (--plain: the fake server checks neither)');
}

if (failures) {
  console.log(`${failures} failure(s)`);
  process.exit(1);
}
console.log('all passed');
