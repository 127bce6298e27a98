import { describe, expect, it } from 'vitest';
import { parseUrl } from '../../src/index.js';

describe('parseUrl (RabbitMQ URI spec)', () => {
  it('reads scheme, credentials, host, port and vhost with percent-decoding', () => {
    expect(parseUrl('amqp://user%40x:p%3Ass@broker.example:5673/my%2Fvhost')).toEqual({
      login: 'user@x',
      password: 'p:ss',
      host: 'broker.example',
      port: 5673,
      virtualhost: 'my/vhost',
    });
  });

  it('absent or empty path means vhost "/", %2F is "/"', () => {
    expect(parseUrl('amqp://h').virtualhost).toBe('/');
    expect(parseUrl('amqp://h/').virtualhost).toBe('/');
    expect(parseUrl('amqp://h/%2F').virtualhost).toBe('/');
    expect(parseUrl('amqp://h/%2f').virtualhost).toBe('/');
    expect(parseUrl('amqp://h/prod').virtualhost).toBe('prod');
  });

  it('amqps sets ssl; ports default per scheme in connect()', () => {
    expect(parseUrl('amqps://h')).toEqual({ ssl: true, host: 'h', virtualhost: '/' });
    expect(parseUrl('AMQP://h').ssl).toBeUndefined();
  });

  it('empty host and credentials fall back to the defaults; IPv6 literals', () => {
    expect(parseUrl('amqp://')).toEqual({ virtualhost: '/' });
    expect(parseUrl('amqp://:secret@/')).toEqual({ password: 'secret', virtualhost: '/' });
    expect(parseUrl('amqp://[::1]:5999')).toEqual({ host: '::1', port: 5999, virtualhost: '/' });
  });

  it('reads heartbeat, channel_max, frame_max, connection_timeout and auth_mechanism', () => {
    expect(
      parseUrl('amqp://h/?heartbeat=10&channel_max=20&frame_max=8192&connection_timeout=1500&auth_mechanism=amqplain&other=x'),
    ).toEqual({ host: 'h', virtualhost: '/', heartbeat: 10, channelMax: 20, frameMax: 8192, connectTimeout: 1500, loginMethod: 'AMQPLAIN' });
  });

  it('throws TypeError for invalid URIs', () => {
    expect(() => parseUrl('http://h')).toThrow(TypeError);
    expect(() => parseUrl('amqp://h/a/b')).toThrow(TypeError);
    expect(() => parseUrl('amqp://h:99999')).toThrow(TypeError);
    expect(() => parseUrl('amqp://h?heartbeat=abc')).toThrow(TypeError);
    expect(() => parseUrl('amqp://h?auth_mechanism=cram')).toThrow(TypeError);
    expect(() => parseUrl('amqp://h/%E0%A4%A')).toThrow(TypeError);
  });
});
