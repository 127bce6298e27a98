/** A problem in the spec or an overlay: names the file(s) and the item. */
export class SpecError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SpecError';
  }
}
