// A separate RabbitMQ node with TLS and rabbitmq_auth_mechanism_ssl, for
// testing client certificates and the EXTERNAL login for real without
// touching the machine's own broker (5672).
//
//   const node = await startTlsNode();      // ~5 s on 2 cores
//   await connect({ host: '127.0.0.1', port: node.tlsPort, loginMethod: 'EXTERNAL', ssl: {...} });
//   await node.stop();                      // also removes every file
//
// Like the cluster in shared/CLUSTER.md: the server binaries from
// /usr/lib/rabbitmq/bin run as the current user with their own HOME (and
// Erlang cookie), node name, data, log, config and enabled-plugins file, all
// in one temp dir. Its ports are free ones the OS hands out (the TLS
// listener and the Erlang distribution port), so it never meets the
// machine's broker (5672/25672), the cluster helper's 5673-5675 /
// 25673-25675, or another copy of itself. There is no plain listener.
//
// Certificates are generated with the openssl CLI into the same dir:
//   ca.crt              the CA the node trusts (and clients trust)
//   server.crt/.key     CN=localhost, SAN DNS:localhost + DNS:amqp091-ext.test
//                       (no IP: dialing 127.0.0.1 needs server_name_indication)
//   client.crt/.key     CN=<user>, issued by the CA; <user> is created with
//                       `rabbitmqctl add_user` and given full permissions on /
//   stranger.crt/.key   CN=amqp091-no-such-user, issued by the CA (no such user)
//   rogue.crt/.key      CN=<user>, self-signed (the node refuses it in TLS)
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const SBIN = '/usr/lib/rabbitmq/bin';

/** Whether this machine has the RabbitMQ server binaries and the plugin. */
export function tlsNodeAvailable(): boolean {
  return existsSync(path.join(SBIN, 'rabbitmq-server')) && existsSync(path.join(SBIN, 'rabbitmqctl'));
}

export interface TlsNodeFiles {
  readonly ca: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly strangerCert: string;
  readonly strangerKey: string;
  readonly rogueCert: string;
  readonly rogueKey: string;
}

export interface TlsNode {
  readonly nodeName: string;
  readonly tlsPort: number;
  /** A name in the server certificate that does not resolve: use it as server_name_indication. */
  readonly altName: string;
  /** The user named by the client certificate's CN. */
  readonly user: string;
  readonly files: TlsNodeFiles;
  /** Seconds from start to the node being ready (plugins started). */
  readonly startSeconds: number;
  /** rabbitmqctl -n <node> ...args; resolves with stdout. */
  ctl(...args: string[]): Promise<string>;
  /** Stop the node (kill -9 when it will not stop) and remove its files. Idempotent. */
  stop(): Promise<void>;
}

