// @ts-check
// The signed-in secret and its level. The secret lives in this tab's sessionStorage only:
// never in a URL, a cookie or localStorage, so it goes when the tab closes and no other tab
// or later visitor of the machine finds it.

import { RpcError, UNAUTHORIZED } from './rpc.js';

const KEY = 'hero-dashboard.secret';

/**
 * @typedef {'admin' | 'user'} Level
 * @typedef {{secret: string, level: Level, rpc: import('./rpc.js').Rpc}} Session
 */

/** The secret this tab signed in with, if any. */
export function storedSecret() {
  return sessionStorage.getItem(KEY);
}

/** @param {string} secret */
export function keep(secret) {
  sessionStorage.setItem(KEY, secret);
}

export function forget() {
  sessionStorage.removeItem(KEY);
}

/**
 * The level of `secret`: admin when it may read `get_supervisor_info`, user when it may list
 * jobs.
 * @param {import('./rpc.js').Rpc} rpc
 * @param {string} secret
 * @returns {Promise<Level>}
 * @throws {RpcError} -32001 when the secret is neither (unknown, or a register secret)
 */
export async function levelOf(rpc, secret) {
  try {
    await rpc.call('get_supervisor_info', { admin_secret: secret });
    return 'admin';
  } catch (error) {
    if (!(error instanceof RpcError) || error.code !== UNAUTHORIZED) throw error;
  }
  await rpc.call('jobs.list', { secret, filter: { limit: 1 } });
  return 'user';
}
