// ui.js — small DOM helpers shared by the pages, and the page header with the identity
// switcher (dev: choose a user id; jwt: paste a token).
import { api, ApiError, identity, setIdentity } from './api.js';

/**
 * Creates an element: h('a', {href: '/'}, 'Home'). Strings become text nodes (never HTML).
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

const DEV_USERS = ['dev-user-001', 'alice', 'bob'];

/**
 * Fills the header's identity area and answers who the user is, or null when the server
 * refused the identity (the area then asks for one).
 * @returns {Promise<{user_id: string, auth_mode: string}|null>}
 */
export async function initIdentity(container) {
  let me = null;
  let problem = '';
  try {
    me = await api('/me');
  } catch (error) {
    problem = error instanceof ApiError ? error.message : String(error);
  }
  container.replaceChildren();
  const jwt = me ? me.auth_mode === 'jwt' : !/X-User-ID/.test(problem);
  if (!jwt) container.append(devSwitcher(me ? me.user_id : ''));
  else container.append(tokenForm(me, problem));
  return me;
}

function devSwitcher(current) {
  const users = DEV_USERS.includes(current) || !current ? DEV_USERS : [...DEV_USERS, current];
  const select = h('select', { id: 'user-select', 'aria-label': 'User' },
    users.map((u) => h('option', { value: u, selected: u === current }, u)),
    h('option', { value: '__other' }, 'Other user…'));
  select.addEventListener('change', () => {
    let user = select.value;
    if (user === '__other') {
      user = (prompt('User id (letters, digits, . _ @ : -)') || '').trim();
      if (!user) {
        select.value = current;
        return;
      }
    }
    switchUser(user);
  });
  return h('label', { class: 'identity', title: 'Dev auth: requests carry X-User-ID' },
    'User ', select, h('span', { class: 'mode' }, 'dev'));
}

/** Dev mode: act as `user` from now on (reloads the page: everything shown is per user). */
export function switchUser(user) {
  setIdentity({ userId: user });
  location.reload();
}

function tokenForm(me, problem) {
  const input = h('input', { id: 'token-input', type: 'password', placeholder: 'Paste a JWT',
                             autocomplete: 'off', value: identity().token || '' });
  const form = h('form', { class: 'identity', id: 'token-form' },
    me ? h('span', { id: 'signed-in' }, `Signed in as ${me.user_id}`) : h('span', { class: 'warn' }, problem || 'Sign in'),
    input, h('button', { type: 'submit' }, 'Use token'), h('span', { class: 'mode' }, 'jwt'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setIdentity({ token: input.value.trim() });
    location.reload();
  });
  return form;
}

/** Shows a message in the page's notice area (errors stay until replaced). */
export function notice(text, kind = 'error') {
  const area = $('#notice');
  if (!area) return;
  area.replaceChildren(text ? h('p', { class: `notice ${kind}`, role: 'alert' }, text) : '');
}

/** `n` as "n thing(s)". */
export function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
