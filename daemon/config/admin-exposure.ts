// The admin port serves the console, which shows events and dead letters (personal data): beyond
// loopback it must ask for a token. One pure rule, checked when the config is read and again when
// the admin server starts (whatever built its settings).

/** Hosts that only this machine can reach. A name other than localhost may resolve anywhere. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare === 'localhost' || bare === '::1' || /^127(\.\d{1,3}){3}$/.test(bare) || /^::ffff:127(\.\d{1,3}){3}$/i.test(bare);
}

/** Why these admin settings must not be served, or undefined. */
export function adminExposureProblem(admin: { enabled: boolean; host: string; token?: unknown }): string | undefined {
  if (!admin.enabled || admin.token !== undefined || isLoopbackHost(admin.host)) return undefined;
  return `the admin port would serve the console (events, dead letters) on ${JSON.stringify(admin.host)}, beyond loopback, without a token: set admin.token ({"env": NAME} or {"file": PATH}), or listen on 127.0.0.1`;
}
