// RabbitMQ's TLS query parameters of an amqps:// URI (cacertfile, certfile,
// keyfile, verify, server_name_indication) mapped onto connect()'s `ssl` and
// `verifySsl` options. The files are read here, synchronously, so that an
// unreadable one is a TypeError naming it before any socket is opened.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import * as tls from 'node:tls';

/** The TLS parameters found in a URI's query, as written there (values percent-decoded). */
export interface UrlTlsParams {
  cacertfile?: string;
  certfile?: string;
  keyfile?: string;
  verify?: 'verify_peer' | 'verify_none';
  /** A host name, or `disable` (send no SNI). */
  serverNameIndication?: string;
}

export const URL_TLS_PARAMS = ['cacertfile', 'certfile', 'keyfile', 'verify', 'server_name_indication'] as const;

/**
 * Record `key=value` in `params` when `key` is one of the TLS parameters.
 * Returns false for any other key. Throws `TypeError` for a bad `verify`.
 */
export function readTlsParam(params: UrlTlsParams, key: string, value: string): boolean {
  switch (key) {
    case 'cacertfile':
    case 'certfile':
    case 'keyfile':
      params[key] = value;
      return true;
    case 'verify':
      if (value !== 'verify_peer' && value !== 'verify_none') {
        throw new TypeError(`AMQP URI: verify must be verify_peer or verify_none, got '${value}'`);
      }
      params.verify = value;
      return true;
    case 'server_name_indication':
      if (value === '') throw new TypeError('AMQP URI: server_name_indication must not be empty');
      params.serverNameIndication = value;
      return true;
    default:
      return false;
  }
}

function readTlsFile(param: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TypeError(`AMQP URI: cannot read the ${param} '${file}': ${e.code ?? e.message}`, { cause: err });
  }
}

export interface UrlTlsOptions {
  ssl: tls.ConnectionOptions;
  verifySsl?: boolean;
}

/**
 * The connect() options for `params`: the files read (TypeError naming the
 * one that cannot be read), `verify` as `verifySsl`, and
 * `server_name_indication` as both the SNI name and the name the server
 * certificate is checked against.
 */
export function tlsOptions(params: UrlTlsParams): UrlTlsOptions {
  const ssl: tls.ConnectionOptions = {};
  if (params.cacertfile !== undefined) ssl.ca = readTlsFile('cacertfile', params.cacertfile);
  if (params.certfile !== undefined) ssl.cert = readTlsFile('certfile', params.certfile);
  if (params.keyfile !== undefined) ssl.key = readTlsFile('keyfile', params.keyfile);
  const sni = params.serverNameIndication;
  if (sni === 'disable') {
    ssl.servername = ''; // no SNI; the certificate is still checked against the host
  } else if (sni !== undefined) {
    // RFC 6066 allows no IP address in SNI: then it is only the name the certificate must cover.
    if (isIP(sni) === 0) ssl.servername = sni;
    ssl.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(sni, cert);
  }
  const out: UrlTlsOptions = { ssl };
  if (params.verify !== undefined) out.verifySsl = params.verify === 'verify_peer';
  return out;
}

/**
 * `ssl` given to fromUrl() over the one from the URI: an object is merged key
 * by key (a `servername` of its own replaces the URI's name check too), `true`
 * keeps the URI's, `false` turns TLS off.
 */
export function mergeSsl(
  fromUri: boolean | tls.ConnectionOptions | undefined,
  given: boolean | tls.ConnectionOptions,
): boolean | tls.ConnectionOptions {
  if (typeof fromUri !== 'object') return given;
  if (given === true) return fromUri;
  if (given === false) return false;
  const merged: tls.ConnectionOptions = { ...fromUri, ...given };
  if (given.servername !== undefined && given.checkServerIdentity === undefined) delete merged.checkServerIdentity;
  return merged;
}
