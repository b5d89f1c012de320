// view_submit.js: Submit: pick a model (the names the workers hold, or any name), upload
// an image, and watch the task's state change until its result arrives.
import { api } from './api.js';
import { badge, h } from './util.js';
import { resultView } from './view_task.js';

export function submit(root, ctx) {
  const models = h('datalist', { id: 'model-names' });
  const model = h('input', { id: 'submit-model', list: 'model-names', placeholder: 'model', value: 'digits',
    'aria-label': 'model', required: true });
  const file = h('input', { id: 'submit-file', type: 'file', accept: 'image/png,image/jpeg', required: true,
    'aria-label': 'image' });
  const prio = h('select', { id: 'submit-priority', 'aria-label': 'priority' },
    ['NORMAL', 'LOW', 'HIGH', 'CRITICAL'].map((p) => h('option', { value: p }, p)));
  const go = h('button', { id: 'submit-go', type: 'submit' }, 'Submit');
  const status = h('div', { id: 'submit-status' });
  const result = h('div', { id: 'submit-result' });
  root.append(h('h2', {}, 'Submit a task'),
    h('form', { class: 'row', id: 'submit-form' }, model, models, file, prio, go), status, result);
  let gone = false, current = null;

  api('GET', '/cluster/workers').then((j) => {
    const names = new Set(j.workers.flatMap((w) => w.models));
    models.replaceChildren(...[...names].sort().map((n) => h('option', { value: n })));
  }).catch((e) => { if (!gone) ctx.showError(e); });

  function show(id, state) {
    status.replaceChildren(h('p', {}, 'Task ', h('a', { href: '#/task/' + id }, id.slice(0, 8)), ' ',
      badge(state)));
  }

  async function wait(id) {
    for (let i = 0; i < 60 && !gone && current === id; i++) {
      const r = await api('GET', `/cluster/tasks/${id}/result?wait=10`);
      if (!r || !['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(r.status)) continue;
      show(id, r.status);
      result.replaceChildren(r.status === 'COMPLETED' ? resultView(r.result)
        : h('pre', {}, r.error || `the task is ${r.status}`));
      return;
    }
  }

  root.querySelector('#submit-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    ctx.showError(null);
    const f = file.files[0];
    if (!f) return ctx.showError(new Error('choose an image (PNG or JPEG) first'));
    result.replaceChildren();
    try {
      const type = f.type || (f.name.toLowerCase().endsWith('.png') ? 'image/png' : 'image/jpeg');
      const q = new URLSearchParams({ model: model.value.trim(), priority: prio.value });
      const r = await api('POST', '/cluster/tasks?' + q, await f.arrayBuffer(), type);
      current = r.task_id;
      show(r.task_id, r.status);
      await wait(r.task_id);
    } catch (e) {
      if (!gone) ctx.showError(e);
    }
  });
  const off = ctx.on((type, d) => {
    if (type === 'task' && d.task_id === current && d.state !== 'COMPLETED') show(d.task_id, d.state);
  });
  return () => { gone = true; off(); };
}
