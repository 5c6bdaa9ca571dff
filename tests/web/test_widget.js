/* test_widget.js: web/widget.js in a minimal DOM: one tag makes a launcher
 * button; the chat iframe is created on the first click only, from the
 * script's own origin; clicks toggle the panel; a bad colour falls back;
 * loading it twice adds one widget.
 * Run: node test_widget.js <path to web/widget.js> */
'use strict';
const assert = require('assert');
const fs = require('fs');
const vm = require('vm');

class El {
  constructor(tag) { this.tag = tag; this.children = []; this.attrs = {}; this.style = {}; this.l = {}; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  appendChild(c) { this.children.push(c); return c; }
  addEventListener(t, f) { this.l[t] = f; }
  click() { this.l.click(); }
}

function run(src, attrs) {
  const body = new El('body');
  const script = new El('script');
  script.src = 'https://assistant.example.com/widget.js';
  Object.assign(script.attrs, attrs || {});
  const ctx = {
    document: { currentScript: script, body, createElement: (t) => new El(t), documentElement: body },
    location: { href: 'https://shop.example/products' },
    URL, window: {},
  };
  ctx.window = ctx;
  vm.runInNewContext(src, ctx);
  return { body, ctx };
}

const src = fs.readFileSync(process.argv[2], 'utf8');
let { body, ctx } = run(src, { 'data-title': 'Ask us', 'data-color': '#123456' });
assert.strictEqual(body.children.length, 1);
const root = body.children[0];
assert.strictEqual(root.getAttribute('data-frontdesk'), 'widget');
const [panel, button] = root.children;
assert.strictEqual(button.textContent, 'Ask us');
assert.match(button.style.cssText, /background:#123456/);
assert.strictEqual(panel.children.length, 0, 'nothing loads before the first click');
button.click();
assert.strictEqual(panel.children.length, 1);
assert.strictEqual(panel.children[0].src, 'https://assistant.example.com/');
assert.strictEqual(panel.style.display, 'block');
assert.strictEqual(button.getAttribute('aria-expanded'), 'true');
button.click();
assert.strictEqual(panel.style.display, 'none');
button.click();
assert.strictEqual(panel.children.length, 1, 'one iframe, kept');
/* loaded twice on a page: one widget */
vm.runInNewContext(src, ctx);
assert.strictEqual(body.children.length, 1);
/* a colour that is not a colour falls back (it goes into a style string) */
({ body } = run(src, { 'data-color': 'red;position:static' }));
assert.match(body.children[0].children[1].style.cssText, /background:#0b5cad/);
console.log('widget.js: all passed');
