// api.js — same-origin calls to jobserver's REST API (under /api), with the identity of
// the user (dev: X-User-ID, jwt: Authorization: Bearer) on every request.
import { configureJobs } from './jobs.js';

const IDENTITY_KEY = 'jobserver.identity';

/**
 * @typedef {Object} Identity
 * @property {string} [userId] dev mode: sent as X-User-ID
 * @property {string} [token] jwt mode: sent as Authorization: Bearer
 */

/** @returns {Identity} */
export function identity() {
  try {
    return JSON.parse(localStorage.getItem(IDENTITY_KEY)) || {};
  } catch (_) {
    return {};
  }
}

/** @param {Identity} value */
export function setIdentity(value) {
  localStorage.setItem(IDENTITY_KEY, JSON.stringify(value));
}

/** @returns {Object<string,string>} the headers that name the user. */
export function authHeaders() {
  const id = identity();
  if (id.token) return { Authorization: `Bearer ${id.token}` };
  if (id.userId) return { 'X-User-ID': id.userId };
  return {};
}

configureJobs({ base: '/api', headers: authHeaders });

/** An error answer of the API: `message` is the server's words. */
export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * One API call. `json` is sent as a JSON body, `form` as multipart.
 * @returns {Promise<any>} the parsed answer; throws ApiError
 */
export async function api(path, { method = 'GET', json, form } = {}) {
  const headers = authHeaders();
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let response;
  try {
    response = await fetch(`/api${path}`, { method, headers, body });
  } catch (_) {
    throw new ApiError('The server cannot be reached. Check your connection and try again.', 0, 'network');
  }
  let data = null;
  try {
    data = await response.json();
  } catch (_) { /* empty or not JSON */ }
  if (!response.ok) {
    throw new ApiError((data && data.error) || `Request failed (${response.status})`, response.status,
                       (data && data.code) || 'error');
  }
  return data;
}

/** Words for an upload error, from the server's answer. */
export function describeUploadError(error) {
  if (!(error instanceof ApiError)) return String(error.message || error);
  switch (error.status) {
    case 413: return `${error.message}. Choose a smaller PDF.`;
    case 415: return 'That file is not a PDF. Choose a PDF file.';
    case 503: return 'The upload queue is unavailable right now. Please try again in a moment.';
    case 401: return `Not signed in: ${error.message}`;
    default: return error.message;
  }
}
