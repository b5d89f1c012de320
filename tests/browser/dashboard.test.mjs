// dashboard.test.mjs: the web dashboard in a real browser: Debian's chromium, headless,
// driven by puppeteer-core (npm; nothing else is downloaded). Each scenario starts its
// own `legacygpu serve` on 127.0.0.1 with ephemeral ports in a scratch folder, and stops
// it (and every process it started) at the end, pass or fail.
//
//   node dashboard.test.mjs LEGACYGPU SOURCE_DIR SCRATCH SCENARIO
//
// Screenshots go to $LG_SCREENSHOT_DIR when set (docs/img when making the docs), else
// to the scratch folder. Polling always has a deadline; nothing sleeps to synchronise.
import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [cli, src, scratch, scenario] = process.argv.slice(2);
if (!scenario) {
  console.error('usage: node dashboard.test.mjs LEGACYGPU SOURCE_DIR SCRATCH SCENARIO');
  process.exit(2);
}
const CHROMIUM = process.env.LG_CHROMIUM || '/usr/bin/chromium';
const MODELS = path.join(src, 'models');
const DIGIT = (n) => path.join(MODELS, 'digits', 'samples', `digit_${n}.png`);
const shots = process.env.LG_SCREENSHOT_DIR || scratch;
fs.rmSync(scratch, { recursive: true, force: true });
fs.mkdirSync(scratch, { recursive: true });

const children = [];
let browser = null;

function fail(msg) {
  throw new Error(msg);
}

