// Our merged spec (spec/amqp0-9-1.xml + spec/extensions/*.xml) checked by
// machine against RabbitMQ's own merged variant, amqp0-9-1.extended.xml
// (kept outside the repository, at ../shared/spec/ from its root; CI has it
// there). Both go through the same generator model; the test lists every
// fact the codecs depend on (classes, methods, ids, fields and their wire
// types with domains resolved, content, synchronous flags, responses,
// direction, constants) and compares. Doc text and labels may differ.
//
// Every difference is listed in DELIBERATE with its reason: a new one fails
// the test (fix the overlay, or list it here with why), and so does a listed
// one that went away.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildModelFrom, type SpecInput } from '../../codegen/generate.js';
import type { Model } from '../../codegen/model.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (file: string): SpecInput => ({ name: path.relative(root, file).split(path.sep).join('/'), text: readFileSync(file, 'utf8') });
const extendedFile = path.join(root, '..', 'shared', 'spec', 'amqp0-9-1.extended.xml');
const present = existsSync(extendedFile);

/** One line per fact the generated codecs depend on. */
function facts(model: Model): string[] {
  const out: string[] = [];
  for (const c of model.constants) out.push(`constant ${c.specName} = ${c.value}${c.errorClass ? ` (${c.errorClass})` : ''}`);
  for (const c of model.classes) {
    out.push(`class ${c.specName} = ${c.index}, ${c.properties.length} properties`);
    c.properties.forEach((p, i) => out.push(`${c.specName} property ${i + 1}: ${p.specName} (${p.wireType})`));
  }
  for (const m of model.methods) {
    out.push(`method ${m.fullName} = ${m.classModel.index}/${m.index}, ${m.fields.length} fields`);
    out.push(`${m.fullName}: ${m.synchronous ? 'synchronous' : 'asynchronous'}, responses [${m.responses.map((r) => r.fullName).join(', ')}]`);
    out.push(`${m.fullName}: ${m.hasContent ? 'with content' : 'no content'}, ${m.direction}`);
    m.fields.forEach((f, i) => out.push(`${m.fullName} field ${i + 1}: ${f.specName} (${f.wireType}${f.reserved ? ', reserved' : ''})`));
  }
  return out;
}

interface Difference {
  /** The fact in our model, or null if only RabbitMQ's has something here. */
  ours: string | null;
  /** The fact in RabbitMQ's model, or null if only ours has something here. */
  theirs: string | null;
  why: string;
}

const DELIBERATE: Difference[] = [
  {
    ours: 'basic.recover: synchronous, responses [basic.recover-ok]',
    theirs: 'basic.recover: asynchronous, responses []',
    why:
      'Spec erratum, fixed by our overlay: recover-ok is synchronous and answers recover, but neither spec marks ' +
      'recover synchronous; RabbitMQ answers it, and channel.basicRecover() waits for that answer.',
  },
  {
    ours: 'connection.open field 3: insist (bit)',
    theirs: 'connection.open field 3: reserved-2 (bit, reserved)',
    why:
      "0-8's insist bit, reserved in 0-9-1: our overlay revives it because aioamqp's API sends it. Same wire " +
      'layout (one bit in the same octet); brokers ignore it.',
  },
  {
    ours: 'confirm.select field 1: no-wait (bit)',
    theirs: 'confirm.select field 1: nowait (bit)',
    why: 'A name only (same domain, same bit): every other method calls it no-wait, so its TS name is noWait everywhere.',
  },
  {
    ours: 'connection.update-secret: no content, client-to-server',
    theirs: 'connection.update-secret: no content, server-to-client',
    why:
      "RabbitMQ's file has the chassis the wrong way round: the client sends update-secret (a new token) and the " +
      'broker answers update-secret-ok; a <chassis> names the peer that receives a method, as in every base method.',
  },
  {
    ours: 'connection.update-secret-ok: no content, server-to-client',
    theirs: 'connection.update-secret-ok: no content, client-to-server',
    why: 'The answer to update-secret, so the other way round from it (see connection.update-secret).',
  },
];

describe('our merged spec against RabbitMQ amqp0-9-1.extended.xml', () => {
  const title = present
    ? 'has the same model, but for the differences listed as deliberate'
    : `SKIPPED: ${path.relative(root, extendedFile)} (RabbitMQ's merged spec, provided beside the repository) is absent`;

  it.skipIf(!present)(title, () => {
    const extDir = path.join(root, 'spec', 'extensions');
    const overlays = readdirSync(extDir)
      .filter((f) => f.endsWith('.xml'))
      .map((f) => read(path.join(extDir, f)));
    const oursModel = buildModelFrom({ base: read(path.join(root, 'spec', 'amqp0-9-1.xml')), extensions: overlays });
    const theirsModel = buildModelFrom({ base: read(extendedFile), extensions: [] });
    // Not vacuous: both models have every class and method.
    expect(theirsModel.classes.map((c) => c.specName)).toEqual(oursModel.classes.map((c) => c.specName));
    expect(theirsModel.methods.length).toBe(oursModel.methods.length);

    const ours = facts(oursModel);
    const theirs = facts(theirsModel);
    const onlyOurs = ours.filter((f) => !theirs.includes(f)).sort();
    const onlyTheirs = theirs.filter((f) => !ours.includes(f)).sort();
    const listed = (side: 'ours' | 'theirs') =>
      DELIBERATE.map((d) => d[side])
        .filter((f): f is string => f !== null)
        .sort();
    // A fact here that is not in DELIBERATE is a new difference: fix the overlay or list it with its reason.
    expect(onlyOurs, 'facts only in our merged spec').toEqual(listed('ours'));
    expect(onlyTheirs, 'facts only in RabbitMQ amqp0-9-1.extended.xml').toEqual(listed('theirs'));
  });

  it('every deliberate difference says why', () => {
    for (const d of DELIBERATE) {
      expect(d.ours ?? d.theirs, 'a difference names a fact').not.toBeNull();
      expect(d.why.length, `${d.ours ?? d.theirs}`).toBeGreaterThan(20);
    }
  });
});
