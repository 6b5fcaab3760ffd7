// Loaded into the action's process (NODE_OPTIONS=--import) by test/support/cloud-front.ts: TLS connections to the
// cloud hosts a shipped workflow names (contoso.azurecr.io, management.azure.com, *.blob.core.windows.net) go to the
// local TLS front instead, with the original name kept for SNI and certificate checks, as an /etc/hosts entry would.
import tls from 'node:tls';

const port = Number(process.env.MODEL_CANARY_TEST_CLOUD_PORT);
const patterns = (process.env.MODEL_CANARY_TEST_CLOUD_HOSTS ?? '').split(',').filter(Boolean);
const served = (host) =>
  patterns.some((pattern) => (pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern));

const connect = tls.connect;
tls.connect = function connectToFront(...args) {
  const options = typeof args[0] === 'object' ? args[0] : typeof args[1] === 'object' ? args[1] : undefined;
  const host = options?.host ?? (typeof args[1] === 'string' ? args[1] : undefined);
  if (port && options && host && served(host)) {
    const callback = args.find((arg) => typeof arg === 'function');
    return connect.call(
      this,
      { ...options, host: '127.0.0.1', port, servername: options.servername || host },
      callback,
    );
  }
  return connect.apply(this, args);
};
