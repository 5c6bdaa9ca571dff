/* widget.js: the chat as a floating widget on a company's own site, with
 * one tag:
 *
 *   <script src="https://assistant.example.com/widget.js" async
 *           data-title="Ask us" data-color="#0b5cad"></script>
 *
 * It adds a launcher button in the corner and, on click, a panel with the
 * chat page in an iframe from the assistant's own origin: the page's
 * storage, keys and styles stay apart from the host site's. The assistant
 * must run in widget mode with the site in server.cors_origins (which also
 * lets it be framed there). Plain ES5, no dependency. */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.__frontdeskWidget) return;
  window.__frontdeskWidget = true;
  var origin = new URL(script.src, location.href).origin;
  var title = script.getAttribute('data-title') || 'Chat with us';
  var color = script.getAttribute('data-color') || '#0b5cad';
  if (!/^#[0-9a-fA-F]{3,8}$/.test(color)) color = '#0b5cad';

  var root = document.createElement('div');
  root.setAttribute('data-frontdesk', 'widget');
  root.style.cssText = 'position:fixed;right:20px;bottom:20px;z-index:2147483000;' +
    'font:14px/1.4 system-ui,sans-serif';

  var panel = document.createElement('div');
  panel.style.cssText = 'display:none;width:min(380px,calc(100vw - 40px));' +
    'height:min(560px,calc(100vh - 100px));margin-bottom:12px;border-radius:12px;' +
    'overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.25);background:#fff';
  var frame = null; /* made on first open: nothing loads until asked */
  var isOpen = false;

  var button = document.createElement('button');
  button.type = 'button';
  button.textContent = title;
  button.setAttribute('aria-expanded', 'false');
  button.style.cssText = 'display:block;margin-left:auto;border:0;border-radius:24px;' +
    'padding:12px 18px;color:#fff;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.2);' +
    'background:' + color;

  button.addEventListener('click', function () {
    var open = !isOpen;
    isOpen = open;
    if (open && !frame) {
      frame = document.createElement('iframe');
      frame.src = origin + '/';
      frame.title = title;
      frame.style.cssText = 'width:100%;height:100%;border:0';
      panel.appendChild(frame);
    }
    panel.style.display = open ? 'block' : 'none';
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
  });

  root.appendChild(panel);
  root.appendChild(button);
  (document.body || document.documentElement).appendChild(root);
})();
