// view_admin.js: Admin (needs an admin token; the API answers 403 otherwise, shown as
// is): switch the balancing strategy, drain a worker, shut the cluster down.
import { api } from './api.js';
import { badge, h } from './util.js';

export function admin(root, ctx) {
  const strategy = h('select', { id: 'admin-strategy', 'aria-label': 'strategy' });
  const sw = h('button', { id: 'admin-switch' }, 'Switch strategy');
  const current = h('span', { id: 'admin-current', class: 'muted' });
  const workersBody = h('tbody', { id: 'admin-workers' });
  const stop = h('button', { id: 'admin-shutdown', class: 'danger' }, 'Shut down the cluster');
  const note = h('p', { id: 'admin-note', class: 'muted' });
  root.append(h('h2', {}, 'Balancing strategy'), h('div', { class: 'row' }, strategy, sw, current),
    h('h2', {}, 'Workers'), h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {},
      h('th', {}, 'Worker'), h('th', {}, 'Host'), h('th', {}, 'Status'), h('th', {}, ''))), workersBody)),
    h('h2', {}, 'Cluster'), h('div', { class: 'row' }, stop), note);
  let gone = false, armed = false;
  const guard = (p) => p.catch((e) => { if (!gone) ctx.showError(e); });

  async function load() {
    const [c, w] = await Promise.all([api('GET', '/cluster/config'), api('GET', '/cluster/workers')]);
    if (gone) return;
    strategy.replaceChildren(...c.available_strategies.map((s) =>
      h('option', { value: s.name, title: s.summary, selected: s.name === c.strategy }, s.name)));
    current.textContent = 'now: ' + c.strategy;
    workersBody.replaceChildren(...w.workers.map((x) => h('tr', { 'data-worker': x.worker_id },
      h('td', {}, x.worker_id), h('td', {}, x.host), h('td', {}, badge(x.status)),
      h('td', {}, x.status === 'dead' || x.status === 'draining' ? '' : h('button', {
        class: 'drain', onclick: () => guard(api('POST', `/cluster/workers/${encodeURIComponent(x.worker_id)}/drain`)
          .then(load)) }, 'Drain')))));
  }

  sw.addEventListener('click', () => {
    ctx.showError(null);
    guard(api('PUT', '/cluster/config/balancing', { strategy: strategy.value }).then((r) => {
      note.textContent = `strategy switched from ${r.previous} to ${r.strategy}`;
      return load();
    }));
  });
  stop.addEventListener('click', () => {
    if (!armed) {
      armed = true;
      stop.textContent = 'Really shut down? Click again';
      return;
    }
    guard(api('POST', '/cluster/shutdown').then(() => { note.textContent = 'the cluster drains and shuts down'; }));
  });
  guard(load());
  const off = ctx.on((type) => {
    if (type === 'worker' || type === 'strategy' || type === 'resync') guard(load());
  });
  return () => { gone = true; off(); };
}
