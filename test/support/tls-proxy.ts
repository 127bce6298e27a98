// A TLS-terminating proxy on loopback in front of the broker's plain port, so
// TLS can be tested for real without configuring TLS in RabbitMQ.
//
//   const proxy = await startTlsProxy({ targetPort: 5672, cert: 'trusted' });
//   await connect({ host: 'localhost', port: proxy.port, ssl: { ca: proxy.ca } });
//   await proxy.close();
//
// Certificates are generated once per process with the `openssl` CLI in a
// temporary directory, read into memory as PEM strings, and the directory is
// removed straight away (nothing left behind even if the process is killed):
//   - a CA ("amqp091 test CA"),
//   - a server certificate for localhost / 127.0.0.1 / ::1 signed by that CA ('trusted'),
//   - a self-signed server certificate for the same names that nobody trusts ('untrusted'),
//   - a client certificate (CN=amqp091-test-client) signed by the CA, for client-auth tests.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

export interface TestCertificates {
  /** CA certificate (PEM): trust this to accept the 'trusted' server certificate. */
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Self-signed, not issued by the CA. */
  readonly untrustedCert: string;
  readonly untrustedKey: string;
  /** Issued by the CA, for client-certificate authentication. */
  readonly clientCert: string;
  readonly clientKey: string;
}

let certificates: TestCertificates | undefined;

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('tls-proxy: the openssl CLI is required to generate test certificates (apt-get install openssl)');
    throw new Error(`tls-proxy: openssl ${args[0] ?? ''} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const NAMES = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1';

/** Generates the test certificates (once per process) and returns them as PEM strings. */
export function testCertificates(): TestCertificates {
  if (certificates) return certificates;
  const dir = mkdtempSync(path.join(tmpdir(), 'amqp091-tls-'));
  try {
    certificates = generate(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return certificates;
}

function generate(dir: string): TestCertificates {

  openssl(
    ['req', '-x509', ...KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3', '-subj', '/CN=amqp091 test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  const issue = (name: string, subject: string, ext: string): void => {
    openssl(['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`,
        '-days', '3', '-sha256', '-extfile', `${name}.ext`],
      dir,
    );
  };
  issue('server', '/CN=localhost', `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n${NAMES}\n`);
  issue('client', '/CN=amqp091-test-client', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  openssl(['req', '-x509', ...KEY, '-keyout', 'untrusted.key', '-out', 'untrusted.crt', '-days', '3', '-subj', '/CN=localhost', '-addext', NAMES], dir);

  const read = (f: string): string => readFileSync(path.join(dir, f), 'utf8');
  return {
    ca: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    untrustedCert: read('untrusted.crt'),
    untrustedKey: read('untrusted.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
  };
}

export interface StartTlsProxyOptions {
  /** Default 127.0.0.1. */
  readonly targetHost?: string;
  /** The broker's plain AMQP port. Default 5672. */
  readonly targetPort?: number;
  /** 'trusted' (issued by the test CA) or 'untrusted' (self-signed). Default 'trusted'. */
  readonly cert?: 'trusted' | 'untrusted';
  /** Ask for a client certificate and refuse clients without one issued by the test CA. */
  readonly requireClientCert?: boolean;
  /** Listen address. Default 127.0.0.1. */
  readonly host?: string;
}

export interface TlsProxy {
  readonly host: string;
  readonly port: number;
  /** PEM of the CA to trust (issuer of the 'trusted' certificate). */
  readonly ca: string;
  readonly certificates: TestCertificates;
  /** TLS connections established so far. */
  readonly accepted: number;
  /** Connections currently open. */
  readonly open: number;
  /** Subject CN of each client certificate presented (requireClientCert). */
  readonly clientNames: readonly string[];
  /** Handshake errors seen on the server side (e.g. the client refused our certificate). */
  readonly handshakeErrors: readonly Error[];
  /** Stop listening, destroy every socket; resolves when no handle is left. */
  close(): Promise<void>;
}

export async function startTlsProxy(options: StartTlsProxyOptions = {}): Promise<TlsProxy> {
  const certs = testCertificates();
  const trusted = (options.cert ?? 'trusted') === 'trusted';
  const targetHost = options.targetHost ?? '127.0.0.1';
  const targetPort = options.targetPort ?? 5672;
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<net.Socket>();
  const closing = new Set<Promise<void>>();
  const clientNames: string[] = [];
  const handshakeErrors: Error[] = [];
  let accepted = 0;
  let stopped = false;

  const track = (s: net.Socket): void => {
    sockets.add(s);
    const done = new Promise<void>((resolve) => {
      if (s.closed) resolve();
      else s.once('close', () => resolve());
    });
    closing.add(done);
    void done.then(() => {
      sockets.delete(s);
      closing.delete(done);
    });
  };

  const server = tls.createServer({
    key: trusted ? certs.serverKey : certs.untrustedKey,
    cert: trusted ? certs.serverCert : certs.untrustedCert,
    requestCert: options.requireClientCert ?? false,
    rejectUnauthorized: options.requireClientCert ?? false,
    ca: options.requireClientCert ? [certs.ca] : undefined,
  });
  // Raw TCP sockets, tracked so close() can destroy connections still in the handshake.
  server.on('connection', (raw: net.Socket) => {
    raw.on('error', () => {});
    if (stopped) raw.destroy();
    else track(raw);
  });
  server.on('tlsClientError', (err: Error) => {
    handshakeErrors.push(err);
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    accepted += 1;
    socket.on('error', () => {});
    if (stopped) {
      socket.destroy();
      return;
    }
    track(socket);
    const cn = socket.getPeerCertificate().subject?.CN;
    if (typeof cn === 'string') clientNames.push(cn);
    const upstream = net.connect({ host: targetHost, port: targetPort, noDelay: true });
    upstream.on('error', () => {});
    track(upstream);
    socket.setNoDelay(true);
    socket.pipe(upstream);
    upstream.pipe(socket);
    socket.on('close', () => upstream.destroy());
    upstream.on('close', () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('tls-proxy: unexpected server address');
  const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));

  return {
    host,
    port: addr.port,
    ca: certs.ca,
    certificates: certs,
    get accepted() {
      return accepted;
    },
    get open() {
      return [...sockets].filter((s) => s instanceof tls.TLSSocket).length;
    },
    clientNames,
    handshakeErrors,
    async close() {
      if (!stopped) {
        stopped = true;
        server.close();
        for (const s of sockets) s.destroy();
      }
      await Promise.all([serverClosed, ...closing]);
      // A server's 'close' event comes before libuv has released its handle; let the loop go round.
      await nextLoopTurn();
      await nextLoopTurn();
    },
  };
}

function nextLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