/** A port nobody listens on now (the OS picks it). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new Error('tls-node: the openssl CLI is required (apt-get install openssl)');
    throw new Error(`tls-node: openssl ${args[0] ?? ''} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}

const WATCHDOG = `
while kill -0 "$1" 2>/dev/null && [ -d "$2" ]; do sleep 1; done
[ -d "$2" ] || exit 0
pid=$(cat "$2/node.pid" 2>/dev/null)
if [ -n "$pid" ] && tr '\\0' '\\n' < "/proc/$pid/environ" 2>/dev/null | grep -qxF "HOME=$2/home"; then kill -9 "$pid"; fi
rm -rf "$2"
`;

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const ALT_NAME = 'amqp091-ext.test';

function makeCertificates(dir: string, user: string): TlsNodeFiles {
  openssl(
    ['req', '-x509', ...KEY, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=amqp091 test node CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  const issue = (name: string, cn: string, ext: string): void => {
    openssl(['req', ...KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    writeFileSync(path.join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n${ext}`);
    openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`,
        '-days', '2', '-sha256', '-extfile', `${name}.ext`],
      dir,
    );
  };
  issue('server', 'localhost', `extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,DNS:${ALT_NAME}\n`);
  issue('client', user, 'extendedKeyUsage=clientAuth\n');
  issue('stranger', 'amqp091-no-such-user', 'extendedKeyUsage=clientAuth\n');
  openssl(['req', '-x509', ...KEY, '-keyout', 'rogue.key', '-out', 'rogue.crt', '-days', '2', '-subj', `/CN=${user}`], dir);
  const f = (name: string): string => path.join(dir, name);
  return {
    ca: f('ca.crt'),
    clientCert: f('client.crt'),
    clientKey: f('client.key'),
    strangerCert: f('stranger.crt'),
    strangerKey: f('stranger.key'),
    rogueCert: f('rogue.crt'),
    rogueKey: f('rogue.key'),
  };
}

/** The environment without any RABBITMQ_* variable of the caller's. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RABBITMQ_')) env[k] = v;
  return { ...env, ...extra };
}

export async function startTlsNode(): Promise<TlsNode> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(tmpdir(), 'amqp091-tls-node-'));
  const nodeName = `amqp091-ext-${process.pid}@localhost`;
  const user = `amqp091-ext-user-${process.pid}`;
  const home = path.join(dir, 'home');
  const pidFile = path.join(dir, 'node.pid');
  const logDir = path.join(dir, 'log');
  mkdirSync(home);
  mkdirSync(logDir);
  writeFileSync(path.join(home, '.erlang.cookie'), `amqp091-ext-${process.pid}-${started}`, { mode: 0o400 });

  const ctlEnv = cleanEnv({ HOME: home });
  const ctl = async (...args: string[]): Promise<string> => {
    try {
      const { stdout } = await execFileP(path.join(SBIN, 'rabbitmqctl'), ['-n', nodeName, ...args], { env: ctlEnv, timeout: 90_000 });
      return stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`tls-node: rabbitmqctl ${args[0] ?? ''} failed: ${e.stderr || e.message}`);
    }
  };

  /** kill -9 the node, but only our own: the pid must still be a process started with this node's HOME. */
  const kill = (): void => {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (pid > 0 && readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`HOME=${home}`)) process.kill(pid, 'SIGKILL');
    } catch {
      // no pid file, or the process is gone
    }
  };
  let stopped = false;
  // The node is detached: if this process exits without stop() (a hook timed out, the worker is ended), kill it.
  const onExit = (): void => {
    kill();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  // ...and if it is killed outright (SIGKILL, SIGTERM from the test runner), a detached watchdog does it
  // once this process is gone. It ends by itself when stop() has removed the dir.
  spawn('sh', ['-c', WATCHDOG, 'tls-node-watchdog', String(process.pid), dir], { detached: true, stdio: 'ignore' }).unref();
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      if (existsSync(pidFile)) {
        try {
          await ctl('stop', pidFile); // returns once the OS process is gone
        } catch {
          kill();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      process.off('exit', onExit);
    }
  };

  try {
    const files = makeCertificates(dir, user);
    const tlsPort = await freePort();
    const distPort = await freePort();
    writeFileSync(
      path.join(dir, 'rabbitmq.conf'),
      [
        'listeners.tcp = none',
        `listeners.ssl.1 = 127.0.0.1:${tlsPort}`,
        `ssl_options.cacertfile = ${files.ca}`,
        `ssl_options.certfile = ${path.join(dir, 'server.crt')}`,
        `ssl_options.keyfile = ${path.join(dir, 'server.key')}`,
        'ssl_options.verify = verify_peer',
        'ssl_options.fail_if_no_peer_cert = false',
        'auth_mechanisms.1 = EXTERNAL',
        'auth_mechanisms.2 = PLAIN',
        'ssl_cert_login_from = common_name',
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(dir, 'enabled_plugins'), '[rabbitmq_auth_mechanism_ssl].\n');
    const serverEnv = cleanEnv({
      HOME: home,
      RABBITMQ_NODENAME: nodeName,
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: logDir,
      RABBITMQ_PID_FILE: pidFile,
      RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq'), // without .conf
      RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    });
    await execFileP(path.join(SBIN, 'rabbitmq-server'), ['-detached'], { env: serverEnv, timeout: 60_000 });
    try {
      await ctl('wait', pidFile, '--timeout', '90');
    } catch (err) {
      let log = '';
      try {
        log = readFileSync(path.join(logDir, `${nodeName}.log`), 'utf8').split('\n').slice(-30).join('\n');
      } catch {
        // no log yet
      }
      throw new Error(`${(err as Error).message}\n--- node log ---\n${log}`);
    }
    // EXTERNAL checks only that the certificate's CN is a user; the password is never used.
    await ctl('add_user', user, `unused-${started}`);
    await ctl('set_permissions', '-p', '/', user, '.*', '.*', '.*');
    return { nodeName, tlsPort, altName: ALT_NAME, user, files, startSeconds: (Date.now() - started) / 1000, ctl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
