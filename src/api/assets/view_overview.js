// view_overview.js: the Overview: totals, workers (host, devices and backends, status,
// load, in flight, last heartbeat age, completed/failed), queue depth by priority, and
// tasks/s and latency p50/p90/p99 over the last 15 minutes as live Chart.js charts. Fed
// by the event stream (worker and task events trigger refreshes) and the REST API.
import { api } from './api.js';
import { badge, h } from './util.js';

export function overview(root, ctx) {
  const cards = h('div', { class: 'cards', id: 'cards' });
  const workersBody = h('tbody', { id: 'workers' });
  const queueBody = h('tbody', { id: 'queue' });
  const rateCanvas = h('canvas', { id: 'chart-rate' });
  const latCanvas = h('canvas', { id: 'chart-latency' });
  root.append(
    cards,
    h('h2', {}, 'Workers'),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Worker', 'Host', 'Devices', 'Backends', 'Status', 'Load', 'In flight',
        'Heartbeat', 'Completed', 'Failed'].map((t) => h('th', {}, t)))), workersBody)),
    h('h2', {}, 'Last 15 minutes'),
    h('div', { class: 'charts' }, h('div', { class: 'chart' }, rateCanvas), h('div', { class: 'chart' }, latCanvas)),
    h('h2', {}, 'Queue by priority'),
    h('div', { class: 'scroll' }, h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Priority'),
      h('th', {}, 'Queued'))), queueBody)));

  const common = { responsive: true, maintainAspectRatio: false, animation: false,
    scales: { x: { ticks: { maxTicksLimit: 6 } }, y: { beginAtZero: true } } };
  const rate = new Chart(rateCanvas, { type: 'line', options: { ...common,
    plugins: { title: { display: true, text: 'Tasks per second' } } },
    data: { labels: [], datasets: [{ label: 'tasks/s', data: [], borderColor: '#1f6feb', pointRadius: 0 },
      { label: 'failed/s', data: [], borderColor: '#b42318', pointRadius: 0 }] } });
  const lat = new Chart(latCanvas, { type: 'line', options: { ...common,
    plugins: { title: { display: true, text: 'Latency (ms, submit to result)' } } },
    data: { labels: [], datasets: [
      { label: 'p50', data: [], borderColor: '#1b7f3b', pointRadius: 2, spanGaps: true },
      { label: 'p90', data: [], borderColor: '#b7791f', pointRadius: 2, spanGaps: true },
      { label: 'p99', data: [], borderColor: '#b42318', pointRadius: 2, spanGaps: true }] } });

  let workers = [], gone = false;
  const card = (k, v, id) => h('div', { class: 'card' }, h('div', { class: 'v', id }, v), h('div', { class: 'k' }, k));

  function drawWorkers() {
    const now = Date.now() / 1000;
    workersBody.replaceChildren(...workers.map((w) => h('tr', { 'data-worker': w.worker_id },
      h('td', {}, w.worker_id), h('td', {}, w.host),
      h('td', {}, w.devices.map((d) => d.name).join(', ')), h('td', {}, w.backends.join(', ')),
      h('td', { class: 'status' }, badge(w.status)), h('td', {}, Math.round(w.load * 100) + '%'),
      h('td', {}, `${w.in_flight}/${w.capacity}`),
      h('td', {}, w.status === 'dead' ? '' : Math.max(0, now - w.last_seen).toFixed(0) + ' s ago'),
      h('td', {}, w.completed), h('td', {}, w.failed))));
    if (!workers.length) workersBody.append(h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'no workers yet')));
  }

  async function loadWorkers() {
    const j = await api('GET', '/cluster/workers');
    workers = j.workers;
    drawWorkers();
  }

  async function loadMetrics() {
    const [m, c] = await Promise.all([api('GET', '/cluster/metrics'), api('GET', '/cluster/config')]);
    const live = m.workers_by_status.idle + m.workers_by_status.busy + m.workers_by_status.draining;
    cards.replaceChildren(card('live workers', live, 'card-workers'), card('queued', m.queue_depth, 'card-queued'),
      card('running', m.tasks_by_state.RUNNING + m.tasks_by_state.DISPATCHED, 'card-running'),
      card('completed', m.completed_total, 'card-completed'), card('failed', m.failed_total, 'card-failed'),
      card('strategy', h('small', {}, c.strategy), 'card-strategy'), card('state', m.draining ? 'draining' : 'healthy'));
    queueBody.replaceChildren(...['CRITICAL', 'HIGH', 'NORMAL', 'LOW'].map((p) =>
      h('tr', {}, h('td', {}, p), h('td', {}, m.queued_by_priority[p] ?? 0))));
  }

  async function loadStats() {
    const s = await api('GET', '/cluster/stats/recent');
    const labels = s.buckets.map((b) => new Date(b.start * 1000).toLocaleTimeString([], { hour: '2-digit',
      minute: '2-digit' }));
    rate.data.labels = labels;
    rate.data.datasets[0].data = s.buckets.map((b) => b.tasks_per_s);
    rate.data.datasets[1].data = s.buckets.map((b) => (b.tasks ? (b.failed * b.tasks_per_s) / b.tasks : 0));
    lat.data.labels = labels;
    const ms = (v) => (v === null ? null : v * 1000);
    lat.data.datasets[0].data = s.buckets.map((b) => ms(b.p50_s));
    lat.data.datasets[1].data = s.buckets.map((b) => ms(b.p90_s));
    lat.data.datasets[2].data = s.buckets.map((b) => ms(b.p99_s));
    rate.update();
    lat.update();
  }

  const guard = (p) => p.catch((e) => { if (!gone) ctx.showError(e); });
  const refreshAll = () => guard(Promise.all([loadWorkers(), loadMetrics(), loadStats()]));
  refreshAll();

  // Events: a worker event changes its row at once; task events refresh the totals and
  // charts, at most once a second.
  let pending = null;
  const off = ctx.on((type, d) => {
    if (type === 'resync') return refreshAll();
    if (type === 'worker') {
      const w = workers.find((x) => x.worker_id === d.worker_id);
      if (w) Object.assign(w, { status: d.status, in_flight: d.in_flight, completed: d.completed,
        failed: d.failed, last_seen: d.time });
      if (!w || d.action === 'joined' || d.action === 'rejoined') guard(loadWorkers());
      else drawWorkers();
    }
    if (!pending) pending = setTimeout(() => { pending = null; guard(Promise.all([loadMetrics(), loadStats()])); }, 1000);
  });
  const tick = setInterval(() => { drawWorkers(); }, 1000);
  const slow = setInterval(refreshAll, 10000);
  return () => {
    gone = true;
    off();
    clearInterval(tick);
    clearInterval(slow);
    if (pending) clearTimeout(pending);
    rate.destroy();
    lat.destroy();
  };
}
