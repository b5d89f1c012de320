// view_task.js: one task: its state and timings, the result (top-K labels for a
// classifier, output names and shapes otherwise), the reasons of failed attempts, and
// a Cancel button while it is not final. Updated live from the event stream.
import { api } from './api.js';
import { badge, fmtSec, fmtTime, h } from './util.js';

const FINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'];

// The result of a task as elements: top-K table or outputs with shapes.
export function resultView(res) {
  if (!res) return h('p', { class: 'muted' }, 'no result');
  const post = res.postprocessed;
  if (post && post.type === 'classify' && post.top_k) {
    return h('div', {}, post.top_k.map((items, i) => h('div', {},
      h('div', { class: 'result', 'data-top-label': items[0] ? items[0].label ?? items[0].index : '' },
        post.top_k.length > 1 ? `image ${i + 1}: ` : '', 'top: ',
        h('b', {}, items[0] ? String(items[0].label ?? items[0].index) : '?')),
      h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Class'),
        h('th', {}, 'Label'), h('th', {}, 'Probability'))),
      h('tbody', {}, items.map((it) => h('tr', {}, h('td', {}, it.index), h('td', {}, it.label ?? ''),
        h('td', {}, (it.probability * 100).toFixed(2) + '%')))))))));
  }
  return h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Output'),
    h('th', {}, 'Type'), h('th', {}, 'Shape'))), h('tbody', {}, (res.outputs || []).map((o) =>
    h('tr', {}, h('td', {}, o.name), h('td', {}, o.datatype), h('td', {}, '[' + o.shape.join(', ') + ']'))))));
}

export function taskPage(root, ctx, [id]) {
  const info = h('dl', { id: 'task-info' });
  const result = h('div', { id: 'task-result' });
  const cancel = h('button', { id: 'task-cancel', class: 'danger', hidden: true }, 'Cancel task');
  root.append(h('h2', {}, 'Task ', h('code', {}, id)), h('div', { class: 'row' }, cancel), info,
    h('h2', {}, 'Result'), result);
  let gone = false, state = '';

  function draw(t) {
    state = t.status;
    const rows = [['State', badge(t.status)], ['Model', t.model_name], ['Priority', t.priority],
      ['Worker', t.worker_id || ''], ['Attempts', `${t.attempts} of ${t.max_attempts}`],
      ['Created', fmtTime(t.created_at)], ['Started', fmtTime(t.started_at)], ['Finished', fmtTime(t.finished_at)],
      ['Queued for', t.started_at ? fmtSec(t.started_at - t.created_at) : ''],
      ['Ran for', t.started_at && t.finished_at ? fmtSec(t.finished_at - t.started_at) : ''],
      ['Errors', t.error ? h('pre', { id: 'task-error' }, t.error) : '']];
    info.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, v)]));
    cancel.hidden = FINAL.includes(t.status);
  }

  async function load() {
    try {
      const t = await api('GET', `/cluster/tasks/${encodeURIComponent(id)}/status`);
      if (gone) return;
      draw(t);
      if (t.status === 'COMPLETED') {
        const r = await api('GET', `/cluster/tasks/${encodeURIComponent(id)}/result`);
        if (!gone) result.replaceChildren(resultView(r.result));
      } else if (FINAL.includes(t.status)) {
        result.replaceChildren(h('p', { class: 'muted' }, `no result: the task is ${t.status}`));
      } else {
        result.replaceChildren(h('p', { class: 'muted' }, 'waiting for the result…'));
      }
    } catch (e) {
      if (!gone) ctx.showError(e);
    }
  }

  cancel.addEventListener('click', async () => {
    try {
      await api('DELETE', `/cluster/tasks/${encodeURIComponent(id)}`);
      load();
    } catch (e) {
      ctx.showError(e);
    }
  });
  load();
  const off = ctx.on((type, d) => {
    if (type === 'resync' || (type === 'task' && d.task_id === id && d.state !== state)) load();
  });
  return () => { gone = true; off(); };
}
