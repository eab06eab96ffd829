// Loads conformance/vectors.json in Node (a browser fetches it instead).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const vectorsPath = fileURLToPath(new URL('../vectors.json', import.meta.url));

export function loadVectors() {
  return JSON.parse(readFileSync(vectorsPath, 'utf8'));
}
