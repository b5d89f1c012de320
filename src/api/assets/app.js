// app.js: the dashboard's entry: the token sign-in, the hash router (#/overview,
// #/tasks, #/task/ID, #/submit, #/admin), one event stream shared by the views, and the
// error banner that shows 401/403 and other failures plainly.
import { follow, setToken, token } from './api.js';
import { overview } from './view_overview.js';
import { tasks } from './view_tasks.js';
import { taskPage } from './view_task.js';
import { submit } from './view_submit.js';
import { admin } from './view_admin.js';

const views = { overview, tasks, task: taskPage, submit, admin };
const listeners = new Set();
let unmount = null, stream = null;

export function showError(e) {
  const box = document.getElementById('error');
  if (!e) {
    box.hidden = true;
    box.textContent = '';
    return;
  }
  let msg = e.message || String(e);
  if (e.status === 401) msg = `401 Unauthorized: ${msg}. Sign in with an API token (top right).`;
  else if (e.status === 403) msg = `403 Forbidden: ${msg}. This needs an admin token.`;
  else if (e.status) msg = `${e.status}: ${msg}`;
  box.textContent = msg;
  box.hidden = false;
}

const ctx = {
  // Calls fn(type, data) for each event until the view is left.
  on(fn) {
    listeners.add(fn);
    return () => listeners.delete(fn);
  },
  showError,
};

function setLive(on, err) {
  const el = document.getElementById('live');
  el.className = 'live ' + (on ? 'on' : 'off');
  el.textContent = on ? 'live' : 'offline';
  if (err) showError(err);
}

function startStream() {
  if (stream) stream.close();
  stream = follow((type, data, id) => {
    for (const fn of listeners) fn(type, data, id);
  }, setLive);
}

function route() {
  const parts = (location.hash || '#/overview').slice(2).split('/');
  const name = views[parts[0]] ? parts[0] : 'overview';
  for (const a of document.querySelectorAll('nav a'))
    a.classList.toggle('active', a.dataset.view === name || (name === 'task' && a.dataset.view === 'tasks'));
  if (unmount) unmount();
  listeners.clear();
  showError(null);
  const main = document.getElementById('view');
  main.replaceChildren();
  unmount = views[name](main, ctx, parts.slice(1).map(decodeURIComponent)) || null;
}

function signinState() {
  document.getElementById('signout-btn').hidden = !token();
  document.getElementById('token').value = '';
  document.getElementById('token').placeholder = token() ? 'signed in' : 'API token';
}

document.getElementById('signin').addEventListener('submit', (ev) => {
  ev.preventDefault();
  setToken(document.getElementById('token').value.trim());
  signinState();
  startStream();
  route();
});
document.getElementById('signout-btn').addEventListener('click', () => {
  setToken('');
  signinState();
  startStream();
  route();
});
window.addEventListener('hashchange', route);
signinState();
startStream();
route();
