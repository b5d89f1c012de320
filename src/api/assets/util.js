// util.js: small DOM and formatting helpers the views share.

// h('td', {class: 'x', onclick: f}, 'text', child) -> element
export function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function badge(text) {
  return h('span', { class: 'badge ' + text }, text);
}

export function fmtTime(t) {
  return t ? new Date(t * 1000).toLocaleTimeString() : '';
}

export function fmtSec(s) {
  if (s === null || s === undefined) return '';
  if (s < 1) return (s * 1000).toFixed(s < 0.01 ? 2 : 0) + ' ms';
  return s.toFixed(2) + ' s';
}

export function duration(a, b) {
  return a && b ? fmtSec(b - a) : '';
}
