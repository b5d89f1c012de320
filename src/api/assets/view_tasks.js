// view_tasks.js: the Tasks table: newest first, filtered by status (by the API) and model
// (on the page shown), 25 a page with next/previous; rows change state live from the
// event stream and new tasks appear on the first page without a reload.
import { api } from './api.js';
import { badge, duration, fmtTime, h } from './util.js';

const STATES = ['', 'QUEUED', 'DISPATCHED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];
const PAGE = 25;

export function tasks(root, ctx) {
  const status = h('select', { id: 'filter-status', 'aria-label': 'status' },
    STATES.map((s) => h('option', { value: s }, s || 'any status')));
  const model = h('input', { id: 'filter-model', placeholder: 'model', 'aria-label': 'model' });
  const prev = h('button', { id: 'page-prev', disabled: true }, '‹ Newer');
  const next = h('button', { id: 'page-next', disabled: true }, 'Older ›');
  const body = h('tbody', { id: 'tasks' });
  root.append(h('h2', {}, 'Tasks'), h('div', { class: 'row' }, status, model, prev, next),
    h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {},
      ['Task', 'Model', 'State', 'Priority', 'Worker', 'Attempts', 'Created', 'Run time'].map((t) => h('th', {}, t)))),
    body)));

  let cursors = [''], page = 0, rows = [], gone = false;

  function row(t) {
    return h('tr', { 'data-task': t.task_id },
      h('td', {}, h('a', { href: '#/task/' + t.task_id }, t.task_id.slice(0, 8))),
      h('td', {}, t.model_name), h('td', { class: 'state' }, badge(t.status)), h('td', {}, t.priority),
      h('td', {}, t.worker_id || ''), h('td', {}, t.attempts), h('td', {}, fmtTime(t.created_at)),
      h('td', {}, duration(t.started_at, t.finished_at)));
  }

  function draw() {
    const m = model.value.trim();
    const shown = rows.filter((t) => !m || t.model_name === m);
    body.replaceChildren(...shown.map(row));
    if (!shown.length) body.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'no tasks')));
  }

  async function load() {
    const q = new URLSearchParams({ limit: PAGE });
    if (status.value) q.set('status', status.value);
    if (cursors[page]) q.set('cursor', cursors[page]);
    try {
      const j = await api('GET', '/cluster/tasks?' + q);
      rows = j.tasks;
      cursors[page + 1] = j.next_cursor || null;
      next.disabled = !j.next_cursor;
      prev.disabled = page === 0;
      draw();
    } catch (e) {
      if (!gone) ctx.showError(e);
    }
  }

  status.addEventListener('change', () => { cursors = ['']; page = 0; load(); });
  model.addEventListener('input', draw);
  next.addEventListener('click', () => { page++; load(); });
  prev.addEventListener('click', () => { page = Math.max(0, page - 1); load(); });
  load();

  const off = ctx.on((type, d) => {
    if (type === 'resync') return load();
    if (type !== 'task') return;
    const t = rows.find((x) => x.task_id === d.task_id);
    if (t) {
      Object.assign(t, { status: d.state, worker_id: d.worker_id, attempts: d.attempts, started_at: d.started_at,
        finished_at: d.finished_at });
      if (status.value && status.value !== d.state) rows = rows.filter((x) => x !== t);
      draw();
    } else if (d.action === 'submitted' && page === 0 && (!status.value || status.value === 'QUEUED')) {
      rows.unshift({ task_id: d.task_id, model_name: d.model, status: d.state, priority: d.priority,
        worker_id: d.worker_id, attempts: d.attempts, created_at: d.created_at });
      if (rows.length > PAGE) rows.pop();
      draw();
    }
  });
  return () => { gone = true; off(); };
}
