// The library version advertised in client properties; keep in step with package.json.
export const VERSION = '0.1.0';