// Polls fn until it returns something truthy; fails with what at the deadline.
async function until(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Starts a legacygpu process whose output is logged; resolves once regex matches a line.
function start(name, args, regex) {
  const log = fs.createWriteStream(path.join(scratch, name + '.log'));
  const p = spawn(cli, args, { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let out = '';
  const onData = (d) => { out += d; log.write(d); };
  p.stdout.on('data', onData);
  p.stderr.on('data', onData);
  p.exited = new Promise((r) => p.on('exit', r));
  return until(() => (regex ? out.match(regex) : true) || (p.exitCode !== null && fail(`${name} exited:\n${out}`)),
    30000, `${name} to start`).then((m) => ({ p, m, output: () => out }));
}

async function serve(extra = []) {
  const s = await start('serve', ['serve', '--port', '0', '--bind', 'tcp://127.0.0.1:0', '--data', 'data',
    '--models', MODELS, ...extra], /workers connect to (tcp:\/\/127\.0\.0\.1:\d+)/);
  const api = s.output().match(/API (http:\/\/127\.0\.0\.1:\d+)/)[1];
  return { ...s, api, zmq: s.m[1] };
}

function run(args, env = {}) {
  return new Promise((resolve) => {
    execFile(cli, args, { env: { ...process.env, ...env }, timeout: 60000 }, (err, stdout, stderr) =>
      resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

async function http(api, method, p, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(api + p, { method, headers, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, json: await r.json().catch(() => null) };
}

async function openPage(url, width = 1280, height = 900) {
  browser = browser || await puppeteer.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    userDataDir: path.join(scratch, 'chromium-profile'),
  });
  const page = await browser.newPage();
  await page.setViewport({ width, height });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.errors = errors;
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  return page;
}

const text = (page, sel) => page.$eval(sel, (e) => e.textContent).catch(() => '');
const shot = (page, name) => page.screenshot({ path: path.join(shots, name + '.png') });
const workerStatus = (page, id, sel = '#workers') =>
  page.$eval(`${sel} tr[data-worker="${id}"] .badge`, (e) => e.textContent).catch(() => '');

const scenarios = {
  // The page loads without console errors, the workers appear live, and it is usable
  // at phone width.
  async overview() {
    const s = await serve(['--workers', '2']);
    const page = await openPage(s.api + '/');
    await until(async () => (await workerStatus(page, 'local-1')) === 'idle' &&
      (await workerStatus(page, 'local-2')) === 'idle', 20000, 'both workers shown idle');
    await until(() => text(page, '#live').then((t) => t === 'live'), 10000, 'the event stream to connect');
    // A little traffic so the charts have something to show.
    for (const n of [0, 1, 2, 3, 4, 5]) {
      const r = await run(['task', 'submit', '--api', s.api, '--model', 'digits', '--input', DIGIT(n), '--wait']);
      if (r.code !== 0) fail(`task submit failed: ${r.stderr}`);
    }
    await until(() => text(page, '#card-completed').then((t) => t === '6'), 15000, '6 completed tasks on the page');
    await shot(page, 'overview');
    await page.setViewport({ width: 390, height: 844 });
    // Chart.js resizes its canvases a moment after the viewport changes.
    let wide = 0;
    await until(async () => (wide = await page.evaluate(() => document.documentElement.scrollWidth)) <= 400, 5000,
      "the page to fit 390 px at phone width");
    if (wide > 400) fail(`at phone width the page is ${wide} px wide`);
    await shot(page, 'overview-phone');
    if (page.errors.length) fail('console errors:\n' + page.errors.join('\n'));
  },

  // A task submitted from the CLI appears in the Tasks table and turns COMPLETED
  // without a reload.
  async cli_task() {
    const s = await serve(['--workers', '1']);
    const page = await openPage(s.api + '/#/tasks');
    await until(() => text(page, '#live').then((t) => t === 'live'), 10000, 'the event stream to connect');
    const r = await run(['task', 'submit', '--api', s.api, '--model', 'digits', '--input', DIGIT(7),
      '--json-output']);
    if (r.code !== 0) fail(`task submit failed: ${r.stderr}`);
    const id = JSON.parse(r.stdout.trim().split('\n')[0]).task_id;
    await until(() => page.$(`#tasks tr[data-task="${id}"]`), 10000, `task ${id} in the table`);
    await until(() => page.$eval(`#tasks tr[data-task="${id}"] .state`, (e) => e.textContent)
      .then((t) => t === 'COMPLETED'), 20000, `task ${id} to turn COMPLETED`);
    await shot(page, 'tasks');
    if (page.errors.length) fail('console errors:\n' + page.errors.join('\n'));
  },

  // An image uploaded from the Submit page comes back with the digits model's label.
  async submit_image() {
    const s = await serve(['--workers', '1']);
    const page = await openPage(s.api + '/#/submit');
    await page.waitForSelector('#submit-file');
    await (await page.$('#submit-file')).uploadFile(DIGIT(3));
    await page.$eval('#submit-model', (e) => { e.value = 'digits'; });
    await page.click('#submit-go');
    const label = await until(() => page.$eval('#submit-result [data-top-label]', (e) => e.dataset.topLabel)
      .catch(() => ''), 30000, 'the result on the Submit page');
    if (label !== '3') fail(`the digits model labelled digit_3.png '${label}', expected '3'`);
    await shot(page, 'submit');
    if (page.errors.length) fail('console errors:\n' + page.errors.join('\n'));
  },

  // Cancel from a task's page: with no workers the task waits in the queue.
  async cancel() {
    const s = await serve(['--workers', '0']);
    const r = await run(['task', 'submit', '--api', s.api, '--model', 'digits', '--input', DIGIT(1),
      '--json-output']);
    if (r.code !== 0) fail(`task submit failed: ${r.stderr}`);
    const id = JSON.parse(r.stdout.trim().split('\n')[0]).task_id;
    const page = await openPage(`${s.api}/#/task/${id}`);
    await until(() => page.$eval('#task-cancel', (e) => !e.hidden).catch(() => false), 10000, 'the Cancel button');
    await page.click('#task-cancel');
    await until(() => text(page, '[data-field="State"]').then((t) => t === 'CANCELLED'), 10000,
      'the page to show CANCELLED');
    const st = await http(s.api, 'GET', `/cluster/tasks/${id}/status`);
    if (st.json.status !== 'CANCELLED') fail(`the API says ${st.json.status}, not CANCELLED`);
    if (page.errors.length) fail('console errors:\n' + page.errors.join('\n'));
  },

  // Switching the strategy needs the admin token: a user token gets 403, shown plainly.
  async admin_token() {
    fs.writeFileSync(path.join(scratch, 'tokens'), 'usertoken1 user\nadmintoken1 admin\n');
    const s = await serve(['--workers', '1', '--tokens', 'tokens']);
    const page = await openPage(s.api + '/#/admin');
    await until(() => text(page, '#error').then((t) => t.includes('401')), 10000, 'a 401 without a token');
    await page.type('#token', 'usertoken1');
    await page.click('#signin-btn');
    await until(() => page.$('#admin-strategy option[value="ROUND_ROBIN"]'), 10000, 'the strategies');
    await page.select('#admin-strategy', 'ROUND_ROBIN');
    await page.click('#admin-switch');
    await until(() => text(page, '#error').then((t) => t.includes('403')), 10000, 'a 403 for the user token');
    await shot(page, 'admin-403');
    let cfg = await http(s.api, 'GET', '/cluster/config', null, 'usertoken1');
    if (cfg.json.strategy !== 'LEAST_LOADED') fail(`a user token switched the strategy to ${cfg.json.strategy}`);
    await page.type('#token', 'admintoken1');
    await page.click('#signin-btn');
    await until(() => page.$('#admin-strategy option[value="ROUND_ROBIN"]'), 10000, 'the strategies again');
    await page.select('#admin-strategy', 'ROUND_ROBIN');
    await page.click('#admin-switch');
    await until(() => text(page, '#admin-current').then((t) => t.includes('ROUND_ROBIN')), 10000,
      'the switch to ROUND_ROBIN');
    cfg = await http(s.api, 'GET', '/cluster/config', null, 'usertoken1');
    if (cfg.json.strategy !== 'ROUND_ROBIN') fail(`the admin's switch left the strategy ${cfg.json.strategy}`);
    await shot(page, 'admin');
  },

  // A worker killed with SIGKILL turns dead on the Overview without a reload.
  async worker_dead() {
    const s = await serve(['--workers', '0', '--heartbeat', '0.5']);
    const w = await start('worker', ['worker', 'start', '--coordinator', s.zmq, '--models', MODELS,
      '--worker-id', 'w-kill'], null);
    const page = await openPage(s.api + '/');
    await until(async () => (await workerStatus(page, 'w-kill')) === 'idle', 20000, 'worker w-kill shown idle');
    w.p.kill('SIGKILL');
    await until(async () => (await workerStatus(page, 'w-kill')) === 'dead', 20000, 'worker w-kill shown dead');
    await until(() => text(page, '#card-workers').then((t) => t === '0'), 10000, 'no live worker in the totals');
    await shot(page, 'worker-dead');
    if (page.errors.length) fail('console errors:\n' + page.errors.join('\n'));
  },
};

async function stopAll() {
  if (browser) await browser.close().catch(() => {});
  for (const p of children.reverse()) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 10000);
    await p.exited;
    clearTimeout(t);
  }
}

if (!scenarios[scenario]) {
  console.error(`unknown scenario '${scenario}' (known: ${Object.keys(scenarios).join(', ')})`);
  process.exit(2);
}
let code = 0;
try {
  await scenarios[scenario]();
  console.log(`browser.${scenario}: passed`);
} catch (e) {
  console.error(`browser.${scenario}: FAILED: ${e.message}`);
  code = 1;
} finally {
  await stopAll();
}
process.exit(code);
