/* test_live.js: both pages against a running frontdesk. The chat page
 * (opened with ?key=) asks for a person; the console signs in, finds the
 * handoff, claims it, replies, and resolves it; a refused key signs out.
 * A chat-only key is refused at sign-in, not every 5 s afterwards; the
 * console says who is signed in; Enter sends a reply.
 * Run: URL=http://127.0.0.1:PORT CHAT=<chat key> OPER=<chat,operator key>
 *      node test_live.js <path to web/> */
'use strict';
const assert = require('assert');
const path = require('path');
const { page, load, dump, until } = require('./dom');

const WEB = path.resolve(process.argv[2]);
const { URL: BASE, CHAT, OPER } = process.env;

async function main() {
  /* ---- the chat page asks for a person ---- */
  let p = page(BASE, '?key=' + CHAT);
  load(path.join(WEB, 'chat.js'));
  p.ids.input.value = 'I want to speak to a real person please';
  p.ids.composer.dispatch('submit');
  await until('the reply', () => p.ids.messages.children.length === 2 && !p.ids.send.disabled);
  /* in or out of the team's hours, never "connected" before someone joins */
  assert.match(p.ids.status.textContent,
    /^(Waiting for a person to join|Our team is offline now; your request is saved) \(ticket HD-/,
    dump(p.ids.messages).join('\n'));
  const sid = p.store.get('frontdesk.session');
  assert.ok(sid, 'the session is kept');
  assert.ok(p.requests.every((r) => r.init.headers.Authorization === 'Bearer ' + CHAT));
  p.ids.input.value = 'x'.repeat(2500);
  p.ids.composer.dispatch('submit');
  await until('the refusal', () => p.ids.messages.children.length === 4 && !p.ids.send.disabled);
  assert.match(dump(p.ids.messages)[3], /msg-error: Assistant \| message is 2500 characters/);
  /* While waiting, the customer writes again and the bot answers: the line
   * to the person must stay open (issue 14's blocker). */
  p.ids.input.value = 'while I wait, how much is delivery?';
  p.ids.composer.dispatch('submit');
  await until('the bot answer while waiting', () => p.ids.messages.children.length === 6 && !p.ids.send.disabled);
  const chat = p;

  /* ---- the console: a refused key, then the operator's ---- */
  p = page(BASE);
  load(path.join(WEB, 'console.js'));
  const ids = p.ids;
  assert.strictEqual(ids.desk.hidden, true);
  ids.key.value = 'fdk_nope';
  ids['key-login'].dispatch('submit');
  await until('the refusal', () => /refused/.test(ids.error.textContent));
  assert.strictEqual(ids.desk.hidden, true);
  assert.strictEqual(p.store.get('frontdesk.operator_key'), undefined);
  ids.key.value = CHAT;
  ids['key-login'].dispatch('submit');
  await until('a chat key refused at sign-in', () => /cannot use the console/.test(ids.error.textContent));
  assert.strictEqual(ids.desk.hidden, true);
  assert.strictEqual(p.store.get('frontdesk.operator_key'), undefined);
  ids.key.value = OPER;
  ids['key-login'].dispatch('submit');
  await until('who is signed in', () => /^Signed in as .*operator/.test(ids.who.textContent));
  const item = () => ids.handoffs.children.find((li) => li.textContent.includes('real person'));
  await until('the handoff in the list', item);
  assert.strictEqual(ids.desk.hidden, false);
  item().children[0].click();
  await until('the conversation', () => ids.turns.children.length === 4);
  assert.match(dump(ids.turns)[0], /^msg msg-user: Customer · .* \| I want to speak to a real person please$/);
  assert.match(ids['detail-title'].textContent, /^HD-\d+ — open$/);
  assert.strictEqual(ids['reply-send'].disabled, true, 'no reply before claiming');

  ids.claim.click();
  await until('claimed', () => /claimed/.test(ids['detail-title'].textContent) && !ids['reply-send'].disabled);
  ids['reply-text'].value = 'Hi, this is Ana <b>';
  ids['reply-text'].dispatch('keydown', { key: 'Enter', shiftKey: false }); /* Enter sends */
  await until('the reply in the conversation', () => ids.turns.children.length === 5);
  assert.match(dump(ids.turns)[2 + 2], /^msg msg-operator: Agent · .* \| Hi, this is Ana <b>$/);
  await until('the agent reply reaches the customer who wrote meanwhile',
    () => dump(chat.ids.messages).some((m) => m === 'msg msg-operator: Agent | Hi, this is Ana <b>'));
  assert.strictEqual(ids['reply-text'].value, '');

  /* ---- live: a new conversation without a reload, its counts, a note,
   * a canned reply by "/shortcut", the typing sent ---- */
  await until('the live stream', () => ids.updated.textContent === 'live');
  const polls = () => p.requests.filter((r) => r.url.startsWith('/v1/handoffs?status=')).length;
  const polled = polls();
  const r2 = await global.nodeFetch(BASE + '/v1/chat', {
    method: 'POST',
    headers: { Authorization: 'Bearer ' + CHAT, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message: 'I want to speak to a human about order HP-100123' })
  });
  const t2 = (await r2.json()).escalation.ticket;
  const item2 = () => ids.handoffs.children.find((li) => li.textContent.includes(t2));
  await until('the new conversation in the queue, without a reload', item2);
  assert.strictEqual(polls(), polled, 'the stream brought it, not a poll');
  assert.match(global.document.title, new RegExp('^\\(1\\) New conversation ' + t2));
  assert.strictEqual(item2().children[0].querySelector('.unread').textContent, '1');
  assert.match(item2().children[0].querySelector('.wait').textContent, /^waiting \d+ s$/);
  ids['note-text'].value = 'internal: VIP customer';
  ids['note-form'].dispatch('submit');
  await until('the note in the timeline, told apart',
    () => dump(ids.turns).some((m) => /^msg msg-note: Internal note · ana · .* \| internal: VIP customer$/.test(m)));
  assert.ok(!dump(chat.ids.messages).some((m) => /VIP/.test(m)), 'the customer never sees a note');
  ids['reply-text'].value = '/thank';
  ids['reply-text'].dispatch('input');
  assert.strictEqual(ids['canned-suggest'].hidden, false, 'matching canned replies are offered');
  ids['reply-text'].dispatch('keydown', { key: 'Enter', shiftKey: false });
  assert.match(ids['reply-text'].value, /^Thank you for your patience/, 'Enter on /thank puts the reply in');
  assert.strictEqual(ids.turns.children.length, 6, 'and sends nothing yet');
  await until('the typing sent', () => p.requests.some((r) => /\/typing$/.test(r.url) && r.init.method === 'POST'));
  ids['reply-text'].value = '';

  ids.claim.disabled = false;
  ids.claim.click();
  await until('the 409 shown', () => /is claimed, not open/.test(ids.error.textContent));
  ids.resolve.click();
  await until('resolved', () => /resolved/.test(ids['detail-title'].textContent));
  await until('gone from the list', () => !item());
  await until('the customer sees the conversation back with the assistant',
    () => chat.ids.status.textContent === '');

  ids.logout.click();
  assert.strictEqual(ids.desk.hidden, true);
  assert.strictEqual(p.store.get('frontdesk.operator_key'), undefined);
  console.log('live pages: all passed');
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
