// The whole pipeline as one pure function: spec texts in, generated files
// (name → text) out. main.ts does the disk work; tests call this directly.

import { emitClassFile } from './emit/class-file.js';
import { newProject, type EmitOptions } from './emit/common.js';
import { emitConstants } from './emit/constants.js';
import { emitDispatch, emitIndex } from './emit/dispatch.js';
import { emitRequests } from './emit/requests.js';
import { extend } from './extend.js';
import { buildModel, type Model } from './model.js';
import { parseSpec } from './parse.js';

export interface SpecInput {
  /** Path as it should appear in headers and errors, e.g. `spec/amqp0-9-1.xml`. */
  name: string;
  text: string;
}

export interface GenerateInput {
  base: SpecInput;
  /** Overlays; merged in the order of their names. */
  extensions: SpecInput[];
  /** Module specifier for the wire primitives, relative to the output folder. */
  wireImport?: string;
}

export function buildModelFrom(input: GenerateInput): Model {
  const extensions = [...input.extensions].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const base = parseSpec(input.base.text, input.base.name);
  const overlays = extensions.map((e) => parseSpec(e.text, e.name));
  return buildModel(extend(base, overlays), [input.base.name, ...extensions.map((e) => e.name)]);
}

/** Generate every file of generated/, keyed by file name. */
export function generate(input: GenerateInput): Map<string, string> {
  const model = buildModelFrom(input);
  const opts: EmitOptions = { wireImport: input.wireImport ?? '../src/wire/index.js', inputs: model.inputs };
  const project = newProject();
  const files = new Map<string, string>();
  files.set('constants.ts', emitConstants(project, model, opts));
  for (const c of model.classes) files.set(`${c.specName}.ts`, emitClassFile(project, c, opts));
  files.set('dispatch.ts', emitDispatch(project, model, opts));
  files.set('requests.ts', emitRequests(project, model, opts));
  files.set('index.ts', emitIndex(project, model, opts));
  return files;
}
